/**
 * Benchmark 3: scale. 1 to 100 panels at 1 s in one worker process (scale-worker.ts) against bare pollers in
 * an identical one; runApi() also carries benchmark 3b (push.ts). How: `setup` below.
 */
import { benchMain, runChild } from './child';
import type { LevelResult, WorkerArgs, WorkerResult } from './scale-worker';
import { SimHost, startPanels, type Api } from './sims';
import { fmt, median, procCpuMs, spreadFigure, type BenchResult, type Figure } from './util';

/** windows: measurement windows per level (each figure: the median of them, with the spread). */
const DEFAULTS = {
  levels: [1, 10, 50, 100],
  floorLevels: [100],
  hosts: 2,
  intervalS: 1,
  warmupS: 3,
  windowS: 10,
  windows: 1,
};
export type ApiArgs = typeof DEFAULTS & { countMqtt?: boolean };
type Pick = (l: LevelResult) => number | null;

/** The median over the windows of one level, with every window's value kept for the spread. */
export function perWindow(list: LevelResult[], pick: Pick): { value: number | null; runs: number[] } {
  const runs = list.map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
  return { value: median(runs), runs };
}

/** Our windows by number of panels, each with the floor's windows at that level (if measured). */
export function levelsOf(r: { ours: WorkerResult | null; floor: WorkerResult | null }) {
  const group = (w: WorkerResult | null) => {
    const m = new Map<number, LevelResult[]>();
    for (const l of w?.levels ?? []) m.set(l.panels, [...(m.get(l.panels) ?? []), l]);
    return m;
  };
  const floors = group(r.floor);
  return [...group(r.ours)].map(([n, list]) => ({ n, list, floor: floors.get(n) ?? null }));
}

/** A figure at one level: the median of ours over the windows, against the floor's when it was measured. */
export function windowFigure(
  metric: string,
  unit: string,
  [list, floor]: [LevelResult[], LevelResult[] | null],
  baselineLabel: string | undefined,
  pick: Pick,
  digits: number,
  extra: Partial<Figure> = {},
): Figure {
  const values = (l: LevelResult[]) => l.map(pick).filter((v): v is number => v !== null);
  const base = floor?.length ? values(floor) : null;
  return spreadFigure(metric, unit, values(list), { digits, base, baselineLabel, ...extra });
}

/** The floor worker (at floorLevels), then ours (at levels), on the same panels; notes get the panels' CPU. */
export async function runApi(api: Api, args: ApiArgs, notes: string[]) {
  const { levels, floorLevels, hosts: hostCount, ...timing } = args;
  const total = Math.max(...levels, ...floorLevels);
  const per = Math.ceil(total / hostCount);
  const hosts = await Promise.all(Array.from({ length: hostCount }, () => SimHost.start()));
  try {
    const started = await Promise.all(
      hosts.map((h, i) => startPanels(h, Math.min(per, total - i * per), api)),
    );
    const panels = started.flat();
    const simCpu0 = hosts.map((h) => procCpuMs(h.child.pid) ?? 0);
    const t0 = Date.now();
    const worker = async (mode: WorkerArgs['mode'], at: number[]) => {
      const limitMs = 60_000 + at.length * (args.warmupS + args.windows * (args.windowS + 2) + 20) * 1000;
      const o = await runChild(
        'scale-worker',
        { ...timing, api, panels, mode, levels: at } satisfies WorkerArgs,
        limitMs,
      );
      if (o.error) notes.push(`${api}: ${o.error}`);
      if (!o.exitedCleanly) notes.push(`${api}: a scale worker did not exit by itself (leaked handle).`);
      return (o.result?.raw as WorkerResult | undefined) ?? null;
    };
    const floor = floorLevels.length ? await worker('floor', floorLevels) : null;
    const ours = await worker('ours', levels);
    const simCpu = hosts.reduce((a, h, i) => a + (procCpuMs(h.child.pid) ?? 0) - simCpu0[i], 0);
    notes.push(
      `${api}: the ${hosts.length} simulator processes (${panels.length} panels) used ` +
        `${fmt((100 * simCpu) / (Date.now() - t0), 0)} % of one core meanwhile, on the same 2 cores.`,
    );
    return { floor, ours };
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
  }
}

const CPU_GOAL_PCT = 25;
const RSS_GOAL_MB = 150;

function levelFigures(api: Api, r: Awaited<ReturnType<typeof runApi>>, maxLevel: number): Figure[] {
  return levelsOf(r).flatMap(({ n, list, floor }) => {
    const label = floor ? (api === 'v1' ? 'bare node:http pollers' : 'bare MQTT.js subscribers') : undefined;
    const at = (pick: Pick) => perWindow(list, pick).value;
    const fig = (metric: string, unit: string, pick: Pick, digits: number, extra: Partial<Figure>) =>
      windowFigure(
        `${api}, ${n} panel${n > 1 ? 's' : ''}: ${metric}`,
        unit,
        [list, floor],
        label,
        pick,
        digits,
        extra,
      );
    const goal = (text: string, limit: number, pick: Pick) =>
      n === maxLevel ? { goal: `< ${text}`, met: (at(pick) ?? Infinity) < limit } : {};
    const failed = list.reduce((a, l) => a + l.failed, 0);
    return [
      fig(
        'CPU share of one core',
        '%',
        (l) => l.cpuSharePct,
        2,
        goal(`${CPU_GOAL_PCT} %`, CPU_GOAL_PCT, (l) => l.cpuSharePct),
      ),
      fig('resident memory (RSS after GC)', 'MB', (l) => l.rssMB, 1, {
        note: `growth over the process's own baseline ${fmt(
          at((l) => l.rssGrowthMB),
          1,
        )} MB (heap ${fmt(
          at((l) => l.heapGrowthMB),
          1,
        )} MB)`,
        ...goal(`${RSS_GOAL_MB} MB`, RSS_GOAL_MB, (l) => l.rssMB),
      }),
      fig('event-loop delay p99', 'ms', (l) => l.eldP99, 1, {
        note: `p50 ${fmt(
          at((l) => l.eldP50),
          1,
        )} ms, max ${fmt(Math.max(...list.map((l) => l.eldMax)), 1)} ms`,
      }),
      fig('data messages per second', 'msg/s', (l) => l.messagesPerS, 1, {
        note: failed ? `${failed} failed cycles over the windows` : 'no failed cycle',
      }),
    ];
  });
}

async function run(a: typeof DEFAULTS): Promise<BenchResult> {
  const notes: string[] = [];
  const figures: Figure[] = [];
  const raw: Record<string, unknown> = {};
  for (const api of ['v1', 'v2'] as const) {
    const r = (raw[api] = await runApi(api, a, notes));
    if (!r.ours) continue;
    figures.push(...levelFigures(api, r, Math.max(...a.levels)));
    if (api === 'v1') {
      notes.unshift(
        `v1 baseline of the measured process before any panel: RSS ${fmt(r.ours.baseline.rssMB, 1)} MB, ` +
          `heap ${fmt(r.ours.baseline.heapUsedMB, 1)} MB (Node.js + our modules loaded).`,
      );
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
