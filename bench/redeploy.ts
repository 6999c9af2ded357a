/**
 * Benchmark 5b: redeploys. Full Node-RED deploys of span-panel + span-poll, and bare supervisor lifecycles:
 * memory and handles stay flat. How: `setup` below.
 */
import { benchMain } from './child';
import { clearSpyHistory, helper, onTab, ourFlow, ourNodes, stopNodeRed, tokens } from './nodered';
import { configFor, supervise } from './ours';
import { onePanel } from './sims';
import {
  flatHandles,
  flatMemory,
  fmt,
  hrMs,
  median,
  memoryAfterGc,
  percentile,
  round,
  steadyResources,
  waitUntil,
  type BenchResult,
} from './util';

const DEFAULTS = { redeploys: 200, warmup: 10 };
type Args = typeof DEFAULTS;

/** Memory and handles after `warmup` steps and after `redeploys` more, with each step's time: a phase's figures. */
async function phase(label: string, step: () => Promise<void>, args: Args, between = () => {}) {
  const { redeploys: n, warmup } = args;
  for (let i = 0; i < warmup; i++) await step();
  between();
  const [memStart, resStart] = [await memoryAfterGc(), await steadyResources(1, 100)];
  const timesMs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = hrMs();
    await step();
    timesMs.push(hrMs() - t);
    if (i % 20 === 19) between();
  }
  between();
  const [memEnd, resEnd] = [await memoryAfterGc(), await steadyResources(1, 100)];
  const [start, end] = [memStart.heapUsedMB, memEnd.heapUsedMB];
  const growth =
    `growth ${fmt(end - start, 2)} MB (${fmt(((end - start) * 1024) / n, 1)} KB per deploy); ` +
    `RSS ${fmt(memStart.rssMB, 1)} → ${fmt(memEnd.rssMB, 1)} MB`;
  const figures = [
    flatMemory(`${label} ×${n}: heap used after GC at the end`, end, start, 'after warm-up', growth),
    flatHandles(`${label} ×${n}: active handles at the end`, resEnd, resStart, 'after warm-up'),
    {
      metric: `${label}: time from deploy to first data, median`,
      value: round(median(timesMs), 1),
      unit: 'ms',
      note: `p95 ${fmt(percentile(timesMs, 95), 1)} ms, max ${fmt(Math.max(...timesMs), 1)} ms`,
    },
  ];
  return { figures, raw: { label, memStart, resStart, memEnd, resEnd, medianMs: median(timesMs) } };
}

async function lifecycle(port: number): Promise<void> {
  const s = supervise(configFor('v1', { http: port, mqtt: null }, 1));
  await new Promise<void>((resolve) => s.sup.subscribe({ onData: (d) => void (d.stale || resolve()) }));
  await s.stop();
}

async function nodeRedPhase(host: string, args: Args) {
  const flow = onTab(ourFlow('r', host, 1));
  const creds = tokens(['r-cfg']);
  await helper.startServer();
  try {
    let received = 0;
    let sink: unknown = null;
    /** Deploys, checks that the deploy replaced the sink node (the flow restarted), waits for its first message. */
    const deploy = async (load: () => Promise<unknown>) => {
      await load();
      const [before, node] = [received, helper.getNode('r-sink')];
      if (node === sink) throw new Error('the deploy did not restart the nodes');
      sink = node;
      node.on('input', () => received++);
      await waitUntil('first message after deploy', () => received > before, 15_000, 2);
    };
    await deploy(() => helper.load(ourNodes, flow, creds));
    const redeploy = () => deploy(() => helper.setFlows(flow, 'full', creds));
    return await phase('Node-RED full deploy', redeploy, args, clearSpyHistory);
  } finally {
    await stopNodeRed();
  }
}

async function run(args: Args): Promise<BenchResult> {
  const sim = await onePanel();
  const phases = [];
  try {
    phases.push(await phase('supervisor lifecycle', () => lifecycle(sim.panel.http), args));
    phases.push(await nodeRedPhase(sim.address, args));
  } finally {
    await sim.stop();
  }
  return {
    name: 'redeploy',
    title: '5b. Redeploys',
    setup:
      `${args.redeploys} deploys after ${args.warmup} warm-up deploys, against one simulated panel in its own process (1 s interval). Node-RED: ` +
      'helper.setFlows(flow, "full") with span-panel + span-poll + sink, each deploy waits for the new nodes\' first ' +
      'message. Lifecycle: createPanelSupervisor + start + first fresh data + stop.',
    figures: phases.flatMap((p) => p.figures),
    notes: [
      'Node-RED phase: node-red-node-test-helper records every node.send/status/log call in sinon spies; their history is ' +
        'cleared before each memory reading so it is not counted as ours.',
    ],
    raw: phases.map((p) => p.raw),
  };
}

if (require.main === module) benchMain(run, DEFAULTS);
