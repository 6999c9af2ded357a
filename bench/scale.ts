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
import { SimHost } from './sims';
import { v2Available, V2_SIM_OPTIONS } from './v2-support';
import { fmt, procCpuMs, ratio, round, TOKEN, type BenchResult, type Figure } from './util';

interface Args {
  levels?: number[];
  floorLevels?: number[];
  hosts?: number;
  intervalS?: number;
  warmupS?: number;
  windowS?: number;
  v2?: boolean;
}

const CPU_GOAL_PCT = 25;
const RSS_GOAL_MB = 150;

async function startPanels(
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

async function runApi(api: 'v1' | 'v2', args: Required<Omit<Args, 'v2'>>, notes: string[]) {
  const total = Math.max(...args.levels, ...args.floorLevels);
  const { hosts, panels } = await startPanels(api, total, args.hosts);
  const simCpu0 = hosts.map((h) => procCpuMs(h.child.pid) ?? 0);
  const t0 = Date.now();
  const common = { api, panels, intervalS: args.intervalS, warmupS: args.warmupS, windowS: args.windowS };
  const budget = (levels: number[]) => 60_000 + levels.length * (args.warmupS + args.windowS + 20) * 1000;
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
  const floorAt = (n: number): LevelResult | null => floor?.levels.find((l) => l.panels === n) ?? null;
  for (const l of ours.levels) {
    const f = floorAt(l.panels);
    const isGoal = l.panels === maxLevel;
    const fl = f ? (api === 'v1' ? 'bare node:http pollers' : 'bare MQTT.js subscribers') : undefined;
    figures.push({
      metric: `${api}, ${l.panels} panel${l.panels > 1 ? 's' : ''}: CPU share of one core`,
      value: round(l.cpuSharePct, 2),
      unit: '%',
      baseline: f ? round(f.cpuSharePct, 2) : null,
      baselineLabel: fl,
      ratio: f ? round(ratio(l.cpuSharePct, f.cpuSharePct), 2) : null,
      ...(isGoal ? { goal: `< ${CPU_GOAL_PCT} %`, met: l.cpuSharePct < CPU_GOAL_PCT } : {}),
    });
    figures.push({
      metric: `${api}, ${l.panels} panel${l.panels > 1 ? 's' : ''}: resident memory (RSS after GC)`,
      value: round(l.rssMB, 1),
      unit: 'MB',
      baseline: f ? round(f.rssMB, 1) : null,
      baselineLabel: fl,
      ratio: f ? round(ratio(l.rssMB, f.rssMB), 2) : null,
      note: `growth over the process's own baseline ${fmt(l.rssGrowthMB, 1)} MB (heap ${fmt(l.heapGrowthMB, 1)} MB)`,
      ...(isGoal ? { goal: `< ${RSS_GOAL_MB} MB`, met: l.rssMB < RSS_GOAL_MB } : {}),
    });
    figures.push({
      metric: `${api}, ${l.panels} panel${l.panels > 1 ? 's' : ''}: event-loop delay p99`,
      value: round(l.eldP99, 1),
      unit: 'ms',
      baseline: f ? round(f.eldP99, 1) : null,
      baselineLabel: fl,
      ratio: f ? round(ratio(l.eldP99, f.eldP99), 2) : null,
      note: `p50 ${fmt(l.eldP50, 1)} ms, max ${fmt(l.eldMax, 1)} ms`,
    });
    figures.push({
      metric: `${api}, ${l.panels} panel${l.panels > 1 ? 's' : ''}: data messages per second`,
      value: round(l.messagesPerS, 1),
      unit: 'msg/s',
      baseline: f ? round(f.messagesPerS, 1) : null,
      baselineLabel: fl,
      ratio: f ? round(ratio(l.messagesPerS, f.messagesPerS), 2) : null,
      note: l.failed ? `${l.failed} failed cycles in the window` : 'no failed cycle',
    });
  }
  return figures;
}

async function run(args: Args): Promise<BenchResult> {
  const a: Required<Omit<Args, 'v2'>> = {
    levels: args.levels ?? [1, 10, 50, 100],
    floorLevels: args.floorLevels ?? [100],
    hosts: args.hosts ?? 2,
    intervalS: args.intervalS ?? 1,
    warmupS: args.warmupS ?? 3,
    windowS: args.windowS ?? 10,
  };
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
    const top = v1.ours.levels.find((l) => l.panels === maxLevel);
    if (top && top.cpuSharePct >= CPU_GOAL_PCT)
      notes.push(`Goal missed (v1): ${fmt(top.cpuSharePct)} % of one core at ${maxLevel} panels.`);
    if (top && top.rssMB >= RSS_GOAL_MB)
      notes.push(`Goal missed (v1): RSS ${fmt(top.rssMB, 0)} MB at ${maxLevel} panels.`);
  }

  if (args.v2 !== false) {
    const why = v2Available();
    if (why === true) {
      const v2 = await runApi('v2', a, notes);
      raw.v2 = v2;
      if (v2.ours) {
        figures.push(...levelFigures('v2', v2.ours, v2.floor, maxLevel));
        const top = v2.ours.levels.find((l) => l.panels === maxLevel);
        if (top && top.cpuSharePct >= CPU_GOAL_PCT)
          notes.push(`Goal missed (v2): ${fmt(top.cpuSharePct)} % of one core at ${maxLevel} panels.`);
        if (top && top.rssMB >= RSS_GOAL_MB)
          notes.push(`Goal missed (v2): RSS ${fmt(top.rssMB, 0)} MB at ${maxLevel} panels.`);
      }
    } else {
      notes.push(`v2 not measured: ${why}.`);
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
      `${a.levels.join(', ')} panels added level by level to one worker process (client side only); ${a.warmupS} s warm-up and a ` +
      `${a.windowS} s window per level; panels in ${a.hosts} sim-host processes. Floor: bare node:http keep-alive pollers ` +
      `(4 GETs + JSON.parse per panel per second) at ${a.floorLevels.join(', ')} panels in a separate, identical worker; v2 ` +
      'floor: one bare MQTT.js client per panel (TLS, subscribed to the Homie tree, messages ignored; its "messages per ' +
      'second" count seconds with traffic). v2 panels: flat data model, 1024-bit simulator keys.',
    figures,
    notes,
    raw,
  };
}

if (require.main === module) benchMain(run);
