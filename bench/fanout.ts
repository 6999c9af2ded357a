/**
 * Benchmark 2: fan-out. Requests the panel receives per cycle with 1, 10 or 50 span-poll nodes on one
 * span-panel in a real Node-RED (goal: the same as 1 node), and what the extra nodes cost. How: `setup` below.
 */
import { benchMain } from './child';
import { clearSpyHistory, helper, nodeRedVersion, ourFlow, ourNodes, onTab, tokens } from './nodered';
import { onePanel, type OnePanel } from './sims';
import { against, cpuMs, fmt, loopDelay, ratio, sleep, waitUntil, type Figure, type LoopDelay } from './util';

/** One window with `n` nodes, from right after a cycle to right after the last cycle in it. */
async function measure(sim: OnePanel, n: number, intervalS: number, windowS: number, eld: LoopDelay) {
  await helper.load(ourNodes, onTab(ourFlow('f', sim.address, intervalS, n)), tokens(['f-cfg']));
  let cycles = 0;
  let messages = 0;
  helper.getNode('f-sink').on('input', (msg: { topic?: string }) => {
    messages++;
    if (msg.topic === 'f-poll0') cycles++;
  });
  const nextCycle = (c = cycles) => waitUntil('cycle boundary', () => cycles > c, 5000, 2);
  try {
    await waitUntil('first data', () => cycles >= 2, 15_000);
    await nextCycle();
    await sim.host.resetStats(sim.panel.index);
    clearSpyHistory();
    const [c0, m0, cpu0] = [cycles, messages, cpuMs()];
    eld.reset();
    await sleep(windowS * 1000);
    await nextCycle();
    const [loop, cpu, stats] = [eld.read(), cpuMs() - cpu0, await sim.host.stats(sim.panel.index)];
    const c = cycles - c0;
    const perCycle = stats.total / c;
    return { n, c, requests: stats.total, perCycle, messages: messages - m0, loop, cpuPerCycle: cpu / c };
  } finally {
    await helper.unload();
  }
}
type Level = Awaited<ReturnType<typeof measure>>;

const DEFAULTS = { counts: [1, 10, 50], intervalS: 0.5, windowS: 8 };

async function run({ counts, intervalS, windowS }: typeof DEFAULTS) {
  const sim = await onePanel();
  const eld = loopDelay(5);
  const levels: Level[] = [];
  try {
    await helper.startServer();
    for (const n of counts) levels.push(await measure(sim, n, intervalS, windowS, eld));
  } finally {
    eld.stop();
    await helper.stopServer().catch(() => undefined);
    await sim.stop();
  }
  const [base, big] = [levels[0], levels[levels.length - 1]];
  const nodes = (l: Level) => `${l.n} node${l.n > 1 ? 's' : ''}`;
  const figures: Figure[] = [
    ...levels.map((l) => ({
      metric: `requests the panel received per cycle, ${nodes(l)}`,
      ...against(l.perCycle, base.perCycle, '1 node'),
      unit: 'req/cycle',
      ...(l === base
        ? {}
        : { goal: 'same as 1 node', met: Math.abs((ratio(l.perCycle, base.perCycle) ?? 0) - 1) < 0.05 }),
      note: `${l.c} cycles, ${l.requests} requests, ${l.messages} messages out`,
    })),
    ...levels.map((l) => ({
      metric: `event-loop delay p99, ${nodes(l)}`,
      ...against(l.loop.p99, base.loop.p99, '1 node', 1),
      unit: 'ms',
      note: `p50 ${fmt(l.loop.p50, 1)} ms, max ${fmt(l.loop.max, 1)} ms (5 ms sampling timer)`,
    })),
    ...levels.map((l) => ({
      metric: `CPU per cycle in Node-RED, ${nodes(l)}`,
      ...against(l.cpuPerCycle, base.cpuPerCycle, '1 node'),
      unit: 'ms',
      note:
        l === base
          ? 'whole Node-RED process (runtime, test helper, our connection, one node)'
          : `${fmt((l.cpuPerCycle - base.cpuPerCycle) / (l.n - base.n), 3)} ms per extra node and cycle`,
    })),
  ];
  return {
    name: 'fanout',
    title: '2. Fan-out: many nodes on one panel',
    setup:
      `Node-RED ${nodeRedVersion} via node-red-node-test-helper; span-panel (v1, interval ${intervalS} s) ` +
      `with N span-poll nodes wired to one sink; panel simulated in its own process. Window ${windowS} s per N, ` +
      'requests counted by the simulator.',
    figures,
    notes: [
      `For comparison, ${big.n} nodes polling on their own (one flow each, as with core http request nodes) would ` +
        `send ${big.n * 4} requests per cycle; per-node retries multiply that further during an outage (docs/resilience.md §4, invariant 3).`,
      'The extra CPU and event-loop delay with many nodes is message building and delivery in Node-RED (each span-poll ' +
        'builds its own payload); node-red-node-test-helper also wraps every node.send in a sinon spy, so these figures ' +
        'are an upper bound for a plain Node-RED.',
    ],
    raw: levels,
  };
}

if (require.main === module) benchMain(run, DEFAULTS);
