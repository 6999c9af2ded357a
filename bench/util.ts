/**
 * Small helpers shared by the benchmarks: statistics, formatting, CPU/memory/handle probes, and the result
 * shape every benchmark returns (rendered into bench/RESULTS.md by report.ts).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One measured figure, with its goal and the baseline it is compared with in the same run. */
export interface Figure {
  metric: string;
  value: number | null;
  unit: string;
  /** Human-readable goal, e.g. "≤ 1.5× floor". */
  goal?: string;
  /** Whether the goal was met (null: no goal or not measurable). */
  met?: boolean | null;
  baseline?: number | null;
  baselineLabel?: string;
  /** value / baseline (null only when there is no baseline; a tiny baseline is flagged in the note). */
  ratio?: number | null;
  note?: string;
  /** Every run's (or replica's) value, when `value` is their median or worst: shown as the spread. */
  runs?: number[];
  of?: 'median' | 'worst';
  baselineRuns?: number[];
  /** "k/n": how many of the runs met the goal. */
  metRuns?: string;
}

export interface BenchResult {
  name: string;
  title: string;
  /** What was measured and how, in a sentence or two (shown above the table). */
  setup: string;
  figures: Figure[];
  notes: string[];
  /** Wall time the benchmark took, in seconds. */
  seconds?: number;
  /** Raw data written to bench/out/<name>.json. */
  raw?: unknown;
}

export function ratio(value: number | null | undefined, baseline: number | null | undefined): number | null {
  if (value === null || value === undefined || baseline === null || baseline === undefined) return null;
  if (baseline === 0) return value === 0 ? 1 : null;
  return value / baseline;
}

/**
 * A ratio that is always shown: with a baseline below `tiny` the ratio is still given, but the note says the
 * denominator is too small for the ratio to mean much (instead of hiding it).
 */
export function shownRatio(
  value: number | null | undefined,
  baseline: number | null | undefined,
  tiny: number,
  unit: string,
): { ratio: number | null; tinyNote: string | null } {
  if (value === null || value === undefined || baseline === null || baseline === undefined)
    return { ratio: null, tinyNote: null };
  const r = ratio(value, baseline);
  const why = r === null ? ': division by zero, no ratio' : '';
  return {
    ratio: round(r, 2),
    tinyNote:
      Math.abs(baseline) < tiny
        ? `ratio against a tiny baseline (${baseline} ${unit} < ${tiny} ${unit}${why}): not meaningful`
        : null,
  };
}

/** A figure's value against a baseline of the same run: both rounded to `digits`, the ratio of the raw values. */
export function against(
  value: number | null | undefined,
  baseline: number | null | undefined,
  baselineLabel: string,
  digits = 2,
  ratioDigits = 2,
): Pick<Figure, 'value' | 'baseline' | 'baselineLabel' | 'ratio'> {
  return {
    value: round(value, digits),
    baseline: round(baseline, digits),
    baselineLabel,
    ratio: round(ratio(value, baseline), ratioDigits),
  };
}

export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export const median = (values: number[]): number | null => percentile(values, 50);

export function mean(values: number[]): number | null {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

export function round(v: number | null | undefined, digits = 2): number | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** CPU time (user + system) of this process in milliseconds. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export function hrMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs a full garbage collection when the process was started with --expose-gc. */
export function forceGc(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  gc();
  gc();
  return true;
}

export interface MemorySample {
  rssMB: number;
  heapUsedMB: number;
  externalMB: number;
  gc: boolean;
}

export async function memoryAfterGc(): Promise<MemorySample> {
  // Let pending close callbacks and finalizers run before collecting.
  await sleep(50);
  const gc = forceGc();
  await sleep(20);
  forceGc();
  const m = process.memoryUsage();
  return {
    rssMB: m.rss / 2 ** 20,
    heapUsedMB: m.heapUsed / 2 ** 20,
    externalMB: (m.external + m.arrayBuffers) / 2 ** 20,
    gc,
  };
}

/** Active handles and requests by type (process.getActiveResourcesInfo()). */
export function activeResources(): { total: number; byType: Record<string, number> } {
  const list = process.getActiveResourcesInfo();
  const byType: Record<string, number> = {};
  for (const t of list) byType[t] = (byType[t] ?? 0) + 1;
  return { total: list.length, byType };
}

/**
 * Active handles, the smallest total of `samples` readings `stepMs` apart (the one without requests in
 * flight); a single reading is taken after one step, so pending closes have settled.
 */
export async function steadyResources(
  samples: number,
  stepMs: number,
): Promise<ReturnType<typeof activeResources>> {
  let best: ReturnType<typeof activeResources> | null = null;
  for (let i = 0; i < samples; i++) {
    if (i > 0 || samples === 1) await sleep(stepMs);
    const r = activeResources();
    if (!best || r.total < best.total) best = r;
  }
  return best!;
}

export function describeResources(r: { total: number; byType: Record<string, number> }): string {
  const parts = Object.entries(r.byType)
    .sort()
    .map(([k, v]) => `${k} ${v}`);
  return `${r.total} (${parts.join(', ') || 'none'})`;
}

/**
 * Event-loop delay in ms (p50, p99, max) over a measurement window. The histogram records the whole interval
 * between its sampling timer's runs, so the sampling period is subtracted: 0 = no delay at all.
 */
export class LoopDelay {
  private readonly h: IntervalHistogram;

  constructor(private readonly resolutionMs = 5) {
    this.h = monitorEventLoopDelay({ resolution: resolutionMs });
    this.h.enable();
  }

  reset(): void {
    this.h.reset();
  }

  read(): { p50: number; p99: number; max: number; mean: number } {
    const toMs = (ns: number) => Math.max(0, ns / 1e6 - this.resolutionMs);
    return {
      p50: toMs(this.h.percentile(50)),
      p99: toMs(this.h.percentile(99)),
      max: toMs(this.h.max),
      mean: toMs(this.h.mean),
    };
  }

  get resolution(): number {
    return this.resolutionMs;
  }

  stop(): void {
    this.h.disable();
  }
}

/** A silent Logger for supervisors (the benchmarks count events instead of logging). */
export const quietLogger = {
  debug: (): void => undefined,
  info: (): void => undefined,
  warn: (): void => undefined,
  error: (): void => undefined,
};

/** Collects warn/error lines so a benchmark can report how noisy an outage was. */
export class CountingLogger {
  readonly lines: { level: string; msg: string; at: number }[] = [];
  debug(): void {}
  info(msg: string): void {
    this.lines.push({ level: 'info', msg, at: Date.now() });
  }
  warn(msg: string): void {
    this.lines.push({ level: 'warn', msg, at: Date.now() });
  }
  error(msg: string): void {
    this.lines.push({ level: 'error', msg, at: Date.now() });
  }
}

export const TOKEN = 'bench-token-7c41e9a2';

export function fmt(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(Math.min(1, digits));
  return v.toFixed(digits);
}

/** Waits until `probe` returns a truthy value, or throws after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  probe: () => T | null | undefined | false,
  timeoutMs = 15_000,
  stepMs = 10,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** CPU time (user + system) of another process in ms, from /proc (Linux); null elsewhere. */
export function procCpuMs(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const text = (require('node:fs') as typeof import('node:fs')).readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime), counted from after the command name: indexes 11 and 12.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}
