/**
 * Benchmark 6: our nodes against the core flow users would otherwise build (inject → 4 × http request →
 * function) in one real Node-RED, and a plain keep-alive axios client: the keep-alive race at its worst and
 * at a real panel's settings (FIN and silent), and single 502s. How: `setup` below.
 */
import { AxiosPlainPoller, V1_POLL_PATHS } from './baselines';
import { benchMain } from './child';
import {
  coreNodes,
  helper,
  nodeRedVersion,
  onTab,
  ourFlow,
  ourNodes,
  stopNodeRed,
  theirFlow,
  tokens,
} from './nodered';
import { SimHost, startPanels, type HostPanel } from './sims';
import { fmt, shownRatio, sleep, spreadFigure, type BenchResult, type Figure } from './util';

const MODES = {
  close: 'panel closes idle sockets (FIN)',
  silent: 'panel forgets idle sockets silently (SPAN #156)',
};
const THEIRS = 'core inject → http request → function';

/** One side by side: theirs and ours in Node-RED (and, in the polled cases, plain axios), each on its own panel. */
class Pair {
  theirs: { tick: number; ok: boolean; at: number }[] = [];
  ours: { at: number; stale: boolean }[] = [];
  axios: { ok: boolean; code: string | null }[][] = [];
  dropped = { theirs: 0, ours: 0 };
  staleRetries = 0;

  constructor(
    readonly key: string,
    readonly intervalS: number,
    readonly panels: { theirs: HostPanel; ours: HostPanel; axios?: HostPanel },
  ) {}

  /** Polls grouped by inject tick; a poll fails when any of its 4 requests fails. */
  theirPolls(): { tick: number; ok: boolean; doneAt: number }[] {
    const byTick = new Map<number, { ok: boolean; at: number }[]>();
    for (const r of this.theirs) byTick.set(r.tick, [...(byTick.get(r.tick) ?? []), r]);
    return [...byTick]
      .filter(([, list]) => list.length === V1_POLL_PATHS.length || list.some((r) => !r.ok))
      .map(([tick, list]) => ({
        tick,
        ok: list.every((r) => r.ok),
        doneAt: Math.max(...list.map((r) => r.at)),
      }))
      .sort((a, b) => a.tick - b.tick);
  }

  /** Stale-socket retries our v1 client made so far (span-panel config node → supervisor → transport). */
  readRetries(): void {
    type Cfg = {
      hub?: { activeSupervisor?: { activeTransport?: { retryStats?: { staleSocketRetries: number } } } };
    };
    const cfg = helper.getNode(`ours-${this.key}-cfg`) as Cfg;
    this.staleRetries = cfg?.hub?.activeSupervisor?.activeTransport?.retryStats?.staleSocketRetries ?? 0;
  }
}

/** realS: length of the real-settings window (5 s and 15 s polls). */
const DEFAULTS = { keepAliveMs: 250, raceS: 60, realS: 120, replicas: 5, blips: 5, blipEveryS: 4 };

/** The polled cases: the race at K = P, and a real panel's settings at 5 s and 15 s polls, each close mode. */
const casesOf = (K: number) =>
  (['close', 'silent'] as const).flatMap((mode) => [
    {
      key: `race-${mode}`,
      label: `keep-alive race K = P = ${K} ms, no hint, ${MODES[mode]}`,
      mode,
      K,
      hint: false,
      intervalS: K / 1000,
    },
    ...[5, 15].map((p) => ({
      key: `real${p}-${mode}`,
      label: `real panel settings (K = 5 s with hint), poll every ${p} s, ${MODES[mode]}`,
      mode,
      K: 5000,
      hint: true,
      intervalS: p,
    })),
  ]);

/** Both flows of every pair in one Node-RED, each sink recording into its pair. */
async function loadFlows(all: Pair[]): Promise<void> {
  await helper.startServer();
  const flows = all.flatMap((p) => [
    theirFlow(`theirs-${p.key}`, p.panels.theirs.http, p.intervalS),
    ourFlow(`ours-${p.key}`, `127.0.0.1:${p.panels.ours.http}`, p.intervalS),
  ]);
  await helper.load(
    [...coreNodes, ...ourNodes],
    onTab(...flows),
    tokens(all.map((p) => `ours-${p.key}-cfg`)),
  );
  for (const p of all) {
    helper
      .getNode(`theirs-${p.key}-sink`)
      .on('input', (msg: { payload: { ok: boolean }; tick: number }) =>
        p.theirs.push({ tick: msg.tick, ok: msg.payload.ok, at: Date.now() }),
      );
    helper
      .getNode(`ours-${p.key}-sink`)
      .on('input', (msg: { stale?: boolean }) => p.ours.push({ at: Date.now(), stale: msg.stale === true }));
  }
}

/** `blips` single 502s, `everyS` apart, on both blip panels at once: when each panel was healthy again. */
async function blipsOn(host: SimHost, blip: Pair, blips: number, everyS: number) {
  const log: { side: 'theirs' | 'ours'; healthyAt: number }[] = [];
  const inject = async (side: 'theirs' | 'ours') => {
    const i = blip.panels[side].index;
    const f = await host.inject(i, { kind: 'status', status: 502, path: '/api/v1/status', count: 1 });
    const w = await host.watchRule(i, String(f.id));
    log.push({ side, healthyAt: w.lastHit ?? w.goneAt });
  };
  for (let b = 0; b < blips; b++) {
    await sleep(everyS * 1000);
    await Promise.all([inject('theirs'), inject('ours')]);
  }
  return log;
}

async function run(args: typeof DEFAULTS): Promise<BenchResult> {
  const { keepAliveMs: K, raceS, realS, replicas, blips, blipEveryS } = args;
  const cases = casesOf(K);
  const host = await SimHost.start();
  const timers: NodeJS.Timeout[] = [];
  const pollers: AxiosPlainPoller[] = [];
  const polled: { c: (typeof cases)[number]; pairs: Pair[] }[] = [];
  let blip: Pair | undefined;
  let blipLog: Awaited<ReturnType<typeof blipsOn>> = [];
  try {
    for (const c of cases) {
      const pairs: Pair[] = [];
      for (let r = 0; r < replicas; r++) {
        const opts = { keepAliveMs: c.K, keepAliveMode: c.mode, keepAliveHint: c.hint };
        const [theirs, ours, axios] = await startPanels(host, 3, 'v1', opts);
        pairs.push(new Pair(`${c.key}-${r}`, c.intervalS, { theirs, ours, axios }));
      }
      polled.push({ c, pairs });
    }
    const [theirs, ours] = await startPanels(host, 2);
    blip = new Pair('blip', 1, { theirs, ours });
    const pairs = polled.flatMap((x) => x.pairs);
    await loadFlows([...pairs, blip]);
    // A plain keep-alive axios client beside every polled pair, on its own panel.
    const raceTimers: NodeJS.Timeout[] = [];
    for (const p of pairs) {
      const poller = new AxiosPlainPoller(p.panels.axios!.http);
      pollers.push(poller);
      const t = setInterval(() => void poller.settle().then((res) => p.axios.push(res)), p.intervalS * 1000);
      timers.push(t);
      if (p.intervalS < 1) raceTimers.push(t);
    }
    // Let everything connect, then count from a clean slate.
    await sleep(3000);
    for (const p of [...pairs, blip]) {
      [p.theirs, p.ours, p.axios] = [[], [], []];
      for (const panel of Object.values(p.panels)) await host.resetStats(panel.index);
    }
    const blipRun = blipsOn(host, blip, blips, blipEveryS);
    // The race cases stop counting after raceS (their axios pollers stop then); the real-settings cases run for realS.
    await sleep(Math.min(raceS, realS) * 1000);
    const cut = Date.now();
    for (const t of raceTimers) clearInterval(t);
    await sleep(Math.max(0, realS - raceS) * 1000);
    blipLog = await blipRun;
    for (const t of timers) clearInterval(t);
    await sleep(1500);
    for (const p of pairs) {
      if (p.intervalS < 1) {
        p.theirs = p.theirs.filter((x) => x.at <= cut + 1000);
        p.ours = p.ours.filter((x) => x.at <= cut);
      }
      p.dropped = {
        theirs: (await host.stats(p.panels.theirs.index)).dropped,
        ours: (await host.stats(p.panels.ours.index)).dropped,
      };
      p.readRetries();
    }
  } finally {
    for (const t of timers) clearInterval(t);
    for (const p of pollers) p.close();
    await stopNodeRed();
    await host.stop();
  }

  const figures = [
    ...polled.flatMap(({ c, pairs }) => caseFigures(c.label, pairs)),
    ...blipFigures(blip, blipLog, blips),
  ];
  return {
    name: 'peer',
    title: '6. Against a core Node-RED flow, and plain axios',
    setup:
      `Real Node-RED ${nodeRedVersion} runtime via node-red-node-test-helper, ours and theirs in one flow, each case in ` +
      `${replicas} independent replicas (own panels, own flows), all concurrently in one sim-host process: ${raceS} s of ` +
      `polling at P = K = ${K} ms (no hint) in each close mode; ${realS} s at a real panel's settings (K = 5 s with its ` +
      `Keep-Alive hint) with polls every 5 s and 15 s in each mode (a plain keep-alive axios client beside every case); ${blips} single 502s ${blipEveryS} s apart at a 1 s ` +
      'interval against a default panel. Failed polls: ours the worst replica (goal: 0 in every one), theirs the median.',
    figures,
    notes: [
      `Worst case: K = P = ${K} ms without the Keep-Alive hint. Our nodes run with their defaults (the 3 s idle-socket ` +
        'timeout is not scaled), so there they reuse sockets the panel has already dropped, and the one immediate retry on ' +
        'a stale socket is what saves the poll. At the settings of a real panel (K = 5 s, hint timeout=5) they drop idle ' +
        'sockets after 3 s and should not reuse a dropped one in the first place; the real-settings rows measure that. ' +
        "There the core flow is safe too: Node's http.globalAgent honours the panel's Keep-Alive: timeout=5 hint and drops " +
        'idle sockets after 4 s; a client that ignores the hint (the plain axios rows) is not.',
      'Theirs: the http request node\'s defaults ("Enable connection keep-alive" off), which on Node.js ≥ 19 still means ' +
        'keep-alive through http.globalAgent (5 s free-socket timeout, shortened by a Keep-Alive hint); inject repeats every ' +
        'P start-to-start, ours schedules the next cycle P after the previous one ends.',
    ],
    raw: {
      pairs: polled.flatMap(({ pairs }) => pairs.map((p) => ({ key: p.key, dropped: p.dropped }))),
      blipLog,
    },
  };
}

const pct = (failed: number, total: number) => (total ? (100 * failed) / total : NaN);
const sum = (list: number[]) => list.reduce((a, b) => a + b, 0);

/** One polled case over its replicas: failed polls of ours (worst) against theirs (median), and plain axios. */
function caseFigures(label: string, pairs: Pair[]): Figure[] {
  const per = pairs.map((p) => {
    const tp = p.theirPolls();
    return {
      p,
      tFailed: tp.filter((x) => !x.ok).length,
      tTotal: tp.length,
      oFailed: p.ours.filter((m) => m.stale).length,
    };
  });
  const ours = per.map((x) => pct(x.oFailed, x.p.ours.length));
  const them = per.map((x) => pct(x.tFailed, x.tTotal));
  const total = (f: (x: (typeof per)[number]) => number) => sum(per.map(f));
  const requests = pairs.map((p) => p.axios.flat());
  const failed = requests.flat().filter((x) => !x.ok);
  const codes = new Map<string, number>();
  for (const x of failed) codes.set(x.code ?? '?', (codes.get(x.code ?? '?') ?? 0) + 1);
  const polls = spreadFigure(`${label}: failed polls`, '%', ours, {
    of: 'worst',
    digits: 1,
    base: them,
    tiny: 1,
  });
  return [
    {
      ...polls,
      baselineRuns: them,
      baselineLabel: `${THEIRS}, median of ${pairs.length}, spread ${fmt(Math.min(...them), 1)}–${fmt(Math.max(...them), 1)} %`,
      goal: '0 failed polls',
      met: per.every((x) => x.oFailed === 0),
      note:
        `ours ${total((x) => x.oFailed)} of ${total((x) => x.p.ours.length)} polls over ${pairs.length} replicas, ` +
        `${total((x) => x.p.staleRetries)} immediate stale-socket retries, ${total((x) => x.p.dropped.ours)} requests ` +
        `dropped on forgotten sockets; theirs ${total((x) => x.tFailed)} of ${total((x) => x.tTotal)} ` +
        `(dropped ${total((x) => x.p.dropped.theirs)})${polls.note ? `; ${polls.note}` : ''}`,
    },
    spreadFigure(
      `${label}: plain keep-alive axios without mitigation, failed requests`,
      '%',
      requests.map((list) => pct(list.filter((x) => !x.ok).length, list.length)),
      {
        digits: 1,
        note:
          `${failed.length} of ${requests.flat().length} requests over ${pairs.length} replicas; ` +
          `errors: ${[...codes].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}; a client outside Node-RED ` +
          '(new http.Agent({ keepAlive: true }): no idle timeout, so it ignores the Keep-Alive hint), no baseline',
      },
    ),
  ];
}

/** The 502 blips: failed polls, and the time from healthy to the next complete data. */
function blipFigures(
  blip: Pair,
  log: { side: 'theirs' | 'ours'; healthyAt: number }[],
  blips: number,
): Figure[] {
  const tb = blip.theirPolls();
  const ob = blip.ours;
  const recovery = (side: 'theirs' | 'ours'): number[] =>
    log
      .filter((b) => b.side === side)
      .map((b) => {
        const next =
          side === 'theirs'
            ? tb.find((p) => p.ok && p.tick >= b.healthyAt)?.doneAt
            : ob.find((m) => !m.stale && m.at >= b.healthyAt)?.at;
        return next === undefined ? NaN : (next - b.healthyAt) / 1000;
      })
      .filter(Number.isFinite);
  const [tRec, oRec] = [recovery('theirs'), recovery('ours')];
  const tbFailed = tb.filter((p) => !p.ok).length;
  const obFailed = ob.filter((m) => m.stale).length;
  const r = shownRatio(obFailed, tbFailed, 1, 'polls');
  const label = `${blips} single 502s at a 1 s interval`;
  return [
    {
      metric: `${label}: failed polls`,
      value: obFailed,
      unit: 'polls',
      baseline: tbFailed,
      baselineLabel: THEIRS,
      ratio: r.ratio,
      goal: '0',
      met: obFailed === 0,
      note: `ours ${obFailed} of ${ob.length}, theirs ${tbFailed} of ${tb.length} polls${r.tinyNote ? `; ${r.tinyNote}` : ''}`,
    },
    spreadFigure(`${label}: healthy → next complete data, median`, 's', oRec, {
      base: tRec,
      baselineRuns: tRec,
      baselineLabel: THEIRS,
      note: `ours ${oRec.map((v) => fmt(v, 2)).join(', ')} s (in-cycle retry after 250–1000 ms); theirs ${tRec.map((v) => fmt(v, 2)).join(', ')} s (next inject)`,
    }),
  ];
}

if (require.main === module) benchMain(run, DEFAULTS);
