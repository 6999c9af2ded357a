/**
 * Our side, built the way the span-panel config node builds it (createPanelSupervisor), plus a variant that
 * times each cycle from the moment the supervisor asks the transport for a snapshot.
 */
import { createPanelSupervisor, createTransportFor, type ConnectionTuning } from '../src/connection';
import type { PanelConnectionConfig } from '../src/connection/config';
import { PanelSupervisor } from '../src/supervisor/supervisor';
import { timingFor } from '../src/supervisor/timing';
import type { DataEvent, HealthEvent, Logger } from '../src/supervisor/types';
import type { PanelTransport } from '../src/transport/transport';
import { V2_SIM_OPTIONS } from './sims';
import { quietLogger, TOKEN } from './util';

export function v1Config(port: number, intervalS: number, token = TOKEN): PanelConnectionConfig {
  return { host: `127.0.0.1:${port}`, api: 'v1', intervalS, mqttPort: 8883, token };
}

export function v2Config(
  p: { http: number; mqtt: number | null },
  intervalS: number,
  passphrase: string = V2_SIM_OPTIONS.passphrase,
): PanelConnectionConfig {
  return { host: `127.0.0.1:${p.http}`, api: 'v2', intervalS, mqttPort: p.mqtt ?? 8883, passphrase };
}

export function ourSupervisor(
  config: PanelConnectionConfig,
  logger: Logger = quietLogger,
  tuning: ConnectionTuning = {},
): PanelSupervisor {
  return createPanelSupervisor(config, logger, tuning);
}

/**
 * Same options as createPanelSupervisor (connection/index.ts), with `onCycleStart` called when a cycle asks
 * the transport for data: the benchmark then knows when each cycle started without touching the code.
 */
export function timedSupervisor(
  config: PanelConnectionConfig,
  onCycleStart: () => void,
  logger: Logger = quietLogger,
): PanelSupervisor {
  const intervalMs = config.intervalS * 1000;
  const timing = timingFor(intervalMs);
  return new PanelSupervisor({
    intervalMs,
    label: `SPAN panel ${config.host}`,
    logger,
    createTransport: async (signal, cause) => {
      const t: PanelTransport = await createTransportFor(config, timing, logger, signal, cause);
      const read = t.readSnapshot.bind(t);
      t.readSnapshot = (s: AbortSignal) => {
        onCycleStart();
        return read(s);
      };
      return t;
    },
  });
}

/** Records data and health events of one supervisor with timestamps. */
export class EventLog {
  readonly data: { at: number; stale: boolean; receivedAt: number }[] = [];
  readonly health: { at: number; event: HealthEvent }[] = [];
  private readonly off: () => void;

  constructor(readonly sup: PanelSupervisor) {
    this.off = sup.subscribe({
      onData: (d: DataEvent) =>
        this.data.push({ at: Date.now(), stale: d.stale, receivedAt: d.snapshot.receivedAt }),
      onHealth: (h) => this.health.push({ at: Date.now(), event: h }),
    });
  }

  /** Fresh data events (a new snapshot, not the last good one re-sent while failing). */
  fresh(): { at: number }[] {
    return this.data.filter((d) => !d.stale);
  }

  firstFreshAfter(t: number): number | null {
    return this.data.find((d) => !d.stale && d.at >= t && d.receivedAt >= t)?.at ?? null;
  }

  transitions(): string[] {
    return this.health.filter((h) => h.event.transition).map((h) => h.event.state);
  }

  stop(): void {
    this.off();
  }
}

/** A started supervisor with its event log and the recovery goal and bound of its timing policy. */
export interface Supervised {
  sup: PanelSupervisor;
  log: EventLog;
  /** Interval + backoff cap, in seconds: the recovery goal. */
  goalS: number;
  /** The documented recovery bound max(P, 1.2·cap) + T_req, in seconds. */
  boundS: number;
  stop(): Promise<void>;
}

export function supervise(config: PanelConnectionConfig, logger: Logger = quietLogger): Supervised {
  const sup = ourSupervisor(config, logger);
  const log = new EventLog(sup);
  sup.start();
  const t = sup.timingPolicy;
  return {
    sup,
    log,
    goalS: (t.intervalMs + t.backoffCapMs) / 1000,
    boundS: t.recoveryBoundMs / 1000,
    stop: async () => {
      log.stop();
      await sup.stop();
    },
  };
}
