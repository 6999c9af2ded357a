/**
 * What both halves of benchmark 4 (recovery.ts for v1, recovery-v2.ts for v2) share: the plan (per interval
 * and fault, `replicas` connections of ours plus one baseline client, each on its own panel), waiting for the
 * first fresh data after the panel is healthy again, grouping the outcomes, and the recovery figure.
 */
import { fmt, median, round, shownRatio, waitUntil, type Figure } from './util';

export interface Planned<K, C> {
  kind: K;
  intervalS: number;
  client: C | 'ours';
}

export function replicaPlan<K, C>(intervals: number[], kinds: K[], replicas: number, baseline: C) {
  const plan: Planned<K, C>[] = [];
  for (const intervalS of intervals) {
    for (const kind of kinds) {
      for (let r = 0; r < replicas; r++) plan.push({ kind, intervalS, client: 'ours' });
      plan.push({ kind, intervalS, client: baseline });
    }
  }
  return plan;
}

/** The first fresh data at or after `healthyAt`, or null when none came within `limitMs`. */
export function recoveredAt(
  fresh: () => number[],
  healthyAt: number,
  limitMs: number,
): Promise<number | null> {
  return waitUntil('recovery', () => fresh().find((t) => t >= healthyAt) ?? null, limitMs, 20).catch(
    () => null,
  );
}

/** Outcomes of one interval and fault: ours (the replicas) and the baseline client's. */
export function outcomesOf<O extends Planned<unknown, unknown>>(
  outcomes: O[],
  kind: O['kind'],
  intervalS: number,
) {
  const same = outcomes.filter((o) => o.kind === kind && o.intervalS === intervalS);
  return { mine: same.filter((o) => o.client === 'ours'), theirs: same.find((o) => o.client !== 'ours') };
}

/**
 * Seconds from healthy to the first fresh data, the worst of ours (null when one did not recover) against
 * the baseline's. A baseline that happened to poll right as the panel came back recovers in ~0 s: the ratio
 * is shown all the same, flagged as resting on a tiny denominator (`note` gets that flag).
 */
export function recoveryFigure(
  label: string,
  recs: (number | null)[],
  baselineS: number | null | undefined,
  baselineLabel: string,
  goalS: number,
  note: (tinyNote: string | null) => string,
): { figure: Figure; worst: number | null } {
  const rec = recs.filter((v): v is number => v !== null);
  const worst = rec.length === recs.length && rec.length ? Math.max(...rec) : null;
  const rr = shownRatio(worst, round(baselineS, 2), 0.05, 's');
  const figure: Figure = {
    metric: `${label}: healthy → first fresh data (worst of ${recs.length})`,
    value: round(worst, 2),
    unit: 's',
    runs: rec.map((v) => round(v, 2) ?? v),
    of: 'worst',
    baseline: round(baselineS, 2),
    baselineLabel,
    ratio: rr.ratio,
    goal: `≤ ${fmt(goalS, 0)} s (interval + backoff cap)`,
    met: worst !== null && worst <= goalS,
    metRuns: `${rec.filter((v) => v <= goalS).length}/${recs.length}`,
    note: note(rr.tinyNote),
  };
  return { figure, worst };
}

/**
 * A count of ours (the median or the worst of the replicas) against the baseline client's; `tinyNote` flags
 * a baseline under 1, against which the ratio means little.
 */
export function countFigure(
  metric: string,
  unit: string,
  mine: number[],
  of: 'median' | 'worst',
  baseline: number | null | undefined,
  baselineLabel: string,
): { figure: Figure; tinyNote: string | null } {
  const value = of === 'worst' ? Math.max(...mine) : median(mine);
  const r = shownRatio(value, baseline, 1, unit);
  const figure: Figure = {
    metric,
    value,
    unit,
    runs: mine,
    of,
    baseline: baseline ?? null,
    baselineLabel,
    ratio: r.ratio,
  };
  return { figure, tinyNote: r.tinyNote };
}
