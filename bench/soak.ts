/**
 * Benchmark 5a: soak. A few supervised v1 connections at a 1 s interval for several minutes, with a fault
 * injected into one of the panels every ~40 s (rotating kinds and panels). Measures memory after forced GC
 * and active handles at the start and the end (goal: flat), and lost cycles outside the fault windows
 * (goal: 0). Baseline: the same process's figures at the start of the soak.
 */
import { benchMain } from './child';
import { supervise, v1Config, type Supervised } from './ours';
import { SimHost, type HostPanel } from './sims';
import { against, CountingLogger, describeResources, fmt, median, memoryAfterGc, ratio, round } from './util';
import { sleep, steadyResources, TOKEN, waitUntil } from './util';
import type { BenchResult, Figure, MemorySample, Resources } from './util';

interface FaultPlan {
  label: string;
  spec: Record<string, unknown>;
  /** How long the panel is unhealthy after injection (s). */
  lastsS: number;
}

/** RSS may not grow by more than this over the second half of the soak (after GC). */
const RSS_FLAT_MB = 5;

const FAULTS: FaultPlan[] = [
  { label: 'single 502', spec: { kind: 'status', status: 502, path: '/api/v1/status', count: 1 }, lastsS: 0 },
  { label: 'refused 8 s', spec: { kind: 'refused', durationMs: 8000 }, lastsS: 8 },
  { label: 'hang 5 s', spec: { kind: 'hang', durationMs: 5000 }, lastsS: 5 },
  {
    label: 'truncated JSON once',
    spec: { kind: 'malformed', variant: 'invalid-json', path: '/api/v1/panel', count: 1 },
    lastsS: 0,
  },
  {
    label: 'reboot (refused 5 s, 502 3 s)',
    spec: { kind: 'reboot', refusedMs: 5000, unavailableMs: 3000 },
    lastsS: 8,
  },
  { label: 'RST ×2', spec: { kind: 'reset', closeWith: 'rst', count: 2 }, lastsS: 0 },
  {
    label: '503 + Retry-After 3 s for 6 s',
    spec: { kind: 'status', status: 503, retryAfterS: 3, durationMs: 6000 },
    lastsS: 6,
  },
];

function slopeMBPerMin(samples: { t: number; mb: number }[]): number | null {
  if (samples.length < 3) return null;
  const n = samples.length;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const mm = samples.reduce((a, s) => a + s.mb, 0) / n;
  const num = samples.reduce((a, s) => a + (s.t - mt) * (s.mb - mm), 0);
  const den = samples.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  return den === 0 ? null : (num / den) * 60_000;
}

/** warmupFaults: inject every fault kind once before the start reading. */
const DEFAULTS = { panels: 4, durationS: 240, faultEveryS: 40, warmupS: 5, warmupFaults: true };

async function run(args: typeof DEFAULTS): Promise<BenchResult> {
  const { panels: nPanels, durationS, faultEveryS, warmupS, warmupFaults } = args;
  const host = await SimHost.start();
  const before = await steadyResources(6, 200);
  const sups: (Supervised & { logger: CountingLogger; panel: HostPanel })[] = [];
  const windows: { panel: number; from: number; to: number; label: string }[] = [];
  const memSamples: { t: number; mb: number; rssMB: number }[] = [];
  let memStart: MemorySample;
  let memEnd: MemorySample;
  let resStart: Resources;
  let resEnd: Resources;
  let resAfterStop: Resources;
  let t0 = 0;
  let t1 = 0;
  try {
    const panels = await host.startPanels(nPanels, { token: TOKEN, tickMs: 1000 });
    for (const panel of panels) {
      const logger = new CountingLogger();
      sups.push({ ...supervise(v1Config(panel.http, 1), logger), logger, panel });
    }
    await waitUntil('all online', () => sups.every((s) => s.log.fresh().length > 0), 20_000, 20);
    // Warm-up: every fault kind once (in parallel on different panels), so code that runs only on a fault path
    // is compiled before the start reading and is not counted as growth.
    if (warmupFaults) {
      for (let round = 0; round * sups.length < FAULTS.length; round++) {
        const batch = FAULTS.slice(round * sups.length, (round + 1) * sups.length);
        await Promise.all(batch.map((plan, i) => host.inject(sups[i].panel.index, plan.spec)));
        const longest = Math.max(...batch.map((b) => b.lastsS));
        await sleep((longest + sups[0].boundS + 1) * 1000);
      }
    }
    await sleep(warmupS * 1000);
    memStart = await memoryAfterGc();
    resStart = await steadyResources(6, 200);
    t0 = Date.now();
    memSamples.push({ t: t0, mb: memStart.heapUsedMB, rssMB: memStart.rssMB });
    let nextFault = t0 + faultEveryS * 500;
    let nextSample = t0 + 30_000;
    let k = 0;
    while (Date.now() < t0 + durationS * 1000) {
      const now = Date.now();
      if (now >= nextFault && now < t0 + (durationS - 20) * 1000) {
        const plan = FAULTS[k % FAULTS.length];
        const target = sups[k % sups.length];
        const f = await host.inject(target.panel.index, plan.spec);
        windows.push({
          panel: target.panel.index,
          from: f.at,
          to: f.at + (plan.lastsS + target.boundS + 1) * 1000,
          label: plan.label,
        });
        k++;
        nextFault += faultEveryS * 1000;
      }
      if (now >= nextSample) {
        const m = await memoryAfterGc();
        memSamples.push({ t: now, mb: m.heapUsedMB, rssMB: m.rssMB });
        nextSample += 30_000;
      }
      await sleep(250);
    }
    t1 = Date.now();
    memEnd = await memoryAfterGc();
    memSamples.push({ t: t1, mb: memEnd.heapUsedMB, rssMB: memEnd.rssMB });
    resEnd = await steadyResources(6, 200);
  } finally {
    await Promise.all(sups.map((s) => s.stop()));
    resAfterStop = await steadyResources(6, 200);
    await host.stop();
  }

  // Lost cycles: gaps between fresh data events longer than 1.5 periods, outside the fault windows.
  let lost = 0;
  let failedInFaults = 0;
  let cycles = 0;
  const lostDetail: string[] = [];
  for (const s of sups) {
    const times = s.log
      .fresh()
      .map((d) => d.at)
      .filter((t) => t >= t0 && t <= t1);
    cycles += times.length;
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    const period = median(gaps) ?? 1000;
    for (let i = 1; i < times.length; i++) {
      const gap = times[i] - times[i - 1];
      if (gap <= 1.5 * period) continue;
      const inFault = windows.some(
        (w) => w.panel === s.panel.index && times[i - 1] < w.to && times[i] > w.from,
      );
      if (inFault) continue;
      const missing = Math.round(gap / period) - 1;
      lost += missing;
      lostDetail.push(
        `panel ${s.panel.index}: ${fmt(gap / 1000, 2)} s gap at +${fmt((times[i - 1] - t0) / 1000, 0)} s`,
      );
    }
    failedInFaults += s.log.data.filter((d) => d.stale && d.at >= t0 && d.at <= t1).length;
  }
  const slope = slopeMBPerMin(memSamples);
  const [start, end] = [memStart!, memEnd!];
  const growth = (k: keyof Omit<MemorySample, 'gc'>) => end[k] - start[k];
  // The benchmark's own records (one small object per data event) are part of the heap figure.
  const ownRecordsKB = (sups.reduce((a, s) => a + s.log.data.length + s.log.health.length, 0) * 64) / 1024;
  // RSS over the second half only: does it level off once every path has run a few times?
  const mid = memSamples[Math.floor(memSamples.length / 2)];
  const rssSecondHalf = end.rssMB - mid.rssMB;
  const secondHalf = memSamples.slice(Math.floor(memSamples.length / 2));
  const rssSlope = slopeMBPerMin(secondHalf.map((m) => ({ ...m, mb: m.rssMB })));
  const warnLines = sups.reduce((a, s) => a + s.logger.lines.filter((l) => l.level === 'warn').length, 0);
  const fromStart = (k: 'heapUsedMB' | 'externalMB' | 'rssMB', digits: number) =>
    against(end[k], start[k], 'start of soak', digits, 3);
  const handles = (end: Resources, start: Resources, label: string) => ({
    ...against(end.total, start.total, label, 0),
    unit: 'handles',
    met: end.total <= start.total,
  });
  const figures: Figure[] = [
    {
      metric: 'heap used after GC, end of soak',
      ...fromStart('heapUsedMB', 2),
      unit: 'MB',
      goal: 'flat (growth < 1 MB)',
      met: growth('heapUsedMB') < 1,
      note:
        `growth ${fmt(growth('heapUsedMB'), 2)} MB, including ~${fmt(ownRecordsKB, 0)} KB of the benchmark's own ` +
        `event records; trend ${fmt(slope, 3)} MB/min over ${memSamples.length} samples`,
    },
    {
      metric: 'external + array buffers after GC, end of soak',
      ...fromStart('externalMB', 2),
      unit: 'MB',
      goal: 'flat (growth < 1 MB)',
      met: growth('externalMB') < 1,
      note: 'native memory held by JS objects (buffers, sockets)',
    },
    {
      metric: 'RSS after GC, end of soak',
      ...fromStart('rssMB', 1),
      unit: 'MB',
      note: `growth ${fmt(growth('rssMB'), 1)} MB over the whole soak (the allocator keeps what the warm-up reached)`,
    },
    {
      metric: 'RSS growth over the second half of the soak',
      value: round(rssSecondHalf, 2),
      unit: 'MB',
      baseline: round(mid.rssMB, 1),
      baselineLabel: 'RSS at half time',
      ratio: round(ratio(end.rssMB, mid.rssMB), 3),
      goal: `flat (< ${RSS_FLAT_MB} MB)`,
      met: rssSecondHalf < RSS_FLAT_MB,
      note: `trend over the second half ${fmt(rssSlope, 3)} MB/min (${secondHalf.length} samples)`,
    },
    {
      metric: 'active handles, end of soak',
      ...handles(resEnd!, resStart!, 'start of soak'),
      goal: 'flat',
      note: `start ${describeResources(resStart!)}; end ${describeResources(resEnd!)}`,
    },
    {
      metric: 'active handles after stopping every supervisor',
      ...handles(resAfterStop!, before, 'before the first supervisor'),
      goal: 'back to the baseline',
      note: `before ${describeResources(before)}; after ${describeResources(resAfterStop!)}`,
    },
    {
      metric: 'lost cycles outside the fault windows',
      value: lost,
      unit: 'cycles',
      baseline: cycles,
      baselineLabel: 'fresh cycles delivered',
      ratio: round(cycles ? lost / cycles : null, 4),
      goal: '0',
      met: lost === 0,
      note:
        `${windows.length} faults (${windows.map((w) => w.label).join('; ')}); ${failedInFaults} failed cycles ` +
        `inside fault windows; ${warnLines} warn log lines in total`,
    },
  ];
  const notes: string[] = [
    `Soak of ${fmt(durationS / 60, 1)} min with a fault every ${faultEveryS} s (the default run keeps it short; ` +
      '`npm run bench -- --soak-min 30` runs a 30-minute one).',
    ...figures.filter((f) => f.met === false).map((f) => `Goal missed: ${f.metric}: ${f.value} ${f.unit}.`),
  ];
  if (lost > 0) notes.push(`Lost cycles outside faults: ${lostDetail.join('; ')}.`);
  if (growth('rssMB') >= 5) {
    notes.push(
      `RSS grew by ${fmt(growth('rssMB'), 1)} MB while the heap ${growth('heapUsedMB') < 1 ? 'stayed flat' : 'grew too'}` +
        `${growth('externalMB') < 1 ? ' and native buffers stayed flat' : ''} (${fmt(rssSecondHalf, 1)} MB of it in ` +
        'the second half): memory the allocator and V8 keep once reached (code, parser and socket buffers) rather ' +
        'than live objects; only a longer soak can show the plateau for certain.',
    );
  }
  return {
    name: 'soak',
    title: '5a. Soak with faults (1 s interval)',
    setup:
      `${nPanels} supervised v1 connections (real default timing at 1 s) for ${durationS} s after a warm-up in which ` +
      `every fault kind was injected once${warmupFaults ? '' : ' (skipped in this run)'}; ` +
      `every ${faultEveryS} s one panel gets the next fault of: ${FAULTS.map((f) => f.label).join(', ')}. Memory after ` +
      'two forced GCs; handles from process.getActiveResourcesInfo() (smallest of 5 samples over 1 s). A fault window ' +
      'lasts from injection to fault end + the documented recovery bound + 1 s.',
    figures,
    notes,
    raw: { windows, memSamples, lostDetail, cycles },
  };
}

if (require.main === module) benchMain(run, DEFAULTS);
