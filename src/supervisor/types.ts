import type { ApiKind, DataModel, PanelSnapshot, SettablePriority, SettableRelay } from '../model/panel';
import type { ErrorClass } from '../transport/errors';
import type { CommandOutcome, PanelTransport } from '../transport/transport';

export type HealthState = 'connecting' | 'online' | 'degraded' | 'offline' | 'auth-failed' | 'stopped';

/** Emitted once per state change; also the body of span-status messages. Contains no secret. */
export interface HealthEvent {
  state: HealthState;
  previous: HealthState | null;
  /** Short human reason, e.g. "HTTP 502 from /api/v1/panel" or "recovered". */
  reason: string;
  errorClass: ErrorClass | null;
  consecutiveFailures: number;
  /** ISO time of the last successful cycle, null if never. */
  lastSuccessAt: string | null;
  /** ISO time of the next scheduled attempt, null when stopped. */
  nextAttemptAt: string | null;
  nextAttemptInMs: number | null;
  /** ms since the panel was last healthy, while unhealthy; on recovery, the length of the outage. */
  outageMs: number | null;
  /** ISO time of the change. */
  since: string;
  api: ApiKind | null;
  /** True when the panel only speaks the legacy v1 API, which stops answering on 2026-12-31. */
  legacyApi: boolean;
  /** Data model in use once known ('v1-rest', 'v2-flat', 'v2-parent-child'). */
  dataModel: DataModel | null;
  /**
   * True when `state` differs from `previous`. While offline or auth-failed the supervisor also re-emits the
   * same state with a new `nextAttemptAt` (transition false), so node status can show "retry in 8s".
   */
  transition: boolean;
}

export interface DataEvent {
  snapshot: PanelSnapshot;
  /** True when this data is not fresh (the last cycle failed and this is the last good snapshot). */
  stale: boolean;
  /** ms since the snapshot was received from the panel. */
  dataAgeMs: number;
}

export interface SupervisorListener {
  onHealth?(event: HealthEvent): void;
  onData?(event: DataEvent): void;
}

export type { Logger } from '../util/logger';

/**
 * What a config node (and through it every worker node) uses. One instance per panel; implemented by
 * PanelSupervisor in supervisor.ts.
 */
export interface PanelHealthSupervisor {
  /** Current health (state 'stopped' before start and after stop). */
  readonly health: HealthEvent;
  /** Last good data, or null before the first success. */
  readonly latest: DataEvent | null;
  /** Adds a listener; returns the function that removes it. A throwing listener never breaks the loop. */
  subscribe(listener: SupervisorListener): () => void;
  /** Starts the loop (idempotent). */
  start(): void;
  /**
   * Fresh data on demand (a span-poll input message). Joins the cycle in flight, or returns the cached
   * snapshot when it is younger than half the interval. While the panel is failing it never starts a cycle
   * (that would bypass the backoff): it answers with the last snapshot, marked stale, or rejects with the
   * last error when there is none.
   */
  refresh(): Promise<DataEvent>;
  setRelay(circuitId: string, state: SettableRelay): Promise<CommandOutcome>;
  setPriority(circuitId: string, priority: SettablePriority): Promise<CommandOutcome>;
  /**
   * The credentials changed outside the running connection (a registration from the editor): drop the
   * transport and try again now, with the authentication ramp reset. Does nothing while stopped.
   */
  reconnect(why: string): void;
  /** Sets the charge-current ceiling of the EV charger fed by `circuitId` (v2 panels only). */
  setChargeCurrent(circuitId: string, amps: number): Promise<CommandOutcome>;
  /** Stops everything: timers, sockets, clients. The only terminal state. */
  stop(): Promise<void>;
}

/**
 * Re-tests the API decision of an `auto` connection (implemented in src/connection/api-watch.ts). The
 * supervisor asks; it never knows which API is better.
 */
export interface ApiWatch {
  /** After a failed cycle on `transport`: true drops it, so the next cycle detects the API again. */
  redetectAfterFailure(transport: PanelTransport, failures: number): boolean;
  /**
   * After a good cycle (`recovered`: the first after failures): true when the panel now offers a better API,
   * so the transport is rebuilt. Never throws; resolves false when it cannot tell.
   */
  betterApiAvailable(transport: PanelTransport, recovered: boolean, signal: AbortSignal): Promise<boolean>;
}
