/**
 * Benchmark 6: against what users would otherwise build. In one real Node-RED runtime
 * (node-red-node-test-helper): the core flow inject → 4 × http request (the same 4 endpoints, default node
 * settings, ret "parsed JSON") → function, next to our span-panel + span-poll, each polling its own simulated
 * panel with the same behaviour:
 *   - the keep-alive race: the panel's keep-alive K equals the poll interval (scaled: K = P = 250 ms, no
 *     Keep-Alive hint), once with idle sockets closed (FIN) and once forgotten silently (SPAN #156);
 *   - a 502 blip: single 502s on /api/v1/status at a 1 s interval (default panel keep-alive 5 s).
 * Counted: failed polls (theirs: a tick where any of the 4 requests failed; ours: a stale data message) and
 * the time from the panel being healthy again to the next complete data. Alongside, outside Node-RED: a plain
 * keep-alive axios client without our mitigation (resilience.md §1.4) in both modes.
 */
import { AxiosPlainPoller, V1_POLL_PATHS } from './baselines';
import { benchMain } from './child';
import {
  coreNodes,
  helper,
  nodeRedVersion,
  onTab,
  ourNodes,
  panelNode,
  pollNode,
  sinkNode,
  TAB,
} from './nodered';
import { SimHost, type HostPanel } from './sims';
import { fmt, median, ratio, round, sleep, TOKEN, type BenchResult, type Figure } from './util';

interface Args {
  keepAliveMs?: number;
  raceS?: number;
  blips?: number;
  blipEveryS?: number;
}

type Mode = 'close' | 'silent';

interface TheirResult {
  tick: number;
  ok: boolean;
  code: unknown;
  at: number;
}

function theirFlow(prefix: string, port: number, intervalS: number): Record<string, unknown>[] {
  const requests = V1_POLL_PATHS.map((path, i) =>
    onTab({
      id: `${prefix}-req${i}`,
      type: 'http request',
      name: '',
      method: 'GET',
      ret: 'obj',
      paytoqs: 'ignore',
      url: `http://127.0.0.1:${port}${path}`,
      tls: '',
      persist: false,
      proxy: '',
      insecureHTTPParser: false,
      authType: '',
      senderr: false,
      headers: [],
      wires: [[`${prefix}-fn`]],
    }),
  );
  return [
    onTab({
      id: `${prefix}-inject`,
      type: 'inject',
      name: '',
      props: [
        { p: 'tick', v: '', vt: 'date' },
        { p: 'headers', v: JSON.stringify({ Authorization: `Bearer ${TOKEN}` }), vt: 'json' },
      ],
      repeat: String(intervalS),
      crontab: '',
      once: true,
      onceDelay: 0.1,
      topic: '',
      wires: [requests.map((r) => r.id as string)],
    }),
    ...requests,
    onTab({
      id: `${prefix}-fn`,
      type: 'function',
      name: '',
      func:
        'const ok = msg.statusCode === 200 && msg.payload !== null && typeof msg.payload === "object";\n' +
        'return { payload: { ok, code: msg.statusCode }, tick: msg.tick };',
      outputs: 1,
      timeout: 0,
      noerr: 0,
      initialize: '',
      finalize: '',
      libs: [],
      wires: [[`${prefix}-sink`]],
    }),
    sinkNode(`${prefix}-sink`),
  ];
}

function ourFlow(prefix: string, port: number, intervalS: number): Record<string, unknown>[] {
  return [
    panelNode(`${prefix}-cfg`, `127.0.0.1:${port}`, intervalS),
    pollNode(`${prefix}-poll`, `${prefix}-cfg`, [[`${prefix}-sink`]]),
    sinkNode(`${prefix}-sink`),
  ];
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

async function run(args: Args): Promise<BenchResult> {
  const K = args.keepAliveMs ?? 250;
  const raceS = args.raceS ?? 60;
  const blips = args.blips ?? 5;
  const blipEveryS = args.blipEveryS ?? 4;
  const P = K / 1000;
  const modes: Mode[] = ['close', 'silent'];
  const host = await SimHost.start();
  const theirs: Record<string, TheirResult[]> = {};
  const mine: Record<string, { at: number; stale: boolean }[]> = {};
  const axiosResults: Record<Mode, { ok: boolean; code: string | null }[][]> = { close: [], silent: [] };
  const axiosPollers: AxiosPlainPoller[] = [];
  const timers: NodeJS.Timeout[] = [];
  const panels: Record<string, HostPanel> = {};
  const stats: Record<string, { total: number; dropped: number }> = {};
  const blipLog: { prefix: string; healthyAt: number }[] = [];
  const staleRetries: Record<string, number | null> = {};
  try {
    for (const mode of modes) {
      const list = await host.startPanels(3, {
        token: TOKEN,
        tickMs: 1000,
        keepAliveMs: K,
        keepAliveMode: mode,
        keepAliveHint: false,
      });
      panels[`theirs-${mode}`] = list[0];
      panels[`ours-${mode}`] = list[1];
      panels[`axios-${mode}`] = list[2];
    }
    const blipPanels = await host.startPanels(2, { token: TOKEN, tickMs: 1000 });
    panels['theirs-blip'] = blipPanels[0];
    panels['ours-blip'] = blipPanels[1];

    const flow: Record<string, unknown>[] = [TAB];
    const creds: Record<string, unknown> = {};
    for (const mode of modes) {
      flow.push(...theirFlow(`theirs-${mode}`, panels[`theirs-${mode}`].http, P));
      flow.push(...ourFlow(`ours-${mode}`, panels[`ours-${mode}`].http, P));
      creds[`ours-${mode}-cfg`] = { token: TOKEN };
    }
    flow.push(...theirFlow('theirs-blip', panels['theirs-blip'].http, 1));
    flow.push(...ourFlow('ours-blip', panels['ours-blip'].http, 1));
    creds['ours-blip-cfg'] = { token: TOKEN };

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
    for (const mode of modes) {
      const poller = new AxiosPlainPoller(panels[`axios-${mode}`].http, TOKEN);
      axiosPollers.push(poller);
      timers.push(setInterval(() => void poller.settle().then((r) => axiosResults[mode].push(r)), K));
    }
    // Let everything connect, then count from a clean slate.
    await sleep(3000);
    for (const k of Object.keys(theirs)) theirs[k] = [];
    for (const k of Object.keys(mine)) mine[k] = [];
    for (const m of modes) axiosResults[m] = [];
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
    await sleep(raceS * 1000);
    await blipRun;
    for (const t of timers) clearInterval(t);
    await sleep(1500);
    for (const [k, p] of Object.entries(panels)) stats[k] = await host.stats(p.index);
    for (const mode of modes) staleRetries[mode] = staleSocketRetries(`ours-${mode}-cfg`);
  } finally {
    for (const t of timers) clearInterval(t);
    for (const p of axiosPollers) p.close();
    await helper.unload().catch(() => undefined);
    await helper.stopServer().catch(() => undefined);
    await host.stop();
  }

  const figures: Figure[] = [];
  const notes: string[] = [];
  const rate = (failed: number, total: number) => (total ? failed / total : null);
  for (const mode of modes) {
    const tp = theirPolls(theirs[`theirs-${mode}`]);
    const tFailed = tp.filter((p) => !p.ok).length;
    const om = mine[`ours-${mode}`];
    const oFailed = om.filter((m) => m.stale).length;
    const tRate = rate(tFailed, tp.length);
    const oRate = rate(oFailed, om.length);
    const label =
      mode === 'close'
        ? 'panel closes idle sockets (FIN) at K'
        : 'panel forgets idle sockets silently at K (SPAN #156)';
    figures.push({
      metric: `keep-alive race, ${label}: failed polls`,
      value: round(oRate === null ? null : 100 * oRate, 1),
      unit: '%',
      baseline: round(tRate === null ? null : 100 * tRate, 1),
      baselineLabel: 'core inject → http request → function',
      ratio: round(ratio(oRate, tRate), 3),
      goal: '0 failed polls',
      met: oFailed === 0,
      note:
        `ours ${oFailed} of ${om.length} polls, ${staleRetries[mode] ?? '–'} immediate stale-socket retries (the panel ` +
        `dropped ${stats[`ours-${mode}`]?.dropped ?? '–'} requests on forgotten sockets); theirs ${tFailed} of ${tp.length} ` +
        `(dropped ${stats[`theirs-${mode}`]?.dropped ?? '–'})`,
    });
    const ax = axiosResults[mode];
    const axPollFailed = ax.filter((r) => r.some((x) => !x.ok)).length;
    const axReq = ax.flat();
    const axReqFailed = axReq.filter((x) => !x.ok).length;
    const codes = new Map<string, number>();
    for (const x of axReq) if (!x.ok) codes.set(x.code ?? '?', (codes.get(x.code ?? '?') ?? 0) + 1);
    figures.push({
      metric: `keep-alive race, ${label}: plain keep-alive axios without mitigation, failed requests`,
      value: round(100 * (rate(axReqFailed, axReq.length) ?? 0), 1),
      unit: '%',
      baseline: 40,
      baselineLabel: 'resilience.md §1.4 (K=150 ms + 5 ms proxy delay)',
      ratio: round(ratio(rate(axReqFailed, axReq.length), 0.4), 2),
      note:
        `${axReqFailed} of ${axReq.length} requests; ${axPollFailed} of ${ax.length} polls of 4 requests ` +
        `(${fmt(100 * (rate(axPollFailed, ax.length) ?? 0), 1)} %); errors: ${[...codes].map(([c, n]) => `${c} ×${n}`).join(', ') || 'none'}`,
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
  figures.push({
    metric: `${blips} single 502s at a 1 s interval: failed polls`,
    value: obFailed,
    unit: 'polls',
    baseline: tbFailed,
    baselineLabel: 'core inject → http request → function',
    ratio: round(ratio(obFailed, tbFailed), 2),
    goal: '0',
    met: obFailed === 0,
    note: `ours ${obFailed} of ${ob.length}, theirs ${tbFailed} of ${tb.length} polls`,
  });
  figures.push({
    metric: `${blips} single 502s at a 1 s interval: healthy → next complete data, median`,
    value: round(median(oRec), 2),
    unit: 's',
    baseline: round(median(tRec), 2),
    baselineLabel: 'core inject → http request → function',
    ratio: round(ratio(median(oRec), median(tRec)), 2),
    note: `ours ${oRec.map((v) => fmt(v, 2)).join(', ')} s (in-cycle retry after 250–1000 ms); theirs ${tRec.map((v) => fmt(v, 2)).join(', ')} s (next inject)`,
  });

  for (const f of figures) {
    if (f.met === false) notes.push(`Goal missed: ${f.metric}: ${f.value} ${f.unit}.`);
  }
  notes.push(
    `Scaled race: K = P = ${K} ms without the Keep-Alive hint (a real panel: K = 5 s, hint timeout=5; the hint cannot express ` +
      'sub-second K). Our nodes run with their defaults (the 3 s idle-socket timeout is not scaled), so in this set-up they ' +
      'reuse sockets the panel has already dropped, and the one immediate retry on a stale socket is what saves the poll; ' +
      'with the real K = 5 s they would not reuse such sockets in the first place.',
  );
  notes.push(
    'Theirs: the http request node\'s defaults ("Enable connection keep-alive" off), which on Node.js ≥ 19 still means ' +
      'keep-alive through http.globalAgent (5 s free-socket timeout); inject repeats every P start-to-start, ours schedules ' +
      'the next cycle P after the previous one ends.',
  );
  return {
    name: 'peer',
    title: '6. Against a core Node-RED flow, and plain axios',
    setup:
      `Real Node-RED ${nodeRedVersion} runtime via node-red-node-test-helper, ours and theirs in one ` +
      `flow, ${raceS} s of polling at P = ${K} ms against panels with keep-alive K = ${K} ms in each mode, and ${blips} single ` +
      `502s ${blipEveryS} s apart at a 1 s interval against default panels, all concurrently; one sim-host process.`,
    figures,
    notes,
    raw: { stats, blipLog },
  };
}

if (require.main === module) benchMain(run);
