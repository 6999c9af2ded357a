#!/usr/bin/env node
/**
 * Runs the benchmarks and writes bench/RESULTS.md (npm run bench; options in bench/README.md). The
 * CPU-sensitive benchmarks (overhead, fan-out, scale, push) run one after the other; then the soak runs alongside
 * recovery → peer → redeploy, which measure seconds, not CPU. Every benchmark is its own child process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { aggregateRuns, runChild, type ChildOutcome } from './child';
import { startLoadMonitor } from './load';
import { benchmarkSection, machineInfo, renderResults } from './report';
import type { BenchResult } from './util';

/**
 * Per benchmark: runs in the default run (scale and push measure 5 windows per level in one process, as
 * starting 100 TLS panels five times would not fit; recovery and peer run 5 replicas in parallel; the soak is
 * one long run), the limit of ONE run (a child past it is killed and reported), and the arguments of each run
 * in the full run (sized so that the whole run fits ~20 minutes) and in --quick.
 */
const PLAN = {
  overhead: [5, 60, { rounds: 1, cycles: 100, warmup: 20 }, { rounds: 1, cycles: 40, warmup: 10 }],
  fanout: [5, 60, { windowS: 4 }, { windowS: 3 }],
  scale: [
    1,
    360,
    { levels: [1, 10, 50, 100], windows: 5, windowS: 3, warmupS: 2 },
    { levels: [1, 10], floorLevels: [10], windows: 2, windowS: 2, warmupS: 1, hosts: 1 },
  ],
  push: [
    1,
    240,
    { levels: [1, 10, 100], windows: 5, windowS: 3, warmupS: 2 },
    { levels: [1, 10], windows: 2, windowS: 2, warmupS: 1 },
  ],
  recovery: [1, 200, { replicas: 5 }, { intervals: [1], refusalS: 10, hangS: 5, replicas: 2 }],
  soak: [1, 420, {}, { durationS: 40, faultEveryS: 10, warmupS: 3, warmupFaults: false }],
  redeploy: [5, 60, { redeploys: 200, warmup: 10 }, { redeploys: 20, warmup: 3 }],
  peer: [1, 260, { replicas: 5 }, { raceS: 10, blips: 2, replicas: 2, realS: 20 }],
} satisfies Record<string, [repeats: number, limitS: number, full: object, quick: object]>;
type Name = keyof typeof PLAN;
const ALL = Object.keys(PLAN) as Name[];

/** Whole run, hard limit: later benchmarks are skipped rather than overrun it (the soak adds its own length). */
const RUN_LIMIT_S = 20 * 60;

function options() {
  const { values: v } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      write: { type: 'boolean' },
      'allow-dirty': { type: 'boolean', default: false },
      'soak-min': { type: 'string' },
    },
  });
  const only = v.only === undefined ? ALL : (v.only.split(',').filter(Boolean) as Name[]);
  for (const n of only) if (!ALL.includes(n)) throw new Error(`unknown benchmark "${n}" (${ALL.join(', ')})`);
  const soakS = v['soak-min'] === undefined ? 0 : Number(v['soak-min']) * 60;
  if (!(soakS >= 0)) throw new Error('--soak-min needs a positive number of minutes');
  const write = v.write ?? (only.length === ALL.length && !v.quick);
  return { only, quick: v.quick, write, allowDirty: v['allow-dirty'], soakS };
}

async function main(): Promise<void> {
  const opts = options();
  const root = process.cwd();
  if (!['package.json', 'bench'].every((f) => fs.existsSync(path.join(root, f))))
    throw new Error(
      'run from the repository root (bench/ and package.json must be in the current directory)',
    );
  const outDir = path.join(root, 'bench', 'out');
  fs.mkdirSync(outDir, { recursive: true });
  const startedAt = new Date();
  const info = machineInfo(root);
  if (opts.write && info.dirty && !opts.allowDirty)
    throw new Error(
      'the working tree has uncommitted changes: bench/RESULTS.md must describe a commit. Commit (or stash) ' +
        'first, or pass --allow-dirty (the header then says "dirty").',
    );
  const stopLoad = await startLoadMonitor();
  const machine = `${info.cpuModel}, ${info.cores} cores, ${info.memoryGB.toFixed(1)} GB, Node ${info.node}`;
  process.stdout.write(`SPAN panel benchmarks: ${machine}\n`);

  const outcomes = new Map<Name, ChildOutcome>();
  const repeats: Record<string, number> = {};
  const limitMin = Math.round(RUN_LIMIT_S / 60 + opts.soakS / 60);
  const deadline = Date.now() + limitMin * 60_000;
  const leftS = () => (deadline - Date.now()) / 1000;
  const runOne = async (name: Name): Promise<void> => {
    const [times, limit, full, quick] = PLAN[name];
    const soakS = name === 'soak' ? opts.soakS : 0;
    const args = { ...(opts.quick ? quick : full), ...(soakS ? { durationS: soakS } : {}) };
    const limitS = limit + soakS;
    const n = opts.quick ? 1 : times;
    const runs: ChildOutcome[] = [];
    // Fewer runs rather than overrunning the limit; none when too little is left.
    while (runs.length < n && leftS() >= (runs.length ? limitS : 20)) {
      process.stdout.write(`>> ${name}${n > 1 ? ` run ${runs.length + 1}/${n}` : ''} …\n`);
      runs.push(await runChild(name, args, Math.min(limitS, leftS()) * 1000));
    }
    const results = runs.map((r) => r.result).filter((r): r is BenchResult => r !== null);
    if (runs.length) repeats[name] = results.length;
    const o: ChildOutcome = {
      result: results.length ? aggregateRuns(results) : null,
      error: runs.length
        ? (runs.map((r) => r.error).find((e) => e) ?? null)
        : `skipped: the run reached its ${limitMin}-minute limit`,
      exitedCleanly: runs.every((r) => r.exitedCleanly),
      seconds: runs.reduce((a, r) => a + r.seconds, 0),
    };
    outcomes.set(name, o);
    if (o.result) fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(o.result, null, 2));
    process.stdout.write(`${benchmarkSection(name, o).join('\n')}\n`);
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
  const args = process.argv.slice(2);
  const markdown = renderResults({
    startedAt,
    seconds,
    command: args.length ? `node dist/bench/run.js ${args.join(' ')}` : 'npm run bench',
    quick: opts.quick,
    machine: info,
    load: stopLoad(),
    repeats,
    outcomes: ordered,
  });
  fs.writeFileSync(path.join(outDir, 'RESULTS.md'), markdown);
  if (opts.write) fs.writeFileSync(path.join(root, 'bench', 'RESULTS.md'), markdown);
  const failed = ordered.filter((o) => !o.outcome.result).map((f) => f.name);
  process.stdout.write(
    `\nDone in ${(seconds / 60).toFixed(1)} min. Wrote bench/${opts.write ? '' : 'out/'}RESULTS.md` +
      `${failed.length ? `; ${failed.length} benchmark(s) without result: ${failed.join(', ')}` : ''}\n`,
  );
  if (failed.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
});
