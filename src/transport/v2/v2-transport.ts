import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { EnergyGuard } from '../../model/energy-guard';
import type { Circuit, DataModel, PanelSnapshot, RelayState, ShedPriority } from '../../model/panel';
import { asPanelError, PanelError } from '../errors';
import type { CommandOutcome, PanelTransport } from '../transport';
import { buildFlatSnapshot, flatCommandTopics, parseFlat } from './homie-flat';
import {
  buildParentChildSnapshot,
  effectiveState,
  parentChildChargeCurrentTarget,
  parentChildCommandTopics,
  parseParentChild,
  treeDeviceIds,
} from './homie-parent-child';
import { flatChargeCurrentTarget } from './homie-der';
import { HomieTree, HOMIE_PREFIX, type HomieDeviceDescription } from './homie-tree';
import { CaTrust } from './ca-trust';
import { brokerIdentityCheck, classifyMqttError } from './mqtt-errors';
import { DEFAULT_MAX_PACKET_BYTES, limitIncomingPackets } from './packet-limit';
import { fetchCaPem, fetchV2Status, splitHost, type V2Endpoint, type V2Status } from './rest';

/**
 * The v2 "SPAN API" transport: MQTT over TLS to the panel's own broker, Homie 5 parsed into the same
 * PanelSnapshot the v1 client produces.
 *
 * Connection policy (span-api.md §3.2, §8 #242):
 * - TLS to the host the user configured (never the advertised .local name), trusting only the panel CA: the
 *   one the owner stored (`caTrust`, see ca-trust.ts: a changed CA is followed or refused, never taken
 *   silently), else the one fetched from /api/v2/certificate/ca;
 * - incoming MQTT packets are limited in size (`maxPacketBytes`, see packet-limit.ts);
 * - one MQTT.js client per connection attempt, with MQTT.js' own reconnect off: our loop reconnects with
 *   backoff (1 s ×2, capped), and after `rebuildAfterFailures` consecutive failures or any TLS failure it
 *   re-fetches the CA and starts from scratch (the fix for SPAN #242). A CA fetch that fails is logged at
 *   debug and the loop goes on with the CA it had. Nothing stops the loop but close();
 * - a client is never reused after its connection ends, so MQTT.js cannot deliver a queued command later;
 *   commands are only published while connected, QoS 1, not retained; nothing is ever published to
 *   `$state` and no will is set.
 */

export type V2DataModel = Extract<DataModel, 'v2-flat' | 'v2-parent-child'>;

export interface V2BrokerCredentials {
  brokerPassword: string;
  /** Panel serial = broker user name = Homie device id; read from /api/v2/status when missing. */
  serial?: string;
  brokerUsername?: string;
  accessToken?: string;
}

export interface V2Logger {
  debug(msg: string): void;
  info?(msg: string): void;
  warn?(msg: string): void;
}

/** J1772's lowest charge rate: the panel's floor for the user charge-current ceiling. */
const MIN_CHARGE_CURRENT_A = 6;

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
  /** First reconnect delay, default 1000 ms; doubles per failure. */
  reconnectInitialMs?: number;
  /** Reconnect delay cap, default 60 000 ms. */
  reconnectMaxMs?: number;
  /** Consecutive failures after which the CA is re-fetched and everything rebuilt; default 3. */
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
  random?: () => number;
}

export interface V2TransportStats {
  connected: boolean;
  connectAttempts: number;
  connections: number;
  caFetches: number;
  caFetchFailures: number;
  caChanges: number;
  rebuilds: number;
  publishes: number;
  lastError: PanelError | null;
}

interface CommandTarget {
  set: string;
  device: string;
  key: string;
}

/** 'parked': the broker refused the login; no reconnect until reset() (the supervisor owns that retry). */
type Phase = 'starting' | 'rebuilding' | 'connecting' | 'connected' | 'waiting' | 'parked' | 'closed';

/** After a connect, readSnapshot waits for this much quiet in the retained replay, for at most … */
const BURST_QUIET_MS = 100;
/** … this long after the connection was established. */
const BURST_SETTLE_MAX_MS = 1500;

const NOOP_LOGGER: V2Logger = { debug: () => {} };

/** Exponential backoff with ±10 % jitter, reset on success. */
class ReconnectBackoff {
  private attempt = 0;
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number,
  ) {}
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return Math.round(base * (0.9 + 0.2 * this.random()));
  }
  reset(): void {
    this.attempt = 0;
  }
}

function isParentChildDescription(d: HomieDeviceDescription): boolean {
  return (
    d.children.length > 0 || d.nodes.some(([, n]) => n.type?.startsWith('energy.ebus.capability.') === true)
  );
}

export class V2Transport implements PanelTransport {
  readonly api = 'v2' as const;

  private readonly tree = new HomieTree();
  private readonly guard: EnergyGuard;
  private readonly ep: V2Endpoint;
  private readonly hostname: string;
  private readonly mqttPort: number;
  private readonly log: V2Logger;
  private readonly now: () => number;
  private readonly backoff: ReconnectBackoff;
  private readonly life = new AbortController();
  private readonly opts: Required<
    Pick<
      V2TransportOptions,
      | 'rebuildAfterFailures'
      | 'connectTimeoutMs'
      | 'keepaliveS'
      | 'staleAfterMs'
      | 'commandTimeoutMs'
      | 'childSettleMs'
    >
  >;

  private serial: string | null;
  private ca: string | null = null;
  private readonly caTrust: CaTrust | null;
  /** A fetched CA that becomes the trusted one once a connection with it passes TLS verification. */
  private caToConfirm: string | null = null;
  /** The panel presents a CA the policy refuses: no connection until it is trusted. */
  private caRefused = false;
  private readonly unsubscribeTrust: (() => void) | null;
  private readonly maxPacketBytes: number;
  private restStatus: V2Status | null = null;
  /** Private field: the MQTT.js client keeps the broker password in its options. */
  #client: MqttClient | null = null;
  private connected = false;
  private everConnected = false;
  private phase: Phase = 'starting';
  private failures = 0;
  private needRebuild = true;
  private lastError: PanelError | null = null;
  private lastMessageAt = 0;
  private rootDescribedAt: number | null = null;
  private connectedAt = 0;
  private subscribed = new Set<string>();
  private wakeSleep: (() => void) | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly dataListeners: Array<() => void> = [];
  private readonly connListeners: Array<(connected: boolean, error?: Error) => void> = [];
  private dataPending: NodeJS.Immediate | null = null;
  private loop: Promise<void> | null = null;
  private readonly counters = {
    connectAttempts: 0,
    connections: 0,
    caFetches: 0,
    caFetchFailures: 0,
    caChanges: 0,
    rebuilds: 0,
    publishes: 0,
  };

  /** A true private field: never enumerated, so never in JSON.stringify or util.inspect of the transport. */
  readonly #credentials: V2BrokerCredentials;
  private readonly dataModelHint: V2DataModel | null;

  constructor(options: V2TransportOptions, credentials: V2BrokerCredentials) {
    this.guard = options.energyGuard ?? new EnergyGuard();
    this.#credentials = { ...credentials };
    this.dataModelHint = options.dataModel ?? null;
    this.ep = { host: options.host, httpPort: options.httpPort, timeoutMs: options.httpTimeoutMs ?? 5000 };
    this.hostname = splitHost(options.host).hostname;
    this.mqttPort = options.mqttPort ?? 8883;
    this.log = options.logger ?? NOOP_LOGGER;
    this.now = options.now ?? Date.now;
    this.serial = credentials.serial ?? null;
    this.backoff = new ReconnectBackoff(
      options.reconnectInitialMs ?? 1000,
      options.reconnectMaxMs ?? 60_000,
      options.random ?? Math.random,
    );
    this.opts = {
      rebuildAfterFailures: options.rebuildAfterFailures ?? 3,
      connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
      keepaliveS: options.keepaliveS ?? 60,
      staleAfterMs: options.staleAfterMs ?? 60_000,
      commandTimeoutMs: options.commandTimeoutMs ?? 5000,
      childSettleMs: options.childSettleMs ?? 2000,
    };
    this.caTrust = options.caTrust ?? null;
    this.maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    // The user trusted a refused CA: reconnect now rather than after the backoff.
    this.unsubscribeTrust = this.caTrust?.onTrustChanged(() => this.reset()) ?? null;
  }

  /** Starts the connection loop (createV2Transport does this). */
  start(): this {
    this.loop ??= this.run();
    return this;
  }

  get dataModel(): V2DataModel | null {
    const d = this.serial ? this.tree.device(this.serial)?.description : null;
    if (d) return isParentChildDescription(d) ? 'v2-parent-child' : 'v2-flat';
    return this.dataModelHint;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  get stats(): V2TransportStats {
    return { ...this.counters, connected: this.connected, lastError: this.lastError };
  }

  private get where(): string {
    return `MQTT ${this.hostname}:${this.mqttPort}`;
  }

  // ---- connection loop ------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    while (this.phase !== 'closed') {
      try {
        if (this.needRebuild || this.ca === null || this.serial === null) await this.rebuild();
        if (this.isClosed()) break;
        if (this.ca !== null && this.serial !== null && !this.caRefused) {
          const ended = await this.connectOnce(this.ca, this.serial);
          if (ended.wasConnected) {
            this.failures = 0;
            this.backoff.reset();
          } else if (ended.error.errorClass === 'auth') {
            // Retrying a refused login is the supervisor's call (fresh credentials, its own schedule): no
            // reconnect loop of ours keeps knocking behind it.
            await this.park(ended.error);
            continue;
          } else {
            this.failures += 1;
            if (ended.error.errorClass === 'tls' || this.failures >= this.opts.rebuildAfterFailures) {
              this.needRebuild = true;
            }
          }
        } else {
          this.failures += 1;
        }
      } catch (e) {
        // Nothing may end the loop but close(): log and go round again.
        this.failures += 1;
        this.log.debug(`${this.where}: connection loop: ${asPanelError(e).message}`);
      }
      if (this.isClosed()) break;
      this.phase = 'waiting';
      this.notify();
      await this.sleep(this.backoff.next());
    }
  }

  private isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** Re-fetches the CA (and the serial when unknown) and forgets the Homie state: a fresh start. */
  private async rebuild(): Promise<void> {
    this.phase = 'rebuilding';
    this.counters.rebuilds += 1;
    // The counter restarts with every rebuild attempt so the loop keeps cycling through long outages.
    this.needRebuild = false;
    this.failures = 0;
    const signal = this.life.signal;
    try {
      if (this.serial === null) {
        this.restStatus = await fetchV2Status(this.ep, signal);
        this.serial = this.restStatus.serialNumber;
      }
      const stored = this.ca === null ? (this.caTrust?.trusted() ?? null) : null;
      if (stored !== null) {
        // First start with a stored CA: nothing to fetch over plain HTTP.
        this.ca = stored;
      } else {
        this.counters.caFetches += 1;
        this.adoptCa(await fetchCaPem(this.ep, signal));
      }
    } catch (e) {
      if (this.isClosed()) return;
      this.counters.caFetchFailures += 1;
      const err = asPanelError(e);
      this.log.debug(
        `${this.where}: fetching the panel CA failed (${err.message}); ` +
          (this.ca ? 'keeping the previous CA' : 'will retry'),
      );
      if (this.ca === null) {
        this.lastError = err;
        this.notify();
        return;
      }
    }
    this.tree.clear();
    this.rootDescribedAt = null;
  }

  /** Decides what to do with a freshly fetched CA (see ca-trust.ts). */
  private adoptCa(pem: string): void {
    this.caRefused = false;
    this.caToConfirm = null;
    if (!this.caTrust) {
      if (this.ca !== null && pem !== this.ca) {
        this.counters.caChanges += 1;
        this.log.info?.(`${this.where}: the panel's CA certificate changed; using the new one`);
      }
      this.ca = pem;
      return;
    }
    const review = this.caTrust.review(pem);
    if (review.kind === 'refused') {
      this.caRefused = true;
      // Look again after the backoff: the user may trust it, or the panel may go back to the old one.
      this.needRebuild = true;
      this.lastError = review.error;
      this.notify();
      return;
    }
    if (this.ca !== null && review.pem !== this.ca) this.counters.caChanges += 1;
    this.ca = review.pem;
    if (review.confirm) this.caToConfirm = review.pem;
  }

  private connectOnce(ca: string, serial: string): Promise<{ wasConnected: boolean; error: PanelError }> {
    this.phase = 'connecting';
    this.counters.connectAttempts += 1;
    this.notify();
    // MQTT.js hands these options to tls.connect (checkServerIdentity included) but does not type all of them.
    const options: IClientOptions & Pick<ConnectionOptions, 'checkServerIdentity'> = {
      protocol: 'mqtts',
      host: this.hostname,
      port: this.mqttPort,
      ca: [ca],
      rejectUnauthorized: true,
      checkServerIdentity: brokerIdentityCheck(this.hostname, () => this.serial),
      username: this.#credentials.brokerUsername ?? serial,
      password: this.#credentials.brokerPassword,
      clientId: `node-red-span-${randomBytes(6).toString('hex')}`,
      protocolVersion: 4,
      clean: true,
      keepalive: this.opts.keepaliveS,
      connectTimeout: this.opts.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      // The stream gets its packet-size guard before MQTT.js starts reading from it.
      manualConnect: true,
    };
    const client = mqtt.connect(options);
    // MQTT.js keeps its stream factory private; wrapping it is the one place to see the raw bytes.
    const builder = client as unknown as { streamBuilder: (c: MqttClient) => Duplex };
    const buildStream = builder.streamBuilder;
    builder.streamBuilder = (c) => {
      const stream = buildStream(c);
      limitIncomingPackets(stream, this.maxPacketBytes);
      return stream;
    };
    this.#client = client;

    return new Promise((resolve) => {
      let error: PanelError | null = null;
      let wasConnected = false;
      let done = false;

      client.on('connect', () => {
        client.subscribe(`${HOMIE_PREFIX}${serial}/#`, { qos: 0 }, (err) => {
          if (done || this.#client !== client) return;
          if (err) {
            error = classifyMqttError(err, this.where);
            client.end(true);
            return;
          }
          wasConnected = true;
          this.everConnected = true;
          this.connected = true;
          this.phase = 'connected';
          this.lastError = null;
          this.lastMessageAt = this.now();
          this.connectedAt = this.now();
          this.counters.connections += 1;
          // TLS verified the broker against this CA (chain and panel name): it is the trusted CA now.
          if (this.caToConfirm === ca) {
            this.caToConfirm = null;
            this.caTrust?.confirm(ca);
          }
          this.subscribed = new Set([serial]);
          this.subscribeChildren();
          this.log.debug(`${this.where}: connected`);
          this.emitConnection(true);
          this.notify();
        });
      });
      client.on('message', (topic, payload) => {
        if (!done && this.#client === client) this.onMessage(topic, payload);
      });
      client.on('error', (e) => {
        error = classifyMqttError(e, this.where);
        this.log.debug(`${error.message}`);
      });
      const finish = () => {
        if (done) return;
        done = true;
        this.life.signal.removeEventListener('abort', finish);
        if (this.#client === client) this.#client = null;
        const err =
          error ??
          new PanelError(
            'broker',
            wasConnected
              ? `${this.where}: connection to the broker lost`
              : `${this.where}: the broker closed the connection before accepting the login`,
          );
        this.connected = false;
        if (!this.isClosed()) this.lastError = err;
        client.removeAllListeners();
        client.on('error', () => {}); // late socket errors after a forced end must not go unhandled
        try {
          client.end(true);
        } catch {
          // already torn down
        }
        if (wasConnected && !this.isClosed()) {
          this.log.debug(`${this.where}: disconnected (${err.message})`);
          this.emitConnection(false, err);
        }
        this.notify();
        resolve({ wasConnected, error: err });
      };
      client.on('close', finish);
      // close() must never wait on a socket that does not report its end.
      this.life.signal.addEventListener('abort', finish, { once: true });
      client.connect();
    });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const r = this.tree.ingest(topic, payload.toString('utf8'));
    // Only the panel's own publishes count as fresh data (our `/set` commands come back to us too).
    if (r.kind === 'ignored') return;
    this.lastMessageAt = this.now();
    if (r.kind === 'description') {
      if (r.device === this.serial) this.rootDescribedAt = this.now();
      this.subscribeChildren();
    }
    this.scheduleData();
    this.notify();
  }

  /** Parent/child: subscribe to every device the tree names (children, grandchildren) not yet subscribed. */
  private subscribeChildren(): void {
    const client = this.#client;
    if (!client || !this.serial || !client.connected) return;
    const fresh = treeDeviceIds(this.tree, this.serial).filter((id) => !this.subscribed.has(id));
    if (fresh.length === 0) return;
    for (const id of fresh) this.subscribed.add(id);
    client.subscribe(
      fresh.map((id) => `${HOMIE_PREFIX}${id}/#`),
      { qos: 0 },
      (err) => {
        if (err && this.#client === client) {
          for (const id of fresh) this.subscribed.delete(id);
          this.log.debug(`${this.where}: subscribing to child devices failed (${err.message})`);
        }
      },
    );
  }

  /** Waits, without a timer, until reset() or close() wakes the loop. */
  private park(error: PanelError): Promise<void> {
    if (this.isClosed()) return Promise.resolve();
    this.phase = 'parked';
    this.notify();
    this.emitConnection(false, error);
    return new Promise((resolve) => {
      const done = () => {
        if (this.wakeSleep === done) this.wakeSleep = null;
        resolve();
      };
      this.wakeSleep = done;
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.wakeSleep === done) this.wakeSleep = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSleep = done;
    });
  }

  // ---- listeners and waiting ------------------------------------------------------------------------------

  onData(listener: () => void): void {
    this.dataListeners.push(listener);
  }

  onConnectionChange(listener: (connected: boolean, error?: Error) => void): void {
    this.connListeners.push(listener);
  }

  /** Coalesced: a retained burst of hundreds of messages is one notification. */
  private scheduleData(): void {
    if (this.dataPending || this.dataListeners.length === 0 || this.isClosed()) return;
    this.dataPending = setImmediate(() => {
      this.dataPending = null;
      for (const l of [...this.dataListeners]) {
        try {
          l();
        } catch (e) {
          this.log.debug(`${this.where}: a data listener threw: ${String(e)}`);
        }
      }
    });
  }

  private emitConnection(connected: boolean, error?: Error): void {
    for (const l of [...this.connListeners]) {
      try {
        l(connected, error);
      } catch (e) {
        this.log.debug(`${this.where}: a connection listener threw: ${String(e)}`);
      }
    }
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Resolves on the next state change, after `maxMs`, or when `signal` aborts — whichever is first.
   * Every timer and listener it sets is removed before it resolves.
   */
  private waitForChange(signal: AbortSignal, maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, maxMs));
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private abortError(signal: AbortSignal, pending: string): PanelError {
    const reason = signal.reason;
    if (reason instanceof PanelError && reason.errorClass !== 'timeout') return reason;
    if (this.isClosed()) return new PanelError('canceled', `${this.where}: transport closed`);
    return new PanelError(
      this.lastError?.errorClass ?? 'timeout',
      `${pending}${this.lastError ? ` (${this.lastError.message})` : ''}`,
      { code: this.lastError?.code },
    );
  }

  private notConnectedError(): PanelError {
    return this.lastError ?? new PanelError('broker', `${this.where}: not connected to the panel's broker`);
  }

  /** An attempt is under way that may still succeed: worth waiting for rather than failing at once. */
  private attemptPending(): boolean {
    if (this.phase === 'starting' || this.phase === 'rebuilding') return true;
    return this.phase === 'connecting' && (this.lastError === null || !this.everConnected);
  }

  /** Waits (bounded by `signal`) until connected, or throws why not. */
  private async awaitConnected(signal: AbortSignal): Promise<void> {
    for (;;) {
      if (this.isClosed()) throw new PanelError('canceled', `${this.where}: transport closed`);
      if (this.connected) return;
      if (!this.attemptPending()) throw this.notConnectedError();
      if (signal.aborted)
        throw this.abortError(signal, `${this.where}: still connecting to the panel's broker`);
      await this.waitForChange(signal, 1000);
    }
  }

  // ---- PanelTransport -------------------------------------------------------------------------------------

  async readSnapshot(signal: AbortSignal): Promise<PanelSnapshot> {
    for (;;) {
      await this.awaitConnected(signal);
      const serial = this.serial as string;
      const root = this.tree.device(serial);
      const now = this.now();
      let pending: string | null = null;
      if (!root || root.state === null || root.description === null) {
        pending = `${this.where}: connected, but the panel has not published ${HOMIE_PREFIX}${serial}/$state and $description`;
      } else if (root.state !== 'ready') {
        throw new PanelError('server', `panel ${serial} reports Homie $state "${root.state}" (not ready)`, {
          code: `HOMIE_${root.state.toUpperCase()}`,
        });
      } else if (now - this.lastMessageAt > this.opts.staleAfterMs) {
        throw new PanelError(
          'stale-data',
          `no update from panel ${serial} for ${Math.round((now - this.lastMessageAt) / 1000)} s while connected`,
        );
      } else if (this.dataModel === 'v2-parent-child' && !this.childrenSettled(now)) {
        pending = `${this.where}: waiting for the panel's child devices to describe themselves`;
      } else if (now - this.connectedAt < BURST_SETTLE_MAX_MS && now - this.lastMessageAt < BURST_QUIET_MS) {
        // Right after (re)connecting the broker replays every retained value: let the burst finish so the
        // first snapshot is whole rather than half unknown.
        pending = `${this.where}: receiving the panel's retained values`;
      }
      if (pending === null) return this.assemble();
      if (signal.aborted) throw this.abortError(signal, pending);
      await this.waitForChange(signal, 50);
    }
  }

  /** Every listed child has its `$description`, or the settle time after the root's description has passed. */
  private childrenSettled(now: number): boolean {
    const serial = this.serial as string;
    const ids = treeDeviceIds(this.tree, serial);
    if (ids.every((id) => this.tree.device(id)?.description)) return true;
    return this.rootDescribedAt !== null && now - this.rootDescribedAt >= this.opts.childSettleMs;
  }

  private assemble(): PanelSnapshot {
    const serial = this.serial as string;
    const snap =
      this.dataModel === 'v2-parent-child'
        ? buildParentChildSnapshot(this.tree, serial, this.guard, this.now())
        : buildFlatSnapshot(this.tree, serial, this.guard, this.now());
    if (snap.panel.firmwareVersion === null && this.restStatus?.firmwareVersion) {
      snap.panel.firmwareVersion = this.restStatus.firmwareVersion;
    }
    return snap;
  }

  async probe(signal: AbortSignal): Promise<void> {
    await this.awaitConnected(signal);
  }

  /** Drops the connection and rebuilds from scratch (new CA fetch, new client) without waiting out the backoff. */
  reset(): void {
    if (this.isClosed()) return;
    this.needRebuild = true;
    this.backoff.reset();
    this.#client?.end(true);
    this.wakeSleep?.();
  }

  /** The circuit as the panel last described it (no energy guarding), or a refusal before anything is sent. */
  private commandable(circuitId: string, what: 'relay' | 'priority'): Circuit {
    if (typeof circuitId !== 'string' || circuitId.trim() === '') {
      throw new PanelError('refused-command', 'no circuit id given: command not sent');
    }
    if (!this.connected || !this.#client || !this.serial) {
      throw new PanelError('refused-command', `not connected to the panel's broker: command not sent`);
    }
    const parsed =
      this.dataModel === 'v2-parent-child'
        ? parseParentChild(this.tree, this.serial)
        : parseFlat(this.tree, this.serial);
    const circuit = parsed.circuits.find((c) => c.id === circuitId);
    if (!circuit) throw new PanelError('refused-command', `unknown circuit ${circuitId}: command not sent`);
    const label = `circuit ${circuitId} (${circuit.name ?? 'unnamed'})`;
    if (circuit.controllable !== true) {
      throw new PanelError('refused-command', `${label} is not user-controllable: command not sent`);
    }
    if (what === 'priority' && circuit.neverBackup === true) {
      throw new PanelError(
        'refused-command',
        `${label} has a locked priority (never-backup): command not sent`,
      );
    }
    if (
      this.dataModel === 'v2-parent-child' &&
      this.serial &&
      effectiveState(this.tree, circuitId) === 'lost'
    ) {
      throw new PanelError('refused-command', `${label} is lost (Homie $state): command not sent`);
    }
    return circuit;
  }

  private commandTarget(circuitId: string, what: 'relay' | 'priority'): CommandTarget {
    const serial = this.serial as string;
    const t =
      this.dataModel === 'v2-parent-child'
        ? parentChildCommandTopics(this.tree, circuitId)
        : flatCommandTopics(serial, circuitId);
    return t[what];
  }

  async setRelay(
    circuitId: string,
    state: Exclude<RelayState, 'UNKNOWN'>,
    signal: AbortSignal,
  ): Promise<CommandOutcome> {
    if (state !== 'OPEN' && state !== 'CLOSED') {
      throw new PanelError('refused-command', `invalid relay state ${String(state)}: command not sent`);
    }
    this.commandable(circuitId, 'relay');
    return this.publishAndConfirm(circuitId, this.commandTarget(circuitId, 'relay'), state, signal);
  }

  async setPriority(
    circuitId: string,
    priority: Exclude<ShedPriority, 'UNKNOWN'>,
    signal: AbortSignal,
  ): Promise<CommandOutcome> {
    if (priority !== 'NEVER' && priority !== 'SOC_THRESHOLD' && priority !== 'OFF_GRID') {
      throw new PanelError('refused-command', `invalid priority ${String(priority)}: command not sent`);
    }
    this.commandable(circuitId, 'priority');
    return this.publishAndConfirm(circuitId, this.commandTarget(circuitId, 'priority'), priority, signal);
  }

  async setChargeCurrent(circuitId: string, amps: number, signal: AbortSignal): Promise<CommandOutcome> {
    const refuse = (why: string) => new PanelError('refused-command', `${why}: command not sent`);
    if (typeof amps !== 'number' || !Number.isInteger(amps)) {
      throw refuse(`charge current ${String(amps)} is not a whole number of amps`);
    }
    if (!this.connected || !this.#client || !this.serial) throw refuse(`not connected to the panel's broker`);
    const pc = this.dataModel === 'v2-parent-child';
    const evse = (pc ? parseParentChild(this.tree, this.serial) : parseFlat(this.tree, this.serial)).evse;
    if (!evse) throw refuse('this panel reports no EV charger');
    if (evse.feed !== circuitId) {
      throw refuse(
        `circuit ${circuitId} does not feed the EV charger (fed from ${evse.feed ?? 'an unknown circuit'})`,
      );
    }
    if (!evse.chargeCurrentSettable)
      throw refuse(`the EV charger's charge current is not settable on this firmware`);
    // The panel would clamp silently; a value outside the range is a mistake worth telling the flow about.
    const max = evse.maxChargeCurrentA;
    if (amps < MIN_CHARGE_CURRENT_A || (max !== null && amps > max)) {
      throw refuse(`charge current ${amps} A is outside ${MIN_CHARGE_CURRENT_A}…${max ?? '?'} A`);
    }
    const target = pc
      ? parentChildChargeCurrentTarget(this.tree, this.serial)
      : flatChargeCurrentTarget(this.tree.device(this.serial), this.serial);
    if (!target) throw refuse('the EV charger has no charge-current property');
    return this.publishAndConfirm(circuitId, target, String(amps), signal);
  }

  /**
   * Publishes once (QoS 1, not retained) on the live client, then waits for the panel to republish the
   * requested value. Never retried: a lost reply leaves the outcome 'unconfirmed', not a second command.
   */
  private async publishAndConfirm(
    circuitId: string,
    target: CommandTarget,
    requested: string,
    signal: AbortSignal,
  ): Promise<CommandOutcome> {
    const client = this.#client;
    if (!client || !this.connected || !client.connected) {
      throw new PanelError('refused-command', `not connected to the panel's broker: command not sent`);
    }
    if (signal.aborted) throw this.abortError(signal, `command to circuit ${circuitId} not sent`);
    const observe = () => this.tree.device(target.device)?.values.get(target.key) ?? null;
    const alreadyThere = observe() === requested;

    let acked = false;
    let pubError: Error | null = null;
    this.counters.publishes += 1;
    client.publish(target.set, requested, { qos: 1, retain: false }, (err) => {
      if (err) pubError = err;
      else acked = true;
      this.notify();
    });

    const deadline = this.now() + this.opts.commandTimeoutMs;
    for (;;) {
      const observed = observe();
      // A write of the value the circuit already has produces no change event: the PUBACK is all we get.
      if (observed === requested && (!alreadyThere || acked)) {
        return {
          result: 'confirmed',
          circuitId,
          requested,
          observed,
          ...(alreadyThere ? { note: 'the circuit was already in the requested state' } : {}),
        };
      }
      if (signal.aborted) throw this.abortError(signal, `no confirmation from circuit ${circuitId}`);
      const left = deadline - this.now();
      if (left <= 0 || pubError !== null || (!this.connected && !acked)) {
        const why =
          pubError !== null
            ? `publish failed (${(pubError as Error).message})`
            : !this.connected && !acked
              ? 'connection lost before the panel acknowledged the command'
              : `the panel did not report ${requested} within ${this.opts.commandTimeoutMs} ms`;
        return { result: 'unconfirmed', circuitId, requested, observed, note: why };
      }
      await this.waitForChange(signal, left);
    }
  }

  async close(): Promise<void> {
    if (this.phase === 'closed') {
      await this.loop;
      return;
    }
    this.phase = 'closed';
    this.connected = false;
    this.unsubscribeTrust?.();
    this.life.abort(new PanelError('canceled', 'transport closed'));
    this.#client?.end(true);
    this.wakeSleep?.();
    if (this.dataPending) clearImmediate(this.dataPending);
    this.dataPending = null;
    this.notify();
    await this.loop;
    this.dataListeners.length = 0;
    this.connListeners.length = 0;
  }
}

/** Builds the transport and starts its connection loop. Throws PanelError('auth') without credentials. */
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
