import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createPanelSupervisor, type ConnectionTuning } from '../../src/connection';
import type { PanelConnectionConfig } from '../../src/connection/config';
import { SimulatedPanel, type SimulatedPanelOptions } from '../../simulator';
import { stripQuery } from '../../simulator/http/request-stats';
import type { PanelSupervisor } from '../../src/supervisor/supervisor';
import type { DataEvent, HealthEvent, HealthState } from '../../src/supervisor/types';
import { CapturingLogger } from '../helpers/scripted-transport';

export const TOKEN = 'scenario-token-8f1d2c';

/**
 * Scaled-down timing for fault scenarios over loopback (docs/resilience.md §4 numbers divided by ~25): the
 * same state machine and ratios, so a run takes seconds instead of minutes.
 */
export const FAST: ConnectionTuning = {
  timing: { requestTimeoutMs: 400, cycleDeadlineMs: 2000, backoffCapMs: 1000 },
  offlineAfterMs: 600,
  backoffInitialMs: 100,
  authProbeMs: 2000,
  watchdogMs: 3000,
  // Sub-second intervals are for loopback tests only: users get at least 1 s.
  minIntervalMs: 0,
};
export const FAST_INTERVAL_S = 0.2;
/** max(P, 1.2·cap) + T_req for FAST. */
export const FAST_RECOVERY_BOUND_MS = Math.max(200, 1.2 * 1000) + 400;

export interface Harness {
  panel: SimulatedPanel;
  sup: PanelSupervisor;
  logger: CapturingLogger;
  health: HealthEvent[];
  data: DataEvent[];
  config: PanelConnectionConfig;
  /** Resolves when the supervisor reaches `state` (rejects after `timeoutMs`). */
  waitFor(state: HealthState, timeoutMs?: number): Promise<number>;
  transitions(): HealthState[];
  close(): Promise<void>;
}

export async function startHarness(
  opts: {
    sim?: SimulatedPanelOptions;
    tuning?: ConnectionTuning;
    intervalS?: number;
    token?: string;
  } = {},
): Promise<Harness> {
  const panel = await SimulatedPanel.start({ token: TOKEN, tickMs: 0, controlPort: null, ...opts.sim });
  const logger = new CapturingLogger();
  const config: PanelConnectionConfig = {
    host: `127.0.0.1:${panel.ports.http}`,
    api: 'v1',
    intervalS: opts.intervalS ?? FAST_INTERVAL_S,
    mqttPort: 8883,
    token: opts.token ?? TOKEN,
  };
  const sup = createPanelSupervisor(config, logger, { ...FAST, ...opts.tuning });
  const health: HealthEvent[] = [];
  const data: DataEvent[] = [];
  const waiters: { state: HealthState; resolve: (t: number) => void }[] = [];
  sup.subscribe({
    onHealth: (e) => {
      health.push(e);
      for (const w of [...waiters]) {
        if (w.state === e.state) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(Date.now());
        }
      }
    },
    onData: (d) => data.push(d),
  });
  sup.start();
  return {
    panel,
    sup,
    logger,
    health,
    data,
    config,
    transitions: () => health.filter((e) => e.transition).map((e) => e.state),
    waitFor(state, timeoutMs = 10_000) {
      if (sup.health.state === state) return Promise.resolve(Date.now());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`state ${state} not reached in ${timeoutMs} ms (now ${sup.health.state})`)),
          timeoutMs,
        );
        waiters.push({
          state,
          resolve: (t) => {
            clearTimeout(timer);
            resolve(t);
          },
        });
      });
    },
    async close() {
      await sup.stop();
      await panel.close();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects unhandled rejections during a test: there must be none. */
export function trackUnhandled(): { list: unknown[]; stop(): void } {
  const list: unknown[] = [];
  const onRejection = (reason: unknown) => list.push(reason);
  process.on('unhandledRejection', onRejection);
  return { list, stop: () => process.off('unhandledRejection', onRejection) };
}

/** Waits until no cycle is in flight, so request counters describe whole cycles only. */
export async function betweenCycles(sup: PanelSupervisor): Promise<void> {
  while ((sup as unknown as { inFlight: unknown }).inFlight !== null) await sleep(2);
}

export interface ConcurrencyWatch {
  /** Most requests in flight at the panel at once, per 'METHOD /path'. */
  readonly maxInFlight: Record<string, number>;
  /** Longest time a request stayed open at the panel (ms), e.g. a hung one until the client gave up. */
  readonly longestOpenMs: number;
  stop(): void;
}

/**
 * Watches the simulated panel's listener for overlapping requests: a request is in flight from its arrival
 * until its response (or, for a hung one, its socket) closes. The listener is the panel's own http.Server
 * (not part of its public API, hence the cast); the watch only observes.
 */
export function watchConcurrency(panel: SimulatedPanel): ConcurrencyWatch {
  const server = (panel as unknown as { http: { server: Server } }).http.server;
  const inFlight = new Map<string, number>();
  const watch = { maxInFlight: {} as Record<string, number>, longestOpenMs: 0, stop: () => undefined };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const key = `${req.method} ${stripQuery(req.url ?? '/')}`;
    const n = (inFlight.get(key) ?? 0) + 1;
    inFlight.set(key, n);
    watch.maxInFlight[key] = Math.max(watch.maxInFlight[key] ?? 0, n);
    const start = Date.now();
    res.once('close', () => {
      inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
      watch.longestOpenMs = Math.max(watch.longestOpenMs, Date.now() - start);
    });
  };
  server.on('request', onRequest);
  watch.stop = () => void server.off('request', onRequest);
  return watch;
}
