/**
 * Timing policy derived from the poll interval P (docs/resilience.md §4). Kept in one place so the
 * supervisor, the transports and the tests agree on the recovery bound.
 */
export interface TimingPolicy {
  intervalMs: number;
  /** Per-request timeout: min(5 s, max(1 s, 0.6·P)). */
  requestTimeoutMs: number;
  /** Deadline for one whole cycle (all requests of a snapshot): polls never overlap. */
  cycleDeadlineMs: number;
  /** Offline backoff cap: clamp(2·P, 10 s, 60 s). */
  backoffCapMs: number;
  /** Worst-case time from "panel healthy again" to "online": max(P, 1.2·cap) + request timeout. */
  recoveryBoundMs: number;
}

export const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

export function timingFor(
  intervalMs: number,
  overrides: Partial<Omit<TimingPolicy, 'intervalMs' | 'recoveryBoundMs'>> = {},
): TimingPolicy {
  const requestTimeoutMs = overrides.requestTimeoutMs ?? Math.min(5000, Math.max(1000, 0.6 * intervalMs));
  // A cycle runs its requests in parallel, plus at most one retry each: give it room for both.
  const cycleDeadlineMs =
    overrides.cycleDeadlineMs ?? clamp(Math.max(intervalMs, 2 * requestTimeoutMs + 500), 1000, 15000);
  const backoffCapMs = overrides.backoffCapMs ?? clamp(2 * intervalMs, 10_000, 60_000);
  return {
    intervalMs,
    requestTimeoutMs,
    cycleDeadlineMs,
    backoffCapMs,
    recoveryBoundMs: Math.max(intervalMs, 1.2 * backoffCapMs) + requestTimeoutMs,
  };
}

/** Interval used for health checks when data is pushed on every change (intervalMs = 0). */
export const PUSH_HEALTH_INTERVAL_MS = 5000;

/** The timing of a supervisor loop with interval P; P = 0 (v2 push on every change) checks health every 5 s. */
export function loopTimingFor(
  intervalMs: number,
  overrides?: Partial<Omit<TimingPolicy, 'intervalMs' | 'recoveryBoundMs'>>,
): TimingPolicy {
  return timingFor(intervalMs > 0 ? intervalMs : PUSH_HEALTH_INTERVAL_MS, overrides);
}
