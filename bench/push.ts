/**
 * Benchmark 3b: v2 push cost at interval 0, per MQTT message and per snapshot, against bare MQTT.js
 * subscribers; on the scale benchmark's worker and panel hosts. How: `setup` below.
 */
import { benchMain } from './child';
import { levelsOf, medianOf, panelsText, runApi, windowFigures } from './scale';
import type { LevelResult } from './scale-worker';
import { fmt, type BenchResult } from './util';

const BARE = 'bare MQTT.js subscribers, same topics';
const DEFAULTS = { levels: [1, 10, 100], hosts: 2, warmupS: 2, windowS: 3, windows: 5 };

/** Worker CPU in µs per counted thing (NaN without any: the window is left out of the median). */
const perUnit = (l: LevelResult, count: number | null) => (count ? (1000 * l.cpuMs) / count : NaN);

const messages = (list: LevelResult[]) => medianOf(list, (l) => l.mqttMessages);

async function run(args: typeof DEFAULTS): Promise<BenchResult> {
  const notes: string[] = [];
  const r = await runApi('v2', { ...args, floorLevels: args.levels, intervalS: 0, countMqtt: true }, notes);
  if (!r.ours) throw new Error(`the measured worker failed: ${notes.join(' ')}`);
  const figures = levelsOf(r).flatMap(({ n, list, floor }) => {
    const name = `v2 interval 0, ${panelsText(n)}`;
    const fig = windowFigures(name, list, floor, BARE);
    const msgs = messages(list);
    const snaps = medianOf(list, (l) => l.dataEvents);
    return [
      fig('CPU per MQTT message received', 'µs', (l) => perUnit(l, l.mqttMessages), {
        note: `messages per window (median): ours ${fmt(msgs, 0)}, bare ${fmt(messages(floor), 0)}`,
      }),
      windowFigures(name, list, [])('CPU per emitted snapshot', 'µs', (l) => perUnit(l, l.dataEvents), {
        note:
          `${fmt(snaps, 0)} snapshots per window (median), ` +
          `${fmt(msgs !== null && snaps ? msgs / snaps : null, 1)} MQTT messages per snapshot; ` +
          'whole worker CPU divided by snapshots (idle work included); a bare client builds no snapshot, so the comparison is per message (row above)',
      }),
      fig('CPU share of one core', '%', (l) => l.cpuSharePct, { digits: 2 }),
    ];
  });
  return {
    name: 'push',
    title: '3b. v2 push cost: interval 0, per MQTT message and per snapshot',
    setup:
      `${args.levels.join(', ')} v2 panels (flat model, each publishing its changes every second) added level by level to one ` +
      `worker with span-panel's supervisor at interval 0 (a snapshot on every change); the same panels and windows with ` +
      `bare MQTT.js clients (TLS, subscribed to the same Homie topics, messages ignored) in a separate identical worker. ` +
      `${args.warmupS} s warm-up, then ${args.windows} windows of ${args.windowS} s per level; figures are the median of the ` +
      'windows with their spread. CPU is the worker process only (panels run in other processes).',
    figures,
    notes,
    raw: r,
  };
}

if (require.main === module) benchMain(run, DEFAULTS);
