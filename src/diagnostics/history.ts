/**
 * What a panel connection went through, for the diagnostics file: the last state changes with their
 * reasons, failures counted by error class, and data counters. A supervisor listener (the supervisor
 * knows nothing of it): attach() subscribes it, or a holder of a subscription forwards its events (the
 * panel hub, which keeps a single listener per supervisor). It outlives supervisor restarts, so a redeploy
 * does not erase the story. Holds only what health events carry, which is secret-free by contract.
 */
import type { ErrorClass } from '../transport/errors';
import type {
  DataEvent,
  HealthEvent,
  HealthState,
  PanelHealthSupervisor,
  SupervisorListener,
} from '../supervisor/types';

export interface StateChange {
  at: string;
  state: HealthState;
  previous: HealthState | null;
  reason: string;
  errorClass: ErrorClass | null;
  consecutiveFailures: number;
}

export interface ErrorTally {
  count: number;
  lastAt: string;
  lastReason: string;
}

export class ConnectionHistory implements SupervisorListener {
  private readonly changes: StateChange[] = [];
  private readonly errors = new Map<string, ErrorTally>();
  readonly counters = { healthEvents: 0, dataEvents: 0, staleDataEvents: 0, supervisorsStarted: 0 };

  constructor(private readonly limit = 50) {}

  /** Starts listening to a supervisor; returns the function that stops. */
  attach(supervisor: PanelHealthSupervisor): () => void {
    this.supervisorStarted();
    return supervisor.subscribe(this);
  }

  /** A new supervisor (connection) begins; its events follow. */
  supervisorStarted(): void {
    this.counters.supervisorsStarted += 1;
  }

  onData(d: DataEvent): void {
    this.counters.dataEvents += 1;
    if (d.stale) this.counters.staleDataEvents += 1;
  }

  /** The last `limit` state changes, oldest first. */
  get stateChanges(): StateChange[] {
    return this.changes.map((c) => ({ ...c }));
  }

  /** Failures by error class (a retry that fails again counts again). */
  get errorsByClass(): Record<string, ErrorTally> {
    return Object.fromEntries([...this.errors].map(([k, v]) => [k, { ...v }]));
  }

  onHealth(h: HealthEvent): void {
    this.counters.healthEvents += 1;
    if (h.errorClass) {
      const t = this.errors.get(h.errorClass) ?? { count: 0, lastAt: h.since, lastReason: h.reason };
      // A same-state re-emission (new retry time) is not a new failure.
      if (h.transition || h.consecutiveFailures !== this.lastFailures) t.count += 1;
      t.lastAt = h.since;
      t.lastReason = h.reason;
      this.errors.set(h.errorClass, t);
    }
    this.lastFailures = h.consecutiveFailures;
    if (!h.transition) return;
    this.changes.push({
      at: h.since,
      state: h.state,
      previous: h.previous,
      reason: h.reason,
      errorClass: h.errorClass,
      consecutiveFailures: h.consecutiveFailures,
    });
    if (this.changes.length > this.limit) this.changes.splice(0, this.changes.length - this.limit);
  }

  private lastFailures = 0;
}
