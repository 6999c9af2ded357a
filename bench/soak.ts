/**
 * Benchmark 5a: soak. Supervised v1 connections for minutes with rotating faults: memory and handles stay
 * flat, no cycle is lost outside the fault windows. How: `setup` below.
 */
import { benchMain } from './child';
import { configFor, supervise, type Supervised } from './ours';
import { SimHost, startPanels } from './sims';
import { against, flatHandles, flatMemory, fmt, median, memoryAfterGc, round, sleep } from './util';
import { steadyResources, waitUntil, type BenchResult, type Figure } from './util';

/** RSS may not grow by more than this over the second half of the soak (after GC). */
const RSS_FLAT_MB = 5;

/** Each fault: its label, the simulator's fault spec, and how long the panel is unhealthy after it (s). */
const FAULTS: [string, Record<string, unknown>, number][] = [
  ['single 502', { kind: 'status', status: 502, path: '/api/v1/status', count: 1 }, 0],
  ['refused 8 s', { kind: 'refused', durationMs: 8000 }, 8],
  ['hang 5 s', { kind: 'hang', durationMs: 5000 }, 5],
  ['truncated JSON once', { kind: 'malformed', variant: 'invalid-json', path: '/api/v1/panel', count: 1 }, 0],
  ['reboot (refused 5 s, 502 3 s)', { kind: 'reboot', refusedMs: 5000, unavailableMs: 3000 }, 8],
  ['RST ×2', { kind: 'reset', closeWith: 'rst', count: 2 }, 0],
  ['503 + Retry-After 3 s for 6 s', { kind: 'status', status: 503, retryAfterS: 3, durationMs: 6000 }, 6],
];

/** Least-squares slope of MB over time, in MB per minute. */
function slopeMBPerMin(samples: { t: number; mb: number }[]): number | null {
  if (samples.length < 3) return null;
  const mt = samples.reduce((a, s) => a + s.t, 0) / samples.length;
  const mm = samples.reduce((a, s) => a + s.mb, 0) / samples.length;
  const num = samples.reduce((a, s) => a + (s.t - mt) * (s.mb - mm), 0);
  const den = samples.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  return den === 0 ? null : (num / den) * 60_000;
}

/** warmupFaults: inject every fault kind once before the start reading. */
const DEFAULTS = { panels: 4, durationS: 240, faultEveryS: 40, warmupS: 5, warmupFaults: true };

/** Drops what the benchmark recorded for each supervisor (data, health events, log lines) so the heap shows the product. */
function release(sups: Supervised[]) {
  for (const s of sups) [s.data, s.health, s.logger.lines].forEach((a) => (a.length = 0));
}

/** The soak itself: supervisors, the fault windows, memory samples and the readings at its edges. */
async function soak({ panels, durationS, faultEveryS, warmupS, warmupFaults }: typeof DEFAULTS) {
  const host = await SimHost.start();
  const before = await steadyResources(6, 200);
  const sups: (Supervised & { index: number })[] = [];
  const windows: { panel: number; from: number; to: number; label: string }[] = [];
  const samples: { t: number; mb: number; rssMB: number }[] = [];
  const sample = async (t?: number) => {
    const mem = await memoryAfterGc();
    samples.push({ t: t ?? Date.now(), mb: mem.heapUsedMB, rssMB: mem.rssMB });
    return mem;
  };
  const reading = async () => ({ mem: await sample(), res: await steadyResources(6, 200) });
  try {
    for (const panel of await startPanels(host, panels))
      sups.push({ ...supervise(configFor('v1', panel, 1)), index: panel.index });
    await waitUntil('all online', () => sups.every((s) => s.fresh().length > 0), 20_000, 20);
    // Warm-up: every fault kind once (in parallel on different panels), so code that runs only on a fault path
    // is compiled before the start reading and is not counted as growth.
    for (let i = 0; warmupFaults && i < FAULTS.length; i += sups.length) {
      const batch = FAULTS.slice(i, i + sups.length);
      await Promise.all(batch.map(([, spec], k) => host.inject(sups[k].index, spec)));
      await sleep((Math.max(...batch.map((b) => b[2])) + sups[0].boundS + 1) * 1000);
    }
    await sleep(warmupS * 1000);
    release(sups);
    const start = await reading();
    const t0 = Date.now();
    // Fault k at t0 + (k + ½) × faultEveryS (none in the last 20 s); a memory sample every 30 s.
    for (let k = 0; Date.now() < t0 + durationS * 1000; await sleep(250)) {
      const now = Date.now();
      if (now >= t0 + (k + 0.5) * faultEveryS * 1000 && now < t0 + (durationS - 20) * 1000) {
        const [label, spec, lastsS] = FAULTS[k % FAULTS.length];
        const target = sups[k++ % sups.length];
        const f = await host.inject(target.index, spec);
        const to = f.at + (lastsS + target.boundS + 1) * 1000;
        windows.push({ panel: target.index, from: f.at, to, label });
      }
      if (now >= t0 + samples.length * 30_000) await sample(now);
    }
    const t1 = Date.now();
    const end = await reading();
    // The records grow with every cycle and are in `end`: keep what the figures need (fresh-data times off the
    // heap), release them, read again.
    const kept = sups.map((s) => ({
      index: s.index,
      fresh: Float64Array.from(s.fresh().map((d) => d.at)),
      stale: s.data.filter((d) => d.stale && d.at >= t0 && d.at <= t1).length,
      warn: s.logger.count('warn'),
      events: s.data.length + s.health.length + s.logger.lines.length,
    }));
    release(sups);
    const released = await memoryAfterGc();
    await Promise.all(sups.map((s) => s.stop())); // again in `finally`: stop() is idempotent
    const afterStop = await steadyResources(6, 200);
    return { kept, windows, samples, start, end, released, t0, t1, before, afterStop };
  } finally {
    await Promise.all(sups.map((s) => s.stop()));
    await host.stop();
  }
}

/** Gaps between fresh data events longer than 1.5 periods, outside the fault windows, as cycles lost. */
function lostCycles({ kept, windows, t0, t1 }: Awaited<ReturnType<typeof soak>>) {
  let lost = 0;
  let cycles = 0;
  const detail: string[] = [];
  for (const s of kept) {
    const times = Array.from(s.fresh).filter((t) => t >= t0 && t <= t1);
    cycles += times.length;
    const period = median(times.slice(1).map((t, i) => t - times[i])) ?? 1000;
    for (let i = 1; i < times.length; i++) {
      const gap = times[i] - times[i - 1];
      const inFault = windows.some((w) => w.panel === s.index && times[i - 1] < w.to && times[i] > w.from);
      if (gap <= 1.5 * period || inFault) continue;
      lost += Math.round(gap / period) - 1;
      detail.push(
        `panel ${s.index}: ${fmt(gap / 1000, 2)} s gap at +${fmt((times[i - 1] - t0) / 1000, 0)} s`,
      );
    }
  }
  return { lost, cycles, detail };
}

async function run(args: typeof DEFAULTS): Promise<BenchResult> {
  const r = await soak(args);
  const { kept, windows, samples, released } = r;
  const [m0, m1] = [r.start.mem, r.end.mem];
  const { lost, cycles, detail } = lostCycles(r);
  const sum = (key: 'stale' | 'warn' | 'events') => kept.reduce((a, s) => a + s[key], 0);
  // The benchmark's own records were released before the start reading and again after the end one.
  const heapGrowth = released.heapUsedMB - m0.heapUsedMB;
  const rssGrowth = m1.rssMB - m0.rssMB;
  // RSS over the second half only: does it level off once every path has run a few times?
  const secondHalf = samples.slice(Math.floor(samples.length / 2));
  const mid = secondHalf[0];
  const rssSecondHalf = m1.rssMB - mid.rssMB;
  const counts = new Map<string, number>();
  for (const w of windows) counts.set(w.label, (counts.get(w.label) ?? 0) + 1);
  const atStart = 'start of soak';
  const figures: Figure[] = [
    flatMemory(
      'heap used after GC, end of soak',
      released.heapUsedMB,
      m0.heapUsedMB,
      atStart,
      `growth ${fmt(heapGrowth, 2)} MB, of it ${fmt(released.codeMB - m0.codeMB, 2)} MB V8 compiled code and ` +
        `bytecode; the benchmark's own records of ${sum('events')} events held ` +
        `${fmt(m1.heapUsedMB - released.heapUsedMB, 2)} MB more (released before this reading); trend with them ` +
        `${fmt(slopeMBPerMin(samples), 3)} MB/min over ${samples.length} samples`,
    ),
    flatMemory(
      'external + array buffers after GC, end of soak',
      m1.externalMB,
      m0.externalMB,
      atStart,
      'native memory held by JS objects (buffers, sockets)',
    ),
    {
      metric: 'RSS after GC, end of soak',
      ...against(m1.rssMB, m0.rssMB, atStart, 1, 3),
      unit: 'MB',
      note: `growth ${fmt(rssGrowth, 1)} MB over the whole soak (the allocator keeps what the warm-up reached)`,
    },
    {
      metric: 'RSS growth over the second half of the soak',
      ...against(m1.rssMB, mid.rssMB, 'RSS at half time', 1, 3),
      value: round(rssSecondHalf, 2),
      unit: 'MB',
      goal: `flat (< ${RSS_FLAT_MB} MB)`,
      met: rssSecondHalf < RSS_FLAT_MB,
      note: `trend over the second half ${fmt(slopeMBPerMin(secondHalf.map((m) => ({ ...m, mb: m.rssMB }))), 3)} MB/min (${secondHalf.length} samples)`,
    },
    flatHandles('active handles, end of soak', r.end.res, r.start.res, atStart),
    flatHandles(
      'active handles after stopping every supervisor',
      r.afterStop,
      r.before,
      'before the first supervisor',
      'back to the baseline',
    ),
    {
      metric: 'lost cycles outside the fault windows',
      ...against(lost, cycles, 'fresh cycles delivered', 0),
      ratio: round(cycles ? lost / cycles : null, 4),
      unit: 'cycles',
      goal: '0',
      met: lost === 0,
      note:
        `${windows.length} faults (${[...counts].map(([label, n]) => `${label} ×${n}`).join(', ')}); ` +
        `${sum('stale')} failed cycles inside fault windows; ${sum('warn')} warn log lines in total`,
    },
  ];
  const notes = [
    `Soak of ${fmt(args.durationS / 60, 1)} min with a fault every ${args.faultEveryS} s (the default run keeps it short; ` +
      '`npm run bench -- --soak-min 30` runs a 30-minute one).',
  ];
  if (lost > 0) notes.push(`Lost cycles outside faults: ${detail.join('; ')}.`);
  if (rssGrowth >= 5)
    notes.push(
      `RSS grew by ${fmt(rssGrowth, 1)} MB while the heap ${heapGrowth < 1 ? 'stayed flat' : 'grew too'}` +
        `${m1.externalMB - m0.externalMB < 1 ? ' and native buffers stayed flat' : ''} (${fmt(rssSecondHalf, 1)} MB of it in ` +
        'the second half): memory the allocator and V8 keep once reached (code, parser and socket buffers) rather ' +
        'than live objects; only a longer soak can show the plateau for certain.',
    );
  return {
    name: 'soak',
    title: '5a. Soak with faults (1 s interval)',
    setup:
      `${args.panels} supervised v1 connections (real default timing at 1 s) for ${args.durationS} s after a warm-up ` +
      `in which every fault kind was injected once${args.warmupFaults ? '' : ' (skipped in this run)'}; ` +
      `every ${args.faultEveryS} s one panel gets the next fault of: ${FAULTS.map((f) => f[0]).join(', ')}. Memory after ` +
      "two forced GCs, with the benchmark's own records released first; handles from " +
      'process.getActiveResourcesInfo() (smallest of 5 samples over 1 s). A fault window lasts from injection to ' +
      'fault end + the documented recovery bound + 1 s.',
    figures,
    notes,
    raw: { windows, samples, lostDetail: detail, cycles },
  };
}

if (require.main === module) benchMain(run, DEFAULTS);
