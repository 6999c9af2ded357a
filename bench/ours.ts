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
import { quietLogger, TOKEN } from './util';

export function v1Config(port: number, intervalS: number, token = TOKEN): PanelConnectionConfig {
  return { host: `127.0.0.1:${port}`, api: 'v1', intervalS, mqttPort: 8883, token };
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
