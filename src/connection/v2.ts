import type { EnergyGuard } from '../model/energy-guard';
import type { TransportCause } from '../supervisor/supervisor';
import type { TimingPolicy } from '../supervisor/timing';
import type { Logger } from '../supervisor/types';
import { detectApi, type DetectResult } from '../transport/detect';
import type { PanelTransport } from '../transport/transport';
import { connectV2, registerV2 } from '../transport/v2';
import type { PanelConnectionConfig, StoredV2Credentials } from './config';

export function detectForConfig(
  config: PanelConnectionConfig,
  timing: TimingPolicy,
  signal: AbortSignal,
): Promise<DetectResult> {
  return detectApi(config.host, { signal, timeoutMs: timing.requestTimeoutMs });
}

/**
 * The v2 transport for a config: stored broker credentials when there are some (registration creates a new
 * client entry on the panel every time, so it is done once and remembered), else one registration with the
 * passphrase (or in the door-proximity window) whose result goes to the credential store. When the panel
 * rejected the stored credentials (`cause` 'auth') and a passphrase is configured, register again.
 */
export async function createV2ForConfig(
  config: PanelConnectionConfig,
  timing: TimingPolicy,
  logger: Logger,
  signal: AbortSignal,
  cause: TransportCause,
  detected?: DetectResult,
  energyGuard?: EnergyGuard,
): Promise<PanelTransport> {
  const stored = cause === 'auth' && config.passphrase ? null : (config.credentialStore?.load() ?? null);
  const { transport, credentials, registered } = await connectV2({
    host: config.host,
    mqttPort: config.mqttPort,
    credentials: stored,
    passphrase: config.passphrase,
    dataModel: detected?.api === 'v2' ? detected.dataModel : undefined,
    logger,
    httpTimeoutMs: timing.requestTimeoutMs,
    // The supervisor owns long-term backoff; the MQTT reconnect loop only needs to keep up with it.
    reconnectMaxMs: timing.backoffCapMs,
    clientName: 'node-red-span',
    signal,
    energyGuard,
  });
  if (registered && credentials) {
    config.credentialStore?.save({
      accessToken: credentials.accessToken,
      brokerUsername: credentials.brokerUsername,
      brokerPassword: credentials.brokerPassword,
      serial: credentials.serial,
    });
    logger.info(`SPAN panel ${config.host}: registered with the panel (serial ${credentials.serial})`);
  }
  return transport;
}

export async function registerV2ForConfig(
  config: PanelConnectionConfig,
  clientName: string,
  timing: TimingPolicy,
  signal: AbortSignal,
): Promise<StoredV2Credentials> {
  const c = await registerV2(config.host, {
    name: clientName,
    passphrase: config.passphrase,
    signal,
    timeoutMs: timing.requestTimeoutMs,
  });
  return {
    accessToken: c.accessToken,
    brokerUsername: c.brokerUsername,
    brokerPassword: c.brokerPassword,
    serial: c.serial,
  };
}
