/**
 * Several runs of one benchmark into one result: each figure becomes the median of its runs, with every run's
 * value kept for the spread (min–max) and the goal met only when every run met it.
 */
import { median, ratio, round, type BenchResult, type Figure } from './util';

function mergeFigure(list: Figure[]): Figure {
  const first = list[0];
  const values = list.map((f) => f.value).filter((v): v is number => v !== null && v !== undefined);
  const value = median(values);
  const baselines = list.map((f) => f.baseline).filter((v): v is number => v !== null && v !== undefined);
  const baseline = first.baseline === undefined ? undefined : median(baselines);
  // The note of the run whose value is the median (its details belong to that value).
  const medianRun = list.find((f) => f.value === value) ?? first;
  const mets = list.map((f) => f.met);
  const met = mets.some((m) => m === false) ? false : mets.every((m) => m === true) ? true : first.met;
  return {
    ...first,
    value,
    runs: values,
    of: 'median',
    ...(baseline === undefined ? {} : { baseline, baselineRuns: baselines }),
    ratio: first.ratio === undefined ? undefined : round(ratio(value, baseline ?? null), 2),
    met,
    ...(first.goal ? { metRuns: `${mets.filter((m) => m === true).length}/${list.length}` } : {}),
    note: list.length > 1 && medianRun.note ? `median run: ${medianRun.note}` : medianRun.note,
  };
}

export function aggregateRuns(results: BenchResult[]): BenchResult {
  if (results.length === 1) return results[0];
  const first = results[0];
  const figures = first.figures.map((f, i) =>
    mergeFigure(results.map((r) => r.figures.find((g) => g.metric === f.metric) ?? r.figures[i])),
  );
  // Notes carry one run's numbers: take them from the median run of the first figure, say so, and count
  // how many runs missed a goal.
  const firstMedian = figures[0]?.value;
  const medianRun = results.find((r) => r.figures[0]?.value === firstMedian) ?? first;
  const missedRuns = results.filter((r) => r.figures.some((f) => f.met === false)).length;
  const notes = [
    `Notes below come from the median run (by "${figures[0]?.metric ?? '?'}"); ${missedRuns} of ${results.length} runs missed a goal.`,
    ...medianRun.notes,
  ];
  return {
    ...first,
    setup:
      `${first.setup} Run ${results.length} times, each in a fresh process; every figure is the median of the ` +
      `${results.length} runs with the spread (min–max) beside it, and a goal counts as met only if every run met it.`,
    figures,
    notes,
    seconds: results.reduce((a, r) => a + (r.seconds ?? 0), 0),
    raw: results.map((r) => r.raw),
  };
}
