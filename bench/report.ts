/**
 * Renders bench/RESULTS.md: machine, versions and load, a summary of every goal, then one section per
 * benchmark with each figure, its baseline from the same run, the ratio, the goal, and a note per goal missed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildOutcome } from './child';
import type { LoadSummary } from './load';
import { attempt, fmt, type BenchResult, type Figure } from './util';

export type MachineInfo = ReturnType<typeof machineInfo>;
export interface RunSummary {
  startedAt: Date;
  seconds: number;
  command: string;
  quick: boolean;
  machine: MachineInfo;
  load: LoadSummary;
  /** Runs per benchmark (each figure the median of them), by benchmark name. */
  repeats: Record<string, number>;
  outcomes: { name: string; outcome: ChildOutcome }[];
}

/** The machine, the package, its library versions and the commit (with whether the tree was dirty). */
export function machineInfo(root: string) {
  const git = (...args: string[]) =>
    attempt(
      () => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
      null,
    );
  const pkg = (dir: string): { name: string; version: string } =>
    attempt(() => JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8')), {
      name: dir,
      version: '?',
    });
  const libs = ['node-red', 'axios', 'mqtt', 'aedes', 'node-red-node-test-helper'];
  return {
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGB: os.totalmem() / 2 ** 30,
    loadAverage: os.loadavg(),
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    package: pkg('.'),
    libraries: libs.map((p) => `${p} ${pkg(`node_modules/${p}`).version}`).join(', '),
    commit: git('rev-parse', '--short', 'HEAD')?.trim() || null,
    // bench/out/ is git-ignored, so the run's own output never makes the tree dirty.
    dirty: (git('status', '--porcelain') ?? '').trim() !== '',
  };
}

const cell = (s: string | number | null | undefined): string =>
  s === null || s === undefined || s === '' ? '–' : String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function value(f: Figure, v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return `${Number.isInteger(v) ? v : fmt(v, f.unit === 'ms' ? 3 : 2)} ${f.unit}`;
}

function met(f: Figure): string {
  const runs = f.metRuns ? ` (${f.metRuns})` : '';
  if (f.met === true) return `yes${runs}`;
  if (f.met === false) return `**no**${runs}`;
  return f.goal ? 'n/a' : '';
}

function figureRow(f: Figure): string {
  const spread =
    f.runs && f.runs.length > 1
      ? `${f.of ?? 'median'} of ${f.runs.length}: ${fmt(Math.min(...f.runs), 2)}–${fmt(Math.max(...f.runs), 2)}`
      : '–';
  const base =
    f.baseline === undefined
      ? '–'
      : `${value(f, f.baseline)}${f.baselineLabel ? ` (${f.baselineLabel})` : ''}`;
  const ratio = f.ratio === null || f.ratio === undefined ? null : `${fmt(f.ratio, 2)}×`;
  const cells = [f.metric, value(f, f.value), spread, base, ratio, f.goal].map(cell);
  return `| ${cells.join(' | ')} | ${met(f)} | ${cell(f.note)} |`;
}

function machineSection({ machine: m, load: l, repeats }: RunSummary): string[] {
  const busy = l.otherNode.max > 0 || l.before.busyPct > 25;
  const dirty = m.dirty ? ' **+ uncommitted changes (dirty tree)**' : ' (clean tree)';
  const rows = {
    CPU: `${cell(m.cpuModel)}, ${m.cores} logical cores`,
    Memory: `${fmt(m.memoryGB, 1)} GB`,
    'Load average at start (1/5/15 min)': m.loadAverage.map((x) => fmt(x, 2)).join(' / '),
    'Load before the run': `CPU busy ${fmt(l.before.busyPct, 0)} % of ${m.cores} cores; ${l.before.otherNode} other Node.js processes`,
    [`Load during the run (${l.samples} samples)`]:
      `load average (1 min) mean ${fmt(l.load1.mean, 2)}, max ${fmt(l.load1.max, 2)}; CPU busy mean ` +
      `${fmt(l.busyPct.mean, 0)} %, max ${fmt(l.busyPct.max, 0)} % (this run included); other Node.js processes ` +
      `mean ${fmt(l.otherNode.mean, 1)}, max ${l.otherNode.max}`,
    OS: cell(m.os),
    'Node.js': m.node,
    Package: `${m.package.name} ${m.package.version}, commit ${m.commit ?? 'unknown'}${dirty}`,
    Libraries: m.libraries,
    'v2 (MQTT)': 'measured',
  };
  const runs = Object.entries(repeats).map(([k, v]) => `${k} ×${v}`);
  return [
    '## Machine and versions',
    '',
    '| | |',
    '|---|---|',
    ...Object.entries(rows).map(([k, v]) => `| ${k} | ${v} |`),
    '',
    `> The simulated panels run on the same ${m.cores} cores as the client. ` +
      (busy
        ? `Other work shared the machine (up to ${l.otherNode.max} other Node.js processes; CPU busy ` +
          `${fmt(l.before.busyPct, 0)} % before the run): absolute figures are indicative, compare the ratios within one run.`
        : 'No other Node.js process was seen and the machine was idle before the run.'),
    '',
    `Runs per benchmark: ${runs.join(', ')}. A benchmark run several times reports the median of its runs with ` +
      'the spread (min–max); recovery and peer run their replicas in parallel inside one run and say which (median ' +
      'or worst) they report; the soak is one long run whose figures are trends over time.',
    '',
  ];
}

function summarySection(results: (BenchResult | null)[]): string[] {
  const goals = results.flatMap((r) => (r ? r.figures.filter((f) => f.goal).map((f) => ({ r, f })) : []));
  const missed = goals.filter(({ f }) => f.met === false).length;
  const unmeasured = goals.filter(({ f }) => f.met === null || f.met === undefined).length;
  const title = (r: BenchResult) => r.title.replace(/^\d+[ab]?\.\s*/, '');
  return [
    '## Summary of goals',
    '',
    '| Benchmark | Figure | Ours | Goal | Met |',
    '|---|---|---:|---|:-:|',
    ...goals.map(
      ({ r, f }) =>
        `| ${[title(r), f.metric, value(f, f.value), f.goal].map(cell).join(' | ')} | ${met(f)} |`,
    ),
    '',
    `${goals.length - missed - unmeasured} of ${goals.length} goals met, ${missed} missed${unmeasured ? `, ${unmeasured} not measured` : ''}; ` +
      'every miss is explained in the notes of its section.',
    '',
  ];
}

/** A benchmark's section; `Goal missed` notes come first, one per figure that missed its goal. */
export function benchmarkSection(name: string, o: ChildOutcome): string[] {
  const r = o.result;
  if (!r) return [`## ${name}`, '', `**Not completed**: ${o.error ?? 'no result'}.`, ''];
  const notes = [
    ...r.figures.filter((f) => f.met === false).map((f) => `Goal missed: ${f.metric}: ${value(f, f.value)}.`),
    ...r.notes,
    ...(o.error ? [`Run error: ${o.error}`] : []),
    `The benchmark process ${o.exitedCleanly ? 'exited by itself after reporting (every timer, socket and child closed)' : 'did NOT exit by itself after reporting (a handle was left open) and was ended'}; ${fmt(o.seconds, 0)} s.`,
  ];
  return [
    `## ${r.title}`,
    '',
    r.setup,
    '',
    '| Figure | Ours | Spread | Baseline (same run) | Ratio | Goal | Met | Note |',
    '|---|---:|---|---|---:|---|:-:|---|',
    ...r.figures.map(figureRow),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ];
}

export function renderResults(run: RunSummary): string {
  return [
    '# Benchmark results',
    '',
    `Written by \`${run.command}\` on ${run.startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC; the whole run took ` +
      `${fmt(run.seconds / 60, 1)} min${run.quick ? ' (QUICK MODE: shortened durations, not the reference figures)' : ''}.`,
    '',
    ...machineSection(run),
    ...summarySection(run.outcomes.map((o) => o.outcome.result)),
    ...run.outcomes.flatMap((o) => benchmarkSection(o.name, o.outcome)),
    '## Reproduce',
    '',
    '```sh',
    'npm run build && npm run bench                   # everything, < 20 min, rewrites bench/RESULTS.md',
    'npm run bench -- --soak-min 30                   # the same with a 30-minute soak',
    'node dist/bench/run.js --only overhead,fanout    # some benchmarks; prints figures, writes bench/out/',
    'node dist/bench/run.js --quick                   # smoke test with shortened durations',
    '```',
    '',
    'Raw data of this run: `bench/out/*.json` (not committed).',
    '',
  ].join('\n');
}
