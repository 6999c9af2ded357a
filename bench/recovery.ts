/**
 * Benchmark 4: recovery after v1 and v2 faults at 1 s and 5 s with the real default timing, against a naive
 * v1 poller and a bare MQTT.js client: time from healthy to fresh data, and what was sent meanwhile. How:
 * `setup` below.
 */
import { bareMqtt, BareV1Poller, endMqtt } from './baselines';
import { benchMain } from './child';
import { connectCounter, requestCounter } from './counters';
import { configFor, supervise, type Supervised } from './ours';
import { SimHost, startPanels, type Api, type HostPanel } from './sims';
import { fmt, round, sleep, spreadFigure, waitUntil } from './util';
import type { BenchResult, Figure } from './util';

/**
 * One client on its own panel: times of its fresh (complete, successful) data and of its failed cycles; for
 * ours, its supervisor (the recovery goal and bound of its timing, its log lines).
 */
type Client = { fresh(): number[]; failures(): number[]; stop(): Promise<void>; ours?: Supervised };

/**
 * Which simulator event says the panel is healthy again after a fault: the single 502 served ('rule-hit'), the
 * hang rule gone, the listener reopened, the broker back, the CA rotated ('done'). The single 502 is a
 * one-off fault that makes no outage: what is counted is the cycle it touched.
 */
type Healthy = 'rule-hit' | 'rule-gone' | 'reopen' | 'broker-up' | 'done';
type Fault = { api: Api; label: string; healthy: Healthy; spec: Record<string, unknown>; once: boolean };

const BASELINE = { v1: 'naive fixed-interval poller', v2: 'bare MQTT.js, CA fetched once, reconnect 1 s' };

const fault = (api: Api, label: string, healthy: Healthy, spec: Record<string, unknown>): Fault => ({
  api,
  label,
  healthy,
  spec,
  once: healthy === 'rule-hit',
});
const lasting = (kind: string, s: number) => ({ kind, durationMs: s * 1000 });
const faultsOf = (refusalS: number, hangS: number, brokerDownS = 10) => [
  fault('v1', 'single 502', 'rule-hit', { kind: 'status', status: 502, path: '/api/v1/status', count: 1 }),
  fault('v1', `${refusalS} s refusal (ECONNREFUSED)`, 'reopen', lasting('refused', refusalS)),
  fault('v1', `${hangS} s hang (accepts, never answers)`, 'rule-gone', lasting('hang', hangS)),
  fault('v2', `v2 broker restart (${brokerDownS} s down)`, 'broker-up', lasting('broker-down', brokerDownS)),
  fault('v2', 'v2 CA rotation', 'done', { kind: 'ca-rotation' }),
];

/** Injects `fault` into panel `i`: when, and when the panel was healthy again. */
async function inject(host: SimHost, i: number, fault: Fault) {
  const up = fault.healthy === 'broker-up' ? host.watchBrokerUp(i) : null;
  const f = await host.inject(i, fault.spec);
  const rule = () => host.watchRule(i, String(f.id));
  const healthyAt = {
    'rule-hit': () => rule().then((w) => w.lastHit ?? w.goneAt),
    'rule-gone': () => rule().then((w) => w.goneAt),
    reopen: () => host.watchReopen(i).then((w) => w.at),
    'broker-up': () => up!.then((u) => u.at),
    done: () => Promise.resolve(f.doneAt),
  }[fault.healthy];
  return { faultAt: f.at, healthyAt: await healthyAt() };
}

function ours(intervalS: number, panel: HostPanel, api: Api): Client {
  const s = supervise(configFor(api, panel, intervalS));
  // v1 data carries when its snapshot arrived; v2 data is pushed, so its event time is the arrival.
  const fresh = () => s.fresh().map((d) => (api === 'v1' ? d.receivedAt : d.at));
  return { fresh, failures: () => s.data.filter((d) => d.stale).map((d) => d.at), stop: s.stop, ours: s };
}

/** v1: 4 bare GETs every interval (start to start), each bounded by the same per-request timeout as ours. */
function naive(intervalS: number, panel: HostPanel): Client {
  const timeoutMs = Math.min(5000, Math.max(1000, 0.6 * intervalS * 1000));
  const poller = new BareV1Poller(panel.http);
  const [fresh, failures]: number[][] = [[], []];
  const timer = setInterval(() => {
    const started = Date.now();
    let t: NodeJS.Timeout | undefined;
    const bounded = new Promise<never>((_, reject) => {
      // Like an axios timeout: give up on the hung requests and drop their sockets.
      t = setTimeout(() => (poller.agent.destroy(), reject(new Error('timeout'))), timeoutMs);
    });
    Promise.race([poller.cycle(), bounded])
      .then(() => fresh.push(Date.now()))
      .catch(() => failures.push(started))
      .finally(() => clearTimeout(t));
  }, intervalS * 1000);
  const stop = async () => (clearInterval(timer), poller.close());
  return { fresh: () => fresh, failures: () => failures, stop };
}

/** v2: register once, fetch the CA once, subscribe; fresh data is the first message after a (re)connect,
 * then at most one per interval. */
async function bare(intervalS: number, panel: HostPanel): Promise<Client> {
  const client = await bareMqtt(panel, 'bench-bare', { connectTimeout: 5000 });
  const fresh: number[] = [];
  let lastMsg = 0;
  client.on('message', () => {
    const now = Date.now();
    if (now - lastMsg >= intervalS * 1000) fresh.push(now);
    lastMsg = now;
  });
  client.on('close', () => (lastMsg = 0));
  return { fresh: () => fresh, failures: () => [], stop: () => endMqtt(client) };
}

/** One API's half: its faults at every interval, `replicas` of ours plus one baseline, each on its own panel. */
async function measure(api: Api, faults: Fault[], intervals: number[], replicas: number) {
  const apiFaults = faults.filter((f) => f.api === api);
  const isOurs = [...Array<boolean>(replicas).fill(true), false];
  const plan = intervals.flatMap((intervalS) =>
    apiFaults.flatMap((fault) => isOurs.map((mine) => ({ fault, intervalS, mine }))),
  );
  const host = await SimHost.start();
  // v1 counts HTTP requests on the panel's port, v2 TCP connection attempts on its broker's port.
  const counter = api === 'v1' ? requestCounter() : connectCounter();
  const runners: (Client & { fault: Fault; intervalS: number; panel: HostPanel })[] = [];
  try {
    const panels = await startPanels(host, plan.length, api);
    for (const [i, { fault, intervalS, mine }] of plan.entries()) {
      const client = await (mine ? ours : api === 'v1' ? naive : bare)(intervalS, panels[i], api);
      runners.push({ ...client, fault, intervalS, panel: panels[i] });
    }
    const ready = () => runners.every((r) => r.fresh().length > 0);
    await waitUntil(`every ${api} client has data`, ready, 60_000, 50);
    await sleep(2000);
    return await Promise.all(
      runners.map(async (r) => {
        const { once } = r.fault;
        if (once) {
          // Right after a cycle, so the next one meets the 502.
          const n = r.fresh().length;
          await waitUntil('a cycle', () => r.fresh().length > n, 15_000, 5);
        }
        const { faultAt, healthyAt } = await inject(host, r.panel.index, r.fault);
        const limitMs =
          healthyAt + Math.max(3 * (r.ours?.boundS ?? 0), 3 * r.intervalS, 30) * 1000 - Date.now();
        const first = () => r.fresh().find((t) => t >= healthyAt) ?? null;
        const recovered = await waitUntil('recovery', first, limitMs, 20).catch(() => null);
        const end = recovered ?? Date.now();
        const port = api === 'v1' ? r.panel.http : (r.panel.mqtt ?? 0);
        // A single 502 makes no outage to speak of: count the requests of the cycle(s) it touched instead,
        // from the last complete data before it to the first one after.
        const from = once ? ([...r.fresh()].reverse().find((t) => t < healthyAt) ?? faultAt) + 1 : faultAt;
        const log = (level: string) => r.ours?.logger.count(level, faultAt, end + 1000) ?? 0;
        return {
          r,
          recoveryS: recovered === null ? null : (recovered - healthyAt) / 1000,
          /** v1: requests while the panel was down (a 502: of the cycles it touched); v2: connection attempts. */
          sent: counter.count(port, from, api === 'v2' || once ? end : healthyAt),
          sentUntilRecovered: counter.count(port, from, end),
          failedCycles: r.failures().filter((t) => t >= faultAt && t <= end).length,
          observedS: (end - faultAt) / 1000,
          logLines: `${log('warn')}/${log('info')}`,
        };
      }),
    );
  } finally {
    await Promise.all(runners.map((r) => r.stop().catch(() => undefined)));
    counter.stop();
    await host.stop();
  }
}
type Outcome = Awaited<ReturnType<typeof measure>>[number];

/** The rows of one fault at one interval (ours and the baseline client), and a note per recovery over the goal. */
function rows(label: string, same: Outcome[], notes: string[]): Figure[] {
  const mine = same.filter((o) => o.r.ours);
  const theirs = same.find((o) => !o.r.ours);
  const { api, once } = same[0].r.fault;
  const { goalS, boundS } = mine[0].r.ours!;
  /** A count of ours (the replicas' median or worst) against the baseline client's; a baseline under 1 is flagged. */
  const count = (metric: string, unit: string, key: 'sent' | 'failedCycles', of: 'median' | 'worst') => {
    const values = mine.map((o) => o[key]);
    return spreadFigure(`${label}: ${metric}`, unit, values, {
      of,
      base: theirs?.[key] ?? null,
      baselineLabel: api === 'v1' ? BASELINE.v1 : 'bare MQTT.js, reconnect 1 s',
      tiny: 1,
    });
  };
  const rec = mine.map((o) => o.recoveryS).filter((v): v is number => v !== null);
  const worst = rec.length === mine.length ? Math.max(...rec) : null;
  const baseline = round(theirs?.recoveryS, 2);
  const bound = `documented bound max(P, 1.2·cap) + T_req = ${fmt(boundS, 1)} s`;
  for (const o of mine) {
    if (o.recoveryS === null)
      notes.push(`${label}: a connection did not recover within the observation window.`);
    else if (o.recoveryS > goalS)
      notes.push(
        `${label}: recovery took ${fmt(o.recoveryS, 1)} s, over the ${fmt(goalS, 0)} s goal (interval + cap) but ` +
          `${o.recoveryS <= boundS ? 'within' : 'OVER'} the ${bound}: the backoff is jittered ±20 % around the cap, so ` +
          'the last probe before the panel came back can be up to 1.2 × cap earlier.',
      );
  }
  // A baseline that happened to poll right as the panel came back recovers in ~0 s: flagged, still shown.
  const recovery = spreadFigure(`${label}: healthy → first fresh data (worst of ${mine.length})`, 's', rec, {
    of: 'worst',
    base: baseline,
    tiny: 0.05,
    baselineLabel: BASELINE[api],
    goal: `≤ ${fmt(goalS, 0)} s (interval + backoff cap)`,
    met: worst !== null && worst <= goalS,
    metRuns: `${rec.filter((v) => v <= goalS).length}/${mine.length}`,
    // Without a recovery of every connection of ours there is no worst: no value, no ratio.
    ...(worst === null && { value: null, ratio: null, note: undefined }),
  });
  const tiny = recovery.note;
  recovery.note =
    api === 'v1'
      ? [bound, tiny].filter(Boolean).join('; ')
      : (baseline === null ? 'the bare client never recovered (no ratio)' : (tiny ?? '')) +
        (worst === null ? '; a connection of ours did not recover' : '');
  if (api === 'v2') {
    const attempts = count('MQTT connection attempts from the fault to recovery', 'conn', 'sent', 'worst');
    attempts.note =
      `ours over ${mine.map((o) => fmt(o.observedS, 1)).join(', ')} s; bare over ${fmt(theirs?.observedS, 1)} s` +
      (theirs?.recoveryS === null ? ' (observation window, never recovered)' : '');
    return [recovery, attempts];
  }
  const what = once
    ? 'requests from the last good cycle to recovery'
    : 'requests sent while the panel was down';
  const requests = count(what, 'req', 'sent', 'median');
  requests.note =
    (requests.note ? `${requests.note}; ` : '') +
    (once
      ? 'the 4 requests of the cycle plus its one in-cycle retry'
      : `${mine.map((o) => o.sentUntilRecovered).join(', ')} until recovered`) +
    `; log lines warn/info ${mine.map((o) => o.logLines).join(', ')}`;
  const failed = count(`failed cycles (worst of ${mine.length})`, 'cycles', 'failedCycles', 'worst');
  if (once) Object.assign(failed, { goal: '0 (retried within the cycle)', met: failed.value === 0 });
  return [recovery, requests, failed];
}

const DEFAULTS = { intervals: [1, 5], refusalS: 60, hangS: 20, replicas: 5 };

async function run({ intervals, refusalS, hangS, replicas }: typeof DEFAULTS): Promise<BenchResult> {
  const faults = faultsOf(refusalS, hangS);
  const halves = await Promise.all(
    (['v1', 'v2'] as const).map((api) => measure(api, faults, intervals, replicas)),
  );
  const figures: Figure[] = [];
  const notes: string[] = [];
  for (const outcomes of halves)
    for (const intervalS of intervals)
      for (const fault of faults) {
        const same = outcomes.filter((o) => o.r.fault === fault && o.r.intervalS === intervalS);
        if (same.length) figures.push(...rows(`${fault.label}, interval ${intervalS} s`, same, notes));
      }
  const v2Warn = halves[1].reduce((a, o) => a + (o.r.ours?.logger.count('warn') ?? 0), 0);
  notes.push(
    'The naive poller recovers as fast as possible because it never backs off: it keeps sending a full cycle every ' +
      'interval while the panel is down (the "requests" rows). Ours trades a few seconds of recovery, always within ' +
      'interval + cap, for less traffic to a struggling panel and one warn + one info log line per outage. Where the ' +
      'naive poller happened to poll right as the panel came back (≈ 0 s) the ratio is still shown, flagged as ' +
      'resting on a tiny denominator.',
    `v2: ${v2Warn} warn lines over all v2 connections during the faults.`,
  );
  return {
    name: 'recovery',
    title: '4. Recovery after faults',
    setup:
      `Real default timing (createPanelSupervisor without tuning) at intervals ${intervals.join(' s and ')} s; ${replicas} ` +
      'supervised connections per fault and interval plus one baseline client, all in parallel, each on its own ' +
      'simulated panel (one sim-host process per API). "Healthy" is taken from the simulator: the moment the single 502 ' +
      'was served, the listener reopened, the hang rule expired, the broker was back, or the CA was rotated. Requests ' +
      'are counted on the client side (every ClientRequest, including refused attempts), MQTT connection attempts ' +
      'per TCP connect to the broker port.',
    figures,
    notes,
    raw: halves
      .flat()
      .map(({ r, ...o }) => ({ fault: r.fault.label, intervalS: r.intervalS, ours: !!r.ours, ...o })),
  };
}

if (require.main === module) benchMain(run, DEFAULTS);
