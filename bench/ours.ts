/**
 * Our side, built the way the span-panel config node builds it (createPanelSupervisor), plus a variant that
 * reports when each cycle asks the transport for a snapshot.
 */
import { createPanelSupervisor, createTransportFor } from '../src/connection';
import type { PanelConnectionConfig } from '../src/connection/config';
import { PanelSupervisor } from '../src/supervisor/supervisor';
import { timingFor } from '../src/supervisor/timing';
import type { HealthEvent } from '../src/supervisor/types';
import { SILENT_LOGGER } from '../src/util/logger';
import { CapturingLogger } from '../test/helpers/scripted-transport';
import { V2_SIM_OPTIONS, type Api } from './sims';
import { TOKEN } from './util';

/** A span-panel's connection settings for a simulated panel. */
export function configFor(api: Api, p: { http: number; mqtt: number | null }, intervalS: number) {
  const host = `127.0.0.1:${p.http}`;
  const mqttPort = p.mqtt ?? 8883;
  return api === 'v1'
    ? { host, api, intervalS, mqttPort, token: TOKEN }
    : { host, api, intervalS, mqttPort, passphrase: V2_SIM_OPTIONS.passphrase };
}

/**
 * The supervisor createPanelSupervisor (src/connection/index.ts) builds for a v1 connection, without its 1 s
 * interval floor, with `onCycleStart` called when a cycle asks the transport for data.
 */
export function timedSupervisor(config: PanelConnectionConfig, onCycleStart: () => void): PanelSupervisor {
  const intervalMs = config.intervalS * 1000;
  return new PanelSupervisor({
    intervalMs,
    label: `SPAN panel ${config.host}`,
    logger: SILENT_LOGGER,
    createTransport: async (signal, cause) => {
      const t = await createTransportFor(config, timingFor(intervalMs), SILENT_LOGGER, signal, cause);
      const read = t.readSnapshot.bind(t);
      t.readSnapshot = (s: AbortSignal) => (onCycleStart(), read(s));
      return t;
    },
  });
}

/** A started supervisor with its data, health events and log lines, and the recovery goal and bound of its timing. */
export function supervise(config: PanelConnectionConfig) {
  const logger = new CapturingLogger();
  const sup = createPanelSupervisor(config, logger);
  /** Fresh data carries a new snapshot; stale data re-sends the last good one while failing. */
  const data: { at: number; stale: boolean; receivedAt: number }[] = [];
  const health: { at: number; event: HealthEvent }[] = [];
  const off = sup.subscribe({
    onData: (d) => data.push({ at: Date.now(), stale: d.stale, receivedAt: d.snapshot.receivedAt }),
    onHealth: (event) => health.push({ at: Date.now(), event }),
  });
  sup.start();
  const t = sup.timingPolicy;
  return {
    sup,
    logger,
    data,
    health,
    fresh: () => data.filter((d) => !d.stale),
    /** Interval + backoff cap, in seconds: the recovery goal. */
    goalS: (t.intervalMs + t.backoffCapMs) / 1000,
    /** The documented recovery bound max(P, 1.2·cap) + T_req, in seconds. */
    boundS: t.recoveryBoundMs / 1000,
    stop: async () => (off(), await sup.stop()),
  };
}
export type Supervised = ReturnType<typeof supervise>;
