/**
 * Benchmark 2: fan-out. One simulated panel, one span-panel config node and 1, 10 or 50 span-poll nodes on
 * it, in a real Node-RED runtime (node-red-node-test-helper). Counts the requests the panel receives per
 * cycle (goal: the same as with 1 node: the supervisor is shared) and the event-loop delay and CPU the extra
 * nodes add. Baseline: the same flow with 1 node, in the same run.
 */
import { benchMain } from './child';
import { clearSpyHistory, fanFlow, helper, nodeRedVersion, ourNodes } from './nodered';
import { onePanel, type OnePanel } from './sims';
import {
  against,
  cpuMs,
  fmt,
  LoopDelay,
  ratio,
  sleep,
  waitUntil,
  type BenchResult,
  type Figure,
} from './util';

interface Level {
  nodes: number;
  cycles: number;
  requests: number;
  requestsPerCycle: number;
  messages: number;
  eldP50: number;
  eldP99: number;
  eldMax: number;
  cpuPerCycleMs: number;
}

async function measure(
  sim: OnePanel,
  n: number,
  intervalS: number,
  windowS: number,
  eld: LoopDelay,
): Promise<Level> {
  const { flow, creds } = fanFlow(sim.address, intervalS, n);
  await helper.load(ourNodes, flow, creds);
  const sink = helper.getNode('sink');
  let cycles = 0;
  let messages = 0;
  sink.on('input', (msg: { topic?: string }) => {
    messages++;
    if (msg.topic === 'poll0') cycles++;
  });
  try {
    await waitUntil('first data', () => cycles >= 2, 15_000);
    // Start the window right after a cycle so it holds whole cycles only.
    const c0 = cycles;
    await waitUntil('cycle boundary', () => cycles > c0, 5000, 2);
    await sim.resetStats();
    clearSpyHistory();
    const startCycles = cycles;
    const startMessages = messages;
    const cpu0 = cpuMs();
    eld.reset();
    await sleep(windowS * 1000);
    const endAt = cycles;
    await waitUntil('cycle boundary', () => cycles > endAt, 5000, 2);
    const loop = eld.read();
    const cpu = cpuMs() - cpu0;
    const stats = await sim.stats();
    const windowCycles = cycles - startCycles;
    return {
      nodes: n,
      cycles: windowCycles,
      requests: stats.total,
      requestsPerCycle: stats.total / windowCycles,
      messages: messages - startMessages,
      eldP50: loop.p50,
      eldP99: loop.p99,
      eldMax: loop.max,
      cpuPerCycleMs: cpu / windowCycles,
    };
  } finally {
    await helper.unload();
  }
}

const DEFAULTS = { counts: [1, 10, 50], intervalS: 0.5, windowS: 8 };

async function run({ counts, intervalS, windowS }: typeof DEFAULTS): Promise<BenchResult> {
  const sim = await onePanel();
  const eld = new LoopDelay(5);
  const levels: Level[] = [];
  try {
    await helper.startServer();
    for (const n of counts) levels.push(await measure(sim, n, intervalS, windowS, eld));
  } finally {
    eld.stop();
    await helper.stopServer().catch(() => undefined);
    await sim.stop();
  }
  const base = levels[0];
  const figures: Figure[] = [];
  for (const l of levels) {
    const rq = ratio(l.requestsPerCycle, base.requestsPerCycle);
    figures.push({
      metric: `requests the panel received per cycle, ${l.nodes} node${l.nodes > 1 ? 's' : ''}`,
      ...against(l.requestsPerCycle, base.requestsPerCycle, `${base.nodes} node`),
      unit: 'req/cycle',
      ...(l === base ? {} : { goal: 'same as 1 node', met: rq !== null && Math.abs(rq - 1) < 0.05 }),
      note: `${l.cycles} cycles, ${l.requests} requests, ${l.messages} messages out`,
    });
  }
  for (const l of levels) {
    figures.push({
      metric: `event-loop delay p99, ${l.nodes} node${l.nodes > 1 ? 's' : ''}`,
      ...against(l.eldP99, base.eldP99, `${base.nodes} node`, 1),
      unit: 'ms',
      note: `p50 ${fmt(l.eldP50, 1)} ms, max ${fmt(l.eldMax, 1)} ms (5 ms sampling timer)`,
    });
  }
  for (const l of levels) {
    figures.push({
      metric: `CPU per cycle in Node-RED, ${l.nodes} node${l.nodes > 1 ? 's' : ''}`,
      ...against(l.cpuPerCycleMs, base.cpuPerCycleMs, `${base.nodes} node`),
      unit: 'ms',
      note:
        l === base
          ? 'whole Node-RED process (runtime, test helper, our connection, one node)'
          : `${fmt((l.cpuPerCycleMs - base.cpuPerCycleMs) / (l.nodes - base.nodes), 3)} ms per extra node and cycle`,
    });
  }
  const notes: string[] = [];
  const bad = levels.filter((l) => Math.abs(l.requestsPerCycle / base.requestsPerCycle - 1) >= 0.05);
  if (bad.length) {
    notes.push(
      `Goal missed: ${bad.map((l) => `${l.nodes} nodes → ${fmt(l.requestsPerCycle)} req/cycle`).join(', ')}.`,
    );
  }
  const big = levels[levels.length - 1];
  notes.push(
    `For comparison, ${big.nodes} nodes polling on their own (one flow each, as with core http request nodes) would ` +
      `send ${big.nodes * 4} requests per cycle; per-node retries multiply that further during an outage (docs/resilience.md §4, invariant 3).`,
  );
  notes.push(
    'The extra CPU and event-loop delay with many nodes is message building and delivery in Node-RED (each span-poll ' +
      'builds its own payload); node-red-node-test-helper also wraps every node.send in a sinon spy, so these figures ' +
      'are an upper bound for a plain Node-RED.',
  );
  return {
    name: 'fanout',
    title: '2. Fan-out: many nodes on one panel',
    setup:
      `Node-RED ${nodeRedVersion} via node-red-node-test-helper; span-panel (v1, interval ${intervalS} s) ` +
      `with N span-poll nodes wired to one sink; panel simulated in its own process. Window ${windowS} s per N, ` +
      'requests counted by the simulator.',
    figures,
    notes,
    raw: levels,
  };
}

if (require.main === module) benchMain(run, DEFAULTS);
