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
/** countMqtt: see WorkerArgs (scale-worker.ts). */
export type ApiArgs = typeof DEFAULTS & { countMqtt?: boolean };
type Pick = (l: LevelResult) => number | null;
type ApiResult = { ours: WorkerResult | null; floor: WorkerResult | null };

/** One value per window (a window without one, or NaN, is left out). */
const valuesOf = (list: LevelResult[], pick: Pick) =>
  list.map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
export const medianOf = (list: LevelResult[], pick: Pick) => median(valuesOf(list, pick));

/** Our windows by number of panels, each with the floor's windows at that level ([] if not measured). */
export function levelsOf(r: ApiResult) {
  const at = (w: WorkerResult | null, n: number) => w?.levels.filter((l) => l.panels === n) ?? [];
  const panelCounts = [...new Set(r.ours?.levels.map((l) => l.panels))];
  return panelCounts.map((n) => ({ n, list: at(r.ours, n), floor: at(r.floor, n) }));
}
export const panelsText = (n: number) => `${n} panel${n > 1 ? 's' : ''}`;

/**
 * Figures of one level named "<name>: <metric>": the median of ours over the windows with the spread, against
 * the median of the floor's windows when it was measured; 1 digit unless told.
 */
export const windowFigures =
  (name: string, list: LevelResult[], floor: LevelResult[], baselineLabel?: string) =>
  (metric: string, unit: string, pick: Pick, opts: Parameters<typeof spreadFigure>[3] = {}) =>
    spreadFigure(`${name}: ${metric}`, unit, valuesOf(list, pick), {
      digits: 1,
      base: floor.length ? valuesOf(floor, pick) : null,
      baselineLabel,
      ...opts,
    });

/** The floor worker (at floorLevels), then ours (at levels), on the same panels; notes get the panels' CPU. */
export async function runApi(api: Api, args: ApiArgs, notes: string[]): Promise<ApiResult> {
  const { levels, floorLevels, hosts: hostCount, ...timing } = args;
  const total = Math.max(...levels, ...floorLevels);
  const per = Math.ceil(total / hostCount);
  const hosts = await Promise.all(Array.from({ length: hostCount }, () => SimHost.start()));
  try {
    const started = hosts.map((h, i) => startPanels(h, Math.min(per, total - i * per), api));
    const panels = (await Promise.all(started)).flat();
    const simCpu0 = hosts.map((h) => procCpuMs(h.child.pid) ?? 0);
    const t0 = Date.now();
    const worker = async (mode: WorkerArgs['mode'], at: number[]) => {
      const limitMs = 60_000 + at.length * (args.warmupS + args.windows * (args.windowS + 2) + 20) * 1000;
      const workerArgs: WorkerArgs = { ...timing, api, panels, mode, levels: at };
      const o = await runChild('scale-worker', workerArgs, limitMs);
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

/** Goals at the largest level only; RSS growth is over the process's own baseline before any panel. */
function levelFigures(api: Api, ours: WorkerResult, floorRun: WorkerResult | null, maxLevel: number) {
  const { baseline } = ours;
  const bare = api === 'v1' ? 'bare node:http pollers' : 'bare MQTT.js subscribers';
  return levelsOf({ ours, floor: floorRun }).flatMap(({ n, list, floor }) => {
    const fig = windowFigures(`${api}, ${panelsText(n)}`, list, floor, floor.length ? bare : undefined);
    const at = (pick: Pick) => fmt(medianOf(list, pick), 1);
    const below = (limit: number, unit: string, pick: Pick) =>
      n === maxLevel ? { goal: `< ${limit} ${unit}`, met: (medianOf(list, pick) ?? Infinity) < limit } : {};
    const [cpu, rss]: Pick[] = [(l) => l.cpuSharePct, (l) => l.rssMB];
    const failed = list.reduce((a, l) => a + l.failed, 0);
    return [
      fig('CPU share of one core', '%', cpu, { digits: 2, ...below(CPU_GOAL_PCT, '%', cpu) }),
      fig('resident memory (RSS after GC)', 'MB', rss, {
        note:
          `growth over the process's own baseline ${at((l) => l.rssMB - baseline.rssMB)} MB ` +
          `(heap ${at((l) => l.heapUsedMB - baseline.heapUsedMB)} MB)`,
        ...below(RSS_GOAL_MB, 'MB', rss),
      }),
      fig('event-loop delay p99', 'ms', (l) => l.eld.p99, {
        note: `p50 ${at((l) => l.eld.p50)} ms, max ${fmt(Math.max(...list.map((l) => l.eld.max)), 1)} ms`,
      }),
      fig('data messages per second', 'msg/s', (l) => l.messagesPerS, {
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
    figures.push(...levelFigures(api, r.ours, r.floor, Math.max(...a.levels)));
    if (api === 'v1')
      notes.unshift(
        `v1 baseline of the measured process before any panel: RSS ${fmt(r.ours.baseline.rssMB, 1)} MB, ` +
          `heap ${fmt(r.ours.baseline.heapUsedMB, 1)} MB (Node.js + our modules loaded).`,
      );
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
