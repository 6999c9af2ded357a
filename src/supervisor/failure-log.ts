import type { PanelError } from '../transport/errors';
import type { Logger } from '../util/logger';

/**
 * Per-failure details go to debug only, and an identical failure is not repeated more than once a minute:
 * a panel that is down for days must not fill the Node-RED log (the warn/info transition lines are logged
 * by the supervisor itself, once each).
 */
export class FailureLog {
  private lastKey = '';
  private lastAt = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly label: string,
    private readonly repeatAfterMs = 60_000,
  ) {}

  debug(err: PanelError): void {
    const key = `${err.errorClass}|${err.status ?? ''}|${err.code ?? ''}|${err.message}`;
    const now = Date.now();
    if (key === this.lastKey && now - this.lastAt < this.repeatAfterMs) {
      this.suppressed += 1;
      return;
    }
    const repeats = this.suppressed > 0 ? ` (${this.suppressed} identical failures not shown)` : '';
    this.logger.debug(`${this.label}: cycle failed: ${err.errorClass}: ${err.message}${repeats}`);
    this.lastKey = key;
    this.lastAt = now;
    this.suppressed = 0;
  }

  reset(): void {
    this.lastKey = '';
    this.suppressed = 0;
  }
}
