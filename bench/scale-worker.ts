/**
 * The measured process of benchmark 3: only the client side (supervisors, or the bare floor), with the
 * simulated panels in other processes. Adds panels level by level and, for each level, measures CPU share,
 * event-loop delay, messages per second and resident memory after a forced GC over a fixed window.
 * Forked by scale.ts with the panels' ports; reports over IPC.
 */
import { MqttClient } from 'mqtt';
import type { PanelSupervisor } from '../src/supervisor/supervisor';
import { bareMqtt, BareV1Poller, endMqtt } from './baselines';
import { benchMain } from './child';
import { ourSupervisor, v1Config, v2Config } from './ours';
import { cpuMs, LoopDelay, memoryAfterGc, sleep, TOKEN, waitUntil, type BenchResult } from './util';

export interface WorkerPanel {
  http: number;
  mqtt: number | null;
  passphrase?: string;
}

export interface WorkerArgs {
  mode: 'ours' | 'floor';
  api: 'v1' | 'v2';
  panels: WorkerPanel[];
  levels: number[];
  intervalS: number;
  warmupS: number;
  windowS: number;
  /** Measurement windows per level, back to back (default 1): each gives one LevelResult. */
  windows?: number;
  /** Also count MQTT messages received (v2), through a hook on MqttClient.prototype.emit. */
  countMqtt?: boolean;
}

export interface LevelResult {
  panels: number;
  /** 0-based window index at this level. */
  window: number;
  /** MQTT messages received by all clients in the window (when counted). */
  mqttMessages: number | null;
  /** Data events (fresh + stale) delivered in the window. */
  dataEvents: number;
  cpuMs: number;
  cpuSharePct: number;
  eldP50: number;
  eldP99: number;
  eldMax: number;
  messagesPerS: number;
  /** Stale (failed) data events in the window. */
  failed: number;
  rssMB: number;
  rssGrowthMB: number;
  heapUsedMB: number;
  heapGrowthMB: number;
}

export interface WorkerResult {
  baseline: { rssMB: number; heapUsedMB: number; idleCpuSharePct: number };
  levels: LevelResult[];
}

interface Client {
  stop(): Promise<void> | void;
}

async function measureWindow(
  args: WorkerArgs,
  n: number,
  counters: { fresh: number; stale: number },
  base: { rssMB: number; heapUsedMB: number },
  eld: LoopDelay,
  window: number,
): Promise<LevelResult> {
  const fresh0 = counters.fresh;
  const stale0 = counters.stale;
  const mqtt0 = mqttCount.n;
  const cpu0 = cpuMs();
  const t0 = Date.now();
  eld.reset();
  await sleep(args.windowS * 1000);
  const wall = Date.now() - t0;
  const cpu = cpuMs() - cpu0;
  const loop = eld.read();
  const messages = counters.fresh - fresh0;
  const mqttMessages = args.countMqtt ? mqttCount.n - mqtt0 : null;
  const dataEvents = messages + counters.stale - stale0;
  const mem = await memoryAfterGc();
  return {
    panels: n,
    window,
    mqttMessages,
    dataEvents,
    cpuMs: cpu,
    cpuSharePct: (100 * cpu) / wall,
    eldP50: loop.p50,
    eldP99: loop.p99,
    eldMax: loop.max,
    messagesPerS: (1000 * messages) / wall,
    failed: counters.stale - stale0,
    rssMB: mem.rssMB,
    rssGrowthMB: mem.rssMB - base.rssMB,
    heapUsedMB: mem.heapUsedMB,
    heapGrowthMB: mem.heapUsedMB - base.heapUsedMB,
  };
}

/** MQTT messages received in this process (all clients), when the hook is installed. */
const mqttCount = { n: 0 };

/** Counts 'message' events of every MQTT.js client (ours and the bare floor alike): one branch per emit. */
function countMqttMessages(): void {
  const proto = MqttClient.prototype as unknown as { emit: (event: string, ...a: unknown[]) => boolean };
  const emit = proto.emit;
  proto.emit = function (this: unknown, event: string, ...a: unknown[]) {
    if (event === 'message') mqttCount.n++;
    return emit.call(this, event, ...a);
  };
}

/** The floor: one bare keep-alive poller per panel, each re-arming 1 interval after its poll completes. */
function startFloor(p: WorkerPanel, intervalMs: number, counters: { fresh: number; stale: number }): Client {
  const poller = new BareV1Poller(p.http, TOKEN);
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const tick = () => {
    poller
      .cycle()
      .then(
        () => counters.fresh++,
        () => counters.stale++,
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, 0);
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      poller.close();
    },
  };
}

/**
 * The v2 floor: a bare MQTT.js client per panel (registered once, CA fetched once) subscribed to the panel's
 * Homie tree, doing nothing with the messages. "Messages" are then one per interval with any traffic.
 */
async function startFloorV2(
  p: WorkerPanel,
  intervalMs: number,
  counters: { fresh: number; stale: number },
): Promise<Client> {
  const client = await bareMqtt(p, p.passphrase ?? '', 'bench-floor');
  let lastCounted = 0;
  client.on('message', () => {
    const now = Date.now();
    if (now - lastCounted >= intervalMs) {
      lastCounted = now;
      counters.fresh++;
    }
  });
  return { stop: () => endMqtt(client) };
}

function startOurs(args: WorkerArgs, p: WorkerPanel, counters: { fresh: number; stale: number }): Client {
  const config =
    args.api === 'v1' ? v1Config(p.http, args.intervalS) : v2Config(p, args.intervalS, p.passphrase);
  const sup: PanelSupervisor = ourSupervisor(config);
  sup.subscribe({
    onData: (d) => {
      if (d.stale) counters.stale++;
      else counters.fresh++;
    },
  });
  sup.start();
  return { stop: () => sup.stop() };
}

export async function runWorker(args: WorkerArgs): Promise<WorkerResult> {
  const counters = { fresh: 0, stale: 0 };
  if (args.countMqtt) countMqttMessages();
  const eld = new LoopDelay(5);
  await sleep(500);
  const mem0 = await memoryAfterGc();
  const idleCpu0 = cpuMs();
  await sleep(1000);
  const idleCpu = (100 * (cpuMs() - idleCpu0)) / 1000;
  const base = { rssMB: mem0.rssMB, heapUsedMB: mem0.heapUsedMB };
  const clients: Client[] = [];
  const levels: LevelResult[] = [];
  try {
    for (const n of args.levels) {
      const before = counters.fresh;
      while (clients.length < n && clients.length < args.panels.length) {
        const p = args.panels[clients.length];
        clients.push(
          args.mode === 'ours'
            ? startOurs(args, p, counters)
            : args.api === 'v1'
              ? startFloor(p, args.intervalS * 1000, counters)
              : await startFloorV2(p, args.intervalS * 1000, counters),
        );
      }
      // Every new client has delivered data at least once before the window starts.
      await waitUntil(`${n} panels delivering`, () => counters.fresh - before >= n, 60_000, 50).catch(
        () => undefined,
      );
      await sleep(args.warmupS * 1000);
      for (let w = 0; w < (args.windows ?? 1); w++)
        levels.push(await measureWindow(args, clients.length, counters, base, eld, w));
    }
  } finally {
    eld.stop();
    await Promise.all(clients.map((c) => c.stop()));
  }
  return { baseline: { ...base, idleCpuSharePct: idleCpu }, levels };
}

if (require.main === module) {
  benchMain(async (args: WorkerArgs): Promise<BenchResult> => {
    const r = await runWorker(args);
    return { name: 'scale-worker', title: '', setup: '', figures: [], notes: [], raw: r };
  });
}
