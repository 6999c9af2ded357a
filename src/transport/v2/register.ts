import { randomBytes } from 'node:crypto';
import { PanelError } from '../errors';
import type { V2Credentials } from './credentials';
import { parseJsonObject, v2Request, V2_PATHS, type V2Endpoint } from './rest';

/**
 * POST /api/v2/auth/register (docs/panel-api.md §3.1, §4): with the hop passphrase from the SPAN Home app, or
 * without it during the door-proximity window. The answer carries the MQTT broker login. The caller persists
 * the credentials (every call creates a new client entry on the panel).
 *
 * Secrets: the passphrase, the token and the broker password are never logged and never put in an error
 * message. A rejected registration (422) echoes the passphrase in its body, so bodies are never quoted; any
 * message text is additionally scrubbed of the passphrase before it leaves this module.
 */

/** What a registration answers: the credentials, and the MQTTS port the panel advertises (8883 on real panels). */
export interface V2Registration extends V2Credentials {
  mqttsPort: number | null;
}

export interface RegisterOptions {
  /** Base client name; a random suffix is appended because the panel requires unique names. */
  name?: string;
  /** Hop passphrase; omit during the door-proximity window. */
  passphrase?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  httpPort?: number;
}

const PROXIMITY_HELP =
  'enter the passphrase from the SPAN Home app (On-premise settings), or open the panel door and press the ' +
  'door switch 3 times, then register within 15 minutes';

/** Replaces every occurrence of each secret in `text` (defence in depth for error messages). */
export function redact(text: string, secrets: Array<string | null | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (typeof s === 'string' && s.length >= 3) out = out.split(s).join('***');
  }
  return out;
}

function scrubbed(err: PanelError, secrets: Array<string | undefined>): PanelError {
  const msg = redact(err.message, secrets);
  if (msg === err.message && err.cause === undefined) return err;
  // The cause may be an axios error holding the request body (the passphrase): never pass it on.
  return new PanelError(err.errorClass, msg, {
    status: err.status,
    code: err.code,
    retryAfterMs: err.retryAfterMs,
  });
}

export function uniqueClientName(base = 'node-red-span'): string {
  const clean =
    base
      .trim()
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .slice(0, 48) || 'node-red-span';
  return `${clean}-${randomBytes(4).toString('hex')}`;
}

export async function registerV2(host: string, opts: RegisterOptions = {}): Promise<V2Registration> {
  const ep: V2Endpoint = { host, httpPort: opts.httpPort, timeoutMs: opts.timeoutMs };
  const where = `POST ${V2_PATHS.register}`;
  const secrets = [opts.passphrase];
  const body: Record<string, string> = { name: uniqueClientName(opts.name) };
  if (opts.passphrase) body.hopPassphrase = opts.passphrase;

  let res;
  try {
    res = await v2Request(ep, 'POST', V2_PATHS.register, opts.signal, body);
  } catch (e) {
    throw scrubbed(
      e instanceof PanelError ? e : new PanelError('unknown', `${where}: request failed`),
      secrets,
    );
  }

  if (res.status === 422) {
    throw new PanelError('auth', `${where}: HTTP 422: passphrase not accepted`, { status: 422 });
  }
  if (res.status === 401 || res.status === 403) {
    throw new PanelError('auth', `${where}: HTTP ${res.status}: registration refused; ${PROXIMITY_HELP}`, {
      status: res.status,
    });
  }
  if (res.status === 503) {
    throw new PanelError('gateway', `${where}: HTTP 503: panel is not ready to register clients yet`, {
      status: 503,
    });
  }
  if (res.status === 429) {
    throw new PanelError('rate-limited', `${where}: HTTP 429: too many registration attempts`, {
      status: 429,
    });
  }
  if (res.status < 200 || res.status >= 300) {
    const cls =
      res.status >= 500 ? (res.status === 502 || res.status === 504 ? 'gateway' : 'server') : 'client';
    throw new PanelError(cls, `${where}: HTTP ${res.status}: registration failed`, { status: res.status });
  }

  const out = parseJsonObject(res.text, where);
  const str = (k: string): string | null =>
    typeof out[k] === 'string' && out[k] !== '' ? (out[k] as string) : null;
  const accessToken = str('accessToken');
  const brokerPassword = str('ebusBrokerPassword');
  const serial = str('serialNumber') ?? str('ebusBrokerUsername');
  if (!accessToken || !brokerPassword || !serial) {
    // Name the missing fields only; values are secrets.
    const missing = [
      !accessToken && 'accessToken',
      !brokerPassword && 'ebusBrokerPassword',
      !serial && 'serialNumber',
    ].filter(Boolean);
    throw new PanelError('protocol', `${where}: the answer lacks ${missing.join(', ')}`);
  }
  const port = out.ebusBrokerMqttsPort;
  return {
    accessToken,
    brokerUsername: str('ebusBrokerUsername') ?? serial,
    brokerPassword,
    serial,
    mqttsPort: typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65536 ? port : null,
  };
}
