import type { ApiWatch } from '../supervisor/types';
import { fetchV2Status } from '../transport/v2/rest';
import type { PanelTransport } from '../transport/transport';

/**
 * Keeps an `auto` connection's API decision honest while it runs on the legacy v1 API: SPAN switches v1
 * off on 2026-12-31 and panels get upgraded to v2 firmware while Node-RED runs, so a decision taken once at
 * deploy time must not stand forever.
 *
 * - After `redetectAfterFailures` failed cycles in a row (any class; a 404 on /api/v1/* is the sunset's
 *   signature) the v1 transport is dropped and the next cycle detects the API again.
 * - While v1 works, GET /api/v2/status is asked now and then: first after `checkInitialMs`, then twice as
 *   long each time up to `checkMaxMs` (hourly), and at once on the first good cycle after failures (a reboot
 *   may have been a firmware upgrade). A v2 status answer means "rebuild": detection then picks v2.
 */
export interface ApiWatchOptions {
  host: string;
  requestTimeoutMs: number;
  /** Default 3. */
  redetectAfterFailures?: number;
  /** First /api/v2/status check after v1 was chosen; default 60 s. */
  checkInitialMs?: number;
  /** Longest period between checks; default 1 h. */
  checkMaxMs?: number;
  now?: () => number;
}

export function createApiWatch(opts: ApiWatchOptions): ApiWatch {
  const now = opts.now ?? Date.now;
  const initial = opts.checkInitialMs ?? 60_000;
  const max = opts.checkMaxMs ?? 3_600_000;
  let watched: PanelTransport | null = null;
  let period = initial;
  let nextCheckAt = 0;

  return {
    redetectAfterFailure(transport, failures) {
      return transport.api === 'v1' && failures >= (opts.redetectAfterFailures ?? 3);
    },

    async betterApiAvailable(transport, recovered, signal) {
      if (transport.api !== 'v1') return false;
      if (transport !== watched) {
        watched = transport;
        period = initial;
        nextCheckAt = now() + period;
      }
      if (!recovered && now() < nextCheckAt) return false;
      nextCheckAt = now() + period;
      period = Math.min(max, period * 2);
      return v2StatusAnswers(opts, signal);
    },
  };
}

/** True only for a 200 carrying a v2 status body; anything else (404, 5xx, timeout, junk) is "not yet". */
function v2StatusAnswers(opts: ApiWatchOptions, signal: AbortSignal): Promise<boolean> {
  return fetchV2Status({ host: opts.host, timeoutMs: opts.requestTimeoutMs }, signal).then(
    () => true,
    () => false,
  );
}
