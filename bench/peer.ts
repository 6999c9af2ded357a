/**
 * Benchmark 6: against what users would otherwise build. In one real Node-RED runtime
 * (node-red-node-test-helper): the core flow inject → 4 × http request (the same 4 endpoints, default node
 * settings, ret "parsed JSON") → function, next to our span-panel + span-poll, each polling its own simulated
 * panel with the same behaviour, every case in `replicas` independent copies (own panels, own flows):
 *   - the worst case of the keep-alive race: K = P = 250 ms, no Keep-Alive hint, idle sockets closed (FIN) or
 *     forgotten silently (SPAN #156); alongside, outside Node-RED, a plain keep-alive axios client;
 *   - a real panel's settings: K = 5 s with its Keep-Alive hint, polls every 5 s and 15 s, FIN and silent
 *     (plain axios alongside again);
 *   - a 502 blip: single 502s on /api/v1/status at a 1 s interval (default panel keep-alive 5 s).
 * Counted: failed polls (theirs: a tick where any of the 4 requests failed; ours: a stale data message) and
 * the time from the panel being healthy again to the next complete data.
 */
import { AxiosPlainPoller, V1_POLL_PATHS } from './baselines';
import { benchMain } from './child';
import { coreNodes, helper, nodeRedVersion, ourFlow, ourNodes, stopNodeRed, TAB, theirFlow } from './nodered';
import { SimHost, type HostPanel } from './sims';
import { fmt, median, ratio, round, shownRatio, sleep, TOKEN, type BenchResult, type Figure } from './util';

/** One polled case: a panel behaviour and a poll interval, for theirs, ours (goal: 0 failed polls) and axios. */
interface Case {
  key: string;
  label: string;
  mode: Mode;
  keepAliveMs: number;
  hint: boolean;
  intervalS: number;
}

type Mode = 'close' | 'silent';

interface TheirResult {
  tick: number;
  ok: boolean;
  code: unknown;
  at: number;
}

/** Stale-socket retries our v1 client made so far (span-panel config node → supervisor → transport). */
function staleSocketRetries(configId: string): number | null {
  const cfg = helper.getNode(configId) as {
    hub?: { activeSupervisor?: { activeTransport?: { retryStats?: { staleSocketRetries: number } } } };
  };
  return cfg?.hub?.activeSupervisor?.activeTransport?.retryStats?.staleSocketRetries ?? null;
}

/** Polls grouped by inject tick; a poll fails when any of its 4 requests fails. */
function theirPolls(results: TheirResult[]): { tick: number; ok: boolean; doneAt: number }[] {
  const byTick = new Map<number, TheirResult[]>();
  for (const r of results) byTick.set(r.tick, [...(byTick.get(r.tick) ?? []), r]);
  return [...byTick.entries()]
    .filter(([, list]) => list.length === V1_POLL_PATHS.length || list.some((r) => !r.ok))
    .map(([tick, list]) => ({
      tick,
      ok: list.every((r) => r.ok),
      doneAt: Math.max(...list.map((r) => r.at)),
    }))
    .sort((a, b) => a.tick - b.tick);
}

/** realS: length of the real-settings window (5 s and 15 s polls). */
const DEFAULTS = { keepAliveMs: 250, raceS: 60, realS: 120, replicas: 5, blips: 5, blipEveryS: 4 };

async function run(args: typeof DEFAULTS): Promise<BenchResult> {
  const { keepAliveMs: K, raceS, realS, replicas, blips, blipEveryS } = args;
  const modeLabel = (m: Mode) =>
    m === 'close' ? 'panel closes idle sockets (FIN)' : 'panel forgets idle sockets silently (SPAN #156)';
  const cases: Case[] = [];
  for (const mode of ['close', 'silent'] as const) {
    cases.push({
      key: `race-${mode}`,
      label: `keep-alive race K = P = ${K} ms, no hint, ${modeLabel(mode)}`,
      mode,
      keepAliveMs: K,
      hint: false,
      intervalS: K / 1000,
    });
    for (const p of [5, 15]) {
      cases.push({
        key: `real${p}-${mode}`,
        label: `real panel settings (K = 5 s with hint), poll every ${p} s, ${modeLabel(mode)}`,
        mode,
        keepAliveMs: 5000,
        hint: true,
        intervalS: p,
      });
    }
  }
  const host = await SimHost.start();
  const theirs: Record<string, TheirResult[]> = {};
  const mine: Record<string, { at: number; stale: boolean }[]> = {};
  const axiosResults: Record<string, { ok: boolean; code: string | null }[][]> = {};
  const axiosPollers: AxiosPlainPoller[] = [];
  const timers: NodeJS.Timeout[] = [];
  const panels: Record<string, HostPanel> = {};
  const stats: Record<string, { total: number; dropped: number }> = {};
  const blipLog: { prefix: string; healthyAt: number }[] = [];
  const staleRetries: Record<string, number | null> = {};
  const id = (c: Case, r: number) => `${c.key}-${r}`;
  try {
    for (const c of cases) {
      for (let r = 0; r < replicas; r++) {
        const list = await host.startPanels(3, {
          token: TOKEN,
          tickMs: 1000,
          keepAliveMs: c.keepAliveMs,
          keepAliveMode: c.mode,
          keepAliveHint: c.hint,
        });
        panels[`theirs-${id(c, r)}`] = list[0];
        panels[`ours-${id(c, r)}`] = list[1];
        panels[`axios-${id(c, r)}`] = list[2];
      }
    }
    const blipPanels = await host.startPanels(2, { token: TOKEN, tickMs: 1000 });
    panels['theirs-blip'] = blipPanels[0];
    panels['ours-blip'] = blipPanels[1];

    const flow: Record<string, unknown>[] = [TAB];
    const creds: Record<string, unknown> = {};
    const pair = (key: string, intervalS: number) => {
      flow.push(...theirFlow(`theirs-${key}`, panels[`theirs-${key}`].http, intervalS));
      flow.push(...ourFlow(`ours-${key}`, panels[`ours-${key}`].http, intervalS));
      creds[`ours-${key}-cfg`] = { token: TOKEN };
    };
    for (const c of cases) for (let r = 0; r < replicas; r++) pair(id(c, r), c.intervalS);
    pair('blip', 1);

    await helper.startServer();
    await helper.load([...coreNodes, ...ourNodes], flow, creds);
    for (const prefix of Object.keys(panels).filter((k) => !k.startsWith('axios'))) {
      const sink = helper.getNode(`${prefix}-sink`);
      if (prefix.startsWith('theirs')) {
        theirs[prefix] = [];
        sink.on('input', (msg: { payload: { ok: boolean; code: unknown }; tick: number }) =>
          theirs[prefix].push({ tick: msg.tick, ok: msg.payload.ok, code: msg.payload.code, at: Date.now() }),
        );
      } else {
        mine[prefix] = [];
        sink.on('input', (msg: { stale?: boolean }) =>
          mine[prefix].push({ at: Date.now(), stale: msg.stale === true }),
        );
      }
    }
    const raceTimers: NodeJS.Timeout[] = [];
    for (const c of cases) {
      for (let r = 0; r < replicas; r++) {
        const key = `axios-${id(c, r)}`;
        const poller = new AxiosPlainPoller(panels[key].http, TOKEN);
        axiosPollers.push(poller);
        axiosResults[key] = [];
        const t = setInterval(
          () => void poller.settle().then((res) => axiosResults[key].push(res)),
          c.intervalS * 1000,
        );
        timers.push(t);
        if (c.intervalS < 1) raceTimers.push(t);
      }
    }
    // Let everything connect, then count from a clean slate.
    await sleep(3000);
    for (const k of Object.keys(theirs)) theirs[k] = [];
    for (const k of Object.keys(mine)) mine[k] = [];
    for (const k of Object.keys(axiosResults)) axiosResults[k] = [];
    for (const p of Object.values(panels)) await host.resetStats(p.index);

    // 502 blips on the blip panels, while the race runs.
    const blipRun = (async () => {
      for (let b = 0; b < blips; b++) {
        await sleep(blipEveryS * 1000);
        await Promise.all(
          ['theirs-blip', 'ours-blip'].map(async (prefix) => {
            const f = await host.inject(panels[prefix].index, {
              kind: 'status',
              status: 502,
              path: '/api/v1/status',
              count: 1,
            });
            const w = await host.watchRule(panels[prefix].index, String(f.id));
            blipLog.push({ prefix, healthyAt: w.lastHit ?? w.goneAt });
          }),
        );
      }
    })();
    // The race cases stop counting after raceS; the real-settings cases run for realS.
    await sleep(Math.min(raceS, realS) * 1000);
    const cut = Date.now();
    for (const t of raceTimers) clearInterval(t); // the race cases' axios pollers stop with the race window
    await sleep(Math.max(0, realS - raceS) * 1000);
    await blipRun;
    for (const t of timers) clearInterval(t);
    await sleep(1500);
    for (const c of cases.filter((x) => x.intervalS < 1)) {
      for (let r = 0; r < replicas; r++) {
        theirs[`theirs-${id(c, r)}`] = theirs[`theirs-${id(c, r)}`].filter((x) => x.at <= cut + 1000);
        mine[`ours-${id(c, r)}`] = mine[`ours-${id(c, r)}`].filter((x) => x.at <= cut);
      }
    }
    for (const [k, p] of Object.entries(panels)) stats[k] = await host.stats(p.index);
    for (const c of cases)
      for (let r = 0; r < replicas; r++) staleRetries[id(c, r)] = staleSocketRetries(`ours-${id(c, r)}-cfg`);
  } finally {
    for (const t of timers) clearInterval(t);
    for (const p of axiosPollers) p.close();
    await stopNodeRed();
    await host.stop();
  }

  const figures: Figure[] = [];
  const notes: string[] = [];
  const pct = (failed: number, total: number) => (total ? (100 * failed) / total : null);
  for (const c of cases) {
    const per = Array.from({ length: replicas }, (_, r) => {
      const tp = theirPolls(theirs[`theirs-${id(c, r)}`]);
      const om = mine[`ours-${id(c, r)}`];
      return {
        tFailed: tp.filter((p) => !p.ok).length,
        tTotal: tp.length,
        oFailed: om.filter((m) => m.stale).length,
        oTotal: om.length,
        retries: staleRetries[id(c, r)],
        oDropped: stats[`ours-${id(c, r)}`]?.dropped,
        tDropped: stats[`theirs-${id(c, r)}`]?.dropped,
      };
    });
    const ours = per.map((x) => pct(x.oFailed, x.oTotal) ?? NaN);
    const them = per.map((x) => pct(x.tFailed, x.tTotal) ?? NaN);
    const worst = Math.max(...ours);
    const theirMedian = median(them.filter(Number.isFinite));
    const sum = (k: keyof (typeof per)[number]) => per.reduce((a, x) => a + (Number(x[k]) || 0), 0);
    const r = shownRatio(worst, theirMedian, 1, '%');
    figures.push({
      metric: `${c.label}: failed polls`,
      value: round(worst, 1),
      unit: '%',
      runs: ours.map((v) => round(v, 1) ?? v),
      of: 'worst',
      baseline: round(theirMedian, 1),
      baselineRuns: them,
      baselineLabel: `core inject → http request → function, median of ${replicas}, spread ${fmt(Math.min(...them), 1)}–${fmt(Math.max(...them), 1)} %`,
      ratio: r.ratio,
      goal: '0 failed polls',
      met: per.every((x) => x.oFailed === 0),
      note:
        `ours ${sum('oFailed')} of ${sum('oTotal')} polls over ${replicas} replicas, ${sum('retries')} immediate stale-socket ` +
        `retries, ${sum('oDropped')} requests dropped on forgotten sockets; theirs ${sum('tFailed')} of ${sum('tTotal')} ` +
        `(dropped ${sum('tDropped')})${r.tinyNote ? `; ${r.tinyNote}` : ''}`,
    });
    const ax = Array.from({ length: replicas }, (_, i) => axiosResults[`axios-${id(c, i)}`] ?? []);
    const axReqPct = ax.map(
      (polls) => pct(polls.flat().filter((x) => !x.ok).length, polls.flat().length) ?? NaN,
    );
    const codes = new Map<string, number>();
    for (const x of ax.flat(2)) if (!x.ok) codes.set(x.code ?? '?', (codes.get(x.code ?? '?') ?? 0) + 1);
    figures.push({
      metric: `${c.label}: plain keep-alive axios without mitigation, failed requests`,
      value: round(median(axReqPct.filter(Number.isFinite)), 1),
      unit: '%',
      runs: axReqPct.map((v) => round(v, 1) ?? v),
      of: 'median',
      note:
        `${ax.flat(2).filter((x) => !x.ok).length} of ${ax.flat(2).length} requests over ${replicas} replicas; ` +
        `errors: ${[...codes].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}; a client outside Node-RED ` +
        '(new http.Agent({ keepAlive: true }): no idle timeout, so it ignores the Keep-Alive hint), no baseline',
    });
  }

  // 502 blips: failed polls and time from healthy to the next complete data.
  const tb = theirPolls(theirs['theirs-blip']);
  const ob = mine['ours-blip'];
  const recovery = (prefix: string): number[] =>
    blipLog
      .filter((b) => b.prefix === prefix)
      .map((b) => {
        const next =
          prefix === 'theirs-blip'
            ? tb.find((p) => p.ok && p.tick >= b.healthyAt)?.doneAt
            : ob.find((m) => !m.stale && m.at >= b.healthyAt)?.at;
        return next === undefined ? NaN : (next - b.healthyAt) / 1000;
      })
      .filter((v) => Number.isFinite(v));
  const tRec = recovery('theirs-blip');
  const oRec = recovery('ours-blip');
  const tbFailed = tb.filter((p) => !p.ok).length;
  const obFailed = ob.filter((m) => m.stale).length;
  const blipRatio = shownRatio(obFailed, tbFailed, 1, 'polls');
  figures.push({
    metric: `${blips} single 502s at a 1 s interval: failed polls`,
    value: obFailed,
    unit: 'polls',
    baseline: tbFailed,
    baselineLabel: 'core inject → http request → function',
    ratio: blipRatio.ratio,
    goal: '0',
    met: obFailed === 0,
    note: `ours ${obFailed} of ${ob.length}, theirs ${tbFailed} of ${tb.length} polls${blipRatio.tinyNote ? `; ${blipRatio.tinyNote}` : ''}`,
  });
  figures.push({
    metric: `${blips} single 502s at a 1 s interval: healthy → next complete data, median`,
    value: round(median(oRec), 2),
    unit: 's',
    runs: oRec.map((v) => round(v, 2) ?? v),
    of: 'median',
    baseline: round(median(tRec), 2),
    baselineRuns: tRec,
    baselineLabel: 'core inject → http request → function',
    ratio: round(ratio(median(oRec), median(tRec)), 2),
    note: `ours ${oRec.map((v) => fmt(v, 2)).join(', ')} s (in-cycle retry after 250–1000 ms); theirs ${tRec.map((v) => fmt(v, 2)).join(', ')} s (next inject)`,
  });

  for (const f of figures) {
    if (f.met === false) notes.push(`Goal missed: ${f.metric}: ${f.value} ${f.unit}.`);
  }
  notes.push(
    `Worst case: K = P = ${K} ms without the Keep-Alive hint. Our nodes run with their defaults (the 3 s idle-socket ` +
      'timeout is not scaled), so there they reuse sockets the panel has already dropped, and the one immediate retry on ' +
      'a stale socket is what saves the poll. At the settings of a real panel (K = 5 s, hint timeout=5) they drop idle ' +
      'sockets after 3 s and should not reuse a dropped one in the first place; the real-settings rows measure that. ' +
      "There the core flow is safe too: Node's http.globalAgent honours the panel's Keep-Alive: timeout=5 hint and drops " +
      'idle sockets after 4 s; a client that ignores the hint (the plain axios rows) is not.',
  );
  notes.push(
    'Theirs: the http request node\'s defaults ("Enable connection keep-alive" off), which on Node.js ≥ 19 still means ' +
      'keep-alive through http.globalAgent (5 s free-socket timeout, shortened by a Keep-Alive hint); inject repeats every ' +
      'P start-to-start, ours schedules the next cycle P after the previous one ends.',
  );
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
    notes,
    raw: { stats, blipLog },
  };
}

if (require.main === module) benchMain(run, DEFAULTS);
