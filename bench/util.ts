/**
 * What every benchmark shares: the result shape (rendered into bench/RESULTS.md by report.ts), figures
 * against a same-run baseline, statistics, and CPU, memory, handle and event-loop probes.
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { sleep, waitFor } from '../test/helpers/wait';

export { sleep } from '../test/helpers/wait';
export const TOKEN = 'bench-token-7c41e9a2';

/** One measured figure, with its goal and the baseline it is compared with in the same run. */
export interface Figure {
  metric: string;
  value: number | null;
  unit: string;
  goal?: string;
  /** null: not measurable. */
  met?: boolean | null;
  baseline?: number | null;
  baselineLabel?: string;
  ratio?: number | null;
  note?: string;
  /** Every run's (or replica's) value when `value` is their median or worst: shown as the spread. */
  runs?: number[];
  of?: 'median' | 'worst';
  baselineRuns?: number[];
  /** "k/n": how many of the runs met the goal. */
  metRuns?: string;
}

export interface BenchResult {
  name: string;
  title: string;
  /** What was measured and how (shown above the table). */
  setup: string;
  figures: Figure[];
  notes: string[];
  seconds?: number;
  /** Raw data, written to bench/out/<name>.json. */
  raw?: unknown;
}

type Num = number | null | undefined;
const finite = (v: Num): v is number => v !== null && v !== undefined && Number.isFinite(v);

export function ratio(value: Num, baseline: Num): number | null {
  if (!finite(value) || !finite(baseline)) return null;
  if (baseline === 0) return value === 0 ? 1 : null;
  return value / baseline;
}

/** A ratio that is always shown; against a baseline below `tiny` the note says it does not mean much. */
export function shownRatio(value: Num, baseline: Num, tiny: number, unit: string) {
  if (!finite(value) || !finite(baseline)) return { ratio: null, tinyNote: null };
  const r = ratio(value, baseline);
  const why = r === null ? ': division by zero, no ratio' : '';
  const tinyNote =
    Math.abs(baseline) < tiny
      ? `ratio against a tiny baseline (${baseline} ${unit} < ${tiny} ${unit}${why}): not meaningful`
      : null;
  return { ratio: round(r, 2), tinyNote };
}

/** A figure's value against a baseline of the same run: both rounded to `digits`, the ratio of the raw values. */
export const against = (value: Num, baseline: Num, baselineLabel: string, digits = 2, ratioDigits = 2) => ({
  value: round(value, digits),
  baseline: round(baseline, digits),
  baselineLabel,
  ratio: round(ratio(value, baseline), ratioDigits),
});

/**
 * A figure over several windows or replicas: their median or worst, every value kept as the spread, against
 * a baseline (one value, or the median of several) of the same run. With `tiny`, a baseline below it is
 * flagged in the note (the ratio is still shown).
 */
export function spreadFigure(
  metric: string,
  unit: string,
  values: number[],
  opts: Partial<Figure> & { digits?: number; base?: number | number[] | null; tiny?: number } = {},
): Figure {
  const { digits = 2, base, tiny, of = 'median', ...extra } = opts;
  const runs = values.filter(Number.isFinite);
  const value = of === 'worst' ? (runs.length ? Math.max(...runs) : null) : median(runs);
  const b = Array.isArray(base) ? median(base.filter(Number.isFinite)) : base;
  const r = shownRatio(value, b, tiny ?? 0, unit);
  return {
    metric,
    value: round(value, digits),
    unit,
    runs: runs.map((v) => round(v, digits) ?? v),
    of,
    ...(b === undefined ? {} : { baseline: round(b, digits), ratio: r.ratio }),
    note: r.tinyNote ?? undefined,
    ...extra,
  };
}

export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (values: number[]): number | null => percentile(values, 50);
export const mean = (values: number[]): number | null =>
  values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;

export const round = (v: Num, digits = 2): number | null =>
  finite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : null;

export function fmt(v: Num, digits = 2): string {
  if (!finite(v)) return '–';
  return v.toFixed(Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? Math.min(1, digits) : digits);
}

/** The tests' waitFor with the benchmarks' defaults (a longer wait, a finer step). */
export const waitUntil = <T>(
  what: string,
  probe: () => T | null | undefined | false,
  timeoutMs = 15_000,
  stepMs = 10,
) => waitFor(what, probe, timeoutMs, stepMs);

/** CPU time (user + system) of this process in ms. */
export const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
export const hrMs = (): number => performance.now();

/** `f()`, or `fallback` when it throws (a /proc file gone, git missing). */
export function attempt<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}

/** Fields after the command name in /proc/<pid>/stat (Linux only: throws elsewhere). */
export const procStat = (pid: number | string | undefined): string[] => {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
};

/** CPU time of another process in ms (utime + stime in 10 ms ticks); null off Linux. */
export const procCpuMs = (pid: number | undefined): number | null =>
  attempt(() => {
    const f = procStat(pid);
    return (Number(f[11]) + Number(f[12])) * 10;
  }, null);

/** codeMB: V8's compiled code and bytecode with their metadata, part of heapUsedMB; it grows while V8 optimises. */
export type MemorySample = { rssMB: number; heapUsedMB: number; externalMB: number; codeMB: number };

/** Memory after two full collections (the benchmarks run with --expose-gc). */
export async function memoryAfterGc(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  // Let pending close callbacks and finalizers run before collecting.
  for (const ms of [50, 20]) {
    await sleep(ms);
    gc?.();
    gc?.();
  }
  const m = process.memoryUsage();
  const code = v8.getHeapCodeStatistics();
  const mb = (bytes: number) => bytes / 2 ** 20;
  return {
    rssMB: mb(m.rss),
    heapUsedMB: mb(m.heapUsed),
    externalMB: mb(m.external + m.arrayBuffers),
    codeMB: mb(code.code_and_metadata_size + code.bytecode_and_metadata_size),
  };
}

/** Active handles and requests: their number and a description by type. */
export type Resources = { total: number; text: string };

/**
 * The smallest count of `samples` readings `stepMs` apart (the one without requests in flight); a single
 * reading is taken after one step, so pending closes have settled.
 */
export async function steadyResources(samples: number, stepMs: number): Promise<Resources> {
  let best: string[] = [];
  for (let i = 0; i < samples; i++) {
    if (i > 0 || samples === 1) await sleep(stepMs);
    const list = process.getActiveResourcesInfo();
    if (i === 0 || list.length < best.length) best = list;
  }
  const byType = new Map<string, number>();
  for (const t of best) byType.set(t, (byType.get(t) ?? 0) + 1);
  const parts = [...byType].sort().map(([k, v]) => `${k} ${v}`);
  return { total: best.length, text: `${best.length} (${parts.join(', ') || 'none'})` };
}

/** A memory figure from a start to an end reading, whose goal is growth < 1 MB. */
export const flatMemory = (
  metric: string,
  end: number,
  start: number,
  label: string,
  note: string,
): Figure => ({
  metric,
  ...against(end, start, label, 2, 3),
  unit: 'MB',
  goal: 'flat (growth < 1 MB)',
  met: end - start < 1,
  note,
});

/** Active handles at the end against a start reading; the goal is no more than at the start. */
export const flatHandles = (
  metric: string,
  end: Resources,
  start: Resources,
  label: string,
  goal = 'flat',
) => ({
  metric,
  ...against(end.total, start.total, label, 0),
  unit: 'handles',
  goal,
  met: end.total <= start.total,
  note: `start ${start.text}; end ${end.text}`,
});

/**
 * Event-loop delay in ms since the last reset. The histogram records the whole interval between its
 * sampling timer's runs, so the sampling period is subtracted: 0 = no delay at all.
 */
export function loopDelay(resolution = 5) {
  const h = monitorEventLoopDelay({ resolution });
  h.enable();
  const ms = (ns: number) => Math.max(0, ns / 1e6 - resolution);
  return {
    reset: () => h.reset(),
    read: () => ({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) }),
    stop: () => h.disable(),
  };
}
export type LoopDelay = ReturnType<typeof loopDelay>;
