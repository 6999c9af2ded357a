#!/usr/bin/env node
/**
 * Runs the benchmarks and writes bench/RESULTS.md (npm run bench → node dist/bench/run.js).
 *
 *   node dist/bench/run.js                        everything (< 15 min); rewrites bench/RESULTS.md
 *   node dist/bench/run.js --only scale,peer      some of them; prints figures, writes bench/out/*.json only
 *   node dist/bench/run.js --quick                shortened durations (smoke test); writes bench/out/ only
 *   node dist/bench/run.js --write                also write RESULTS.md for --only / --quick runs
 *
 * Run from the repository root. The CPU-sensitive benchmarks (overhead, fan-out, scale) run one after the
 * other; then the soak runs alongside recovery → peer → redeploy, which measure seconds, not CPU.
 * Every benchmark is its own child process and must exit by itself.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChild, type ChildOutcome } from './child';
import { renderConsole, renderResults, type MachineInfo } from './report';
import { v2Available } from './v2-support';

const ALL = ['overhead', 'fanout', 'scale', 'recovery', 'soak', 'redeploy', 'peer'] as const;
type Name = (typeof ALL)[number];

/** Upper bounds per benchmark (a child past its budget is killed and reported). */
const BUDGET_S: Record<Name, number> = {
  overhead: 150,
  fanout: 120,
  scale: 330,
  recovery: 200,
  soak: 420,
  redeploy: 150,
  peer: 150,
};

const QUICK_ARGS: Record<Name, Record<string, unknown>> = {
  overhead: { rounds: 1, cycles: 40, warmup: 10 },
  fanout: { windowS: 3 },
  scale: { levels: [1, 10], floorLevels: [10], windowS: 3, warmupS: 1, hosts: 1 },
  recovery: { intervals: [1], refusalS: 10, hangS: 5, replicas: 1 },
  soak: { durationS: 40, faultEveryS: 10, warmupS: 3, warmupFaults: false },
  redeploy: { redeploys: 20, warmup: 3 },
  peer: { raceS: 10, blips: 2 },
};

/** Whole run, hard limit: later benchmarks are skipped rather than overrun it. */
const RUN_LIMIT_S = 14.5 * 60;

interface Options {
  only: Name[];
  quick: boolean;
  write: boolean;
}

function parseArgs(argv: string[]): Options {
  let only: Name[] = [...ALL];
  let quick = false;
  let write: boolean | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--write') write = true;
    else if (a === '--only') {
      const list = (argv[++i] ?? '').split(',').filter(Boolean);
      for (const n of list)
        if (!(ALL as readonly string[]).includes(n))
          throw new Error(`unknown benchmark "${n}" (${ALL.join(', ')})`);
      only = list as Name[];
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(`Usage: node dist/bench/run.js [--only ${ALL.join(',')}] [--quick] [--write]\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  const full = only.length === ALL.length && !quick;
  return { only, quick, write: write ?? full };
}

function versionOf(root: string, pkg: string): string {
  try {
    return (
      JSON.parse(fs.readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    return '?';
  }
}

function machine(root: string): MachineInfo {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    commit = null;
  }
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGB: os.totalmem() / 2 ** 30,
    loadAverage: os.loadavg(),
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
    packageName: pkg.name,
    packageVersion: pkg.version,
    versions: Object.fromEntries(
      ['node-red', 'axios', 'axios-retry', 'mqtt', 'aedes', 'node-red-node-test-helper'].map((p) => [
        p,
        versionOf(root, p),
      ]),
    ),
    commit,
  };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const root = process.cwd();
  if (!fs.existsSync(path.join(root, 'package.json')) || !fs.existsSync(path.join(root, 'bench'))) {
    throw new Error(
      'run from the repository root (bench/ and package.json must be in the current directory)',
    );
  }
  const outDir = path.join(root, 'bench', 'out');
  fs.mkdirSync(outDir, { recursive: true });
  const startedAt = new Date();
  const t0 = Date.now();
  const info = machine(root);
  const v2 = v2Available();
  process.stdout.write(
    `SPAN panel benchmarks: ${info.cpuModel}, ${info.cores} cores, ${info.memoryGB.toFixed(1)} GB, Node ${info.node}` +
      `${opts.quick ? ' (quick)' : ''}\nv2: ${v2 === true ? 'available' : v2}\n`,
  );

  const outcomes = new Map<Name, ChildOutcome>();
  const runOne = async (name: Name): Promise<void> => {
    const left = RUN_LIMIT_S - (Date.now() - t0) / 1000;
    if (left < 20) {
      outcomes.set(name, {
        result: null,
        error: 'skipped: the run reached its 15-minute limit',
        exitedCleanly: true,
        seconds: 0,
      });
      process.stdout.write(`-- ${name}: skipped (time limit)\n`);
      return;
    }
    process.stdout.write(`>> ${name} …\n`);
    const args = opts.quick ? QUICK_ARGS[name] : {};
    const o = await runChild(name, args, Math.min(BUDGET_S[name], left) * 1000);
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
  for (const n of ['overhead', 'fanout', 'scale'] as const) if (want(n)) await runOne(n);
  await Promise.all([
    want('soak') ? runOne('soak') : Promise.resolve(),
    (async () => {
      for (const n of ['recovery', 'peer', 'redeploy'] as const) if (want(n)) await runOne(n);
    })(),
  ]);

  const seconds = (Date.now() - t0) / 1000;
  const ordered = ALL.filter((n) => outcomes.has(n)).map((n) => ({ name: n, outcome: outcomes.get(n)! }));
  const markdown = renderResults({
    startedAt,
    seconds,
    command: opts.quick ? 'node dist/bench/run.js --quick' : 'npm run bench',
    quick: opts.quick,
    machine: info,
    outcomes: ordered,
    v2: v2 === true ? 'measured' : `not measured: ${v2}`,
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
