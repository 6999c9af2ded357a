/**
 * The contract between the span-panel config node and the nodes that use it (the users/register/deregister
 * pattern of Node-RED's core MQTT broker node). Types only.
 */
import type { Node, NodeDef, NodeStatus } from 'node-red';
import type { CredentialStore } from '../../src/connection/config';
import type { CaTrust } from '../../src/transport/v2/ca-trust';
import type { CommandOutcome } from '../../src/transport/transport';
import type { DiagnosticsInput } from '../../src/diagnostics/report';
import type { DataEvent, HealthEvent } from '../../src/supervisor/types';
import type { CaChangeEvent } from '../../src/transport/v2/ca-trust';
import type { ApiChoice, SettablePriority, SettableRelay } from '../../src/model/panel';
import type { V2Credentials } from '../../src/transport/v2/credentials';

export interface PanelUser {
  /** The user node: its id keys the registration, its status shows the panel's health. */
  readonly node: Node;
  /** Every health event (transitions and same-state retry updates, see HealthEvent.transition). */
  onHealth?(health: HealthEvent): void;
  /** Every data event (one per cycle; stale ones while the panel is failing). */
  onData?(data: DataEvent, health: HealthEvent | null): void;
  /** Something the panel did that is not a health change (e.g. its CA certificate changed). */
  onEvent?(event: PanelEvent, health: HealthEvent | null): void;
  /** Shows the panel status; defaults to node.status(status). */
  showStatus?(status: NodeStatus): void;
}

/** A panel event for span-status (secret-free). */
export interface PanelEvent {
  event: 'ca-changed';
  /** Human reason, with both fingerprints. */
  reason: string;
  ca: CaChangeEvent;
}

/** Secrets a config node lends to an admin call for its own panel (never for another host). */
export interface LentSecrets {
  token?: string;
  passphrase?: string;
  credentialStore: CredentialStore;
  caTrust: CaTrust | null;
}

/** What a running span-panel config node offers its users (and the admin endpoints). */
export interface PanelConfigNode extends Node {
  /** Secret-free label, e.g. the config name or host. */
  readonly panelLabel: string;
  /** The resolved host (after environment variables), or null when the config is unusable. */
  readonly resolvedHost: string | null;
  /** The resolved MQTT port (null when the config is unusable). */
  readonly resolvedMqttPort: number | null;
  /**
   * This node's secrets and stored registration, only for `host` = its own host or the host its stored
   * registration was made for; null for any other host.
   */
  secretsFor(host: string): LentSecrets | null;
  /** Trusts the CA certificate the panel presents now (after a refusal under `pinned`); its fingerprint. */
  trustPendingCa(): string | null;
  readonly api: ApiChoice;
  readonly health: HealthEvent | null;
  readonly latest: DataEvent | null;
  /** Set when the configuration cannot be used (never contains a secret). */
  readonly configError: string | null;
  register(user: PanelUser): void;
  deregister(user: PanelUser, done: () => void): void;
  refresh(): Promise<DataEvent>;
  setRelay(circuitId: string, state: SettableRelay): Promise<CommandOutcome>;
  setPriority(circuitId: string, priority: SettablePriority): Promise<CommandOutcome>;
  /** Credentials were stored for this node (editor registration): reconnect with them, no redeploy. */
  credentialsChanged(): void;
  setChargeCurrent(circuitId: string, amps: number): Promise<CommandOutcome>;
  /** What the diagnostics file is built from (admin-diagnostics.ts); contains the secrets to scrub. */
  diagnosticsInput?(): DiagnosticsInput;
  /** For tests: the number of listeners the config node holds on its supervisor (0 or 1). */
  readonly supervisorSubscriptions: number;
}

export interface SpanPanelDef extends NodeDef {
  host?: string;
  api?: string;
  interval?: string | number;
  mqttPort?: string | number;
  /** `follow` (default) or `pinned`: what to do when a v2 panel presents a different CA. */
  caPolicy?: string;
}

/** Everything stored in the config node's credentials. All but the first two are written at runtime only. */
export interface SpanPanelCredentials extends Partial<V2Credentials> {
  token?: string;
  passphrase?: string;
  /** The host the v2 registration was made for: a different host means a different panel. */
  registeredHost?: string;
  /** The trusted v2 panel CA (PEM) and the host it was trusted for. */
  caPem?: string;
  caHost?: string;
}

export function isPanelConfigNode(n: Node | null | undefined): n is PanelConfigNode {
  return (
    !!n &&
    n.type === 'span-panel' &&
    typeof (n as Partial<PanelConfigNode>).register === 'function' &&
    typeof (n as Partial<PanelConfigNode>).deregister === 'function'
  );
}
