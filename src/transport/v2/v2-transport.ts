import { EnergyGuard } from '../../model/energy-guard';
import type { PanelSnapshot, SettablePriority, SettableRelay } from '../../model/panel';
import { PanelError } from '../errors';
import type { CommandOutcome, PanelTransport } from '../transport';
import { BrokerSession } from './broker-session';
import type { CaTrust } from './ca-trust';
import { Changes } from './changes';
import { Commander } from './commander';
import { dataModelFor, FLAT_MODEL, type V2DataModel, type V2DataModelStrategy } from './data-model';
import { HomieTree } from './homie-tree';
import { DEFAULT_MAX_PACKET_BYTES } from './packet-limit';
import { parseHost } from '../host';
import { TreeReader } from './tree-reader';
import { SILENT_LOGGER } from '../../util/logger';

import type { BrokerSessionCounters, V2BrokerCredentials, V2Logger } from './session-types';

export type { V2BrokerCredentials, V2Logger } from './session-types';
export type { V2DataModel } from './data-model';

/**
 * The v2 "SPAN API" transport: MQTT over TLS to the panel's own broker, Homie 5 parsed into the same
 * PanelSnapshot the v1 client produces. Three parts with one job each, sharing one Homie tree:
 * - BrokerSession (broker-session.ts): the connection — serial, panel CA, TLS, subscriptions — one attempt
 *   at a time and only when asked; it reports what happened (connected, lost, refused, TLS failure) and
 *   never decides when to try again: the supervisor does (see transport.ts);
 * - TreeReader (tree-reader.ts): assembles whole snapshots from the tree;
 * - Commander (commander.ts): publishes a command once and waits for the panel to confirm it.
 * The data model (flat or parent/child) is one strategy object (data-model.ts) chosen from the panel's
 * `$description`.
 *
 * Connection policy: TLS to the host the user configured (never the advertised .local name), trusting only
 * the panel CA — the one the owner stored (`caTrust`, see ca-trust.ts: a changed CA is followed or refused,
 * never taken silently), else the one fetched from /api/v2/certificate/ca; incoming MQTT packets are
 * limited in size (packet-limit.ts); nothing is ever published to `$state` and no will is set.
 */

export interface V2TransportOptions {
  /** Panel host or IP as configured (optionally "host:httpPort"). MQTT goes to this host too. */
  host: string;
  httpPort?: number;
  /** MQTTS port, default 8883. */
  mqttPort?: number;
  credentials: V2BrokerCredentials | null;
  /** Only used by connectV2 (register when there are no credentials); never logged. */
  passphrase?: string;
  /** From detection; the panel's `$description` has the last word once it arrives. */
  dataModel?: V2DataModel;
  logger?: V2Logger;
  /** Failed attempts in a row after which the next one re-fetches the CA and rebuilds everything; default 3. */
  rebuildAfterFailures?: number;
  /** CONNACK deadline, default 15 000 ms. */
  connectTimeoutMs?: number;
  /** MQTT keepalive, default 60 s. */
  keepaliveS?: number;
  /** No message for this long while connected ⇒ readSnapshot throws 'stale-data'; default 60 000 ms. */
  staleAfterMs?: number;
  /** How long a command waits for the panel to republish the requested value; default 5000 ms. */
  commandTimeoutMs?: number;
  /** The panel's energy guard, shared across transport rebuilds (and persisted by the caller). */
  energyGuard?: EnergyGuard;
  /** Per-request timeout of the REST bootstrap calls, default 5000 ms. */
  httpTimeoutMs?: number;
  /** After the panel's `$description`, how long to wait for listed children to describe themselves; 2000 ms. */
  childSettleMs?: number;
  /** The panel CA to trust and the policy for a changed one; without it the fetched CA is used as is. */
  caTrust?: CaTrust;
  /** Largest MQTT packet accepted from the broker, default DEFAULT_MAX_PACKET_BYTES (1 MiB). */
  maxPacketBytes?: number;
  now?: () => number;
}

export interface V2TransportStats extends BrokerSessionCounters {
  connected: boolean;
  publishes: number;
  lastError: PanelError | null;
}

export class V2Transport implements PanelTransport {
  readonly api = 'v2' as const;

  private readonly tree = new HomieTree();
  private readonly changes = new Changes();
  private readonly session: BrokerSession;
  private readonly reader: TreeReader;
  private readonly commander: Commander;
  private readonly log: V2Logger;
  private readonly dataModelHint: V2DataModel | null;
  private readonly unsubscribeTrust: (() => void) | null;
  private readonly dataListeners: Array<() => void> = [];
  private readonly connListeners: Array<(connected: boolean, error?: Error) => void> = [];
  private dataPending: NodeJS.Immediate | null = null;

  constructor(options: V2TransportOptions, credentials: V2BrokerCredentials) {
    const now = options.now ?? Date.now;
    this.log = options.logger ?? SILENT_LOGGER;
    this.dataModelHint = options.dataModel ?? null;
    this.session = new BrokerSession(
      {
        ep: { host: options.host, httpPort: options.httpPort, timeoutMs: options.httpTimeoutMs ?? 5000 },
        hostname: parseHost(options.host).hostname,
        mqttPort: options.mqttPort ?? 8883,
        serial: credentials.serial ?? null,
        caTrust: options.caTrust ?? null,
        maxPacketBytes: options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES,
        rebuildAfterFailures: options.rebuildAfterFailures ?? 3,
        connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
        keepaliveS: options.keepaliveS ?? 60,
        log: this.log,
        now,
        tree: this.tree,
        changes: this.changes,
        onMessage: () => this.scheduleData(),
        onConnectionChange: (connected, error) => this.emitConnection(connected, error),
      },
      credentials,
    );
    const model = () => this.model;
    this.reader = new TreeReader({
      session: this.session,
      tree: this.tree,
      changes: this.changes,
      guard: options.energyGuard ?? new EnergyGuard(),
      model,
      now,
      staleAfterMs: options.staleAfterMs ?? 60_000,
      childSettleMs: options.childSettleMs ?? 2000,
    });
    this.commander = new Commander({
      session: this.session,
      tree: this.tree,
      changes: this.changes,
      model,
      now,
      commandTimeoutMs: options.commandTimeoutMs ?? 5000,
    });
    // The user trusted a refused CA: try again now rather than at the supervisor's next backoff step.
    this.unsubscribeTrust = options.caTrust?.onTrustChanged(() => this.reset()) ?? null;
  }

  /** Starts the first connection attempt (createV2Transport does this). */
  start(): this {
    this.session.begin();
    return this;
  }

  private get model(): V2DataModelStrategy {
    const serial = this.session.serial;
    return (
      dataModelFor(serial ? this.tree.device(serial)?.description : null, this.dataModelHint) ?? FLAT_MODEL
    );
  }

  get dataModel(): V2DataModel | null {
    const serial = this.session.serial;
    return (
      dataModelFor(serial ? this.tree.device(serial)?.description : null, this.dataModelHint)?.name ?? null
    );
  }

  get isConnected(): boolean {
    return this.session.connected;
  }

  get stats(): V2TransportStats {
    return {
      ...this.session.counters,
      publishes: this.commander.publishes,
      connected: this.session.connected,
      lastError: this.session.lastError,
    };
  }

  // ---- PanelTransport -------------------------------------------------------------------------------------

  readSnapshot(signal: AbortSignal): Promise<PanelSnapshot> {
    return this.reader.read(signal);
  }

  /** Connected, or one attempt to connect (started now when none is under way) within `signal`. */
  async probe(signal: AbortSignal): Promise<void> {
    await this.session.awaitConnected(signal);
  }

  /** Drops the connection and starts a fresh attempt now (new CA fetch, new client). */
  reset(): void {
    this.session.reset();
  }

  setRelay(circuitId: string, state: SettableRelay, signal: AbortSignal): Promise<CommandOutcome> {
    return this.commander.setRelay(circuitId, state, signal);
  }

  setPriority(circuitId: string, priority: SettablePriority, signal: AbortSignal): Promise<CommandOutcome> {
    return this.commander.setPriority(circuitId, priority, signal);
  }

  setChargeCurrent(circuitId: string, amps: number, signal: AbortSignal): Promise<CommandOutcome> {
    return this.commander.setChargeCurrent(circuitId, amps, signal);
  }

  // ---- listeners ------------------------------------------------------------------------------------------

  onData(listener: () => void): void {
    this.dataListeners.push(listener);
  }

  onConnectionChange(listener: (connected: boolean, error?: Error) => void): void {
    this.connListeners.push(listener);
  }

  /** Coalesced: a retained burst of hundreds of messages is one notification. */
  private scheduleData(): void {
    if (this.dataPending || this.dataListeners.length === 0 || this.session.isClosed) return;
    this.dataPending = setImmediate(() => {
      this.dataPending = null;
      this.fanOut(this.dataListeners, 'data', (l) => l());
    });
  }

  private emitConnection(connected: boolean, error?: Error): void {
    this.fanOut(this.connListeners, 'connection', (l) => l(connected, error));
  }

  private fanOut<L>(listeners: L[], what: string, call: (l: L) => void): void {
    for (const l of [...listeners]) {
      try {
        call(l);
      } catch (e) {
        this.log.debug(`${this.session.where}: a ${what} listener threw: ${String(e)}`);
      }
    }
  }

  async close(): Promise<void> {
    this.unsubscribeTrust?.();
    if (this.dataPending) clearImmediate(this.dataPending);
    this.dataPending = null;
    await this.session.close();
    this.dataListeners.length = 0;
    this.connListeners.length = 0;
  }
}

/** Builds the transport and starts its first connection attempt. Throws PanelError('auth') without credentials. */
export function createV2Transport(opts: V2TransportOptions): V2Transport {
  const creds = opts.credentials;
  if (!creds || typeof creds.brokerPassword !== 'string' || creds.brokerPassword === '') {
    throw new PanelError(
      'auth',
      'no SPAN API (v2) broker credentials: register with the panel passphrase (or during the door-proximity window) first',
    );
  }
  return new V2Transport(opts, creds).start();
}
