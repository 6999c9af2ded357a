import { circuitSummaries, type CircuitSummary } from '../model/circuit-map';
import type { ApiKind, PanelSnapshot } from '../model/panel';
import { PanelSupervisor, type SupervisorOptions, type TransportCause } from '../supervisor/supervisor';
import { loopTimingFor, timingFor, type TimingPolicy } from '../supervisor/timing';
import { SILENT_LOGGER, type Logger } from '../util/logger';
import type { PanelTransport } from '../transport/transport';
import { createV1Transport, type V1TransportOptions } from '../transport/v1';
import { createApiWatch, type ApiWatchOptions } from './api-watch';
import { parseHost, type PanelConnectionConfig, type StoredV2Credentials } from './config';
import type { RegistrationGateOptions } from './registration-gate';
import { ConnectionSession } from './session';
import { detectForConfig, registerV2ForConfig } from './v2';

export * from './config';

/** Tuning knobs for tests and benchmarks; users only set the interval. */
export type ConnectionTuning = Pick<
  SupervisorOptions,
  | 'timing'
  | 'offlineAfterFailures'
  | 'offlineAfterMs'
  | 'authProbeInitialMs'
  | 'authProbeMs'
  | 'backoffInitialMs'
  | 'watchdogMs'
  | 'random'
> & {
  /** v1 client knobs: the keep-alive race test switches the mitigation off to prove it matters. */
  v1?: Pick<V1TransportOptions, 'idleSocketMs' | 'mitigation' | 'lookup'>;
  /** `auto` on v1: when /api/v2/status is asked again (api-watch.ts; default 60 s, doubling to 1 h). */
  apiCheck?: Pick<ApiWatchOptions, 'checkInitialMs' | 'checkMaxMs' | 'redetectAfterFailures'>;
  /** Registration deadline and hold-off (registration-gate.ts). */
  registration?: RegistrationGateOptions;
  /** Smallest poll interval the connection accepts, default 1000 ms (tests run faster). */
  minIntervalMs?: number;
};

export const MIN_INTERVAL_MS = 1000;

/**
 * The poll interval actually used: at least 1 s whatever the editor or an environment variable says (a
 * panel is an embedded device), and 0 ("every change") only means something for v2 push; a v1 panel is
 * then polled at the supervisor's health interval.
 */
export function runtimeIntervalMs(intervalS: number, minMs = MIN_INTERVAL_MS): number {
  const ms = Number.isFinite(intervalS) ? intervalS * 1000 : 0;
  if (ms <= 0) return 0;
  return Math.max(minMs, ms);
}

/**
 * Builds the one supervised connection of a panel from a config node's settings. API detection runs inside
 * the supervisor's first cycle, so a panel that is down at deploy time is simply `connecting` and retried;
 * on `auto` the decision is re-tested while the connection runs (api-watch.ts).
 */
export function createPanelSupervisor(
  config: PanelConnectionConfig,
  logger: Logger,
  tuning: ConnectionTuning = {},
): PanelSupervisor {
  parseHost(config.host); // fail fast on a malformed host, with a clear message
  const { v1, apiCheck, registration, minIntervalMs, ...supervisorTuning } = tuning;
  const intervalMs = runtimeIntervalMs(config.intervalS, minIntervalMs);
  const timing = loopTimingFor(intervalMs, tuning.timing);
  const session = new ConnectionSession(config, timing, logger, v1, registration);
  return new PanelSupervisor({
    ...supervisorTuning,
    intervalMs,
    label: `SPAN panel ${config.host}`,
    logger,
    createTransport: (signal, cause, authRejections) => session.create(signal, cause, authRejections),
    apiWatch:
      config.api === 'auto'
        ? createApiWatch({ host: config.host, requestTimeoutMs: timing.requestTimeoutMs, ...apiCheck })
        : undefined,
    dispose: () => session.close(),
  });
}

/** One transport outside a supervisor (editor test, benchmarks): detection, then v1 or v2. */
export async function createTransportFor(
  config: PanelConnectionConfig,
  timing: TimingPolicy,
  logger: Logger,
  signal: AbortSignal,
  cause: TransportCause = 'start',
  v1Options: ConnectionTuning['v1'] = {},
): Promise<PanelTransport> {
  return new ConnectionSession(config, timing, logger, v1Options).create(signal, cause);
}

export interface ConnectionTestResult {
  ok: true;
  api: ApiKind;
  dataModel: PanelSnapshot['dataModel'];
  serial: string;
  firmwareVersion: string | null;
  legacyApi: boolean;
  circuits: CircuitSummary[];
}

/**
 * One read of the panel for the editor ("Test connection", the circuit picker). Returns no secret.
 * Throws a PanelError whose message is safe to show.
 */
export async function testConnection(
  config: PanelConnectionConfig,
  signal: AbortSignal,
  logger: Logger = SILENT_LOGGER,
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
      circuits: circuitSummaries(snap),
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
