import type { CaTrust } from '../transport/v2/ca-trust';
import type { EnergyGuardStore } from '../model/energy-guard';

/** What a span-panel config node passes down to build one panel connection. Secrets stay in memory only. */
export interface PanelConnectionConfig {
  /** Host name or IP, optionally with ":port" for the HTTP API (the simulated panel uses a port). */
  host: string;
  api: 'auto' | 'v1' | 'v2';
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

/** The v2 registration result the connection needs to log in to the panel's broker again. */
export interface StoredV2Credentials {
  accessToken: string;
  brokerUsername: string;
  brokerPassword: string;
  serial: string;
  /** The panel CA (PEM) fetched right after an explicit registration, trusted from then on. */
  caPem?: string;
}

export interface CredentialStore {
  load(): StoredV2Credentials | null;
  save(creds: StoredV2Credentials): void;
}

/** Splits "host[:port]" and rejects anything that is not a plain host: no scheme, path or credentials. */
export function parseHost(input: string): { hostname: string; port: number | null } {
  const s = input.trim();
  if (!s) throw new Error('no panel host configured');
  if (/[/@?#\s]/.test(s)) throw new Error(`"${s}" is not a host name or IP address (no scheme or path)`);
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d+))?$/i.exec(s);
  if (v6) return { hostname: v6[1], port: v6[2] ? Number(v6[2]) : null };
  const m = /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m) throw new Error(`"${s}" is not a host name or IP address`);
  const port = m[2] ? Number(m[2]) : null;
  if (port !== null && (port < 1 || port > 65535)) throw new Error(`port ${port} out of range`);
  return { hostname: m[1], port };
}
