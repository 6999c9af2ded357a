import { isAxiosError } from 'axios';
import { isStaleSocketFailure } from './classify';
import { parseRetryAfter } from './retry-after';
import type { RetryBudget } from './retry-budget';

const GATEWAY = new Set([502, 503, 504]);

/** Counts of what the in-request retry did; exposed for tests and diagnostics. */
export interface RetryStats {
  staleSocketRetries: number;
  gatewayRetries: number;
  gatewayRetriesDenied: number;
}

export interface RetryPolicyOptions {
  /** Keep-alive race mitigation on: a request that failed on a stale pooled socket is retried at once. */
  mitigation: boolean;
  requestTimeoutMs: number;
  budget: RetryBudget;
  random: () => number;
  /** Drops the pooled idle sockets (as dead as the one that just failed). */
  dropIdleSockets: () => void;
  stats: RetryStats;
}

export interface FailedCall {
  method: 'GET' | 'POST';
  /** When the whole call (retry included) must be over. */
  deadlineAt: number;
  /** Canceled by the caller or closed: never retried. */
  canceled: boolean;
}

/**
 * The v1 retry within one cycle, the whole policy: at most one retry, of a GET only (writes are sent
 * exactly once), and only
 * - at once after a failure on a stale keep-alive socket (the panel closed it as we reused it), or
 * - after 250…1000 ms on a 502/503/504 without Retry-After (a server naming its delay is the supervisor's
 *   business), when the retry still fits the call's deadline and the retry budget allows it.
 * Anything longer-term belongs to the supervisor. Returns the delay before the retry, or null.
 */
export function retryDelay(err: unknown, call: FailedCall, o: RetryPolicyOptions): number | null {
  if (call.canceled || call.method !== 'GET' || !isAxiosError(err)) return null;
  if (err.code === 'ERR_CANCELED' || err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT') return null;
  if (isStaleSocketFailure(err)) {
    if (!o.mitigation) return null;
    // Pooled sockets idle at least as long as this one are just as dead: the retry must not pick one.
    o.dropIdleSockets();
    o.stats.staleSocketRetries += 1;
    return 0;
  }
  const status = err.response?.status;
  if (status === undefined || !GATEWAY.has(status)) return null;
  if (parseRetryAfter(err.response?.headers?.['retry-after']) !== undefined) return null;
  const delay = 250 + o.random() * 750;
  if (Date.now() + delay + o.requestTimeoutMs > call.deadlineAt || !o.budget.tryAcquire()) {
    o.stats.gatewayRetriesDenied += 1;
    return null;
  }
  o.stats.gatewayRetries += 1;
  return delay;
}

/** Waits `ms`, or rejects with the abort reason as soon as `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
