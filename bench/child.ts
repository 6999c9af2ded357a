/**
 * Every benchmark runs in its own child process (fresh heap, nothing else on its event loop, --expose-gc),
 * sends its BenchResult over IPC and must then exit by itself: a child that lingers has leaked a handle,
 * which the run reports, then ends it.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import type { BenchResult } from './util';

export interface ChildOutcome {
  result: BenchResult | null;
  error: string | null;
  /** True when the child exited on its own after sending its result. */
  exitedCleanly: boolean;
  seconds: number;
}

/**
 * Forks dist/bench/<name>.js, which must call benchMain(). `budgetMs` bounds the whole child: past it the
 * child is killed and the outcome carries an error.
 */
export function runChild(
  name: string,
  args: Record<string, unknown>,
  budgetMs: number,
): Promise<ChildOutcome> {
  const started = Date.now();
  const child = fork(path.join(__dirname, `${name}.js`), [JSON.stringify(args)], {
    execArgv: ['--expose-gc', '--unhandled-rejections=strict'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve) => {
    let result: BenchResult | null = null;
    let error: string | null = null;
    let resultAt = 0;
    const budget = setTimeout(() => {
      error = `${name}: killed after its ${Math.round(budgetMs / 1000)} s budget`;
      child.kill('SIGKILL');
    }, budgetMs);
    let linger: NodeJS.Timeout | null = null;
    child.on('message', (msg: { result?: BenchResult; error?: string }) => {
      if (msg.result) result = msg.result;
      if (msg.error) error = msg.error;
      resultAt = Date.now();
      // A clean child exits within a few seconds of reporting; otherwise it has leaked something.
      linger = setTimeout(() => {
        error = error ?? null;
        child.kill('SIGKILL');
      }, 15_000);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(budget);
      if (linger) clearTimeout(linger);
      const exitedCleanly = resultAt > 0 && signal === null && code === 0;
      if (!result && !error) error = `${name}: exited with ${signal ?? code} without a result`;
      resolve({ result, error, exitedCleanly, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/**
 * Entry point of a benchmark module run as a child: runs `fn` with the JSON arguments over `defaults` and
 * reports over IPC.
 */
export function benchMain<A extends object>(fn: (args: A) => Promise<BenchResult>, defaults?: A): void {
  const args = { ...defaults, ...(JSON.parse(process.argv[2] ?? '{}') as Partial<A>) } as A;
  const started = Date.now();
  fn(args).then(
    (result) => {
      result.seconds = (Date.now() - started) / 1000;
      if (process.send) process.send({ result }, () => process.disconnect());
      else process.stdout.write(`${JSON.stringify({ ...result, raw: undefined }, null, 2)}\n`);
    },
    (err: unknown) => {
      const e = err as Error;
      process.stderr.write(`${e.stack ?? e.message}\n`);
      if (process.send) process.send({ error: e.message }, () => process.disconnect());
      process.exitCode = 1;
    },
  );
}
