/**
 * Renders bench/RESULTS.md: machine and versions, a summary of every goal, then one section per benchmark
 * with each figure, its baseline from the same run, the ratio, the goal and notes on every goal missed.
 */
import type { ChildOutcome } from './child';
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
}

export interface RunSummary {
  startedAt: Date;
  seconds: number;
  command: string;
  quick: boolean;
  machine: MachineInfo;
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
  if (f.met === true) return 'yes';
  if (f.met === false) return '**no**';
  return f.goal ? 'n/a' : '';
}

function figureTable(figures: Figure[]): string {
  const rows = [
    '| Figure | Ours | Baseline (same run) | Ratio | Goal | Met | Note |',
    '|---|---:|---|---:|---|:-:|---|',
  ];
  for (const f of figures) {
    const base =
      f.baseline === undefined
        ? '–'
        : `${value(f, f.baseline)}${f.baselineLabel ? ` (${f.baselineLabel})` : ''}`;
    rows.push(
      `| ${cell(f.metric)} | ${cell(value(f, f.value))} | ${cell(base)} | ${cell(f.ratio === null || f.ratio === undefined ? null : `${fmt(f.ratio, 2)}×`)} | ${cell(f.goal)} | ${met(f)} | ${cell(f.note)} |`,
    );
  }
  return rows.join('\n');
}

export function renderResults(run: RunSummary): string {
  const m = run.machine;
  const out: string[] = [];
  out.push('# Benchmark results');
  out.push('');
  out.push(
    `Written by \`${run.command}\` on ${run.startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC; the whole run took ` +
      `${fmt(run.seconds / 60, 1)} min${run.quick ? ' (QUICK MODE: shortened durations, not the reference figures)' : ''}.`,
  );
  out.push('');
  out.push('## Machine and versions');
  out.push('');
  out.push('| | |');
  out.push('|---|---|');
  out.push(`| CPU | ${cell(m.cpuModel)}, ${m.cores} logical cores |`);
  out.push(`| Memory | ${fmt(m.memoryGB, 1)} GB |`);
  out.push(`| Load average at start (1/5/15 min) | ${m.loadAverage.map((l) => fmt(l, 2)).join(' / ')} |`);
  out.push(`| OS | ${cell(m.os)} |`);
  out.push(`| Node.js | ${m.node} |`);
  out.push(`| Package | ${m.packageName} ${m.packageVersion}${m.commit ? ` (commit ${m.commit})` : ''} |`);
  out.push(
    `| Libraries | ${Object.entries(m.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} |`,
  );
  out.push(`| v2 (MQTT) | ${cell(run.v2)} |`);
  out.push('');
  out.push(
    `> The machine has ${m.cores} cores shared with other work (colleagues' builds and tests ran at the same time), and the ` +
      'simulated panels run on the same cores as the client. Figures are indicative: compare the ratios within one run ' +
      'rather than absolute numbers across runs.',
  );
  out.push('');

  const results = run.outcomes.map((o) => ({ name: o.name, r: o.outcome.result, o: o.outcome }));
  const goals = results.flatMap(({ r }) => (r ? r.figures.filter((f) => f.goal).map((f) => ({ r, f })) : []));
  out.push('## Summary of goals');
  out.push('');
  out.push('| Benchmark | Figure | Ours | Goal | Met |');
  out.push('|---|---|---:|---|:-:|');
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
      out.push(`## ${name}`);
      out.push('');
      out.push(`**Not completed**: ${o.error ?? 'no result'}.`);
      out.push('');
      continue;
    }
    out.push(`## ${r.title}`);
    out.push('');
    out.push(r.setup);
    out.push('');
    out.push(figureTable(r.figures));
    out.push('');
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
  out.push('## Reproduce');
  out.push('');
  out.push('```sh');
  out.push(
    'npm run build && npm run bench                   # everything, < 15 min, rewrites bench/RESULTS.md',
  );
  out.push(
    'node dist/bench/run.js --only overhead,fanout    # some benchmarks; prints figures, writes bench/out/',
  );
  out.push('node dist/bench/run.js --quick                   # smoke test with shortened durations');
  out.push('```');
  out.push('');
  out.push('Raw data of this run: `bench/out/*.json` (not committed).');
  out.push('');
  return out.join('\n');
}

/** Short plain-text lines for the console. */
export function renderConsole(r: BenchResult): string {
  const lines = [`== ${r.title}`];
  for (const f of r.figures) {
    const base = f.baseline === undefined || f.baseline === null ? '' : ` | base ${value(f, f.baseline)}`;
    const rt = f.ratio === null || f.ratio === undefined ? '' : ` | ${fmt(f.ratio, 2)}×`;
    const goal = f.goal
      ? ` | goal ${f.goal}: ${f.met === true ? 'met' : f.met === false ? 'MISSED' : 'n/a'}`
      : '';
    lines.push(`  ${f.metric}: ${value(f, f.value)}${base}${rt}${goal}`);
  }
  for (const n of r.notes) lines.push(`  - ${n}`);
  return lines.join('\n');
}
