/**
 * Our side, built the way the span-panel config node builds it (createPanelSupervisor), plus a variant that
 * times each cycle from the moment the supervisor asks the transport for a snapshot.
 */
import { createPanelSupervisor, createTransportFor } from '../src/connection';
import type { PanelConnectionConfig } from '../src/connection/config';
import { PanelSupervisor } from '../src/supervisor/supervisor';
import { timingFor } from '../src/supervisor/timing';
import type { HealthEvent } from '../src/supervisor/types';
import { SILENT_LOGGER, type Logger } from '../src/util/logger';
import { V2_SIM_OPTIONS } from './sims';
import { TOKEN } from './util';

export function v1Config(port: number, intervalS: number): PanelConnectionConfig {
  return { host: `127.0.0.1:${port}`, api: 'v1', intervalS, mqttPort: 8883, token: TOKEN };
}

export function v2Config(
  p: { http: number; mqtt: number | null },
  intervalS: number,
  passphrase: string = V2_SIM_OPTIONS.passphrase,
): PanelConnectionConfig {
  return { host: `127.0.0.1:${p.http}`, api: 'v2', intervalS, mqttPort: p.mqtt ?? 8883, passphrase };
}

export const ourSupervisor = (
  config: PanelConnectionConfig,
  logger: Logger = SILENT_LOGGER,
): PanelSupervisor => createPanelSupervisor(config, logger);

/**
 * The options createPanelSupervisor (src/connection/index.ts) gives a v1 connection, without its 1 s interval
 * floor, with `onCycleStart` called when a cycle asks the transport for data: the benchmark then knows when
 * each cycle started without touching the code.
 */
export function timedSupervisor(config: PanelConnectionConfig, onCycleStart: () => void): PanelSupervisor {
  const intervalMs = config.intervalS * 1000;
  const timing = timingFor(intervalMs);
  return new PanelSupervisor({
    intervalMs,
    label: `SPAN panel ${config.host}`,
    logger: SILENT_LOGGER,
    createTransport: async (signal, cause) => {
      const t = await createTransportFor(config, timing, SILENT_LOGGER, signal, cause);
      const read = t.readSnapshot.bind(t);
      t.readSnapshot = (s: AbortSignal) => {
        onCycleStart();
        return read(s);
      };
      return t;
    },
  });
}

/** A started supervisor with its data and health events, and the recovery goal and bound of its timing. */
export interface Supervised {
  sup: PanelSupervisor;
  log: {
    /** Data events: fresh ones carry a new snapshot, stale ones re-send the last good one while failing. */
    data: { at: number; stale: boolean; receivedAt: number }[];
    health: { at: number; event: HealthEvent }[];
    fresh(): { at: number }[];
    /** The states entered, in order. */
    transitions(): string[];
  };
  /** Interval + backoff cap, in seconds: the recovery goal. */
  goalS: number;
  /** The documented recovery bound max(P, 1.2·cap) + T_req, in seconds. */
  boundS: number;
  stop(): Promise<void>;
}

export function supervise(config: PanelConnectionConfig, logger: Logger = SILENT_LOGGER): Supervised {
  const sup = ourSupervisor(config, logger);
  const data: Supervised['log']['data'] = [];
  const health: Supervised['log']['health'] = [];
  const off = sup.subscribe({
    onData: (d) => data.push({ at: Date.now(), stale: d.stale, receivedAt: d.snapshot.receivedAt }),
    onHealth: (event) => health.push({ at: Date.now(), event }),
  });
  sup.start();
  const t = sup.timingPolicy;
  return {
    sup,
    log: {
      data,
      health,
      fresh: () => data.filter((d) => !d.stale),
      transitions: () => health.filter((h) => h.event.transition).map((h) => h.event.state),
    },
    goalS: (t.intervalMs + t.backoffCapMs) / 1000,
    boundS: t.recoveryBoundMs / 1000,
    stop: async () => {
      off();
      await sup.stop();
    },
  };
}
