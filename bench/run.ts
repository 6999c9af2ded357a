#!/usr/bin/env node
/**
 * Runs the benchmarks and writes bench/RESULTS.md (npm run bench → node dist/bench/run.js).
 *
 *   node dist/bench/run.js                        everything (< 20 min); rewrites bench/RESULTS.md
 *   node dist/bench/run.js --soak-min 30          the same with a 30-minute soak (the run takes that much longer)
 *   node dist/bench/run.js --only scale,peer      some of them; prints figures, writes bench/out/*.json only
 *   node dist/bench/run.js --quick                shortened durations, one run each (smoke test); bench/out/ only
 *   node dist/bench/run.js --write                also write RESULTS.md for --only / --quick runs
 *   --allow-dirty                                 write bench/RESULTS.md even with uncommitted changes
 *
 * Run from the repository root, from a clean tree at the commit the results describe. The CPU-sensitive
 * benchmarks (overhead, fan-out, scale, push) run one after the other; then the soak runs alongside
 * recovery → peer → redeploy, which measure seconds, not CPU. Every benchmark is its own child process and
 * must exit by itself; most run 5 times (each figure the median of the runs, with the spread).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { aggregateRuns, runChild, type ChildOutcome } from './child';
import { LoadMonitor } from './load';
import { machineInfo, renderConsole, renderResults } from './report';
import type { BenchResult } from './util';

/**
 * Per benchmark: separate runs in the default run (scale and push measure 5 windows per level in one process,
 * as starting 100 TLS panels five times would not fit the budget; recovery and peer run 5 replicas in
 * parallel in one run; the soak is one long run), the upper bound of ONE run (a child past it is killed and
 * reported), and the arguments of each run in the full run (windows shrunk so that 5 runs fit the ~20-minute
 * budget) and in --quick.
 */
const PLAN = {
  overhead: {
    repeats: 5,
    budgetS: 60,
    full: { rounds: 1, cycles: 100, warmup: 20 },
    quick: { rounds: 1, cycles: 40, warmup: 10 },
  },
  fanout: { repeats: 5, budgetS: 60, full: { windowS: 4 }, quick: { windowS: 3 } },
  scale: {
    repeats: 1,
    budgetS: 360,
    full: { levels: [1, 10, 50, 100], windows: 5, windowS: 3, warmupS: 2 },
    quick: { levels: [1, 10], floorLevels: [10], windows: 2, windowS: 2, warmupS: 1, hosts: 1 },
  },
  push: {
    repeats: 1,
    budgetS: 240,
    full: { levels: [1, 10, 100], windows: 5, windowS: 3, warmupS: 2 },
    quick: { levels: [1, 10], windows: 2, windowS: 2, warmupS: 1 },
  },
  recovery: {
    repeats: 1,
    budgetS: 200,
    full: { replicas: 5 },
    quick: { intervals: [1], refusalS: 10, hangS: 5, replicas: 2 },
  },
  soak: {
    repeats: 1,
    budgetS: 420,
    full: {},
    quick: { durationS: 40, faultEveryS: 10, warmupS: 3, warmupFaults: false },
  },
  redeploy: {
    repeats: 5,
    budgetS: 60,
    full: { redeploys: 200, warmup: 10 },
    quick: { redeploys: 20, warmup: 3 },
  },
  peer: {
    repeats: 1,
    budgetS: 260,
    full: { replicas: 5 },
    quick: { raceS: 10, blips: 2, replicas: 2, realS: 20 },
  },
} satisfies Record<string, { repeats: number; budgetS: number; full: object; quick: object }>;
type Name = keyof typeof PLAN;
const ALL = Object.keys(PLAN) as Name[];

/** Whole run, hard limit: later benchmarks are skipped rather than overrun it (the soak adds its own length). */
const RUN_LIMIT_S = 20 * 60;

function options() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      write: { type: 'boolean' },
      'allow-dirty': { type: 'boolean', default: false },
      'soak-min': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      `Usage: node dist/bench/run.js [--only ${ALL.join(',')}] [--quick] [--write] [--allow-dirty] [--soak-min N]\n`,
    );
    process.exit(0);
  }
  const only = values.only === undefined ? ALL : (values.only.split(',').filter(Boolean) as Name[]);
  for (const n of only) if (!ALL.includes(n)) throw new Error(`unknown benchmark "${n}" (${ALL.join(', ')})`);
  const soakS = values['soak-min'] === undefined ? null : Number(values['soak-min']) * 60;
  if (soakS !== null && !(soakS > 0)) throw new Error('--soak-min needs a positive number of minutes');
  const full = only.length === ALL.length && !values.quick;
  return { only, quick: values.quick, write: values.write ?? full, allowDirty: values['allow-dirty'], soakS };
}

async function main(): Promise<void> {
  const opts = options();
  const root = process.cwd();
  if (!fs.existsSync(path.join(root, 'package.json')) || !fs.existsSync(path.join(root, 'bench'))) {
    throw new Error(
      'run from the repository root (bench/ and package.json must be in the current directory)',
    );
  }
  const outDir = path.join(root, 'bench', 'out');
  fs.mkdirSync(outDir, { recursive: true });
  const startedAt = new Date();
  const info = machineInfo(root);
  if (opts.write && info.dirty && !opts.allowDirty) {
    throw new Error(
      'the working tree has uncommitted changes: bench/RESULTS.md must describe a commit. Commit (or stash) first, ' +
        'or pass --allow-dirty (the header then says "dirty").',
    );
  }
  const load = await LoadMonitor.start();
  process.stdout.write(
    `SPAN panel benchmarks: ${info.cpuModel}, ${info.cores} cores, ${info.memoryGB.toFixed(1)} GB, Node ${info.node}` +
      `${opts.quick ? ' (quick)' : ''}\n`,
  );

  const outcomes = new Map<Name, ChildOutcome>();
  const repeats: Record<string, number> = {};
  const soakExtraS = (name: Name) => (name === 'soak' && opts.soakS !== null ? opts.soakS : 0);
  const deadline = Date.now() + (RUN_LIMIT_S + (opts.soakS ?? 0)) * 1000;
  const leftS = () => (deadline - Date.now()) / 1000;
  const runOne = async (name: Name): Promise<void> => {
    const plan = PLAN[name];
    const args = {
      ...(opts.quick ? plan.quick : plan.full),
      ...(soakExtraS(name) ? { durationS: opts.soakS } : {}),
    };
    const budgetS = plan.budgetS + soakExtraS(name);
    const n = opts.quick ? 1 : plan.repeats;
    const runs: ChildOutcome[] = [];
    // Fewer runs rather than overrunning the limit; none when too little is left.
    while (runs.length < n && leftS() >= (runs.length ? budgetS : 20)) {
      process.stdout.write(`>> ${name}${n > 1 ? ` run ${runs.length + 1}/${n}` : ''} …\n`);
      runs.push(await runChild(name, args, Math.min(budgetS, leftS()) * 1000));
    }
    const results = runs.map((r) => r.result).filter((r): r is BenchResult => r !== null);
    if (runs.length) repeats[name] = results.length;
    const o: ChildOutcome = {
      result: results.length ? aggregateRuns(results) : null,
      error: runs.length
        ? (runs.map((r) => r.error).find((e) => e) ?? null)
        : `skipped: the run reached its ${Math.round((RUN_LIMIT_S + (opts.soakS ?? 0)) / 60)}-minute limit`,
      exitedCleanly: runs.every((r) => r.exitedCleanly),
      seconds: runs.reduce((a, r) => a + r.seconds, 0),
    };
    outcomes.set(name, o);
    if (o.result) {
      fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(o.result, null, 2));
      process.stdout.write(`${renderConsole(o.result)}\n`);
    }
    process.stdout.write(
      `<< ${name}: ${o.seconds.toFixed(0)} s${o.error ? `, ERROR ${o.error}` : ''}${o.exitedCleanly ? '' : ', did not exit by itself'}\n`,
    );
  };

  const want = (n: Name) => opts.only.includes(n);
  for (const n of ['overhead', 'fanout', 'scale', 'push'] as const) if (want(n)) await runOne(n);
  await Promise.all([
    want('soak') ? runOne('soak') : Promise.resolve(),
    (async () => {
      for (const n of ['recovery', 'peer', 'redeploy'] as const) if (want(n)) await runOne(n);
    })(),
  ]);

  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const ordered = ALL.filter((n) => outcomes.has(n)).map((n) => ({ name: n, outcome: outcomes.get(n)! }));
  const markdown = renderResults({
    startedAt,
    seconds,
    command:
      process.argv.length > 2 ? `node dist/bench/run.js ${process.argv.slice(2).join(' ')}` : 'npm run bench',
    quick: opts.quick,
    machine: info,
    load: load.stop(),
    repeats,
    outcomes: ordered,
    v2: 'measured', // v2 is part of every build now
  });
  fs.writeFileSync(path.join(outDir, 'RESULTS.md'), markdown);
  if (opts.write) fs.writeFileSync(path.join(root, 'bench', 'RESULTS.md'), markdown);
  const failed = ordered.filter((o) => !o.outcome.result);
  process.stdout.write(
    `\nDone in ${(seconds / 60).toFixed(1)} min. ${opts.write ? 'Wrote bench/RESULTS.md' : 'Wrote bench/out/RESULTS.md'}` +
      `${failed.length ? `; ${failed.length} benchmark(s) without result: ${failed.map((f) => f.name).join(', ')}` : ''}\n`,
  );
  if (failed.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
});
