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
import { against, fmt, shownRatio, sleep, spreadFigure, type BenchResult, type Figure } from './util';

const MODES = {
  close: 'panel closes idle sockets (FIN)',
  silent: 'panel forgets idle sockets silently (SPAN #156)',
};
const THEIRS = 'core inject → http request → function';

type Side = 'theirs' | 'ours';
/** One poll: when it started (theirs: the inject tick) and when its data was complete, and whether it failed. */
type Poll = { start: number; end: number; ok: boolean };
const failed = (list: { ok: boolean }[]) => list.filter((x) => !x.ok).length;
const failedPct = (list: { ok: boolean }[]) => (list.length ? (100 * failed(list)) / list.length : NaN);

/** One side by side: theirs and ours in Node-RED (and, in the polled cases, plain axios), each on its own panel. */
class Pair {
  /** Their responses; ours are polls already (a message with stale data is a failed poll). */
  theirs: { tick: number; ok: boolean; at: number }[] = [];
  ours: Poll[] = [];
  axios: { ok: boolean; code: string | null }[][] = [];
  dropped = { theirs: 0, ours: 0 };
  staleRetries = 0;

  constructor(
    readonly key: string,
    readonly intervalS: number,
    readonly panels: { theirs: HostPanel; ours: HostPanel; axios?: HostPanel },
  ) {}

  /** Their responses grouped by inject tick (a poll fails when any of its 4 requests fails), and ours. */
  polls(): Record<Side, Poll[]> {
    const byTick = new Map<number, { ok: boolean; at: number }[]>();
    for (const r of this.theirs) byTick.set(r.tick, [...(byTick.get(r.tick) ?? []), r]);
    const theirs = [...byTick]
      .filter(([, list]) => list.length === V1_POLL_PATHS.length || list.some((r) => !r.ok))
      .map(([tick, list]) => ({ start: tick, end: Math.max(...list.map((r) => r.at)), ok: !failed(list) }))
      .sort((a, b) => a.start - b.start);
    return { theirs, ours: this.ours };
  }

  /**
   * After the run: a race case keeps what came in up to the cut; the requests each panel dropped, and the
   * stale-socket retries our v1 client made (span-panel config node → supervisor → transport).
   */
  async finish(host: SimHost, cut: number): Promise<void> {
    if (this.intervalS < 1) {
      this.theirs = this.theirs.filter((x) => x.at <= cut + 1000);
      this.ours = this.ours.filter((x) => x.end <= cut);
    }
    const dropped = async (side: Side) => (await host.stats(this.panels[side].index)).dropped;
    this.dropped = { theirs: await dropped('theirs'), ours: await dropped('ours') };
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
  (['close', 'silent'] as const).flatMap((keepAliveMode) => [
    {
      key: `race-${keepAliveMode}`,
      label: `keep-alive race K = P = ${K} ms, no hint, ${MODES[keepAliveMode]}`,
      intervalS: K / 1000,
      panel: { keepAliveMs: K, keepAliveMode, keepAliveHint: false },
    },
    ...[5, 15].map((p) => ({
      key: `real${p}-${keepAliveMode}`,
      label: `real panel settings (K = 5 s with hint), poll every ${p} s, ${MODES[keepAliveMode]}`,
      intervalS: p,
      panel: { keepAliveMs: 5000, keepAliveMode, keepAliveHint: true },
    })),
  ]);

/** Both flows of every pair in one Node-RED, each sink recording into its pair. */
async function loadFlows(all: Pair[]): Promise<void> {
  await helper.startServer();
  const flows = all.flatMap((p) => [
    theirFlow(`theirs-${p.key}`, p.panels.theirs.http, p.intervalS),
    ourFlow(`ours-${p.key}`, `127.0.0.1:${p.panels.ours.http}`, p.intervalS),
  ]);
  const creds = tokens(all.map((p) => `ours-${p.key}-cfg`));
  await helper.load([...coreNodes, ...ourNodes], onTab(...flows), creds);
  for (const p of all) {
    const [theirs, ours] = [helper.getNode(`theirs-${p.key}-sink`), helper.getNode(`ours-${p.key}-sink`)];
    theirs.on('input', (msg: { payload: { ok: boolean }; tick: number }) =>
      p.theirs.push({ tick: msg.tick, ok: msg.payload.ok, at: Date.now() }),
    );
    ours.on('input', (msg: { stale?: boolean }) =>
      p.ours.push({ start: Date.now(), end: Date.now(), ok: !msg.stale }),
    );
  }
}

/** `blips` single 502s, `everyS` apart, on both blip panels at once: when each panel was healthy again. */
async function blipsOn(host: SimHost, blip: Pair, blips: number, everyS: number) {
  const healthyAt: Record<Side, number[]> = { theirs: [], ours: [] };
  const inject = async (side: Side) => {
    const i = blip.panels[side].index;
    const f = await host.inject(i, { kind: 'status', status: 502, path: '/api/v1/status', count: 1 });
    const w = await host.watchRule(i, String(f.id));
    healthyAt[side].push(w.lastHit ?? w.goneAt);
  };
  for (let b = 0; b < blips; b++) {
    await sleep(everyS * 1000);
    await Promise.all([inject('theirs'), inject('ours')]);
  }
  return healthyAt;
}

async function run(args: typeof DEFAULTS): Promise<BenchResult> {
  const { keepAliveMs: K, raceS, realS, replicas, blips, blipEveryS } = args;
  const host = await SimHost.start();
  const polled: { label: string; pairs: Pair[] }[] = [];
  const clients: { poller: AxiosPlainPoller; timer: NodeJS.Timeout; race: boolean }[] = [];
  let blip: Pair | undefined;
  let healthyAt: Record<Side, number[]> = { theirs: [], ours: [] };
  try {
    for (const c of casesOf(K)) {
      const pairs: Pair[] = [];
      for (let r = 0; r < replicas; r++) {
        const [theirs, ours, axios] = await startPanels(host, 3, 'v1', c.panel);
        pairs.push(new Pair(`${c.key}-${r}`, c.intervalS, { theirs, ours, axios }));
      }
      polled.push({ label: c.label, pairs });
    }
    const [theirs, ours] = await startPanels(host, 2);
    blip = new Pair('blip', 1, { theirs, ours });
    const pairs = polled.flatMap((x) => x.pairs);
    await loadFlows([...pairs, blip]);
    // A plain keep-alive axios client beside every polled pair, on its own panel.
    for (const p of pairs) {
      const poller = new AxiosPlainPoller(p.panels.axios!.http);
      const poll = () => void poller.settle().then((res) => p.axios.push(res));
      const timer = setInterval(poll, p.intervalS * 1000);
      clients.push({ poller, timer, race: p.intervalS < 1 });
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
    for (const c of clients) if (c.race) clearInterval(c.timer);
    await sleep(Math.max(0, realS - raceS) * 1000);
    healthyAt = await blipRun;
    for (const c of clients) clearInterval(c.timer);
    await sleep(1500);
    for (const p of pairs) await p.finish(host, cut);
  } finally {
    for (const c of clients) clearInterval(c.timer);
    for (const c of clients) c.poller.close();
    await stopNodeRed();
    await host.stop();
  }

  return {
    name: 'peer',
    title: '6. Against a core Node-RED flow, and plain axios',
    setup:
      `Real Node-RED ${nodeRedVersion} runtime via node-red-node-test-helper, ours and theirs in one flow, each case in ` +
      `${replicas} independent replicas (own panels, own flows), all concurrently in one sim-host process: ${raceS} s of ` +
      `polling at P = K = ${K} ms (no hint) in each close mode; ${realS} s at a real panel's settings (K = 5 s with its ` +
      `Keep-Alive hint) with polls every 5 s and 15 s in each mode (a plain keep-alive axios client beside every case); ${blips} single 502s ${blipEveryS} s apart at a 1 s ` +
      'interval against a default panel. Failed polls: ours the worst replica (goal: 0 in every one), theirs the median.',
    figures: [
      ...polled.flatMap(({ label, pairs }) => caseFigures(label, pairs)),
      ...blipFigures(blip.polls(), healthyAt, blips),
    ],
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
      healthyAt,
    },
  };
}

/** One polled case over its replicas: failed polls of ours (worst) against theirs (median), and plain axios. */
function caseFigures(label: string, pairs: Pair[]): Figure[] {
  const polls = pairs.map((p) => p.polls());
  const [ours, theirs] = [polls.flatMap((x) => x.ours), polls.flatMap((x) => x.theirs)];
  const them = polls.map((x) => failedPct(x.theirs));
  const sum = (f: (p: Pair) => number) => pairs.reduce((a, p) => a + f(p), 0);
  const requests = pairs.map((p) => p.axios.flat());
  const errors = requests.flat().flatMap((r) => (r.ok ? [] : [r.code ?? '?']));
  const codes = [...new Set(errors)].map((code) => `${code} ×${errors.filter((e) => e === code).length}`);
  const spread = `${fmt(Math.min(...them), 1)}–${fmt(Math.max(...them), 1)} %`;
  const worst = spreadFigure(
    `${label}: failed polls`,
    '%',
    polls.map((x) => failedPct(x.ours)),
    {
      of: 'worst',
      digits: 1,
      base: them,
      tiny: 1,
      baselineRuns: them,
      baselineLabel: `${THEIRS}, median of ${pairs.length}, spread ${spread}`,
      goal: '0 failed polls',
      met: polls.every((x) => failed(x.ours) === 0),
    },
  );
  return [
    {
      ...worst,
      note:
        `ours ${failed(ours)} of ${ours.length} polls over ${pairs.length} replicas, ${sum((p) => p.staleRetries)} ` +
        `immediate stale-socket retries, ${sum((p) => p.dropped.ours)} requests dropped on forgotten sockets; ` +
        `theirs ${failed(theirs)} of ${theirs.length} (dropped ${sum((p) => p.dropped.theirs)})` +
        (worst.note ? `; ${worst.note}` : ''),
    },
    spreadFigure(
      `${label}: plain keep-alive axios without mitigation, failed requests`,
      '%',
      requests.map(failedPct),
      {
        digits: 1,
        note:
          `${errors.length} of ${requests.flat().length} requests over ${pairs.length} replicas; ` +
          `errors: ${codes.join(', ') || 'none'}; a client outside Node-RED ` +
          '(new http.Agent({ keepAlive: true }): no idle timeout, so it ignores the Keep-Alive hint), no baseline',
      },
    ),
  ];
}

/** The 502 blips: failed polls, and the time from healthy to the next complete data. */
function blipFigures(polls: Record<Side, Poll[]>, healthyAt: Record<Side, number[]>, blips: number) {
  const recovery = (side: Side) =>
    healthyAt[side]
      .map((at) => ((polls[side].find((p) => p.ok && p.start >= at)?.end ?? NaN) - at) / 1000)
      .filter(Number.isFinite);
  const [tRec, oRec] = [recovery('theirs'), recovery('ours')];
  const [tFailed, oFailed] = [failed(polls.theirs), failed(polls.ours)];
  const { tinyNote } = shownRatio(oFailed, tFailed, 1, 'polls');
  const label = `${blips} single 502s at a 1 s interval`;
  const list = (values: number[]) => values.map((v) => fmt(v, 2)).join(', ');
  return [
    {
      metric: `${label}: failed polls`,
      ...against(oFailed, tFailed, THEIRS),
      unit: 'polls',
      goal: '0',
      met: oFailed === 0,
      note:
        `ours ${oFailed} of ${polls.ours.length}, theirs ${tFailed} of ${polls.theirs.length} polls` +
        (tinyNote ? `; ${tinyNote}` : ''),
    },
    spreadFigure(`${label}: healthy → next complete data, median`, 's', oRec, {
      base: tRec,
      baselineRuns: tRec,
      baselineLabel: THEIRS,
      note: `ours ${list(oRec)} s (in-cycle retry after 250–1000 ms); theirs ${list(tRec)} s (next inject)`,
    }),
  ];
}

if (require.main === module) benchMain(run, DEFAULTS);
