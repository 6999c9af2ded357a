import type { ApiKind, DataModel } from '../model/panel';
import type { PanelError } from '../transport/errors';
import type { DataEvent, HealthEvent, HealthState } from './types';

/** What a cycle (or start/stop) decided: the state to show, why, and when the next cycle runs. */
export interface Decision {
  state: HealthState;
  reason: string;
  delayMs: number;
}

/** What the supervisor knows when it reports health; buildHealth turns it into the event subscribers see. */
export interface HealthFacts {
  nextAttemptAt: number | null;
  lastError: PanelError | null;
  consecutiveFailures: number;
  lastSuccessAt: number | null;
  firstFailureAt: number | null;
  /** Length of the outage that the last success ended (reported once, with the recovery). */
  lastOutageMs: number | null;
  /** The API and data model in use, or last known while none is connected. */
  api: ApiKind | null;
  dataModel: DataModel | null;
}

export function buildHealth(
  state: HealthState,
  previous: HealthState | null,
  reason: string,
  transition: boolean,
  facts: HealthFacts,
): HealthEvent {
  const now = Date.now();
  const nextIn =
    state === 'stopped' || facts.nextAttemptAt === null ? null : Math.max(0, facts.nextAttemptAt - now);
  const unhealthy = state === 'offline' || state === 'degraded' || state === 'auth-failed';
  return {
    state,
    previous,
    reason,
    errorClass: state === 'online' || state === 'stopped' ? null : (facts.lastError?.errorClass ?? null),
    consecutiveFailures: facts.consecutiveFailures,
    lastSuccessAt: facts.lastSuccessAt === null ? null : new Date(facts.lastSuccessAt).toISOString(),
    nextAttemptAt: nextIn === null ? null : new Date(now + nextIn).toISOString(),
    nextAttemptInMs: nextIn,
    outageMs:
      unhealthy && facts.firstFailureAt !== null
        ? now - facts.firstFailureAt
        : state === 'online' && previous !== 'online'
          ? facts.lastOutageMs
          : null,
    since: new Date(now).toISOString(),
    api: facts.api,
    legacyApi: facts.api === 'v1',
    dataModel: facts.dataModel,
    transition,
  };
}

/** The data event with its age as of now. */
export function withAge(data: DataEvent): DataEvent {
  return { ...data, dataAgeMs: Math.max(0, Date.now() - data.snapshot.receivedAt) };
}

/** The reason shown for a failure: class, HTTP status or code, message (never a secret: see errors.ts). */
export function describeError(err: PanelError): string {
  const detail = err.status !== undefined ? `HTTP ${err.status}` : err.code;
  return `${err.errorClass}${detail ? ` (${detail})` : ''}: ${err.message}`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  return `${(m / 60).toFixed(1)} h`;
}

/**
 * Tells a slow panel: at least 3 of the last 10 cycles took more than half the request timeout. (One cycle
 * with an in-request retry is not "slow"; a panel that keeps answering late is.)
 */
export class SlowCycles {
  private readonly recent: number[] = [];

  constructor(private readonly requestTimeoutMs: number) {}

  /** Records one successful cycle's duration; true when the panel now counts as slow. */
  record(ms: number): boolean {
    this.recent.push(ms);
    if (this.recent.length > 10) this.recent.shift();
    return this.recent.filter((d) => d > 0.5 * this.requestTimeoutMs).length >= 3;
  }

  reset(): void {
    this.recent.length = 0;
  }
}
