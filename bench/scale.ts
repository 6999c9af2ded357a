/**
 * Benchmark 3: scale. 1, 10, 50 and 100 simulated panels at a 1 s interval in one Node.js process that holds
 * only the client side (scale-worker.ts); the panels live in a few sim-host processes. Measured per level:
 * CPU share of one core, RSS growth over the process's own baseline (after forced GC), event-loop delay p99,
 * data messages per second. Baseline: the same number of bare node:http pollers (the floor) in a separate,
 * identical worker process, in the same run. runApi() also carries benchmark 3b (push.ts).
 */
import { benchMain, runChild } from './child';
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
type Measure = (l: LevelResult) => number | null;

/** One figure's value per window at a level: median, with every window's value kept as the spread. */
export function perWindow(list: LevelResult[], pick: Measure): { value: number | null; runs: number[] } {
  const runs = list.map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
  return { value: median(runs), runs };
}

/** The windows of a worker's result, by number of panels. */
export function byLevel(r: WorkerResult | null): Map<number, LevelResult[]> {
  const m = new Map<number, LevelResult[]>();
  for (const l of r?.levels ?? []) m.set(l.panels, [...(m.get(l.panels) ?? []), l]);
  return m;
}

/** A figure at one level: the median of ours over the windows, against the floor's when it was measured. */
export function windowFigure(
  metric: string,
  unit: string,
  [list, floor]: [LevelResult[], LevelResult[] | null],
  baselineLabel: string | undefined,
  pick: Measure,
  digits: number,
  extra: Partial<Figure> = {},
): Figure {
  const o = perWindow(list, pick);
  const b = floor?.length ? perWindow(floor, pick) : null;
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

/** Starts `total` panels spread over `hostCount` sim-host processes. */
async function startPanels(api: 'v1' | 'v2', total: number, hostCount: number) {
  const hosts: SimHost[] = [];
  try {
    for (let h = 0; h < hostCount; h++) hosts.push(await SimHost.start());
    const per = Math.ceil(total / hostCount);
    const opts = { token: TOKEN, tickMs: 1000, ...(api === 'v2' ? { v2: { ...V2_SIM_OPTIONS } } : {}) };
    const started = await Promise.all(
      hosts.map((h, i) => h.startPanels(Math.min(per, total - i * per), opts)),
    );
    const panels: WorkerPanel[] = started
      .flat()
      .map((p) => ({ ...p, passphrase: V2_SIM_OPTIONS.passphrase }));
    return { hosts, panels };
  } catch (e) {
    await Promise.all(hosts.map((h) => h.stop()));
    throw e;
  }
}

/** The floor worker (at floorLevels), then ours (at levels), on the same panels; notes get the panels' CPU. */
export async function runApi(api: 'v1' | 'v2', args: ApiArgs, notes: string[]) {
  const { levels, floorLevels, hosts: hostCount, ...timing } = args;
  const { hosts, panels } = await startPanels(api, Math.max(...levels, ...floorLevels), hostCount);
  const simCpu0 = hosts.map((h) => procCpuMs(h.child.pid) ?? 0);
  const t0 = Date.now();
  const worker = (mode: WorkerArgs['mode'], at: number[]) =>
    runChild(
      'scale-worker',
      { ...timing, api, panels, mode, levels: at } satisfies WorkerArgs,
      60_000 + at.length * (args.warmupS + args.windows * (args.windowS + 2) + 20) * 1000,
    );
  try {
    const floor = floorLevels.length ? await worker('floor', floorLevels) : null;
    const ours = await worker('ours', levels);
    const simCpu = hosts.reduce((a, h, i) => a + (procCpuMs(h.child.pid) ?? 0) - simCpu0[i], 0);
    notes.push(
      `${api}: the ${hosts.length} simulator processes (${panels.length} panels) used ` +
        `${fmt((100 * simCpu) / (Date.now() - t0), 0)} % of one core meanwhile, on the same 2 cores.`,
    );
    for (const o of [floor, ours]) {
      if (o?.error) notes.push(`${api}: ${o.error}`);
      if (o && !o.exitedCleanly) notes.push(`${api}: a scale worker did not exit by itself (leaked handle).`);
    }
    const raw = (o: typeof ours | null) => (o?.result?.raw as WorkerResult | undefined) ?? null;
    return { floor: raw(floor), ours: raw(ours) };
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
  }
}

const CPU_GOAL_PCT = 25;
const RSS_GOAL_MB = 150;
const cpuShare: Measure = (l) => l.cpuSharePct;
const rss: Measure = (l) => l.rssMB;

function levelFigures(
  api: 'v1' | 'v2',
  r: { ours: WorkerResult; floor: WorkerResult | null },
  maxLevel: number,
) {
  const figures: Figure[] = [];
  const floors = byLevel(r.floor);
  for (const [n, list] of byLevel(r.ours)) {
    const fl = floors.get(n) ?? null;
    const label = fl ? (api === 'v1' ? 'bare node:http pollers' : 'bare MQTT.js subscribers') : undefined;
    const at = perWindow.bind(null, list);
    const fig = (metric: string, unit: string, pick: Measure, digits: number, extra: Partial<Figure>) =>
      windowFigure(
        `${api}, ${n} panel${n > 1 ? 's' : ''}: ${metric}`,
        unit,
        [list, fl],
        label,
        pick,
        digits,
        extra,
      );
    const goal = (text: string, met: boolean) => (n === maxLevel ? { goal: text, met } : {});
    const failed = list.reduce((a, l) => a + l.failed, 0);
    figures.push(
      fig(
        'CPU share of one core',
        '%',
        cpuShare,
        2,
        goal(`< ${CPU_GOAL_PCT} %`, (at(cpuShare).value ?? Infinity) < CPU_GOAL_PCT),
      ),
      fig('resident memory (RSS after GC)', 'MB', rss, 1, {
        note: `growth over the process's own baseline ${fmt(at((l) => l.rssGrowthMB).value, 1)} MB (heap ${fmt(at((l) => l.heapGrowthMB).value, 1)} MB)`,
        ...goal(`< ${RSS_GOAL_MB} MB`, (at(rss).value ?? Infinity) < RSS_GOAL_MB),
      }),
      fig('event-loop delay p99', 'ms', (l) => l.eldP99, 1, {
        note: `p50 ${fmt(at((l) => l.eldP50).value, 1)} ms, max ${fmt(Math.max(...list.map((l) => l.eldMax)), 1)} ms`,
      }),
      fig('data messages per second', 'msg/s', (l) => l.messagesPerS, 1, {
        note: failed ? `${failed} failed cycles over the windows` : 'no failed cycle',
      }),
    );
  }
  return figures;
}

async function run({ v2: withV2, ...a }: typeof DEFAULTS): Promise<BenchResult> {
  const maxLevel = Math.max(...a.levels);
  const notes: string[] = [];
  const figures: Figure[] = [];
  const raw: Record<string, unknown> = {};
  for (const api of withV2 ? (['v1', 'v2'] as const) : (['v1'] as const)) {
    const r = await runApi(api, a, notes);
    raw[api] = r;
    if (!r.ours) continue;
    figures.push(...levelFigures(api, { ours: r.ours, floor: r.floor }, maxLevel));
    if (api === 'v1') {
      notes.unshift(
        `v1 baseline of the measured process before any panel: RSS ${fmt(r.ours.baseline.rssMB, 1)} MB, ` +
          `heap ${fmt(r.ours.baseline.heapUsedMB, 1)} MB (Node.js + our modules loaded).`,
      );
    }
    const top = byLevel(r.ours).get(maxLevel) ?? [];
    const cpu = perWindow(top, cpuShare).value;
    const mem = perWindow(top, rss).value;
    if (cpu !== null && cpu >= CPU_GOAL_PCT)
      notes.push(`Goal missed (${api}): ${fmt(cpu)} % of one core at ${maxLevel} panels.`);
    if (mem !== null && mem >= RSS_GOAL_MB)
      notes.push(`Goal missed (${api}): RSS ${fmt(mem, 0)} MB at ${maxLevel} panels.`);
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
