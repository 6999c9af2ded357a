/**
 * The contract between the span-panel config node and the nodes that use it (the users/register/deregister
 * pattern of Node-RED's core MQTT broker node). Types only.
 */
import type { Node, NodeDef, NodeStatus } from 'node-red';
import type { CommandOutcome } from '../../src/transport/transport';
import type { DiagnosticsInput } from '../../src/diagnostics/report';
import type { DataEvent, HealthEvent } from '../../src/supervisor/types';
import type { SettablePriority } from './circuit-command';

export interface PanelUser {
  /** The user node: its id keys the registration, its status shows the panel's health. */
  readonly node: Node;
  /** Every health event (transitions and same-state retry updates, see HealthEvent.transition). */
  onHealth?(health: HealthEvent): void;
  /** Every data event (one per cycle; stale ones while the panel is failing). */
  onData?(data: DataEvent, health: HealthEvent | null): void;
  /** Shows the panel status; defaults to node.status(status). */
  showStatus?(status: NodeStatus): void;
}

/** What a running span-panel config node offers its users (and the admin endpoints). */
export interface PanelConfigNode extends Node {
  /** Secret-free label, e.g. the config name or host. */
  readonly panelLabel: string;
  /** The resolved host (after environment variables), or null when the config is unusable. */
  readonly resolvedHost: string | null;
  readonly api: 'auto' | 'v1' | 'v2';
  readonly health: HealthEvent | null;
  readonly latest: DataEvent | null;
  /** Set when the configuration cannot be used (never contains a secret). */
  readonly configError: string | null;
  register(user: PanelUser): void;
  deregister(user: PanelUser, done: () => void): void;
  refresh(): Promise<DataEvent>;
  setRelay(circuitId: string, state: 'OPEN' | 'CLOSED'): Promise<CommandOutcome>;
  setPriority(circuitId: string, priority: SettablePriority): Promise<CommandOutcome>;
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
}

/** Everything stored in the config node's credentials. The last five are written at runtime only. */
export interface SpanPanelCredentials {
  token?: string;
  passphrase?: string;
  accessToken?: string;
  brokerUsername?: string;
  brokerPassword?: string;
  serial?: string;
  /** The host the v2 registration was made for: a different host means a different panel. */
  registeredHost?: string;
}

export function isPanelConfigNode(n: Node | null | undefined): n is PanelConfigNode {
  return (
    !!n &&
    n.type === 'span-panel' &&
    typeof (n as Partial<PanelConfigNode>).register === 'function' &&
    typeof (n as Partial<PanelConfigNode>).deregister === 'function'
  );
}
