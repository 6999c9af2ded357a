/**
 * The simulated panel's TLS material, as a real panel has it (docs/panel-api.md §3.2, §6): a self-signed CA that
 * clients download from GET /api/v2/certificate/ca and pin, and a broker server certificate signed by it
 * whose SANs cover 127.0.0.1, localhost and span-<serial>.local.
 *
 * RSA keys come from node:crypto (native, generated off the event loop, both keys in parallel); the X.509
 * certificates are built and signed with
 * node-forge. Everything stays in memory. `rotate()` makes a brand-new CA and server certificate (a panel
 * after a firmware upgrade or an IP change), so clients pinned to the old CA fail verification.
 */
import { constants, generateKeyPair, privateEncrypt, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface ServerTlsMaterial {
  /** PEM of the CA certificate (what /api/v2/certificate/ca serves). */
  caPem: string;
  /** PEM of the server certificate (signed by the CA). */
  certPem: string;
  /** PEM of the server certificate's private key (never leaves the process). */
  keyPem: string;
  /** SHA-256 fingerprint of the CA certificate (hex, lower case), handy for tests and logs. */
  caFingerprint: string;
}

export interface CertificateOptions {
  serial: string;
  /** Extra SAN entries (IPs or DNS names). */
  extraNames?: string[];
  /** RSA modulus length; default 2048. */
  keyBits?: number;
  /** Clock for the validity window; default Date.now. */
  now?: () => number;
}

const DAY_MS = 86_400_000;

export class PanelCertificates {
  private generationCount = 1;

  private constructor(
    private readonly opts: CertificateOptions,
    private material: ServerTlsMaterial,
  ) {}

  static async create(opts: CertificateOptions): Promise<PanelCertificates> {
    return new PanelCertificates(opts, await issueTlsMaterial(opts));
  }

  get current(): ServerTlsMaterial {
    return this.material;
  }

  /** How many CAs this panel has had (1 before any rotation). */
  get generation(): number {
    return this.generationCount;
  }

  /** Replaces the CA and the server certificate with new ones; returns the new material. */
  async rotate(): Promise<ServerTlsMaterial> {
    this.material = await issueTlsMaterial(this.opts);
    this.generationCount++;
    return this.material;
  }
}

/** Makes a new CA and a server certificate signed by it. */
export async function issueTlsMaterial(opts: CertificateOptions): Promise<ServerTlsMaterial> {
  const now = opts.now ?? Date.now;
  const bits = opts.keyBits ?? 2048;
  const [caKeys, serverKeys] = await Promise.all([rsaKeyPair(bits), rsaKeyPair(bits)]);
  const nowMs = now();

  const caSubject = [
    { name: 'commonName', value: `SPAN Panel CA ${opts.serial}` },
    { name: 'organizationName', value: 'SPAN (simulated)' },
  ];
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = randomSerialNumber();
  ca.validity.notBefore = new Date(nowMs - DAY_MS);
  ca.validity.notAfter = new Date(nowMs + 3650 * DAY_MS);
  ca.setSubject(caSubject);
  ca.setIssuer(caSubject);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.signer, forge.md.sha256.create());

  const hostname = `span-${opts.serial}.local`;
  const names = ['127.0.0.1', 'localhost', hostname, ...(opts.extraNames ?? [])];
  const server = forge.pki.createCertificate();
  server.publicKey = serverKeys.publicKey;
  server.serialNumber = randomSerialNumber();
  server.validity.notBefore = new Date(nowMs - DAY_MS);
  server.validity.notAfter = new Date(nowMs + 825 * DAY_MS);
  server.setSubject([{ name: 'commonName', value: hostname }]);
  server.setIssuer(caSubject);
  server.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [...new Set(names)].map(altName) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  server.sign(caKeys.signer, forge.md.sha256.create());

  const caPem = forge.pki.certificateToPem(ca);
  return {
    caPem,
    certPem: forge.pki.certificateToPem(server),
    keyPem: serverKeys.privateKeyPem,
    caFingerprint: fingerprint(ca),
  };
}

async function rsaKeyPair(bits: number) {
  const { publicKey, privateKey } = await new Promise<{ publicKey: string; privateKey: string }>(
    (resolve, reject) =>
      generateKeyPair(
        'rsa',
        {
          modulusLength: bits,
          publicKeyEncoding: { type: 'spki', format: 'pem' },
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        },
        (err, pub, priv) => (err ? reject(err) : resolve({ publicKey: pub, privateKey: priv })),
      ),
  );
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey),
    signer: nativeSigner(privateKey),
    privateKeyPem: privateKey,
  };
}

/** DER prefix of a PKCS#1 DigestInfo for SHA-256 (RFC 8017 §9.2 note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * What forge's Certificate.sign() needs from a key: sign(md) → signature bytes. RSASSA-PKCS1-v1_5 is the
 * private-key operation on the DigestInfo with type-1 padding, which node:crypto's privateEncrypt does.
 */
function nativeSigner(privateKeyPem: string): forge.pki.rsa.PrivateKey {
  const signer = {
    sign(md: forge.md.MessageDigest): string {
      const digest = Buffer.from(md.digest().getBytes(), 'binary');
      const signature = privateEncrypt(
        { key: privateKeyPem, padding: constants.RSA_PKCS1_PADDING },
        Buffer.concat([SHA256_DIGEST_INFO, digest]),
      );
      return signature.toString('binary');
    },
  };
  return signer as unknown as forge.pki.rsa.PrivateKey;
}

/** A positive serial number (forge takes hex; a leading 0x7f-or-less byte keeps it positive). */
function randomSerialNumber(): string {
  return `01${randomBytes(15).toString('hex')}`;
}

function altName(name: string): { type: number; value?: string; ip?: string } {
  const isIp = /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(':');
  return isIp ? { type: 7, ip: name } : { type: 2, value: name };
}

function fingerprint(cert: forge.pki.Certificate): string {
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes();
  return forge.md.sha256.create().update(der).digest().toHex();
}
