/**
 * Benchmark 3b: v2 push cost. Supervisors at interval 0 (a snapshot on every change the panel pushes) for
 * 1, 10 and 100 v2 panels in one worker process, against bare MQTT.js clients subscribed to the same Homie
 * topics in a separate, identical worker (same panels, same windows): CPU per MQTT message received, CPU per
 * emitted snapshot, CPU share. MQTT messages are counted in both workers by the same hook on MqttClient.emit.
 * Reuses the scale benchmark's worker and panel hosts.
 */
import { benchMain } from './child';
import type { LevelResult, WorkerResult } from './scale-worker';
import { byLevel, perWindow, runApi, windowFigure, type ApiArgs } from './scale';
import { fmt, type BenchResult, type Figure } from './util';

const usPerMessage = (l: LevelResult) => (l.mqttMessages ? (1000 * l.cpuMs) / l.mqttMessages : NaN);
const usPerSnapshot = (l: LevelResult) => (l.dataEvents ? (1000 * l.cpuMs) / l.dataEvents : NaN);

function figures(ours: WorkerResult, floor: WorkerResult | null): Figure[] {
  const out: Figure[] = [];
  const floors = byLevel(floor);
  for (const [n, list] of byLevel(ours)) {
    const fl = floors.get(n) ?? [];
    const name = `v2 interval 0, ${n} panel${n > 1 ? 's' : ''}`;
    const label = 'bare MQTT.js subscribers, same topics';
    const msgs = perWindow(list, (l) => l.mqttMessages);
    const msgsFloor = perWindow(fl, (l) => l.mqttMessages);
    out.push(
      windowFigure(`${name}: CPU per MQTT message received`, 'µs', list, fl, label, usPerMessage, 1, {
        note: `messages per window (median): ours ${fmt(msgs.value, 0)}, bare ${fmt(msgsFloor.value, 0)}`,
      }),
    );
    const snaps = perWindow(list, (l) => l.dataEvents);
    out.push(
      windowFigure(`${name}: CPU per emitted snapshot`, 'µs', list, null, undefined, usPerSnapshot, 1, {
        note:
          `${fmt(snaps.value, 0)} snapshots per window (median), ` +
          `${fmt(msgs.value !== null && snaps.value ? msgs.value / snaps.value : null, 1)} MQTT messages per snapshot; ` +
          'whole worker CPU divided by snapshots (idle work included); a bare client builds no snapshot, so the comparison is per message (row above)',
      }),
    );
    out.push(windowFigure(`${name}: CPU share of one core`, '%', list, fl, label, (l) => l.cpuSharePct, 2));
  }
  return out;
}

const DEFAULTS = { levels: [1, 10, 100], hosts: 2, warmupS: 2, windowS: 3, windows: 5 };

async function run(args: typeof DEFAULTS): Promise<BenchResult> {
  const a: ApiArgs = { ...args, floorLevels: args.levels, intervalS: 0, countMqtt: true };
  const levels = a.levels;
  const notes: string[] = [];
  const r = await runApi('v2', a, notes);
  if (!r.ours) throw new Error(`the measured worker failed: ${notes.join(' ')}`);
  return {
    name: 'push',
    title: '3b. v2 push cost: interval 0, per MQTT message and per snapshot',
    setup:
      `${levels.join(', ')} v2 panels (flat model, each publishing its changes every second) added level by level to one ` +
      `worker with span-panel's supervisor at interval 0 (a snapshot on every change); the same panels and windows with ` +
      `bare MQTT.js clients (TLS, subscribed to the same Homie topics, messages ignored) in a separate identical worker. ` +
      `${a.warmupS} s warm-up, then ${a.windows} windows of ${a.windowS} s per level; figures are the median of the ` +
      'windows with their spread. CPU is the worker process only (panels run in other processes).',
    figures: figures(r.ours, r.floor),
    notes,
    raw: r,
  };
}

if (require.main === module) benchMain(run, DEFAULTS);
