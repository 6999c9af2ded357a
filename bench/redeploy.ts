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
} from './util';
import type { BenchResult, Figure } from './util';

/** Memory and handles after `warmup` steps and after `n` more, with each step's time. */
async function phase(
  label: string,
  step: () => Promise<number>,
  n: number,
  warmup: number,
  between = () => {},
) {
  for (let i = 0; i < warmup; i++) await step();
  between();
  const [memStart, resStart] = [await memoryAfterGc(), await steadyResources(1, 100)];
  const timesMs: number[] = [];
  for (let i = 0; i < n; i++) {
    timesMs.push(await step());
    if (i % 20 === 19) between();
  }
  between();
  return {
    label,
    memStart,
    resStart,
    memEnd: await memoryAfterGc(),
    resEnd: await steadyResources(1, 100),
    timesMs,
  };
}

async function lifecycle(port: number): Promise<number> {
  const t = hrMs();
  const s = supervise(configFor('v1', { http: port, mqtt: null }, 1));
  await new Promise<void>((resolve) => s.sup.subscribe({ onData: (d) => void (d.stale || resolve()) }));
  await s.stop();
  return hrMs() - t;
}

async function nodeRedPhase(host: string, n: number, warmup: number) {
  const flow = onTab(ourFlow('r', host, 1));
  const creds = tokens(['r-cfg']);
  await helper.startServer();
  try {
    await helper.load(ourNodes, flow, creds);
    let received = 0;
    let sinkNode: unknown = null;
    const attach = () => {
      const sink = helper.getNode('r-sink');
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
    return await phase('Node-RED full deploy', redeploy, n, warmup, clearSpyHistory);
  } finally {
    await stopNodeRed();
  }
}

function phaseFigures(p: Awaited<ReturnType<typeof nodeRedPhase>>, n: number): Figure[] {
  const growth = p.memEnd.heapUsedMB - p.memStart.heapUsedMB;
  const kb = fmt((growth * 1024) / n, 1);
  return [
    flatMemory(
      `${p.label} ×${n}: heap used after GC at the end`,
      p.memEnd.heapUsedMB,
      p.memStart.heapUsedMB,
      'after warm-up',
      `growth ${fmt(growth, 2)} MB (${kb} KB per deploy); RSS ${fmt(p.memStart.rssMB, 1)} → ${fmt(p.memEnd.rssMB, 1)} MB`,
    ),
    flatHandles(`${p.label} ×${n}: active handles at the end`, p.resEnd, p.resStart, 'after warm-up'),
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
  const phases = [];
  try {
    phases.push(await phase('supervisor lifecycle', () => lifecycle(sim.panel.http), n, warmup));
    phases.push(await nodeRedPhase(sim.address, n, warmup));
  } finally {
    await sim.stop();
  }
  return {
    name: 'redeploy',
    title: '5b. Redeploys',
    setup:
      `${n} deploys after ${warmup} warm-up deploys, against one simulated panel in its own process (1 s interval). Node-RED: ` +
      'helper.setFlows(flow, "full") with span-panel + span-poll + sink, each deploy waits for the new nodes\' first ' +
      'message. Lifecycle: createPanelSupervisor + start + first fresh data + stop.',
    figures: phases.flatMap((p) => phaseFigures(p, n)),
    notes: [
      'Node-RED phase: node-red-node-test-helper records every node.send/status/log call in sinon spies; their history is ' +
        'cleared before each memory reading so it is not counted as ours.',
    ],
    raw: phases.map((p) => ({ ...p, timesMs: undefined, medianMs: median(p.timesMs) })),
  };
}

if (require.main === module) benchMain(run, DEFAULTS);
