import type { PanelError } from '../transport/errors';
import { Backoff } from './backoff';
import { describeError, type Decision } from './health';
import type { SupervisorOptions } from './options';
import { clamp, type TimingPolicy } from './timing';
import type { HealthState } from './types';

const MAX_RETRY_AFTER_MS = 60_000;

/**
 * What a failed cycle that is not an authentication rejection decides: `degraded` (or still `connecting`)
 * and the next cycle one interval later, until enough failures over enough time make the panel `offline`;
 * from then on the next cycle follows the capped, jittered backoff (×1.6 ±20 %) until a success resets it.
 */
export class OfflinePolicy {
  private readonly backoff: Backoff;
  private readonly afterFailures: number;
  private readonly afterMs: number;

  constructor(
    private readonly timing: TimingPolicy,
    opts: Pick<SupervisorOptions, 'offlineAfterFailures' | 'offlineAfterMs' | 'backoffInitialMs'> & {
      random: () => number;
    },
  ) {
    this.backoff = new Backoff({
      initialMs: opts.backoffInitialMs ?? 1000,
      factor: 1.6,
      jitter: 0.2,
      capMs: timing.backoffCapMs,
      random: opts.random,
    });
    this.afterFailures = opts.offlineAfterFailures ?? 3;
    this.afterMs = opts.offlineAfterMs ?? Math.min(15_000, 3 * timing.intervalMs);
  }

  /** `failures` in a row since `firstFailureAt`, the last one `err`, while the panel was `state`. */
  decide(err: PanelError, state: HealthState, failures: number, firstFailureAt: number): Decision {
    const goesOffline =
      state === 'offline' || (failures >= this.afterFailures && Date.now() - firstFailureAt >= this.afterMs);
    // Honour Retry-After, but never beyond the backoff cap (≤ 60 s): a huge value must not break the
    // recovery bound max(P, 1.2·cap) + request timeout that users rely on.
    const retryAfter =
      err.retryAfterMs !== undefined
        ? clamp(
            err.retryAfterMs,
            this.timing.intervalMs,
            Math.min(MAX_RETRY_AFTER_MS, this.timing.backoffCapMs),
          )
        : 0;
    const reason = describeError(err);
    if (!goesOffline) {
      const next: HealthState = state === 'connecting' ? 'connecting' : 'degraded';
      return { state: next, reason, delayMs: Math.max(this.timing.intervalMs, retryAfter) };
    }
    return { state: 'offline', reason, delayMs: Math.max(this.backoff.next(), retryAfter) };
  }

  /** The panel answered (or the connection starts over): the backoff starts from the beginning again. */
  reset(): void {
    this.backoff.reset();
  }
}
