import type { PanelSnapshot } from '../../src/model/panel';
import { PanelError } from '../../src/transport/errors';
import type { CommandOutcome, PanelTransport } from '../../src/transport/transport';

/**
 * A PanelTransport whose next outcomes are scripted by the test, for the supervisor's state machine and
 * long backoff schedules under fake timers. Network behaviour is covered by the tests against the
 * simulated panel; this one isolates the supervisor's decisions.
 */
export type Outcome = 'ok' | PanelError | 'hang';

export class ScriptedTransport implements PanelTransport {
  readonly api: 'v1' | 'v2';
  readonly dataModel = 'v1-rest' as const;
  reads = 0;
  probes = 0;
  resets = 0;
  closed = false;
  /** Outcome used when the script is empty. */
  fallback: Outcome = 'ok';
  readonly script: Outcome[] = [];

  constructor(api: 'v1' | 'v2' = 'v2') {
    this.api = api;
  }

  push(...outcomes: Outcome[]): this {
    this.script.push(...outcomes);
    return this;
  }

  private next(signal: AbortSignal): Promise<void> {
    const o = this.script.length > 0 ? this.script.shift()! : this.fallback;
    if (o === 'ok') return Promise.resolve();
    if (o === 'hang') {
      // Honour the abort like a real transport would.
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
      );
    }
    return Promise.reject(o);
  }

  async readSnapshot(signal: AbortSignal): Promise<PanelSnapshot> {
    this.reads += 1;
    await this.next(signal);
    return makeSnapshot(this.reads);
  }

  async probe(signal: AbortSignal): Promise<void> {
    this.probes += 1;
    await this.next(signal);
  }

  reset(): void {
    this.resets += 1;
  }

  async setRelay(circuitId: string, state: 'OPEN' | 'CLOSED'): Promise<CommandOutcome> {
    return { result: 'confirmed', circuitId, requested: state, observed: state };
  }

  async setPriority(circuitId: string, priority: string): Promise<CommandOutcome> {
    return { result: 'unconfirmed', circuitId, requested: priority, observed: null };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export const fail = (
  errorClass: PanelError['errorClass'],
  status?: number,
  retryAfterMs?: number,
): PanelError =>
  new PanelError(errorClass, `scripted ${errorClass}${status ? ` ${status}` : ''}`, { status, retryAfterMs });

export function makeSnapshot(seq: number): PanelSnapshot {
  return {
    api: 'v1',
    dataModel: 'v1-rest',
    receivedAt: Date.now(),
    panel: {
      serial: 'test-serial',
      model: null,
      firmwareVersion: null,
      mainRelay: 'CLOSED',
      gridPowerW: seq,
      feedthroughPowerW: null,
      mainMeterEnergy: { consumedEnergyWh: 1000 + seq, producedEnergyWh: 0, netEnergyWh: 1000 + seq },
      feedthroughEnergy: { consumedEnergyWh: null, producedEnergyWh: null, netEnergyWh: null },
      dsmState: null,
      dsmGridState: null,
      currentRunConfig: null,
      doorState: null,
      proximityProven: null,
      uptimeS: null,
      network: { ethernet: null, wifi: null, cellular: null, vendorCloud: null, wifiSsid: null },
      l1VoltageV: null,
      l2VoltageV: null,
      powerFlows: null,
      mainBreakerRatingA: null,
      panelSize: null,
      postalCode: null,
      timeZone: null,
      gridFormingEntity: null,
      gridFormingEntityRaw: null,
      gridIslandable: null,
      upstreamLugs: { l1CurrentA: null, l2CurrentA: null },
      downstreamLugs: { l1CurrentA: null, l2CurrentA: null },
      shedForecast: null,
    },
    circuits: {},
    battery: null,
    pv: null,
    evse: null,
    unmappedTabs: null,
    energyRegressions: [],
  };
}

/** Captures log lines by level and time, so tests and benchmarks can count warn/info lines (in a window). */
export class CapturingLogger {
  readonly lines: { level: string; msg: string; at: number }[] = [];
  debug = (msg: string) => void this.lines.push({ level: 'debug', msg, at: Date.now() });
  info = (msg: string) => void this.lines.push({ level: 'info', msg, at: Date.now() });
  warn = (msg: string) => void this.lines.push({ level: 'warn', msg, at: Date.now() });
  error = (msg: string) => void this.lines.push({ level: 'error', msg, at: Date.now() });
  count(level: string, from = 0, to = Infinity): number {
    return this.lines.filter((l) => l.level === level && l.at >= from && l.at <= to).length;
  }
}
