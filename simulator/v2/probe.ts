/**
 * A small MQTT.js observer for the simulated panel's broker (tests and tools): connects over TLS pinned to
 * a CA, subscribes, records every message and keeps the latest payload per topic (what the broker retains,
 * as far as this observer has seen), and lets callers wait for a condition. close() always ends the client.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface ProbeConnectOptions {
  port: number;
  host?: string;
  ca: string;
  username: string;
  password: string;
  /** TLS server name to verify (default: the host, i.e. the 127.0.0.1 IP SAN). */
  servername?: string;
  clientId?: string;
  /** Extra MQTT.js options (e.g. a will, to test that the broker records it). */
  extra?: Partial<IClientOptions>;
  /** Give up connecting after this many ms (default 5000). */
  timeoutMs?: number;
}

export interface ProbeMessage {
  topic: string;
  payload: string;
  retain: boolean;
}

export class HomieProbe {
  readonly messages: ProbeMessage[] = [];
  /** Latest payload per topic; an empty payload removes the topic (a deleted retained message). */
  readonly latest = new Map<string, string>();
  private waiters = new Set<() => void>();

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const text = payload.toString('utf8');
      this.messages.push({ topic, payload: text, retain: packet.retain });
      if (text === '') this.latest.delete(topic);
      else this.latest.set(topic, text);
      for (const w of [...this.waiters]) w();
    });
  }

  /** Connects; rejects with the client's error (bad credentials, TLS verification, refused). */
  static connect(opts: ProbeConnectOptions): Promise<HomieProbe> {
    const host = opts.host ?? '127.0.0.1';
    const client = mqtt.connect(`mqtts://${host}:${opts.port}`, {
      ca: opts.ca,
      username: opts.username,
      password: opts.password,
      servername: opts.servername,
      clientId: opts.clientId,
      reconnectPeriod: 0,
      connectTimeout: opts.timeoutMs ?? 5000,
      ...opts.extra,
    });
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        client.off('connect', onConnect);
        client.off('error', onError);
        client.off('close', onClose);
      };
      const onConnect = () => {
        cleanup();
        resolve(new HomieProbe(client));
      };
      const fail = (err: Error) => {
        cleanup();
        client.end(true, () => reject(err));
      };
      const onError = (err: Error) => fail(err);
      const onClose = () => fail(new Error('connection closed before CONNACK'));
      client.on('connect', onConnect);
      client.on('error', onError);
      client.on('close', onClose);
    });
  }

  async subscribe(topics: string | string[]): Promise<void> {
    await this.client.subscribeAsync(topics, { qos: 1 });
  }

  async publish(topic: string, payload: string, opts: { retain?: boolean; qos?: 0 | 1 } = {}): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: opts.qos ?? 1, retain: opts.retain ?? false });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Resolves once `condition()` holds (checked now and after every message); rejects after timeoutMs. */
  waitFor(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        finish();
        resolve();
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Resolves when the client is closed (e.g. the broker went down). */
  waitForClose(timeoutMs = 5000): Promise<void> {
    if (this.client.disconnected || !this.client.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('client still connected')), timeoutMs);
      this.client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Messages received on a topic, in order. */
  history(topic: string): string[] {
    return this.messages.filter((m) => m.topic === topic).map((m) => m.payload);
  }

  async close(): Promise<void> {
    this.waiters.clear();
    await this.client.endAsync(true);
  }
}
