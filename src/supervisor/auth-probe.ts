import type { PanelError } from '../transport/errors';
import type { Logger } from '../util/logger';
import { Backoff } from './backoff';
import { describeError, type Decision } from './health';
import type { HealthState } from './types';

/**
 * The ramp after authentication rejections: a credential restored after a reboot or firmware update is back
 * within a probe or two, one revoked for good costs one request per cap period.
 */
export class AuthProbeRamp {
  /** Rejections in a row (reset by any success). */
  rejections = 0;
  private readonly backoff: Backoff;

  constructor(
    private readonly logger: Logger,
    private readonly label: string,
    opts: { initialMs?: number; capMs?: number; random: () => number },
  ) {
    const capMs = opts.capMs ?? 300_000;
    this.backoff = new Backoff({
      initialMs: Math.min(opts.initialMs ?? 10_000, capMs),
      factor: 2,
      jitter: 0.2,
      capMs,
      random: opts.random,
    });
  }

  /** The decision after a rejection (the caller has dropped the rejected transport). */
  onRejection(err: PanelError, state: HealthState): Decision {
    this.rejections += 1;
    if (err.errorClass === 'auth' && this.rejections === 1) {
      // Retry at once (a credential just changed in the config, a broker restarting).
      return { state: state === 'online' ? 'degraded' : state, reason: describeError(err), delayMs: 0 };
    }
    if (state !== 'auth-failed') {
      this.logger.warn(
        err.errorClass === 'needs-registration'
          ? `${this.label}: registration needed: ${err.message}`
          : `${this.label}: authentication failed (${describeError(err)}). Polling is paused; the panel is ` +
              'probed after 10 s, then less and less often (every 5 min at most). Update the access token or ' +
              'passphrase in the panel configuration, or press "Register with panel".',
      );
    }
    return { state: 'auth-failed', reason: describeError(err), delayMs: this.backoff.next() };
  }

  reset(): void {
    this.rejections = 0;
    this.backoff.reset();
  }
}
