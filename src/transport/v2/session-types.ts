import type { DebugLogger } from '../../util/logger';
import type { PanelError } from '../errors';
import type { CaTrust } from './ca-trust';
import type { Changes } from './changes';
import type { HomieTree } from './homie-tree';
import type { V2Endpoint } from './rest';

/** What the broker session is given and what it counts (see broker-session.ts). */

export interface V2BrokerCredentials {
  brokerPassword: string;
  /** Panel serial = broker user name = Homie device id; read from /api/v2/status when missing. */
  serial?: string;
  brokerUsername?: string;
  accessToken?: string;
}

/** The v2 transport logs like every transport (src/util/logger.ts). */
export type V2Logger = DebugLogger;

export interface BrokerSessionOptions {
  ep: V2Endpoint;
  hostname: string;
  mqttPort: number;
  serial: string | null;
  caTrust: CaTrust | null;
  maxPacketBytes: number;
  rebuildAfterFailures: number;
  connectTimeoutMs: number;
  keepaliveS: number;
  log: V2Logger;
  now: () => number;
  /** The Homie tree messages are ingested into (cleared on every rebuild). */
  tree: HomieTree;
  changes: Changes;
  /** A panel publish was ingested. */
  onMessage: () => void;
  /** What happened to the connection: connected, lost, refused, TLS failure… (each change reported once). */
  onConnectionChange: (connected: boolean, error?: PanelError) => void;
}

/** Counters for tests and diagnostics. */
export interface BrokerSessionCounters {
  connectAttempts: number;
  connections: number;
  caFetches: number;
  caFetchFailures: number;
  caChanges: number;
  rebuilds: number;
}
