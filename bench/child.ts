/**
 * Every benchmark runs in its own child process (fresh heap, --expose-gc), sends its BenchResult over IPC and
 * must then exit by itself: a child that lingers has leaked a handle, which the run reports, then ends it.
 * Several runs of one benchmark are merged into one result here.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { median, ratio, round, type BenchResult, type Figure } from './util';

export interface ChildOutcome {
  result: BenchResult | null;
  error: string | null;
  /** True when the child exited on its own after sending its result. */
  exitedCleanly: boolean;
  seconds: number;
}

/** Forks dist/bench/<name>.js (which calls benchMain()); past `budgetMs` the child is killed. */
export function runChild(name: string, args: object, budgetMs: number): Promise<ChildOutcome> {
  const started = Date.now();
  const child = fork(path.join(__dirname, `${name}.js`), [JSON.stringify(args)], {
    execArgv: ['--expose-gc', '--unhandled-rejections=strict'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve) => {
    let result: BenchResult | null = null;
    let error: string | null = null;
    let reported = false;
    const budget = setTimeout(() => {
      error = `${name}: killed after its ${Math.round(budgetMs / 1000)} s budget`;
      child.kill('SIGKILL');
    }, budgetMs);
    let linger: NodeJS.Timeout | undefined;
    child.on('message', (msg: { result?: BenchResult; error?: string }) => {
      result = msg.result ?? result;
      error = msg.error ?? error;
      reported = true;
      // A clean child exits within a few seconds of reporting; otherwise it has leaked something.
      linger = setTimeout(() => child.kill('SIGKILL'), 15_000);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(budget);
      clearTimeout(linger);
      if (!result && !error) error = `${name}: exited with ${signal ?? code} without a result`;
      const exitedCleanly = reported && signal === null && code === 0;
      resolve({ result, error, exitedCleanly, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** Entry point of a benchmark run as a child: `fn` gets the JSON arguments over `defaults`, reports over IPC. */
export function benchMain<A extends object>(fn: (args: A) => Promise<BenchResult>, defaults?: A): void {
  const args = { ...defaults, ...(JSON.parse(process.argv[2] ?? '{}') as Partial<A>) } as A;
  const started = Date.now();
  const report = (msg: object) => process.send?.(msg, () => process.disconnect());
  fn(args).then(
    (result) => {
      result.seconds = (Date.now() - started) / 1000;
      if (process.send) report({ result });
      else process.stdout.write(`${JSON.stringify({ ...result, raw: undefined }, null, 2)}\n`);
    },
    (err: unknown) => {
      const e = err as Error;
      process.stderr.write(`${e.stack ?? e.message}\n`);
      report({ error: e.message });
      process.exitCode = 1;
    },
  );
}

/** One figure over several runs: the median, every run's value kept for the spread, met only if all met it. */
function mergeFigure(list: Figure[]): Figure {
  const [first] = list;
  const present = (v: number | null | undefined): v is number => v !== null && v !== undefined;
  const values = list.map((f) => f.value).filter(present);
  const value = median(values);
  const baselines = list.map((f) => f.baseline).filter(present);
  const baseline = first.baseline === undefined ? undefined : median(baselines);
  // The note of the run whose value is the median (its details belong to that value).
  const medianRun = list.find((f) => f.value === value) ?? first;
  const mets = list.map((f) => f.met);
  return {
    ...first,
    value,
    runs: values,
    of: 'median',
    ...(baseline === undefined ? {} : { baseline, baselineRuns: baselines }),
    ratio: first.ratio === undefined ? undefined : round(ratio(value, baseline ?? null), 2),
    met: mets.includes(false) ? false : mets.every((m) => m === true) ? true : first.met,
    ...(first.goal ? { metRuns: `${mets.filter((m) => m === true).length}/${list.length}` } : {}),
    note: list.length > 1 && medianRun.note ? `median run: ${medianRun.note}` : medianRun.note,
  };
}

/** Several runs of one benchmark as one result; the notes are the median run's (by its first figure). */
export function aggregateRuns(results: BenchResult[]): BenchResult {
  if (results.length === 1) return results[0];
  const [first] = results;
  const n = results.length;
  const figures = first.figures.map((f, i) =>
    mergeFigure(results.map((r) => r.figures.find((g) => g.metric === f.metric) ?? r.figures[i])),
  );
  const medianRun = results.find((r) => r.figures[0]?.value === figures[0]?.value) ?? first;
  const missedRuns = results.filter((r) => r.figures.some((f) => f.met === false)).length;
  return {
    ...first,
    setup:
      `${first.setup} Run ${n} times, each in a fresh process; every figure is the median of the ` +
      `${n} runs with the spread (min–max) beside it, and a goal counts as met only if every run met it.`,
    figures,
    notes: [
      `Notes below come from the median run (by "${figures[0]?.metric ?? '?'}"); ${missedRuns} of ${n} runs missed a goal.`,
      ...medianRun.notes,
    ],
    seconds: results.reduce((a, r) => a + (r.seconds ?? 0), 0),
    raw: results.map((r) => r.raw),
  };
}
