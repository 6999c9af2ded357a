/**
 * Machine load before and during a benchmark run, measured instead of assumed: load average and the share of
 * CPU time the cores spent idle (from os.cpus() deltas), sampled every few seconds, and how many Node.js
 * processes outside this run were alive (other work on the machine). Linux /proc for the process count.
 */
import fs from 'node:fs';
import os from 'node:os';

export interface LoadSample {
  at: number;
  load1: number;
  /** Busy share of all cores since the previous sample, 0–100 %. */
  busyPct: number;
  otherNode: number;
}

export interface LoadSummary {
  before: LoadSample;
  samples: number;
  load1: { mean: number; max: number };
  busyPct: { mean: number; max: number };
  otherNode: { mean: number; max: number };
}

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of os.cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
  }
  return { idle, total };
}

/** Parent pid of a process from /proc/<pid>/stat, or null. */
function parentOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** Node.js processes that are neither this process, nor its ancestors, nor its descendants. */
export function otherNodeProcesses(): number | null {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return null;
  }
  const ancestors = new Set<number>();
  for (let p: number | null = process.pid; p && !ancestors.has(p); p = parentOf(p)) ancestors.add(p);
  let n = 0;
  for (const e of entries) {
    const pid = Number(e);
    if (ancestors.has(pid)) continue;
    let cmd: string;
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    } catch {
      continue;
    }
    if (!/(^|\/)node$/.test(cmd)) continue;
    // A descendant of this run (benchmark children, simulators) is part of the run, not other work.
    let mine = false;
    for (let p = parentOf(pid); p && p > 1; p = parentOf(p)) {
      if (p === process.pid) {
        mine = true;
        break;
      }
    }
    if (!mine) n++;
  }
  return n;
}

export class LoadMonitor {
  private readonly samples: LoadSample[] = [];
  private last = cpuTimes();
  private timer: NodeJS.Timeout | null = null;
  readonly before: LoadSample;

  /** Takes the "before" reading over `settleMs` (the busy share needs two cpu readings). */
  static async start(everyMs = 5000, settleMs = 2000): Promise<LoadMonitor> {
    const first = cpuTimes();
    await new Promise((r) => setTimeout(r, settleMs));
    return new LoadMonitor(first, everyMs);
  }

  private constructor(first: { idle: number; total: number }, everyMs: number) {
    this.last = first;
    this.before = this.sample();
    this.timer = setInterval(() => this.samples.push(this.sample()), everyMs);
    this.timer.unref();
  }

  private sample(): LoadSample {
    const now = cpuTimes();
    const total = now.total - this.last.total;
    const busyPct = total > 0 ? 100 * (1 - (now.idle - this.last.idle) / total) : 0;
    this.last = now;
    return { at: Date.now(), load1: os.loadavg()[0], busyPct, otherNode: otherNodeProcesses() ?? -1 };
  }

  stop(): LoadSummary {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const list = this.samples.length ? this.samples : [this.sample()];
    const stat = (pick: (s: LoadSample) => number) => {
      const v = list.map(pick);
      return { mean: v.reduce((a, b) => a + b, 0) / v.length, max: Math.max(...v) };
    };
    return {
      before: this.before,
      samples: list.length,
      load1: stat((s) => s.load1),
      busyPct: stat((s) => s.busyPct),
      otherNode: stat((s) => s.otherNode),
    };
  }
}
