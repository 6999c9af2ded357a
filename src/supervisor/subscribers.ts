import { fanOut } from '../util/fan-out';
import type { Logger } from '../util/logger';
import type { DataEvent, HealthEvent, SupervisorListener } from './types';

/** The supervisor's subscribers: every event reaches each of them; one that throws is logged and skipped. */
export class Subscribers {
  private readonly listeners = new Set<SupervisorListener>();

  constructor(
    private readonly logger: Logger,
    private readonly label: string,
  ) {}

  get size(): number {
    return this.listeners.size;
  }

  /** Adds a listener; returns the function that removes it. */
  add(listener: SupervisorListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  health(event: HealthEvent): void {
    fanOut(
      this.listeners,
      (l) => l.onHealth?.(event),
      (e) => this.logger.error(`${this.label}: a health subscriber threw: ${e.message}`),
    );
  }

  data(event: DataEvent): void {
    fanOut(
      this.listeners,
      (l) => l.onData?.(event),
      (e) => this.logger.error(`${this.label}: a data subscriber threw: ${e.message}`),
    );
  }
}
