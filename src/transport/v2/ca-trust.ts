import { X509Certificate } from 'node:crypto';
import { PanelError } from '../errors';

/**
 * Which panel CA the v2 transport may trust, kept across transports and restarts by its owner (the config
 * node keeps the PEM in its credentials). The CA is fetched over plain HTTP, so a changed CA is never taken
 * silently:
 * - `follow` (default): a new CA is used only if the broker's certificate chains to it and names this panel
 *   (the transport's normal TLS verification); once such a connection succeeds it becomes the trusted CA and
 *   the change is reported. Firmware upgrades rotate the CA, so this keeps a panel working unattended.
 * - `pinned`: a new CA is refused and reported until the user trusts it (trustPending) or registers again.
 */

export type CaPolicy = 'follow' | 'pinned';

export const CA_POLICIES: readonly CaPolicy[] = ['follow', 'pinned'];

/** The `code` of the PanelError a refused CA change produces (node status: "panel certificate changed"). */
export const CA_CHANGED_CODE = 'CA_CHANGED';

export interface CaChangeEvent {
  /** SHA-256 fingerprint of the CA trusted so far (AA:BB:… as OpenSSL prints it). */
  previousFingerprint: string;
  /** SHA-256 fingerprint of the CA the panel presents now. */
  newFingerprint: string;
  policy: CaPolicy;
  /** True when the new CA is now trusted (followed, or trusted by the user); false when it was refused. */
  accepted: boolean;
  /** Who decided: the policy, or the user pressing "Trust new certificate". */
  by: 'policy' | 'user';
}

export interface CaTrustOptions {
  policy: CaPolicy;
  /** The trusted CA PEM as stored (null when none yet). */
  load(): string | null;
  /** Persists a newly trusted CA PEM. */
  save(pem: string): void;
  /** Told about every CA change (accepted or refused), once per new CA. */
  onChange?(event: CaChangeEvent): void;
}

/** What the transport should do with a CA it just fetched. */
export type CaReview =
  /** Use `pem`; `confirm` when a verified connection with it should make it the trusted CA. */
  | { kind: 'use'; pem: string; confirm: boolean }
  /** Do not connect: the panel presents a CA the policy refuses. */
  | { kind: 'refused'; error: PanelError };

export function caFingerprint(pem: string): string {
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch {
    return 'unparsable certificate';
  }
}

export class CaTrust {
  readonly policy: CaPolicy;
  private readonly opts: CaTrustOptions;
  private pendingPem: string | null = null;
  /** Fingerprint last reported as refused, so a pinned panel reports each new CA once. */
  private reportedRefusal: string | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(opts: CaTrustOptions) {
    this.opts = opts;
    this.policy = opts.policy;
  }

  /** The trusted CA, if any. A transport starting with it needs no plain-HTTP fetch. */
  trusted(): string | null {
    const pem = this.opts.load();
    return typeof pem === 'string' && pem.includes('-----BEGIN CERTIFICATE-----') ? pem : null;
  }

  /** The refused CA waiting for the user (pinned), as a fingerprint; null when there is none. */
  get pendingFingerprint(): string | null {
    return this.pendingPem === null ? null : caFingerprint(this.pendingPem);
  }

  review(fetched: string): CaReview {
    const trusted = this.trusted();
    // Nothing trusted yet: trust on first use, kept once a verified connection succeeds.
    if (trusted === null) return { kind: 'use', pem: fetched, confirm: true };
    if (sameCertificate(trusted, fetched)) {
      this.pendingPem = null;
      this.reportedRefusal = null;
      return { kind: 'use', pem: trusted, confirm: false };
    }
    if (this.policy === 'follow') return { kind: 'use', pem: fetched, confirm: true };
    this.pendingPem = fetched;
    const previous = caFingerprint(trusted);
    const next = caFingerprint(fetched);
    if (this.reportedRefusal !== next) {
      this.reportedRefusal = next;
      this.report({ previousFingerprint: previous, newFingerprint: next, accepted: false, by: 'policy' });
    }
    return {
      kind: 'refused',
      error: new PanelError(
        'tls',
        `panel certificate changed (CA ${next}, trusted ${previous}): refused by the "pinned" CA policy; ` +
          'press "Trust new certificate" or register again',
        { code: CA_CHANGED_CODE },
      ),
    };
  }

  /** A connection with `pem` passed TLS verification (chain + panel name): trust it from now on. */
  confirm(pem: string): void {
    const trusted = this.trusted();
    if (trusted !== null && sameCertificate(trusted, pem)) return;
    this.opts.save(pem);
    this.pendingPem = null;
    this.reportedRefusal = null;
    // The first CA ever is not a change; a different one is, also under `follow`.
    if (trusted !== null) {
      this.report({
        previousFingerprint: caFingerprint(trusted),
        newFingerprint: caFingerprint(pem),
        accepted: true,
        by: 'policy',
      });
    }
  }

  /** The user trusts the refused CA. Returns its fingerprint, or null when nothing is pending. */
  trustPending(): string | null {
    const pem = this.pendingPem;
    if (pem === null) return null;
    const trusted = this.trusted();
    this.opts.save(pem);
    this.pendingPem = null;
    this.reportedRefusal = null;
    const fingerprint = caFingerprint(pem);
    this.report({
      previousFingerprint: trusted === null ? 'none' : caFingerprint(trusted),
      newFingerprint: fingerprint,
      accepted: true,
      by: 'user',
    });
    for (const l of [...this.listeners]) l();
    return fingerprint;
  }

  /** Called when the trusted CA changes by the user's hand (a transport reconnects at once). */
  onTrustChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private report(e: Omit<CaChangeEvent, 'policy'>): void {
    try {
      this.opts.onChange?.({ ...e, policy: this.policy });
    } catch {
      // A failing listener must not break the connection loop.
    }
  }
}

/** Same certificate, whatever the PEM line endings or trailing whitespace. */
function sameCertificate(a: string, b: string): boolean {
  if (a === b) return true;
  const fa = caFingerprint(a);
  return fa !== 'unparsable certificate' && fa === caFingerprint(b);
}
