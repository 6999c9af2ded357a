import { EnergyGuard } from '../model/energy-guard';
import type { PanelSnapshot } from '../model/panel';
import { PanelSupervisor, type SupervisorOptions, type TransportCause } from '../supervisor/supervisor';
import { timingFor, type TimingPolicy } from '../supervisor/timing';
import type { Logger } from '../supervisor/types';
import { PanelError } from '../transport/errors';
import type { PanelTransport } from '../transport/transport';
import { createV1Transport, type V1TransportOptions } from '../transport/v1';
import { parseHost, type PanelConnectionConfig, type StoredV2Credentials } from './config';
import { createV2ForConfig, detectForConfig, registerV2ForConfig } from './v2';

export * from './config';

/** Tuning knobs for tests and benchmarks; users only set the interval. */
export type ConnectionTuning = Pick<
  SupervisorOptions,
  | 'timing'
  | 'offlineAfterFailures'
  | 'offlineAfterMs'
  | 'authProbeMs'
  | 'backoffInitialMs'
  | 'watchdogMs'
  | 'random'
> & {
  /** v1 client knobs: the keep-alive race test switches the mitigation off to prove it matters. */
  v1?: Pick<V1TransportOptions, 'idleSocketMs' | 'mitigation' | 'lookup'>;
};

/**
 * Builds the one supervised connection of a panel from a config node's settings. API detection runs inside
 * the supervisor's first cycle, so a panel that is down at deploy time is simply `connecting` and retried.
 */
export function createPanelSupervisor(
  config: PanelConnectionConfig,
  logger: Logger,
  tuning: ConnectionTuning = {},
): PanelSupervisor {
  parseHost(config.host); // fail fast on a malformed host, with a clear message
  const intervalMs = Math.max(0, config.intervalS) * 1000;
  const timing = timingFor(intervalMs > 0 ? intervalMs : 5000, tuning.timing);
  const { v1, ...supervisorTuning } = tuning;
  // One guard per panel connection, not per transport: a rebuilt client must not forget the counters.
  const energyGuard = new EnergyGuard(3, 0.01, config.energyStore ?? null);
  return new PanelSupervisor({
    ...supervisorTuning,
    intervalMs,
    label: `SPAN panel ${config.host}`,
    logger,
    createTransport: (signal, cause) =>
      createTransportFor(config, timing, logger, signal, cause, v1, energyGuard),
  });
}

export async function createTransportFor(
  config: PanelConnectionConfig,
  timing: TimingPolicy,
  logger: Logger,
  signal: AbortSignal,
  cause: TransportCause = 'start',
  v1Options: ConnectionTuning['v1'] = {},
  energyGuard?: EnergyGuard,
): Promise<PanelTransport> {
  const detected = config.api === 'auto' ? await detectForConfig(config, timing, signal) : undefined;
  const api = detected?.api ?? config.api;
  if (api === 'v1') {
    if (!config.token) {
      throw new PanelError(
        'auth',
        'this panel speaks only the legacy v1 API and no access token is configured: press "Register with panel" ' +
          'during the door-proximity window',
      );
    }
    return createV1Transport({
      host: config.host,
      token: config.token,
      requestTimeoutMs: timing.requestTimeoutMs,
      // One call (with its single in-request retry) may use the whole cycle, never more.
      callDeadlineMs: timing.cycleDeadlineMs,
      logger,
      energyGuard,
      ...v1Options,
    });
  }
  return createV2ForConfig(config, timing, logger, signal, cause, detected, energyGuard);
}

export interface ConnectionTestResult {
  ok: true;
  api: 'v1' | 'v2';
  dataModel: PanelSnapshot['dataModel'];
  serial: string;
  firmwareVersion: string | null;
  legacyApi: boolean;
  circuits: { id: string; name: string | null; tabs: number[]; controllable: boolean | null }[];
}

/**
 * One read of the panel for the editor ("Test connection", the circuit picker). Returns no secret.
 * Throws a PanelError whose message is safe to show.
 */
export async function testConnection(
  config: PanelConnectionConfig,
  signal: AbortSignal,
  logger: Logger = quietLogger,
): Promise<ConnectionTestResult> {
  const timing = timingFor(5000);
  const transport = await createTransportFor(config, timing, logger, signal);
  try {
    const snap = await transport.readSnapshot(signal);
    return {
      ok: true,
      api: transport.api,
      dataModel: snap.dataModel,
      serial: snap.panel.serial,
      firmwareVersion: snap.panel.firmwareVersion,
      legacyApi: transport.api === 'v1',
      circuits: Object.values(snap.circuits).map((c) => ({
        id: c.id,
        name: c.name,
        tabs: c.tabs,
        controllable: c.controllable,
      })),
    };
  } finally {
    await transport.close();
  }
}

export type RegistrationResult =
  { api: 'v1'; token: string } | { api: 'v2'; credentials: StoredV2Credentials };

/**
 * Registers this Node-RED with the panel (v2: with the passphrase, or during the door-proximity window;
 * v1: during the door-proximity window). The caller stores the result in Node-RED credentials; it is never
 * logged and never sent to the browser.
 */
export async function registerWithPanel(
  config: PanelConnectionConfig,
  clientName: string,
  signal: AbortSignal,
): Promise<RegistrationResult> {
  const timing = timingFor(5000);
  const api = config.api === 'auto' ? (await detectForConfig(config, timing, signal)).api : config.api;
  if (api === 'v2')
    return { api: 'v2', credentials: await registerV2ForConfig(config, clientName, timing, signal) };
  const v1 = createV1Transport({ host: config.host, requestTimeoutMs: timing.requestTimeoutMs });
  try {
    const { accessToken } = await v1.register(clientName, signal);
    return { api: 'v1', token: accessToken };
  } finally {
    await v1.close();
  }
}

const quietLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
