import type { MqttClient } from 'mqtt';
import { asPanelError, PanelError } from '../errors';
import { treeDeviceIds } from './homie-parent-child';
import { HOMIE_PREFIX } from './homie-tree';
import { openMqttClient } from './mqtt-client';
import { classifyMqttError } from './mqtt-errors';
import { fetchCaPem, fetchV2Status, type V2Status } from './rest';
import type { BrokerSessionCounters, BrokerSessionOptions, V2BrokerCredentials } from './session-types';

/** 'refused': the broker refused the login; no attempt until reset() (the supervisor owns that retry). */
type Phase = 'idle' | 'rebuilding' | 'connecting' | 'connected' | 'refused' | 'closed';

/**
 * The connection to the panel's broker, one attempt at a time, and only when asked (start, a read, a
 * probe, reset()): when to try again is the supervisor's decision, never this class's. An attempt is
 * (re)building what it needs — the serial from /api/v2/status, the panel CA (stored, or fetched and
 * reviewed by `caTrust`) — then one MQTT.js client over TLS, MQTT.js' own reconnect off, subscribed to the
 * panel's Homie tree (and to every child device the tree names). The CA rule counts across attempts: after
 * `rebuildAfterFailures` failed attempts in a row, or any TLS failure, the next attempt re-fetches the CA
 * and starts from an empty tree (the fix for SPAN #242). A client is never reused after its connection
 * ended, so MQTT.js can never deliver a queued command later.
 */
export class BrokerSession {
  private readonly o: BrokerSessionOptions;
  private readonly life = new AbortController();
  private phase: Phase = 'idle';
  /** The attempt under way; it lasts as long as the connection it made. */
  private attempt: Promise<void> | null = null;
  private resetPending = false;
  private failures = 0;
  private needRebuild = true;
  private ca: string | null = null;
  /** A fetched CA that becomes the trusted one once a connection with it passes TLS verification. */
  private caToConfirm: string | null = null;
  /** The panel presents a CA the policy refuses: no connection until it is trusted. */
  private caRefused = false;
  private subscribed = new Set<string>();
  /** The last connection state reported (null: nothing yet), so each change is reported once. */
  private reported: boolean | null = null;
  /** Private field: the MQTT.js client keeps the broker password in its options. */
  #client: MqttClient | null = null;
  readonly #credentials: V2BrokerCredentials;

  serial: string | null;
  restStatus: V2Status | null = null;
  connected = false;
  lastError: PanelError | null = null;
  lastMessageAt = 0;
  connectedAt = 0;
  rootDescribedAt: number | null = null;
  readonly counters: BrokerSessionCounters = {
    connectAttempts: 0,
    connections: 0,
    caFetches: 0,
    caFetchFailures: 0,
    caChanges: 0,
    rebuilds: 0,
  };

  constructor(options: BrokerSessionOptions, credentials: V2BrokerCredentials) {
    this.o = options;
    this.serial = options.serial;
    this.#credentials = { ...credentials };
  }

  get where(): string {
    return `MQTT ${this.o.hostname}:${this.o.mqttPort}`;
  }

  get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** The live client, only while connected (commands are never queued on a connecting one). */
  get client(): MqttClient | null {
    const c = this.#client;
    return c && this.connected && c.connected ? c : null;
  }

  /** Starts one attempt unless one is under way, the session is connected, refused, or closed. */
  begin(): void {
    if (this.attempt || this.phase === 'refused' || this.isClosed) return;
    this.attempt = this.runAttempt().finally(() => {
      this.attempt = null;
      if (this.phase !== 'refused' && !this.isClosed) this.phase = 'idle';
      this.o.changes.notify();
      if (this.resetPending) {
        this.resetPending = false;
        this.begin();
      }
    });
  }

  /**
   * Waits (bounded by `signal`) until connected, starting an attempt when none is under way; throws why not
   * when the attempt it waited for ended without a connection.
   */
  async awaitConnected(signal: AbortSignal): Promise<void> {
    let waited = false;
    for (;;) {
      if (this.isClosed) throw new PanelError('canceled', `${this.where}: transport closed`);
      if (this.connected) return;
      if (this.phase === 'refused') throw this.notConnectedError();
      if (!this.attempt) {
        if (waited) throw this.notConnectedError();
        this.begin();
      }
      waited = true;
      if (signal.aborted)
        throw this.abortError(signal, `${this.where}: still connecting to the panel's broker`);
      await this.o.changes.wait(signal, 1000);
    }
  }

  /** Drops the connection and starts a fresh attempt now (new CA fetch, new client): the caller's call. */
  reset(): void {
    if (this.isClosed) return;
    this.needRebuild = true;
    if (this.phase === 'refused') this.phase = 'idle';
    if (this.attempt) {
      this.resetPending = true;
      this.#client?.end(true);
    } else {
      this.begin();
    }
  }

  async close(): Promise<void> {
    if (!this.isClosed) {
      this.phase = 'closed';
      this.connected = false;
      this.life.abort(new PanelError('canceled', 'transport closed'));
      this.#client?.end(true);
      this.o.changes.notify();
    }
    await this.attempt;
  }

  abortError(signal: AbortSignal, pending: string): PanelError {
    const reason = signal.reason;
    if (reason instanceof PanelError && reason.errorClass !== 'timeout') return reason;
    if (this.isClosed) return new PanelError('canceled', `${this.where}: transport closed`);
    return new PanelError(
      this.lastError?.errorClass ?? 'timeout',
      `${pending}${this.lastError ? ` (${this.lastError.message})` : ''}`,
      { code: this.lastError?.code },
    );
  }

  private notConnectedError(): PanelError {
    return this.lastError ?? new PanelError('broker', `${this.where}: not connected to the panel's broker`);
  }

  // ---- one attempt ----------------------------------------------------------------------------------------

  private async runAttempt(): Promise<void> {
    try {
      if (this.needRebuild || this.ca === null || this.serial === null) await this.rebuild();
      if (this.isClosed) return;
      if (this.ca === null || this.serial === null || this.caRefused) {
        this.failures += 1;
        this.report(false, this.lastError ?? undefined);
        return;
      }
      const ended = await this.connectOnce(this.ca, this.serial);
      if (this.isClosed) return;
      if (ended.wasConnected) {
        this.failures = 0;
      } else if (ended.error.errorClass === 'auth') {
        // Retrying a refused login is the supervisor's call (fresh credentials, its own schedule).
        this.phase = 'refused';
      } else {
        this.failures += 1;
        if (ended.error.errorClass === 'tls' || this.failures >= this.o.rebuildAfterFailures) {
          this.needRebuild = true;
        }
      }
      this.report(false, ended.error);
    } catch (e) {
      // An attempt never throws to its caller: it ends, and says why in lastError.
      const err = asPanelError(e);
      this.failures += 1;
      if (!this.isClosed) this.lastError = err;
      this.o.log.debug(`${this.where}: connection attempt: ${err.message}`);
      this.report(false, err);
    }
  }

  private report(connected: boolean, error?: PanelError): void {
    if (this.isClosed || this.reported === connected) return;
    this.reported = connected;
    if (connected) this.o.log.debug(`${this.where}: connected`);
    else if (error) this.o.log.debug(`${this.where}: disconnected (${error.message})`);
    this.o.onConnectionChange(connected, error);
  }

  /** Re-fetches the CA (and the serial when unknown) and forgets the Homie state: a fresh start. */
  private async rebuild(): Promise<void> {
    this.phase = 'rebuilding';
    this.counters.rebuilds += 1;
    // The count restarts with every rebuild, so a long outage goes on re-checking the CA every few attempts.
    this.needRebuild = false;
    this.failures = 0;
    this.o.changes.notify();
    const signal = this.life.signal;
    try {
      if (this.serial === null) {
        this.restStatus = await fetchV2Status(this.o.ep, signal);
        this.serial = this.restStatus.serialNumber;
      }
      const stored = this.ca === null ? (this.o.caTrust?.trusted() ?? null) : null;
      if (stored !== null) {
        // First start with a stored CA: nothing to fetch over plain HTTP.
        this.ca = stored;
      } else {
        this.counters.caFetches += 1;
        this.adoptCa(await fetchCaPem(this.o.ep, signal));
      }
    } catch (e) {
      if (this.isClosed) return;
      this.counters.caFetchFailures += 1;
      const err = asPanelError(e);
      this.o.log.debug(
        `${this.where}: fetching the panel CA failed (${err.message}); ` +
          (this.ca ? 'keeping the previous CA' : 'will retry'),
      );
      if (this.ca === null) {
        this.lastError = err;
        this.o.changes.notify();
        return;
      }
    }
    this.o.tree.clear();
    this.rootDescribedAt = null;
  }

  /** Decides what to do with a freshly fetched CA (see ca-trust.ts). */
  private adoptCa(pem: string): void {
    this.caRefused = false;
    this.caToConfirm = null;
    const trust = this.o.caTrust;
    if (!trust) {
      if (this.ca !== null && pem !== this.ca) {
        this.counters.caChanges += 1;
        this.o.log.info?.(`${this.where}: the panel's CA certificate changed; using the new one`);
      }
      this.ca = pem;
      return;
    }
    const review = trust.review(pem);
    if (review.kind === 'refused') {
      this.caRefused = true;
      // Look again on the next attempt: the user may trust it, or the panel may go back to the old one.
      this.needRebuild = true;
      this.lastError = review.error;
      this.o.changes.notify();
      return;
    }
    if (this.ca !== null && review.pem !== this.ca) this.counters.caChanges += 1;
    this.ca = review.pem;
    if (review.confirm) this.caToConfirm = review.pem;
  }

  /** One MQTT.js client; resolves when its connection ends (or never started), saying why. */
  private connectOnce(ca: string, serial: string): Promise<{ wasConnected: boolean; error: PanelError }> {
    this.phase = 'connecting';
    this.counters.connectAttempts += 1;
    this.o.changes.notify();
    const client = openMqttClient({
      hostname: this.o.hostname,
      port: this.o.mqttPort,
      ca,
      expectedSerial: () => this.serial,
      username: this.#credentials.brokerUsername ?? serial,
      password: this.#credentials.brokerPassword,
      keepaliveS: this.o.keepaliveS,
      connectTimeoutMs: this.o.connectTimeoutMs,
      maxPacketBytes: this.o.maxPacketBytes,
    });
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
          this.connected = true;
          this.phase = 'connected';
          this.lastError = null;
          this.lastMessageAt = this.o.now();
          this.connectedAt = this.o.now();
          this.counters.connections += 1;
          // TLS verified the broker against this CA (chain and panel name): it is the trusted CA now.
          if (this.caToConfirm === ca) {
            this.caToConfirm = null;
            this.o.caTrust?.confirm(ca);
          }
          this.subscribed = new Set([serial]);
          this.subscribeChildren();
          this.report(true);
          this.o.changes.notify();
        });
      });
      client.on('message', (topic, payload) => {
        if (!done && this.#client === client) this.ingest(topic, payload);
      });
      client.on('error', (e) => {
        error = classifyMqttError(e, this.where);
        this.o.log.debug(`${error.message}`);
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
        if (!this.isClosed) this.lastError = err;
        client.removeAllListeners();
        client.on('error', () => {}); // late socket errors after a forced end must not go unhandled
        try {
          client.end(true);
        } catch {
          // already torn down
        }
        this.o.changes.notify();
        resolve({ wasConnected, error: err });
      };
      client.on('close', finish);
      // close() must never wait on a socket that does not report its end.
      this.life.signal.addEventListener('abort', finish, { once: true });
      client.connect();
    });
  }

  private ingest(topic: string, payload: Buffer): void {
    const r = this.o.tree.ingest(topic, payload.toString('utf8'));
    // Only the panel's own publishes count as fresh data (our `/set` commands come back to us too).
    if (r.kind === 'ignored') return;
    this.lastMessageAt = this.o.now();
    if (r.kind === 'description') {
      if (r.device === this.serial) this.rootDescribedAt = this.o.now();
      this.subscribeChildren();
    }
    this.o.onMessage();
    this.o.changes.notify();
  }

  /** Parent/child: subscribe to every device the tree names (children, grandchildren) not yet subscribed. */
  private subscribeChildren(): void {
    const client = this.#client;
    if (!client || !this.serial || !client.connected) return;
    const fresh = treeDeviceIds(this.o.tree, this.serial).filter((id) => !this.subscribed.has(id));
    if (fresh.length === 0) return;
    for (const id of fresh) this.subscribed.add(id);
    client.subscribe(
      fresh.map((id) => `${HOMIE_PREFIX}${id}/#`),
      { qos: 0 },
      (err) => {
        if (err && this.#client === client) {
          for (const id of fresh) this.subscribed.delete(id);
          this.o.log.debug(`${this.where}: subscribing to child devices failed (${err.message})`);
        }
      },
    );
  }
}
