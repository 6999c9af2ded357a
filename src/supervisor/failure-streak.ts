import type { PanelError } from '../transport/errors';
import type { Logger } from '../util/logger';
import { FailureLog } from './failure-log';
import type { HealthFacts } from './health';

/**
 * The panel's record of failures and successes: failed cycles in a row and since when, the last error
 * (details to debug, rate-limited by FailureLog), the last success, and the length of the outage that the
 * last success ended (reported once, with the recovery).
 */
export class FailureStreak {
  failures = 0;
  firstFailureAt: number | null = null;
  lastError: PanelError | null = null;
  lastSuccessAt: number | null = null;
  lastOutageMs: number | null = null;
  private readonly log: FailureLog;

  constructor(logger: Logger, label: string) {
    this.log = new FailureLog(logger, label);
  }

  /** A cycle failed with `err`; returns when the streak began. */
  failed(err: PanelError): number {
    this.failures += 1;
    this.lastError = err;
    this.firstFailureAt ??= Date.now();
    this.log.debug(err);
    return this.firstFailureAt;
  }

  /** A cycle succeeded: the streak ends. Returns the length of the outage it ended, or null. */
  succeeded(): number | null {
    const outageMs = this.firstFailureAt === null ? null : Date.now() - this.firstFailureAt;
    this.clear();
    this.lastSuccessAt = Date.now();
    this.lastOutageMs = outageMs;
    return outageMs;
  }

  /** Forgets the streak (a success, a start over); the last success and outage stay for health events. */
  clear(): void {
    this.log.reset();
    this.failures = 0;
    this.firstFailureAt = null;
    this.lastError = null;
  }

  facts(): Omit<HealthFacts, 'nextAttemptAt' | 'api' | 'dataModel'> {
    return {
      lastError: this.lastError,
      consecutiveFailures: this.failures,
      lastSuccessAt: this.lastSuccessAt,
      firstFailureAt: this.firstFailureAt,
      lastOutageMs: this.lastOutageMs,
    };
  }
}
