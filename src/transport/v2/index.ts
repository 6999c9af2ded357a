import { PanelError } from '../errors';
import { registerV2, type V2Registration } from './register';
import { pickV2Credentials } from './credentials';
import { createV2Transport, type V2Transport, type V2TransportOptions } from './v2-transport';

export {
  createV2Transport,
  V2Transport,
  type V2BrokerCredentials,
  type V2DataModel,
  type V2Logger,
  type V2TransportOptions,
  type V2TransportStats,
} from './v2-transport';
export { registerV2, redact, uniqueClientName, type RegisterOptions, type V2Registration } from './register';
export { pickV2Credentials, V2_CREDENTIAL_FIELDS, type V2Credentials } from './credentials';
export { fetchCaPem, fetchV2Status, V2_PATHS, type V2Status } from './rest';
export { HomieTree, parseDescription } from './homie-tree';
export { buildFlatSnapshot, parseFlat } from './homie-flat';
export { buildParentChildSnapshot, parseParentChild } from './homie-parent-child';
export { brokerIdentityCheck, classifyMqttError } from './mqtt-errors';
export {
  CaTrust,
  caFingerprint,
  CA_CHANGED_CODE,
  CA_POLICIES,
  type CaChangeEvent,
  type CaPolicy,
} from './ca-trust';
export { DEFAULT_MAX_PACKET_BYTES } from './packet-limit';

export interface ConnectV2Options extends V2TransportOptions {
  /** Base name for a new registration (a random suffix is appended). */
  clientName?: string;
  signal?: AbortSignal;
}

export interface ConnectV2Result {
  transport: V2Transport;
  /** The credentials in use: persist them when `registered` is true (never log them). */
  credentials: V2Registration | null;
  registered: boolean;
}

/**
 * Creates the transport, registering first (with the passphrase, or in the door-proximity window) when
 * there are no broker credentials yet. The new credentials come back to the caller for persisting; they
 * are never logged. A refused registration throws PanelError('auth'), a panel not ready yet 'gateway'.
 */
export async function connectV2(opts: ConnectV2Options): Promise<ConnectV2Result> {
  if (opts.credentials && opts.credentials.brokerPassword) {
    return { transport: createV2Transport(opts), credentials: null, registered: false };
  }
  if (opts.signal?.aborted) throw new PanelError('canceled', 'registration canceled');
  const creds = await registerV2(opts.host, {
    name: opts.clientName,
    passphrase: opts.passphrase,
    signal: opts.signal,
    timeoutMs: opts.httpTimeoutMs,
    httpPort: opts.httpPort,
  });
  const transport = createV2Transport({
    ...opts,
    mqttPort: opts.mqttPort ?? creds.mqttsPort ?? undefined,
    credentials: pickV2Credentials(creds),
  });
  return { transport, credentials: creds, registered: true };
}
