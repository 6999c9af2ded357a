/**
 * Machine load before and during a benchmark run, measured instead of assumed: load average and the share of
 * CPU time the cores spent busy (from os.cpus() deltas), sampled every few seconds, and how many Node.js
 * processes outside this run were alive (other work on the machine). Linux /proc for the process count.
 */
import fs from 'node:fs';
import os from 'node:os';

export interface LoadSample {
  load1: number;
  /** Busy share of all cores since the previous sample, 0–100 %. */
  busyPct: number;
  otherNode: number;
}

type Stat = { mean: number; max: number };
export type LoadSummary = { before: LoadSample; samples: number } & { [K in keyof LoadSample]: Stat };

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const { times: t } of os.cpus()) {
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

const readProc = (file: string): string | null => {
  try {
    return fs.readFileSync(`/proc/${file}`, 'utf8');
  } catch {
    return null;
  }
};

/** Parent pid of a process, or null. */
function parentOf(pid: number): number | null {
  const stat = readProc(`${pid}/stat`);
  return stat === null ? null : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Node.js processes that are neither this process, nor its ancestors, nor its descendants (-1: unknown). */
function otherNodeProcesses(): number {
  let pids: number[];
  try {
    pids = fs
      .readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number);
  } catch {
    return -1;
  }
  const ancestors = new Set<number>();
  for (let p: number | null = process.pid; p && !ancestors.has(p); p = parentOf(p)) ancestors.add(p);
  // A descendant of this run (benchmark children, simulators) is part of the run, not other work.
  const mine = (pid: number) => {
    for (let p = parentOf(pid); p && p > 1; p = parentOf(p)) if (p === process.pid) return true;
    return false;
  };
  const isNode = (pid: number) => /(^|\/)node$/.test(readProc(`${pid}/cmdline`)?.split('\0')[0] ?? '');
  return pids.filter((pid) => !ancestors.has(pid) && isNode(pid) && !mine(pid)).length;
}

export class LoadMonitor {
  private readonly samples: LoadSample[] = [];
  private readonly timer: NodeJS.Timeout;
  readonly before: LoadSample;

  /** Takes the "before" reading over `settleMs` (the busy share needs two cpu readings). */
  static async start(everyMs = 5000, settleMs = 2000): Promise<LoadMonitor> {
    const first = cpuTimes();
    await new Promise((r) => setTimeout(r, settleMs));
    return new LoadMonitor(first, everyMs);
  }

  private constructor(
    private last: { idle: number; total: number },
    everyMs: number,
  ) {
    this.before = this.sample();
    this.timer = setInterval(() => this.samples.push(this.sample()), everyMs).unref();
  }

  private sample(): LoadSample {
    const now = cpuTimes();
    const total = now.total - this.last.total;
    const busyPct = total > 0 ? 100 * (1 - (now.idle - this.last.idle) / total) : 0;
    this.last = now;
    return { load1: os.loadavg()[0], busyPct, otherNode: otherNodeProcesses() };
  }

  stop(): LoadSummary {
    clearInterval(this.timer);
    const list = this.samples.length ? this.samples : [this.sample()];
    const stat = (k: keyof LoadSample): Stat => {
      const v = list.map((s) => s[k]);
      return { mean: v.reduce((a, b) => a + b, 0) / v.length, max: Math.max(...v) };
    };
    return {
      before: this.before,
      samples: list.length,
      load1: stat('load1'),
      busyPct: stat('busyPct'),
      otherNode: stat('otherNode'),
    };
  }
}
