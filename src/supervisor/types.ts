import type { PanelSnapshot } from '../model/panel';
import type { ErrorClass } from '../transport/errors';

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
  api: 'v1' | 'v2' | null;
  /** True when the panel only speaks the legacy v1 API, which stops answering on 2026-12-31. */
  legacyApi: boolean;
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

/** Logging sink with Node-RED's levels; the supervisor never logs a secret. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}
