/**
 * Benchmark 5b: redeploys. 200 full deploys of a flow with our nodes (span-panel + span-poll) in a real
 * Node-RED runtime (node-red-node-test-helper), each waiting for the first data message of the new nodes;
 * and 200 cycles of the bare connection lifecycle (createPanelSupervisor + start + first data + stop).
 * Memory after forced GC and active handles after a warm-up and at the end (goal: flat).
 */
import { benchMain } from './child';
import { clearSpyHistory, fanFlow, helper, ourNodes, stopNodeRed } from './nodered';
import { ourSupervisor, v1Config } from './ours';
import { onePanel } from './sims';
import {
  activeResources,
  against,
  steadyResources,
  describeResources,
  fmt,
  hrMs,
  median,
  memoryAfterGc,
  percentile,
  round,
  waitUntil,
  type BenchResult,
  type Figure,
  type MemorySample,
} from './util';

interface Phase {
  label: string;
  memStart: MemorySample;
  memEnd: MemorySample;
  resStart: ReturnType<typeof activeResources>;
  resEnd: ReturnType<typeof activeResources>;
  timesMs: number[];
}

async function lifecycle(port: number): Promise<number> {
  const t = hrMs();
  const sup = ourSupervisor(v1Config(port, 1));
  const first = new Promise<void>((resolve) => {
    sup.subscribe({ onData: (d) => (d.stale ? undefined : resolve()) });
  });
  sup.start();
  await first;
  await sup.stop();
  return hrMs() - t;
}

async function supervisorPhase(port: number, n: number, warmup: number): Promise<Phase> {
  for (let i = 0; i < warmup; i++) await lifecycle(port);
  const memStart = await memoryAfterGc();
  const resStart = await steadyResources(1, 100);
  const timesMs: number[] = [];
  for (let i = 0; i < n; i++) timesMs.push(await lifecycle(port));
  const memEnd = await memoryAfterGc();
  const resEnd = await steadyResources(1, 100);
  return { label: 'supervisor lifecycle', memStart, memEnd, resStart, resEnd, timesMs };
}

async function nodeRedPhase(host: string, n: number, warmup: number): Promise<Phase> {
  const { flow, creds } = fanFlow(host, 1, 1);
  await helper.startServer();
  try {
    await helper.load(ourNodes, flow, creds);
    let received = 0;
    let sinkNode: unknown = null;
    const attach = () => {
      const sink = helper.getNode('sink');
      if (sink === sinkNode) throw new Error('the deploy did not restart the nodes');
      sinkNode = sink;
      sink.on('input', () => received++);
    };
    attach();
    await waitUntil('first message', () => received > 0, 15_000, 5);
    const redeploy = async (): Promise<number> => {
      const t = hrMs();
      await helper.setFlows(flow, 'full', creds);
      const before = received;
      attach();
      await waitUntil('first message after deploy', () => received > before, 15_000, 2);
      return hrMs() - t;
    };
    for (let i = 0; i < warmup; i++) await redeploy();
    clearSpyHistory();
    const memStart = await memoryAfterGc();
    const resStart = await steadyResources(1, 100);
    const timesMs: number[] = [];
    for (let i = 0; i < n; i++) {
      timesMs.push(await redeploy());
      if (i % 20 === 19) clearSpyHistory();
    }
    clearSpyHistory();
    const memEnd = await memoryAfterGc();
    const resEnd = await steadyResources(1, 100);
    return { label: 'Node-RED full deploy', memStart, memEnd, resStart, resEnd, timesMs };
  } finally {
    await stopNodeRed();
  }
}

function phaseFigures(p: Phase, n: number): Figure[] {
  const heapGrowth = p.memEnd.heapUsedMB - p.memStart.heapUsedMB;
  return [
    {
      metric: `${p.label} ×${n}: heap used after GC at the end`,
      ...against(p.memEnd.heapUsedMB, p.memStart.heapUsedMB, 'after warm-up', 2, 3),
      unit: 'MB',
      goal: 'flat (growth < 1 MB)',
      met: heapGrowth < 1,
      note: `growth ${fmt(heapGrowth, 2)} MB (${fmt((heapGrowth * 1024) / n, 1)} KB per deploy); RSS ${fmt(p.memStart.rssMB, 1)} → ${fmt(p.memEnd.rssMB, 1)} MB`,
    },
    {
      metric: `${p.label} ×${n}: active handles at the end`,
      ...against(p.resEnd.total, p.resStart.total, 'after warm-up', 0),
      unit: 'handles',
      goal: 'flat',
      met: p.resEnd.total <= p.resStart.total,
      note: `start ${describeResources(p.resStart)}; end ${describeResources(p.resEnd)}`,
    },
    {
      metric: `${p.label}: time from deploy to first data, median`,
      value: round(median(p.timesMs), 1),
      unit: 'ms',
      note: `p95 ${fmt(percentile(p.timesMs, 95), 1)} ms, max ${fmt(Math.max(...p.timesMs), 1)} ms`,
    },
  ];
}

const DEFAULTS = { redeploys: 200, warmup: 10 };

async function run({ redeploys: n, warmup }: typeof DEFAULTS): Promise<BenchResult> {
  const sim = await onePanel();
  const phases: Phase[] = [];
  try {
    phases.push(await supervisorPhase(sim.panel.http, n, warmup));
    phases.push(await nodeRedPhase(sim.address, n, warmup));
  } finally {
    await sim.stop();
  }
  const figures = phases.flatMap((p) => phaseFigures(p, n));
  const notes: string[] = [];
  for (const p of phases) {
    const g = p.memEnd.heapUsedMB - p.memStart.heapUsedMB;
    if (g >= 1) notes.push(`Goal missed (${p.label}): heap grew ${fmt(g, 2)} MB over ${n} deploys.`);
    if (p.resEnd.total > p.resStart.total)
      notes.push(`Goal missed (${p.label}): more active handles at the end than after warm-up.`);
  }
  notes.push(
    'Node-RED phase: node-red-node-test-helper records every node.send/status/log call in sinon spies; their history is ' +
      'cleared before each memory reading so it is not counted as ours.',
  );
  return {
    name: 'redeploy',
    title: '5b. Redeploys',
    setup:
      `${n} deploys after ${warmup} warm-up deploys, against one simulated panel in its own process (1 s interval). Node-RED: ` +
      'helper.setFlows(flow, "full") with span-panel + span-poll + sink, each deploy waits for the new nodes\' first ' +
      'message. Lifecycle: createPanelSupervisor + start + first fresh data + stop.',
    figures,
    notes,
    raw: phases.map((p) => ({ ...p, timesMs: undefined, medianMs: median(p.timesMs) })),
  };
}

if (require.main === module) benchMain(run, DEFAULTS);
