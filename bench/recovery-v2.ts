/**
 * The v2 half of benchmark 4: a broker restart and a CA rotation on simulated v2 panels (MQTT over TLS).
 * Ours: createPanelSupervisor with api 'v2' and the passphrase (it registers once). Baseline: a bare MQTT.js
 * client with the CA fetched once and MQTT.js' own reconnect every 1 s (what a hand-written flow would do),
 * on an identical panel with the same fault. Connection attempts are counted through the diagnostics channel
 * of new TCP client sockets, per port.
 */
import { bareMqtt, endMqtt } from './baselines';
import { ConnectCounter } from './counters';
import { countFigure, outcomesOf, recoveredAt, recoveryFigure, replicaPlan } from './faults';
import { supervise, v2Config } from './ours';
import { SimHost, V2_SIM_OPTIONS, type HostPanel } from './sims';
import { CountingLogger, fmt, sleep, TOKEN, waitUntil, type Figure } from './util';

export interface V2RecoveryOutcome {
  figures: Figure[];
  notes: string[];
  raw: unknown;
}

type Kind = 'broker-restart' | 'ca-rotation';

interface Runner {
  kind: Kind;
  intervalS: number;
  client: 'ours' | 'bare-mqtt';
  panel: HostPanel;
  fresh(): number[];
  goalS: number;
  boundS: number;
  stop(): Promise<void>;
}

interface Result {
  kind: Kind;
  intervalS: number;
  client: 'ours' | 'bare-mqtt';
  recoveryS: number | null;
  connectsUntilRecovered: number;
  observedS: number;
  goalS: number;
  boundS: number;
}

function ours(kind: Kind, intervalS: number, panel: HostPanel, logger: CountingLogger): Runner {
  const s = supervise(v2Config(panel, intervalS), logger);
  const fresh = () => s.log.data.filter((d) => !d.stale).map((d) => d.at);
  return { kind, intervalS, client: 'ours', panel, fresh, goalS: s.goalS, boundS: s.boundS, stop: s.stop };
}

/** A hand-written MQTT.js client: register once, fetch the CA once, subscribe, reconnect every 1 s. */
async function bare(kind: Kind, intervalS: number, panel: HostPanel): Promise<Runner> {
  const client = await bareMqtt(panel, V2_SIM_OPTIONS.passphrase, 'bench-bare', { connectTimeout: 5000 });
  const fresh: number[] = [];
  let lastMsg = 0;
  client.on('message', () => {
    // "Fresh data" for a push client: the first message after a (re)connect, then at most one per interval.
    const now = Date.now();
    if (now - lastMsg >= intervalS * 1000) fresh.push(now);
    lastMsg = now;
  });
  client.on('close', () => (lastMsg = 0));
  const stop = () => endMqtt(client);
  return { kind, intervalS, client: 'bare-mqtt', panel, fresh: () => fresh, goalS: 0, boundS: 0, stop };
}

export async function runV2Recovery(opts: {
  intervals: number[];
  replicas: number;
}): Promise<V2RecoveryOutcome> {
  const brokerDownS = 10;
  const kinds: Kind[] = ['broker-restart', 'ca-rotation'];
  const plan = replicaPlan(opts.intervals, kinds, opts.replicas, 'bare-mqtt' as const);
  const host = await SimHost.start();
  const counter = new ConnectCounter();
  const runners: Runner[] = [];
  const results: Result[] = [];
  const logger = new CountingLogger();
  try {
    const panels = await host.startPanels(plan.length, {
      token: TOKEN,
      tickMs: 1000,
      v2: { ...V2_SIM_OPTIONS },
    });
    for (let i = 0; i < plan.length; i++) {
      const p = plan[i];
      runners.push(
        p.client === 'ours'
          ? ours(p.kind, p.intervalS, panels[i], logger)
          : await bare(p.kind, p.intervalS, panels[i]),
      );
    }
    await waitUntil('every v2 client has data', () => runners.every((r) => r.fresh().length > 0), 60_000, 50);
    await sleep(2000);
    await Promise.all(
      runners.map(async (r) => {
        const i = r.panel.index;
        let faultAt: number;
        let healthyAt: number;
        if (r.kind === 'broker-restart') {
          const up = host.watchBrokerUp(i);
          faultAt = (await host.inject(i, { kind: 'broker-down', durationMs: brokerDownS * 1000 })).at;
          healthyAt = (await up).at;
        } else {
          const f = await host.inject(i, { kind: 'ca-rotation' });
          faultAt = f.at;
          healthyAt = f.doneAt;
        }
        const limit = Math.max(3 * r.boundS, 30) * 1000;
        const recovered = await recoveredAt(r.fresh, healthyAt, limit);
        const port = r.panel.mqtt ?? 0;
        results.push({
          kind: r.kind,
          intervalS: r.intervalS,
          client: r.client,
          recoveryS: recovered === null ? null : (recovered - healthyAt) / 1000,
          // Until this client recovered, or over the whole observation window when it never did.
          connectsUntilRecovered: counter.count(port, faultAt, recovered ?? Date.now()),
          observedS: ((recovered ?? Date.now()) - faultAt) / 1000,
          goalS: r.goalS,
          boundS: r.boundS,
        });
      }),
    );
  } finally {
    await Promise.all(runners.map((r) => r.stop().catch(() => undefined)));
    counter.stop();
    await host.stop();
  }
  const figures: Figure[] = [];
  const notes: string[] = [];
  const labels: Record<Kind, string> = {
    'broker-restart': `v2 broker restart (${brokerDownS} s down)`,
    'ca-rotation': 'v2 CA rotation',
  };
  for (const intervalS of opts.intervals) {
    for (const kind of kinds) {
      const { mine, theirs: bare } = outcomesOf(results, kind, intervalS);
      const rec = mine.map((r) => r.recoveryS);
      const goalS = mine[0]?.goalS ?? 0;
      const label = `${labels[kind]}, interval ${intervalS} s`;
      const bareRec = bare?.recoveryS ?? null;
      const { figure, worst } = recoveryFigure(
        label,
        rec,
        bareRec,
        'bare MQTT.js, CA fetched once, reconnect 1 s',
        goalS,
        (tiny) =>
          (bareRec === null ? 'the bare client never recovered (no ratio)' : (tiny ?? '')) +
          (rec.some((v) => v === null) ? '; a connection of ours did not recover' : ''),
      );
      figures.push(figure);
      const conns = countFigure(
        `${label}: MQTT connection attempts from the fault to recovery`,
        'conn',
        mine.map((r) => r.connectsUntilRecovered),
        'worst',
        bare?.connectsUntilRecovered,
        'bare MQTT.js, reconnect 1 s',
      ).figure;
      conns.note = `ours over ${mine.map((r) => fmt(r.observedS, 1)).join(', ')} s; bare over ${fmt(bare?.observedS, 1)} s${bareRec === null ? ' (observation window, never recovered)' : ''}`;
      figures.push(conns);
      if (worst === null) notes.push(`${label}: a connection did not recover within the observation window.`);
      else if (worst > goalS)
        notes.push(`${label}: recovery ${fmt(worst, 1)} s exceeds the ${fmt(goalS, 0)} s goal.`);
    }
  }
  notes.push(
    `v2: ${logger.lines.filter((l) => l.level === 'warn').length} warn lines over all v2 connections during the faults.`,
  );
  return { figures, notes, raw: results };
}
