/**
 * Benchmark 3: scale. 1, 10, 50 and 100 simulated panels at a 1 s interval in one Node.js process that holds
 * only the client side (scale-worker.ts); the panels live in a few sim-host processes. Measured per level:
 * CPU share of one core, RSS growth over the process's own baseline (after forced GC), event-loop delay p99,
 * data messages per second. Baseline: the same number of bare node:http pollers (the floor) in a separate,
 * identical worker process, in the same run.
 */
import { runChild } from './child';
import { benchMain } from './child';
import type { LevelResult, WorkerArgs, WorkerPanel, WorkerResult } from './scale-worker';
import { SimHost, V2_SIM_OPTIONS } from './sims';
import { fmt, median, procCpuMs, ratio, round, TOKEN, type BenchResult, type Figure } from './util';

/** windows: measurement windows per level (each figure: the median of them, with the spread). */
const DEFAULTS = {
  levels: [1, 10, 50, 100],
  floorLevels: [100],
  hosts: 2,
  intervalS: 1,
  warmupS: 3,
  windowS: 10,
  windows: 1,
  v2: true,
};

export type ApiArgs = Omit<typeof DEFAULTS, 'v2'> & { countMqtt?: boolean };

/** One figure's value per window at a level: median, with every window's value kept as the spread. */
export function perWindow(
  list: LevelResult[],
  pick: (l: LevelResult) => number | null,
): { value: number | null; runs: number[] } {
  const runs = list.map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
  return { value: median(runs), runs };
}

export function byLevel(r: WorkerResult | null): Map<number, LevelResult[]> {
  const m = new Map<number, LevelResult[]>();
  for (const l of r?.levels ?? []) m.set(l.panels, [...(m.get(l.panels) ?? []), l]);
  return m;
}

/** A figure at one level: the median of ours over the windows, against the floor's when it was measured. */
export function windowFigure(
  metric: string,
  unit: string,
  list: LevelResult[],
  floor: LevelResult[] | null,
  baselineLabel: string | undefined,
  pick: (l: LevelResult) => number | null,
  digits: number,
  extra: Partial<Figure> = {},
): Figure {
  const o = perWindow(list, pick);
  const b = floor ? perWindow(floor, pick) : null;
  return {
    metric,
    value: round(o.value, digits),
    unit,
    runs: o.runs.map((v) => round(v, digits) ?? v),
    of: 'median',
    baseline: b ? round(b.value, digits) : null,
    baselineLabel,
    ratio: b ? round(ratio(o.value, b.value), 2) : null,
    ...extra,
  };
}

const CPU_GOAL_PCT = 25;
const RSS_GOAL_MB = 150;

export async function startPanels(
  api: 'v1' | 'v2',
  total: number,
  hostCount: number,
): Promise<{ hosts: SimHost[]; panels: WorkerPanel[] }> {
  const hosts: SimHost[] = [];
  const panels: WorkerPanel[] = [];
  try {
    for (let h = 0; h < hostCount; h++) hosts.push(await SimHost.start());
    const per = Math.ceil(total / hostCount);
    const started = await Promise.all(
      hosts.map((host, h) =>
        host.startPanels(Math.min(per, total - h * per), {
          token: TOKEN,
          tickMs: 1000,
          ...(api === 'v2' ? { v2: { ...V2_SIM_OPTIONS } } : {}),
        }),
      ),
    );
    for (const list of started) {
      for (const p of list)
        panels.push({ http: p.http, mqtt: p.mqtt, passphrase: V2_SIM_OPTIONS.passphrase });
    }
    return { hosts, panels };
  } catch (e) {
    await Promise.all(hosts.map((h) => h.stop()));
    throw e;
  }
}

export async function runApi(api: 'v1' | 'v2', args: ApiArgs, notes: string[]) {
  const total = Math.max(...args.levels, ...args.floorLevels);
  const { hosts, panels } = await startPanels(api, total, args.hosts);
  const simCpu0 = hosts.map((h) => procCpuMs(h.child.pid) ?? 0);
  const t0 = Date.now();
  const common = {
    api,
    panels,
    intervalS: args.intervalS,
    warmupS: args.warmupS,
    windowS: args.windowS,
    windows: args.windows,
    countMqtt: args.countMqtt,
  };
  const budget = (levels: number[]) =>
    60_000 + levels.length * (args.warmupS + args.windows * (args.windowS + 2) + 20) * 1000;
  try {
    const floor = args.floorLevels.length
      ? await runChild(
          'scale-worker',
          { ...common, mode: 'floor', levels: args.floorLevels } satisfies WorkerArgs,
          budget(args.floorLevels),
        )
      : null;
    const ours = await runChild(
      'scale-worker',
      { ...common, mode: 'ours', levels: args.levels } satisfies WorkerArgs,
      budget(args.levels),
    );
    const simCpu = hosts.map((h, i) => (procCpuMs(h.child.pid) ?? 0) - simCpu0[i]);
    const simShare = (100 * simCpu.reduce((a, b) => a + b, 0)) / (Date.now() - t0);
    notes.push(
      `${api}: the ${hosts.length} simulator processes (${panels.length} panels) used ${fmt(simShare, 0)} % of one core ` +
        'meanwhile, on the same 2 cores.',
    );
    for (const o of [floor, ours]) {
      if (o?.error) notes.push(`${api}: ${o.error}`);
      if (o && !o.exitedCleanly) notes.push(`${api}: a scale worker did not exit by itself (leaked handle).`);
    }
    return {
      floor: (floor?.result?.raw as WorkerResult | undefined) ?? null,
      ours: (ours.result?.raw as WorkerResult | undefined) ?? null,
    };
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
  }
}

function levelFigures(
  api: string,
  ours: WorkerResult,
  floor: WorkerResult | null,
  maxLevel: number,
): Figure[] {
  const figures: Figure[] = [];
  const floors = byLevel(floor);
  for (const [n, list] of byLevel(ours)) {
    const fl = floors.get(n) ?? null;
    const isGoal = n === maxLevel;
    const label = fl ? (api === 'v1' ? 'bare node:http pollers' : 'bare MQTT.js subscribers') : undefined;
    const name = `${api}, ${n} panel${n > 1 ? 's' : ''}`;
    const fig = (
      metric: string,
      unit: string,
      pick: (l: LevelResult) => number,
      digits: number,
      extra: Partial<Figure> = {},
    ): Figure => windowFigure(`${name}: ${metric}`, unit, list, fl, label, pick, digits, extra);
    const cpu = perWindow(list, (l) => l.cpuSharePct).value ?? Infinity;
    const rss = perWindow(list, (l) => l.rssMB).value ?? Infinity;
    figures.push(
      fig('CPU share of one core', '%', (l) => l.cpuSharePct, 2, {
        ...(isGoal ? { goal: `< ${CPU_GOAL_PCT} %`, met: cpu < CPU_GOAL_PCT } : {}),
      }),
    );
    figures.push(
      fig('resident memory (RSS after GC)', 'MB', (l) => l.rssMB, 1, {
        note: `growth over the process's own baseline ${fmt(perWindow(list, (l) => l.rssGrowthMB).value, 1)} MB (heap ${fmt(perWindow(list, (l) => l.heapGrowthMB).value, 1)} MB)`,
        ...(isGoal ? { goal: `< ${RSS_GOAL_MB} MB`, met: rss < RSS_GOAL_MB } : {}),
      }),
    );
    figures.push(
      fig('event-loop delay p99', 'ms', (l) => l.eldP99, 1, {
        note: `p50 ${fmt(perWindow(list, (l) => l.eldP50).value, 1)} ms, max ${fmt(Math.max(...list.map((l) => l.eldMax)), 1)} ms`,
      }),
    );
    const failed = list.reduce((a, l) => a + l.failed, 0);
    figures.push(
      fig('data messages per second', 'msg/s', (l) => l.messagesPerS, 1, {
        note: failed ? `${failed} failed cycles over the windows` : 'no failed cycle',
      }),
    );
  }
  return figures;
}

function missed(api: string, ours: WorkerResult, maxLevel: number, notes: string[]): void {
  const top = byLevel(ours).get(maxLevel) ?? [];
  const cpu = perWindow(top, (l) => l.cpuSharePct).value;
  const rss = perWindow(top, (l) => l.rssMB).value;
  if (cpu !== null && cpu >= CPU_GOAL_PCT)
    notes.push(`Goal missed (${api}): ${fmt(cpu)} % of one core at ${maxLevel} panels.`);
  if (rss !== null && rss >= RSS_GOAL_MB)
    notes.push(`Goal missed (${api}): RSS ${fmt(rss, 0)} MB at ${maxLevel} panels.`);
}

async function run(args: typeof DEFAULTS): Promise<BenchResult> {
  const { v2: withV2, ...a } = args;
  const maxLevel = Math.max(...a.levels);
  const notes: string[] = [];
  const figures: Figure[] = [];
  const raw: Record<string, unknown> = {};

  const v1 = await runApi('v1', a, notes);
  raw.v1 = v1;
  if (v1.ours) {
    figures.push(...levelFigures('v1', v1.ours, v1.floor, maxLevel));
    notes.unshift(
      `v1 baseline of the measured process before any panel: RSS ${fmt(v1.ours.baseline.rssMB, 1)} MB, ` +
        `heap ${fmt(v1.ours.baseline.heapUsedMB, 1)} MB (Node.js + our modules loaded).`,
    );
    missed('v1', v1.ours, maxLevel, notes);
  }

  if (withV2) {
    const v2 = await runApi('v2', a, notes);
    raw.v2 = v2;
    if (v2.ours) {
      figures.push(...levelFigures('v2', v2.ours, v2.floor, maxLevel));
      missed('v2', v2.ours, maxLevel, notes);
    }
  }
  notes.push(
    'All supervisors start together, so their cycles stay roughly in phase: the event-loop delay p99 shows the burst of ' +
      "one second's requests arriving at once (worst case; Node-RED deploys start them together too).",
  );
  return {
    name: 'scale',
    title: '3. Scale: many panels in one process (1 s interval)',
    setup:
      `${a.levels.join(', ')} panels added level by level to one worker process (client side only); ${a.warmupS} s warm-up, then ` +
      `${a.windows} back-to-back windows of ${a.windowS} s per level (each figure: the median of the windows, spread min–max); panels in ${a.hosts} sim-host processes. Floor: bare node:http keep-alive pollers ` +
      `(4 GETs + JSON.parse per panel per second) at ${a.floorLevels.join(', ')} panels in a separate, identical worker; v2 ` +
      'floor: one bare MQTT.js client per panel (TLS, subscribed to the Homie tree, messages ignored; its "messages per ' +
      'second" count seconds with traffic). v2 panels: flat data model, 1024-bit simulator keys.',
    figures,
    notes,
    raw,
  };
}

if (require.main === module) benchMain(run, DEFAULTS);
