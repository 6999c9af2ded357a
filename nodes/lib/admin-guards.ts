/**
 * Guards for the editor's admin endpoints: JSON bodies only, a few calls per panel at a time, and error
 * answers that say why a call failed without showing what the other end sent or what a variable held.
 */
import type { NextFunction, Request, Response } from 'express';
import { asPanelError, type ErrorClass } from '../../src/transport/errors';
import { CA_CHANGED_CODE } from '../../src/transport/v2/ca-trust';

/**
 * A browser sends a form (urlencoded, multipart, text/plain) cross-site without asking; JSON needs a CORS
 * preflight the editor never grants. So anything but JSON is refused before it is read or acted on.
 */
export function jsonOnly(req: Request, res: Response, next: NextFunction): void {
  if (req.is('application/json') !== 'application/json') {
    res.status(415).json({ ok: false, error: 'send the request as JSON (Content-Type: application/json)' });
    return;
  }
  next();
}

/** At most `max` calls in flight per key (a panel's host or config node id). */
export class ConcurrencyLimiter {
  private readonly inFlight = new Map<string, number>();
  constructor(private readonly max: number) {}

  /** Takes a slot for every key, or none when one of them is full; returns the release function. */
  tryAcquire(keys: string[]): (() => void) | null {
    const unique = [...new Set(keys)];
    if (unique.some((k) => (this.inFlight.get(k) ?? 0) >= this.max)) return null;
    for (const k of unique) this.inFlight.set(k, (this.inFlight.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const k of unique) {
        const n = (this.inFlight.get(k) ?? 1) - 1;
        if (n <= 0) this.inFlight.delete(k);
        else this.inFlight.set(k, n);
      }
    };
  }
}

/** Classes whose messages we compose ourselves from status, code and path only. */
const OWN_WORDS: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'auth',
  'refused',
  'unreachable',
  'timeout',
  'gateway',
  'server',
  'rate-limited',
  'client',
  'stale-data',
  'canceled',
]);

/** For the others the detail is whatever the other end sent: say what kind of failure it was instead. */
const GENERIC: Partial<Record<ErrorClass, string>> = {
  protocol: 'the answer is not what a SPAN panel sends',
  tls: "TLS failure: the broker's certificate is not signed by the panel CA or does not name this panel",
  broker: 'the MQTT broker did not accept the connection',
  'stale-socket': 'the connection was closed by the other end',
};

/**
 * The error text for an admin answer: secrets masked, env-derived values replaced by the field as saved,
 * HTTP reason phrases dropped (they are the other end's words), library details replaced by the class.
 */
export function adminErrorText(
  e: unknown,
  secrets: Array<string | undefined>,
  hidden: Array<[string, string]>,
): { error: string; errorClass: ErrorClass } {
  const err = asPanelError(e);
  const where = /^((?:GET|POST|PUT|DELETE) \S+|MQTT \S+)(?=:)/.exec(err.message)?.[1];
  let text: string;
  if (err.status !== undefined) {
    // The reason phrase and body are the other end's words: status and our own hint only.
    text = `${where ?? 'request'}: HTTP ${err.status}${statusHint(err.errorClass, err.status, where ?? '')}`;
  } else if (err.code === CA_CHANGED_CODE || OWN_WORDS.has(err.errorClass)) {
    text = err.message;
  } else {
    const generic = GENERIC[err.errorClass] ?? 'request failed';
    text = where ? `${where}: ${generic}` : generic;
  }
  for (const s of secrets) if (s && s.length >= 3) text = text.split(s).join('***');
  for (const [value, shown] of [...hidden].sort((a, b) => b[0].length - a[0].length)) {
    if (value) text = text.split(value).join(shown);
  }
  return { error: text, errorClass: err.errorClass };
}

function statusHint(cls: ErrorClass, status: number, where: string): string {
  const registering = where.includes('/auth/register');
  if (registering && status === 422) return ': passphrase not accepted';
  if (registering && status === 503) return ': the panel is not ready to register clients yet';
  if (cls === 'auth') {
    return registering
      ? ': registration refused; type the passphrase, or press the door switch 3 times first'
      : ': the panel refused the access token (missing, wrong or revoked)';
  }
  if (cls === 'rate-limited') return ': the panel asks to slow down';
  if (cls === 'gateway') return ': panel busy or restarting';
  if (status === 404) return ': not found (that API is not available there)';
  return '';
}
