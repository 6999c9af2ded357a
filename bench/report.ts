/**
 * Renders bench/RESULTS.md: machine and versions, a summary of every goal, then one section per benchmark
 * with each figure, its baseline from the same run, the ratio, the goal and notes on every goal missed.
 */
import type { ChildOutcome } from './child';
import type { LoadSummary } from './load';
import { fmt, type BenchResult, type Figure } from './util';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGB: number;
  loadAverage: number[];
  os: string;
  node: string;
  packageName: string;
  packageVersion: string;
  versions: Record<string, string>;
  commit: string | null;
  /** `git status --porcelain` was non-empty when the run started. */
  dirty: boolean;
}

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
  v2: string;
}

const cell = (s: string | number | null | undefined): string =>
  s === null || s === undefined || s === '' ? '–' : String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function value(f: Figure, v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (Number.isInteger(v)) return `${v} ${f.unit}`;
  return `${fmt(v, f.unit === 'ms' ? 3 : 2)} ${f.unit}`;
}

function met(f: Figure): string {
  const runs = f.metRuns ? ` (${f.metRuns})` : '';
  if (f.met === true) return `yes${runs}`;
  if (f.met === false) return `**no**${runs}`;
  return f.goal ? 'n/a' : '';
}

function spread(f: Figure): string {
  if (!f.runs || f.runs.length < 2) return '–';
  const lo = Math.min(...f.runs);
  const hi = Math.max(...f.runs);
  return `${f.of ?? 'median'} of ${f.runs.length}: ${fmt(lo, 2)}–${fmt(hi, 2)}`;
}

function figureTable(figures: Figure[]): string {
  const rows = [
    '| Figure | Ours | Spread | Baseline (same run) | Ratio | Goal | Met | Note |',
    '|---|---:|---|---|---:|---|:-:|---|',
  ];
  for (const f of figures) {
    const base =
      f.baseline === undefined
        ? '–'
        : `${value(f, f.baseline)}${f.baselineLabel ? ` (${f.baselineLabel})` : ''}`;
    rows.push(
      `| ${cell(f.metric)} | ${cell(value(f, f.value))} | ${cell(spread(f))} | ${cell(base)} | ${cell(f.ratio === null || f.ratio === undefined ? null : `${fmt(f.ratio, 2)}×`)} | ${cell(f.goal)} | ${met(f)} | ${cell(f.note)} |`,
    );
  }
  return rows.join('\n');
}

export function renderResults(run: RunSummary): string {
  const m = run.machine;
  const out: string[] = [];
  out.push('# Benchmark results', '');
  out.push(
    `Written by \`${run.command}\` on ${run.startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC; the whole run took ` +
      `${fmt(run.seconds / 60, 1)} min${run.quick ? ' (QUICK MODE: shortened durations, not the reference figures)' : ''}.`,
  );
  out.push('', '## Machine and versions', '', '| | |', '|---|---|');
  out.push(`| CPU | ${cell(m.cpuModel)}, ${m.cores} logical cores |`);
  out.push(`| Memory | ${fmt(m.memoryGB, 1)} GB |`);
  out.push(`| Load average at start (1/5/15 min) | ${m.loadAverage.map((l) => fmt(l, 2)).join(' / ')} |`);
  const l = run.load;
  out.push(
    `| Load before the run | CPU busy ${fmt(l.before.busyPct, 0)} % of ${m.cores} cores; ${l.before.otherNode} other Node.js processes |`,
  );
  out.push(
    `| Load during the run (${l.samples} samples) | load average (1 min) mean ${fmt(l.load1.mean, 2)}, max ${fmt(l.load1.max, 2)}; ` +
      `CPU busy mean ${fmt(l.busyPct.mean, 0)} %, max ${fmt(l.busyPct.max, 0)} % (this run included); other Node.js ` +
      `processes mean ${fmt(l.otherNode.mean, 1)}, max ${l.otherNode.max} |`,
  );
  out.push(`| OS | ${cell(m.os)} |`, `| Node.js | ${m.node} |`);
  out.push(
    `| Package | ${m.packageName} ${m.packageVersion}, commit ${m.commit ?? 'unknown'}${m.dirty ? ' **+ uncommitted changes (dirty tree)**' : ' (clean tree)'} |`,
  );
  out.push(
    `| Libraries | ${Object.entries(m.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} |`,
  );
  out.push(`| v2 (MQTT) | ${cell(run.v2)} |`, '');
  const busy = l.otherNode.max > 0 || l.before.busyPct > 25;
  out.push(
    `> The simulated panels run on the same ${m.cores} cores as the client. ` +
      (busy
        ? `Other work shared the machine (up to ${l.otherNode.max} other Node.js processes; CPU busy ${fmt(l.before.busyPct, 0)} % ` +
          'before the run): absolute figures are indicative, compare the ratios within one run.'
        : 'No other Node.js process was seen and the machine was idle before the run.'),
  );
  const reps = Object.entries(run.repeats).map(([k, v]) => `${k} ×${v}`);
  out.push('');
  out.push(
    `Runs per benchmark: ${reps.join(', ')}. A benchmark run several times reports the median of its runs with the ` +
      'spread (min–max); recovery and peer run their replicas in parallel inside one run and say which (median or worst) ' +
      'they report; the soak is one long run whose figures are trends over time.',
  );
  out.push('');

  const results = run.outcomes.map((o) => ({ name: o.name, r: o.outcome.result, o: o.outcome }));
  const goals = results.flatMap(({ r }) => (r ? r.figures.filter((f) => f.goal).map((f) => ({ r, f })) : []));
  out.push('## Summary of goals', '', '| Benchmark | Figure | Ours | Goal | Met |', '|---|---|---:|---|:-:|');
  for (const { r, f } of goals) {
    out.push(
      `| ${cell(r.title.replace(/^\d+[ab]?\.\s*/, ''))} | ${cell(f.metric)} | ${cell(value(f, f.value))} | ${cell(f.goal)} | ${met(f)} |`,
    );
  }
  const missed = goals.filter(({ f }) => f.met === false).length;
  const unmeasured = goals.filter(({ f }) => f.met === null || f.met === undefined).length;
  out.push('');
  out.push(
    `${goals.length - missed - unmeasured} of ${goals.length} goals met, ${missed} missed${unmeasured ? `, ${unmeasured} not measured` : ''}; ` +
      'every miss is explained in the notes of its section.',
  );
  out.push('');

  for (const { name, r, o } of results) {
    if (!r) {
      out.push(`## ${name}`, '', `**Not completed**: ${o.error ?? 'no result'}.`, '');
      continue;
    }
    out.push(`## ${r.title}`, '', r.setup, '', figureTable(r.figures), '');
    const notes = [...r.notes];
    if (o.error) notes.push(`Run error: ${o.error}`);
    notes.push(
      o.exitedCleanly
        ? `The benchmark process exited by itself after reporting (every timer, socket and child closed); ${fmt(o.seconds, 0)} s.`
        : `The benchmark process did NOT exit by itself after reporting (a handle was left open) and was ended; ${fmt(o.seconds, 0)} s.`,
    );
    for (const n of notes) out.push(`- ${n}`);
    out.push('');
  }
  out.push('## Reproduce', '', '```sh');
  out.push(
    'npm run build && npm run bench                   # everything, < 20 min, rewrites bench/RESULTS.md',
  );
  out.push('npm run bench -- --soak-min 30                   # the same with a 30-minute soak');
  out.push(
    'node dist/bench/run.js --only overhead,fanout    # some benchmarks; prints figures, writes bench/out/',
  );
  out.push('node dist/bench/run.js --quick                   # smoke test with shortened durations', '```');
  out.push('', 'Raw data of this run: `bench/out/*.json` (not committed).', '');
  return out.join('\n');
}

/** Short plain-text lines for the console. */
export function renderConsole(r: BenchResult): string {
  const lines = [`== ${r.title}`];
  for (const f of r.figures) {
    const sp = spread(f);
    const base = f.baseline === undefined || f.baseline === null ? '' : ` | base ${value(f, f.baseline)}`;
    const rt = f.ratio === null || f.ratio === undefined ? '' : ` | ${fmt(f.ratio, 2)}×`;
    const goal = f.goal
      ? ` | goal ${f.goal}: ${f.met === true ? 'met' : f.met === false ? 'MISSED' : 'n/a'}`
      : '';
    lines.push(`  ${f.metric}: ${value(f, f.value)}${sp === '–' ? '' : ` (${sp})`}${base}${rt}${goal}`);
  }
  for (const n of r.notes) lines.push(`  - ${n}`);
  return lines.join('\n');
}
