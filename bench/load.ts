/**
 * Machine load before and during a benchmark run, measured instead of assumed: load average, the share of
 * CPU time the cores spent busy (os.cpus() deltas) and how many Node.js processes outside this run were alive
 * (Linux /proc), sampled every few seconds.
 */
import fs from 'node:fs';
import os from 'node:os';
import { attempt, procStat } from './util';

export interface LoadSample {
  load1: number;
  /** Busy share of all cores since the previous sample, 0–100 %. */
  busyPct: number;
  otherNode: number;
}
type Stat = { mean: number; max: number };
export type LoadSummary = { before: LoadSample; samples: number } & { [K in keyof LoadSample]: Stat };

function cpuTimes() {
  let idle = 0;
  let total = 0;
  for (const { times: t } of os.cpus()) {
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/** Process group of a pid (field 5 of /proc/<pid>/stat), or null. */
const groupOf = (pid: number | string): string | null => attempt(() => procStat(pid)[2], null);

/**
 * Node.js processes outside this run's process group (-1: unknown). `npm run bench`, this process, the
 * benchmark children and the simulators share one group; other work on the machine does not.
 */
function otherNodeProcesses(): number {
  const mine = groupOf(process.pid);
  const isNode = (pid: string) =>
    attempt(() => /(^|\/)node$/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]), false);
  const pids = attempt(() => fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)), null);
  return pids ? pids.filter((pid) => isNode(pid) && groupOf(pid) !== mine).length : -1;
}

/** Takes the "before" reading over `settleMs` (the busy share needs two readings), then samples. */
export async function startLoadMonitor(everyMs = 5000, settleMs = 2000) {
  let last = cpuTimes();
  await new Promise((r) => setTimeout(r, settleMs));
  const sample = (): LoadSample => {
    const now = cpuTimes();
    const total = now.total - last.total;
    const busyPct = total > 0 ? 100 * (1 - (now.idle - last.idle) / total) : 0;
    last = now;
    return { load1: os.loadavg()[0], busyPct, otherNode: otherNodeProcesses() };
  };
  const before = sample();
  const samples: LoadSample[] = [];
  const timer = setInterval(() => samples.push(sample()), everyMs).unref();
  return (): LoadSummary => {
    clearInterval(timer);
    const list = samples.length ? samples : [sample()];
    const stat = (k: keyof LoadSample): Stat => {
      const v = list.map((s) => s[k]);
      return { mean: v.reduce((a, b) => a + b, 0) / v.length, max: Math.max(...v) };
    };
    return {
      before,
      samples: list.length,
      load1: stat('load1'),
      busyPct: stat('busyPct'),
      otherNode: stat('otherNode'),
    };
  };
}
