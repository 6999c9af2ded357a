import { PanelError, UNREACHABLE_CODES, type ErrorClass } from '../errors';
import { parseRetryAfter } from './retry-after';

/**
 * The parts of an axios error (or a Node socket error) the classifier reads. Structural, so the table-driven
 * tests can describe each row without a network, and so a non-axios error still classifies.
 */
export interface HttpFailureLike {
  code?: string;
  message?: string;
  syscall?: string;
  cause?: unknown;
  response?: { status: number; statusText?: string; headers?: unknown };
  /** With `maxRedirects: 0` this is the real ClientRequest, so `reusedSocket` is readable. */
  request?: { reusedSocket?: boolean };
}

export interface RequestContext {
  method: string;
  /** Path only (never a query with secrets, never a header). */
  path: string;
  /** Set when our own AbortSignal fired: its reason tells a deadline from a shutdown. */
  abortReason?: unknown;
  nowMs?: number;
}

const STALE_CODES = new Set(['ECONNRESET', 'EPIPE']);
function asFailure(e: unknown): HttpFailureLike {
  return typeof e === 'object' && e !== null ? (e as HttpFailureLike) : { message: String(e) };
}

function headerValue(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as Record<string, unknown> & { get?: (n: string) => unknown };
  if (h[name] !== undefined) return h[name];
  return typeof h.get === 'function' ? h.get(name) : undefined;
}

function causeField(e: HttpFailureLike, field: 'syscall' | 'code'): string | undefined {
  if (e[field]) return e[field];
  const c = e.cause;
  if (c && typeof c === 'object' && typeof (c as Record<string, unknown>)[field] === 'string') {
    return (c as Record<string, string>)[field];
  }
  return undefined;
}

/** ECONNRESET/EPIPE/"socket hang up" with no response on a socket the agent had reused from its pool. */
export function isStaleSocketFailure(e: unknown): boolean {
  const f = asFailure(e);
  if (f.response) return false;
  const looksReset =
    (f.code !== undefined && STALE_CODES.has(f.code)) || /socket hang up/i.test(f.message ?? '');
  return looksReset && f.request?.reusedSocket === true;
}

/** HTTP status → class. 401/403/412 are the only statuses that ever mean `auth` (SPAN #29/#39). */
export function classForStatus(status: number, hasRetryAfter: boolean): ErrorClass {
  if (status === 401 || status === 403 || status === 412) return 'auth';
  if (status === 429) return 'rate-limited';
  if (status === 503 && hasRetryAfter) return 'rate-limited';
  if (status === 502 || status === 503 || status === 504) return 'gateway';
  if (status >= 500) return 'server';
  if (status >= 300) return 'client';
  // A 2xx that still failed: the body was cut short or over the size limit.
  return 'protocol';
}

const STATUS_HINT: Partial<Record<ErrorClass, string>> = {
  auth: 'access token missing, invalid or revoked',
  gateway: 'panel busy or restarting',
  'rate-limited': 'panel asks to slow down',
};

/** A secret-free stand-in for the raw error (axios errors carry the request config, headers included). */
function sanitizedCause(f: HttpFailureLike): Error {
  const err = new Error(f.message ?? 'request failed');
  err.name = f.code ?? 'Error';
  return err;
}

function reasonIsTimeout(reason: unknown): boolean {
  if (reason instanceof PanelError) return reason.errorClass === 'timeout';
  return (
    typeof reason === 'object' && reason !== null && (reason as { name?: unknown }).name === 'TimeoutError'
  );
}

/**
 * Classifies one failed HTTP exchange (docs/resilience.md §3). Pure: the same input always gives the same
 * class.
 * Messages name method, path, status or code, never a header or a token.
 */
export function classifyHttpError(e: unknown, ctx: RequestContext): PanelError {
  const f = asFailure(e);
  const where = `${ctx.method.toUpperCase()} ${ctx.path}`;
  const code = causeField(f, 'code');
  const cause = sanitizedCause(f);

  // Our own abort first: whatever error it surfaced as, the reason says whether a deadline fired.
  if (ctx.abortReason !== undefined || code === 'ERR_CANCELED') {
    if (ctx.abortReason !== undefined && reasonIsTimeout(ctx.abortReason)) {
      const why = ctx.abortReason instanceof Error ? ctx.abortReason.message : 'deadline reached';
      return new PanelError('timeout', `${where}: aborted, ${why}`, { code: 'ETIMEDOUT', cause });
    }
    return new PanelError('canceled', `${where}: canceled`, { code: 'ERR_CANCELED', cause });
  }
  if (e instanceof PanelError) return e;

  if (f.response) {
    const { status } = f.response;
    const retryAfterMs = parseRetryAfter(headerValue(f.response.headers, 'retry-after'), ctx.nowMs);
    const cls = classForStatus(status, retryAfterMs !== undefined);
    const text = f.response.statusText ? ` ${f.response.statusText}` : '';
    let msg = `${where}: HTTP ${status}${text}`;
    if (cls === 'protocol') msg += `: incomplete response (${f.message ?? 'body error'})`;
    else if (STATUS_HINT[cls]) msg += ` (${STATUS_HINT[cls]})`;
    return new PanelError(cls, msg, { status, code, retryAfterMs, cause });
  }

  const detail = f.message ? ` (${f.message})` : '';
  if (code === 'ECONNABORTED')
    return new PanelError('timeout', `${where}: timed out${detail}`, { code, cause });
  if (code === 'ECONNREFUSED') {
    return new PanelError('refused', `${where}: connection refused${detail}`, { code, cause });
  }
  if (code === 'ETIMEDOUT') {
    // The OS gave up connecting (no route / host down); our own timeouts are ECONNABORTED or an abort.
    const cls: ErrorClass = causeField(f, 'syscall') === 'connect' ? 'unreachable' : 'timeout';
    return new PanelError(cls, `${where}: timed out${detail}`, { code, cause });
  }
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    return new PanelError('unreachable', `${where}: panel unreachable${detail}`, { code, cause });
  }
  if (isStaleSocketFailure(f)) {
    return new PanelError('stale-socket', `${where}: keep-alive socket closed by the panel${detail}`, {
      code: code ?? 'ECONNRESET',
      cause,
    });
  }
  if ((code !== undefined && STALE_CODES.has(code)) || /socket hang up/i.test(f.message ?? '')) {
    // A fresh connection dropped before a complete response: the answer never arrived whole.
    return new PanelError('protocol', `${where}: connection closed before a complete response${detail}`, {
      code: code ?? 'ECONNRESET',
      cause,
    });
  }
  if ((code !== undefined && code.startsWith('HPE_')) || code === 'ERR_BAD_RESPONSE') {
    return new PanelError('protocol', `${where}: malformed HTTP response${detail}`, { code, cause });
  }
  return new PanelError('unknown', `${where}: request failed${detail}`, { code, cause });
}
