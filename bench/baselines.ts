/**
 * The baselines our client is compared with, on the same simulated panel in the same run:
 * - BareV1Poller: the physical floor, node:http GETs of the same 4 endpoints on a keep-alive Agent, JSON.parse;
 * - AxiosPlainPoller: what a user would write with axios, a keep-alive agent and no mitigation (the client
 *   of the keep-alive race, docs/resilience.md §1);
 * - bareMqtt: a hand-written MQTT.js client of a v2 panel (registered once, CA fetched once, subscribed to
 *   the panel's Homie tree, MQTT.js' own reconnect every 1 s).
 */
import http from 'node:http';
import axios from 'axios';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { fetchCaPem, registerV2 } from '../src/transport/v2';
import { V2_SIM_OPTIONS } from './sims';
import { TOKEN } from './util';

export const V1_POLL_PATHS = ['/api/v1/status', '/api/v1/panel', '/api/v1/circuits', '/api/v1/storage/soe'];
const headers = { Authorization: `Bearer ${TOKEN}`, Accept: 'application/json' };

export interface Poller {
  /** One poll: the 4 endpoints in parallel, parsed. Rejects when any of them fails. */
  cycle(): Promise<unknown>;
  close(): void | Promise<void>;
}

export class BareV1Poller implements Poller {
  readonly agent = new http.Agent({ keepAlive: true });
  constructor(private readonly port: number) {}

  get(path: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port: this.port, path, agent: this.agent, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode} from ${path}`));
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            } catch (e) {
              reject(e as Error);
            }
          });
        },
      );
      req.on('error', reject);
    });
  }

  cycle = () => Promise.all(V1_POLL_PATHS.map((p) => this.get(p)));
  close = () => this.agent.destroy();
}

export class AxiosPlainPoller implements Poller {
  readonly agent = new http.Agent({ keepAlive: true });
  private readonly client;

  constructor(port: number) {
    const baseURL = `http://127.0.0.1:${port}`;
    this.client = axios.create({ baseURL, httpAgent: this.agent, timeout: 5000, proxy: false, headers });
  }

  /** Per-request outcomes of one poll (the race is per request; a poll fails when any request does). */
  async settle(): Promise<{ ok: boolean; code: string | null }[]> {
    const results = await Promise.allSettled(V1_POLL_PATHS.map((p) => this.client.get(p)));
    return results.map((r) =>
      r.status === 'fulfilled'
        ? { ok: r.value.status === 200 && typeof r.value.data === 'object', code: null }
        : { ok: false, code: String((r.reason as { code?: string }).code ?? (r.reason as Error).message) },
    );
  }

  cycle = async () => (await Promise.all(V1_POLL_PATHS.map((p) => this.client.get(p)))).map((r) => r.data);
  close = () => this.agent.destroy();
}

export async function bareMqtt(
  panel: { http: number; mqtt: number | null },
  name: string,
  extra: Partial<IClientOptions> = {},
): Promise<MqttClient> {
  const host = `127.0.0.1:${panel.http}`;
  const creds = await registerV2(host, { passphrase: V2_SIM_OPTIONS.passphrase, name });
  const client = mqtt.connect({
    protocol: 'mqtts',
    host: '127.0.0.1',
    port: panel.mqtt ?? 8883,
    username: creds.brokerUsername,
    password: creds.brokerPassword,
    ca: await fetchCaPem({ host }),
    rejectUnauthorized: true,
    checkServerIdentity: () => undefined,
    reconnectPeriod: 1000,
    ...extra,
  } as IClientOptions);
  client.on('error', () => undefined);
  client.on('connect', () => client.subscribe(`ebus/5/${creds.serial}/#`));
  return client;
}

export const endMqtt = (client: MqttClient): Promise<void> =>
  new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
