/**
 * The measured process of benchmarks 3 and 3b: only the client side (supervisors, or the bare floor), with the
 * simulated panels in other processes. Adds panels level by level and, per level, measures CPU share,
 * event-loop delay, messages per second and resident memory after a forced GC over back-to-back windows.
 * Forked by scale.ts with the panels' ports; reports over IPC.
 */
import { MqttClient } from 'mqtt';
import { createPanelSupervisor } from '../src/connection';
import { SILENT_LOGGER } from '../src/util/logger';
import { bareMqtt, BareV1Poller, endMqtt } from './baselines';
import { benchMain } from './child';
import { configFor } from './ours';
import type { Api, HostPanel } from './sims';
import { cpuMs, loopDelay, memoryAfterGc, sleep, waitUntil, type LoopDelay } from './util';

/** What runApi (scale.ts) passes: the panels, their levels and timing; `mode` says which client to run. */
export interface WorkerArgs {
  mode: 'ours' | 'floor';
  api: Api;
  panels: HostPanel[];
  levels: number[];
  intervalS: number;
  warmupS: number;
  windowS: number;
  /** Measurement windows per level, back to back: each gives one LevelResult. */
  windows: number;
  /** Also count MQTT messages received (v2), through a hook on MqttClient.prototype.emit. */
  countMqtt?: boolean;
}

/** One window at one level; `failed` counts stale data events, `dataEvents` fresh and stale. */
export type LevelResult = Awaited<ReturnType<typeof measureWindow>>;
export type WorkerResult = Awaited<ReturnType<typeof runWorker>>;

type Stop = () => unknown;
const counts = { fresh: 0, stale: 0, mqtt: 0 };

/** Counts 'message' events of every MQTT.js client (ours and the bare floor alike): one branch per emit. */
function countMqttMessages(): void {
  const proto = MqttClient.prototype as unknown as { emit: (event: string, ...a: unknown[]) => boolean };
  const emit = proto.emit;
  proto.emit = function (this: unknown, event: string, ...a: unknown[]) {
    if (event === 'message') counts.mqtt++;
    return emit.call(this, event, ...a);
  };
}

/** The v1 floor: one bare keep-alive poller per panel, each re-arming 1 interval after its poll completes. */
function startBareV1(p: HostPanel, intervalMs: number): Stop {
  const poller = new BareV1Poller(p.http);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = () =>
    void poller
      .cycle()
      .then(
        () => counts.fresh++,
        () => counts.stale++,
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  timer = setTimeout(tick, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
    poller.close();
  };
}

/**
 * The v2 floor: a bare MQTT.js client per panel (registered once, CA fetched once) subscribed to the panel's
 * Homie tree, doing nothing with the messages. "Messages" are then one per interval with any traffic.
 */
async function startBareV2(p: HostPanel, intervalMs: number): Promise<Stop> {
  const client = await bareMqtt(p, 'bench-floor');
  let lastCounted = 0;
  client.on('message', () => {
    if (Date.now() - lastCounted < intervalMs) return;
    lastCounted = Date.now();
    counts.fresh++;
  });
  return () => endMqtt(client);
}

function startOurs(args: WorkerArgs, p: HostPanel): Stop {
  const sup = createPanelSupervisor(configFor(args.api, p, args.intervalS), SILENT_LOGGER);
  sup.subscribe({ onData: (d) => void (d.stale ? counts.stale++ : counts.fresh++) });
  sup.start();
  return () => sup.stop();
}

async function measureWindow(args: WorkerArgs, panels: number, eld: LoopDelay) {
  const before = { ...counts, cpu: cpuMs(), at: Date.now() };
  eld.reset();
  await sleep(args.windowS * 1000);
  const wall = Date.now() - before.at;
  const cpu = cpuMs() - before.cpu;
  const fresh = counts.fresh - before.fresh;
  const failed = counts.stale - before.stale;
  return {
    panels,
    mqttMessages: args.countMqtt ? counts.mqtt - before.mqtt : null,
    dataEvents: fresh + failed,
    failed,
    cpuMs: cpu,
    cpuSharePct: (100 * cpu) / wall,
    eld: eld.read(),
    messagesPerS: (1000 * fresh) / wall,
    ...(await memoryAfterGc()),
  };
}

export async function runWorker(args: WorkerArgs) {
  if (args.countMqtt) countMqttMessages();
  const eld = loopDelay(5);
  await sleep(500);
  const baseline = await memoryAfterGc();
  await sleep(1000);
  const intervalMs = args.intervalS * 1000;
  const start = (p: HostPanel) =>
    args.mode === 'ours'
      ? startOurs(args, p)
      : args.api === 'v1'
        ? startBareV1(p, intervalMs)
        : startBareV2(p, intervalMs);
  const stops: Stop[] = [];
  const levels: LevelResult[] = [];
  try {
    for (const n of args.levels) {
      const before = counts.fresh;
      while (stops.length < Math.min(n, args.panels.length))
        stops.push(await start(args.panels[stops.length]));
      // Every new client has delivered data at least once before the window starts.
      await waitUntil(`${n} panels delivering`, () => counts.fresh - before >= n, 60_000, 50).catch(
        () => undefined,
      );
      await sleep(args.warmupS * 1000);
      for (let w = 0; w < args.windows; w++) levels.push(await measureWindow(args, stops.length, eld));
    }
  } finally {
    eld.stop();
    await Promise.all(stops.map((stop) => stop()));
  }
  return { baseline, levels };
}

if (require.main === module) {
  benchMain(async (args: WorkerArgs) => ({
    name: 'scale-worker',
    title: '',
    setup: '',
    figures: [],
    notes: [],
    raw: await runWorker(args),
  }));
}
