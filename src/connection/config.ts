import type { CaTrust } from '../transport/v2/ca-trust';
import type { V2Credentials } from '../transport/v2/credentials';
import type { EnergyGuardStore } from '../model/energy-guard';
import type { ApiChoice } from '../model/panel';

export { parseHost } from '../transport/host';

/** What a span-panel config node passes down to build one panel connection. Secrets stay in memory only. */
export interface PanelConnectionConfig {
  /** Host name or IP, optionally with ":port" for the HTTP API (the simulated panel uses a port). */
  host: string;
  api: ApiChoice;
  /** Poll / snapshot interval in seconds (v2: 0 = every change). */
  intervalS: number;
  /** v2 MQTT over TLS port (8883 on a real panel). */
  mqttPort: number;
  /** v1 access token, or a v2 access token from an earlier registration. */
  token?: string;
  /** v2 hop passphrase: with no stored broker credentials the connection registers once with it. */
  passphrase?: string;
  /** Remembers the v2 registration result (Node-RED credentials) so a restart reuses it. */
  credentialStore?: CredentialStore;
  /** The stored panel CA and the policy for a changed one (v2); without it the fetched CA is used as is. */
  caTrust?: CaTrust;
  /** Keeps the energy counters' guard state across restarts (the config node's context). */
  energyStore?: EnergyGuardStore;
}

/**
 * The v2 registration result the connection needs to log in to the panel's broker again, with the panel CA
 * (PEM) fetched right after an explicit registration, trusted from then on.
 */
export type StoredV2Credentials = V2Credentials & { caPem?: string };

export interface CredentialStore {
  load(): StoredV2Credentials | null;
  save(creds: StoredV2Credentials): void;
}
