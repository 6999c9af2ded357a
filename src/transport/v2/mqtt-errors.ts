import tls, { type PeerCertificate } from 'node:tls';
import { PanelError, UNREACHABLE_CODES } from '../errors';
import { PACKET_TOO_LARGE_CODE } from './packet-limit';

/**
 * Classification of MQTT/TLS connection failures (docs/resilience.md §3 classes) and the broker identity
 * check. Messages name host, port and the failure only — never the user name's password.
 */

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH)/;

/** CONNACK return codes that mean "wrong credentials" (MQTT 3.1.1: 4, 5; MQTT 5: 0x86, 0x87). */
const AUTH_RC: Record<number, string> = {
  4: 'bad user name or password',
  5: 'not authorized',
  134: 'bad user name or password',
  135: 'not authorized',
};

export function isTlsFailure(e: unknown): boolean {
  if (e instanceof PanelError) return e.errorClass === 'tls';
  const err = e as { code?: unknown; message?: unknown; library?: unknown };
  if (typeof err?.code === 'string' && TLS_CODE.test(err.code)) return true;
  if (err?.library === 'SSL routines') return true;
  const msg = typeof err?.message === 'string' ? err.message : '';
  return /TLS not authorized|certificate|SSL routines|self[- ]signed|altnames/i.test(msg);
}

export function classifyMqttError(e: unknown, where: string): PanelError {
  if (e instanceof PanelError) return e;
  const err = (typeof e === 'object' && e !== null ? e : { message: String(e) }) as {
    code?: unknown;
    message?: unknown;
  };
  const message = typeof err.message === 'string' ? err.message : 'connection failed';
  const code = err.code;
  if (typeof code === 'number') {
    if (AUTH_RC[code]) {
      return new PanelError('auth', `${where}: the broker refused the login (${AUTH_RC[code]})`, {
        code: `CONNACK_${code}`,
      });
    }
    return new PanelError('broker', `${where}: ${message}`, { code: `MQTT_${code}` });
  }
  const c = typeof code === 'string' ? code : undefined;
  if (c === PACKET_TOO_LARGE_CODE) return new PanelError('protocol', `${where}: ${message}`, { code: c });
  if (isTlsFailure(err))
    return new PanelError('tls', `${where}: TLS failure (${message})`, { code: c ?? 'TLS' });
  if (c === 'ECONNREFUSED') return new PanelError('refused', `${where}: connection refused`, { code: c });
  if (c !== undefined && UNREACHABLE_CODES.has(c)) {
    return new PanelError('unreachable', `${where}: panel unreachable (${message})`, { code: c });
  }
  if (c === 'ETIMEDOUT') return new PanelError('unreachable', `${where}: connect timed out`, { code: c });
  if (/not authorized|bad user ?name or password/i.test(message)) {
    return new PanelError('auth', `${where}: the broker refused the login`, { code: c });
  }
  return new PanelError('broker', `${where}: ${message}`, { code: c });
}

/**
 * Broker identity check for the pinned panel CA: the certificate must name the host the user configured (an
 * IP in the SAN is checked as an IP) — or, failing that, the panel's own `span-<serial>.local` name, which
 * every SPAN broker certificate carries (a panel reached over an interface whose IP is not in the SAN, SPAN
 * #221). Only certificates signed by the pinned CA get this far.
 */
export function brokerIdentityCheck(
  configuredHost: string,
  serial: () => string | null,
): (servername: string, cert: PeerCertificate) => Error | undefined {
  return (_servername, cert) => {
    const err = tls.checkServerIdentity(configuredHost, cert);
    if (!err) return undefined;
    const s = serial();
    if (s && !tls.checkServerIdentity(`span-${s}.local`, cert)) return undefined;
    return err;
  };
}
