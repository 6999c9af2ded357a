/**
 * Small helpers shared by the benchmarks: the result shape every benchmark returns (rendered into
 * bench/RESULTS.md by report.ts), statistics and formatting, CPU/memory/handle/event-loop probes.
 */
import fs from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

import { sleep, waitFor } from '../test/helpers/wait';

export { sleep } from '../test/helpers/wait';

export const TOKEN = 'bench-token-7c41e9a2';

/** One measured figure, with its goal and the baseline it is compared with in the same run. */
export interface Figure {
  metric: string;
  value: number | null;
  unit: string;
  /** Human-readable goal, e.g. "≤ 1.5× floor", and whether it was met (null: not measurable). */
  goal?: string;
  met?: boolean | null;
  baseline?: number | null;
  baselineLabel?: string;
  /** value / baseline (null only without a baseline; a tiny baseline is flagged in the note). */
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

/** A ratio that is always shown; against a baseline below `tiny` the note says it does not mean much. */
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
  const tinyNote =
    Math.abs(baseline) < tiny
      ? `ratio against a tiny baseline (${baseline} ${unit} < ${tiny} ${unit}${why}): not meaningful`
      : null;
  return { ratio: round(r, 2), tinyNote };
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
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (values: number[]): number | null => percentile(values, 50);

export const mean = (values: number[]): number | null =>
  values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;

export function round(v: number | null | undefined, digits = 2): number | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function fmt(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(Math.min(1, digits));
  return v.toFixed(digits);
}

/** The tests' waitFor with the benchmarks' defaults (a longer wait, a finer step). */
export const waitUntil = <T>(
  what: string,
  probe: () => T | null | undefined | false,
  timeoutMs = 15_000,
  stepMs = 10,
) => waitFor(what, probe, timeoutMs, stepMs);

/** CPU time (user + system) of this process in milliseconds. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export const hrMs = (): number => performance.now();

/** CPU time (user + system) of another process in ms, from /proc/<pid>/stat (Linux); null elsewhere. */
export function procCpuMs(pid: number | undefined): number | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // utime and stime (fields 14 and 15) in clock ticks of 10 ms, counted from after the command name.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

export interface MemorySample {
  rssMB: number;
  heapUsedMB: number;
  externalMB: number;
  gc: boolean;
}

/** Memory after two full collections (the benchmarks run with --expose-gc; `gc` says whether it ran). */
export async function memoryAfterGc(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  // Let pending close callbacks and finalizers run before collecting.
  for (const ms of [50, 20]) {
    await sleep(ms);
    gc?.();
    gc?.();
  }
  const m = process.memoryUsage();
  const mb = (bytes: number) => bytes / 2 ** 20;
  return {
    rssMB: mb(m.rss),
    heapUsedMB: mb(m.heapUsed),
    externalMB: mb(m.external + m.arrayBuffers),
    gc: !!gc,
  };
}

export interface Resources {
  total: number;
  byType: Record<string, number>;
}

/** Active handles and requests by type (process.getActiveResourcesInfo()). */
export function activeResources(): Resources {
  const list = process.getActiveResourcesInfo();
  const byType: Record<string, number> = {};
  for (const t of list) byType[t] = (byType[t] ?? 0) + 1;
  return { total: list.length, byType };
}

/**
 * The smallest total of `samples` readings `stepMs` apart (the one without requests in flight); a single
 * reading is taken after one step, so pending closes have settled.
 */
export async function steadyResources(samples: number, stepMs: number): Promise<Resources> {
  let best: Resources | null = null;
  for (let i = 0; i < samples; i++) {
    if (i > 0 || samples === 1) await sleep(stepMs);
    const r = activeResources();
    if (!best || r.total < best.total) best = r;
  }
  return best!;
}

export function describeResources(r: Resources): string {
  const parts = Object.entries(r.byType)
    .sort()
    .map(([k, v]) => `${k} ${v}`);
  return `${r.total} (${parts.join(', ') || 'none'})`;
}

/**
 * Event-loop delay in ms over a window. The histogram records the whole interval between its sampling
 * timer's runs, so the sampling period is subtracted: 0 = no delay at all.
 */
export class LoopDelay {
  private readonly h;

  constructor(readonly resolution = 5) {
    this.h = monitorEventLoopDelay({ resolution });
    this.h.enable();
  }

  reset(): void {
    this.h.reset();
  }

  read(): { p50: number; p99: number; max: number; mean: number } {
    const ms = (ns: number) => Math.max(0, ns / 1e6 - this.resolution);
    return {
      p50: ms(this.h.percentile(50)),
      p99: ms(this.h.percentile(99)),
      max: ms(this.h.max),
      mean: ms(this.h.mean),
    };
  }

  stop(): void {
    this.h.disable();
  }
}

/** Collects info/warn/error lines with their time, so a benchmark can report how noisy an outage was. */
export class CountingLogger {
  readonly lines: { level: string; msg: string; at: number }[] = [];
  debug(): void {}
  info = (msg: string) => void this.lines.push({ level: 'info', msg, at: Date.now() });
  warn = (msg: string) => void this.lines.push({ level: 'warn', msg, at: Date.now() });
  error = (msg: string) => void this.lines.push({ level: 'error', msg, at: Date.now() });
}
