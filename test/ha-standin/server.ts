/**
 * A stand-in for Home Assistant on 127.0.0.1: its websocket API (`/api/websocket`) and REST API (`/api/…`)
 * as far as node-red-contrib-home-assistant-websocket uses them, over a StateMachine that records every
 * state write and service call. Not Home Assistant: enough of its protocol, with its validation rules, to
 * prove what Home Assistant would receive. PROTOCOL.md lists each message and the documentation it follows.
 *
 *   const ha = await HaStandin.start({ token });
 *   ha.url                      // http://127.0.0.1:<port>, the server node's "Base URL"
 *   ha.states.writes            // every accepted POST /api/states/<id>
 *   ha.callServiceAsUser(...)   // what the Home Assistant UI does when a user flips a switch
 *   await ha.close();
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { InvalidEntityId, InvalidState, StateMachine, type HaState } from './state-machine';

export const HA_VERSION = '2025.6.0';

export interface StandinOptions {
  token: string;
  haVersion?: string;
}

/** A request the stand-in refused, and why (a test can assert there were none). */
export interface Rejection {
  via: 'rest' | 'websocket';
  what: string;
  status: number | string;
  message: string;
}

const SERVICES = {
  homeassistant: { turn_on: {}, turn_off: {}, toggle: {}, reload_all: {} },
  switch: {
    turn_on: { name: 'Turn on', fields: {}, target: { entity: [{ domain: ['switch'] }] } },
    turn_off: { name: 'Turn off', fields: {}, target: { entity: [{ domain: ['switch'] }] } },
    toggle: { name: 'Toggle', fields: {}, target: { entity: [{ domain: ['switch'] }] } },
  },
};

export class HaStandin {
  readonly states = new StateMachine();
  readonly rejections: Rejection[] = [];
  /** Websocket commands received, by type (e.g. how many subscribe_events). */
  readonly commands: Record<string, number> = {};
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  private readonly clients = new Set<WebSocket>();
  port = 0;

  private constructor(private readonly opts: Required<StandinOptions>) {
    this.server = http.createServer((req, res) => this.rest(req, res));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      if (req.url !== '/api/websocket') {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.websocket(ws));
    });
  }

  static async start(opts: StandinOptions): Promise<HaStandin> {
    const s = new HaStandin({ haVersion: HA_VERSION, ...opts });
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(0, '127.0.0.1', () => resolve());
    });
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Authenticated websocket connections right now. */
  get connectedClients(): number {
    return this.clients.size;
  }

  /** A user flipping a switch in the UI: the frontend sends call_service with a target. */
  callServiceAsUser(domain: string, service: string, entityId: string): void {
    this.states.callService(domain, service, {}, { entity_id: entityId }, 'frontend', 'standin-user');
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
    await new Promise<void>((r) => {
      this.server.close(() => r());
      for (const s of this.sockets) s.destroy();
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // REST API
  // ---------------------------------------------------------------------------------------------------

  private rest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      const refuse = (status: number, message: string) => {
        this.rejections.push({ via: 'rest', what: `${req.method} ${req.url}`, status, message });
        send(status, { message });
      };
      const url = new URL(req.url ?? '/', this.url);
      if (req.headers.authorization !== `Bearer ${this.opts.token}`) {
        refuse(401, '401: Unauthorized');
        return;
      }
      let body: Record<string, unknown> = {};
      if (chunks.length) {
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          refuse(400, 'Invalid JSON specified.');
          return;
        }
      }
      const p = url.pathname;
      if (req.method === 'GET' && p === '/api/') return send(200, { message: 'API running.' });
      if (req.method === 'GET' && p === '/api/config') return send(200, this.config());
      if (req.method === 'GET' && p === '/api/states') return send(200, [...this.states.states.values()]);
      const state = /^\/api\/states\/([^/]+)$/.exec(p);
      if (state && req.method === 'GET') {
        const s = this.states.states.get(decodeURIComponent(state[1]));
        return s ? send(200, s) : refuse(404, 'Entity not found.');
      }
      if (state && req.method === 'POST') {
        const entityId = decodeURIComponent(state[1]);
        if (body.state === undefined || body.state === null) return refuse(400, 'No state specified.');
        try {
          const r = this.states.set(entityId, body.state, body.attributes);
          return send(r.created ? 201 : 200, r.state, { Location: `/api/states/${entityId}` });
        } catch (e) {
          if (e instanceof InvalidEntityId) return refuse(400, 'Invalid entity ID specified.');
          if (e instanceof InvalidState) return refuse(400, 'Invalid state specified.');
          throw e;
        }
      }
      const service = /^\/api\/services\/([^/]+)\/([^/]+)$/.exec(p);
      if (service && req.method === 'POST') {
        this.states.callService(service[1], service[2], body, {}, 'rest');
        return send(200, []);
      }
      refuse(404, 'Not found');
    });
  }

  // ---------------------------------------------------------------------------------------------------
  // Websocket API
  // ---------------------------------------------------------------------------------------------------

  private websocket(ws: WebSocket): void {
    const version = this.opts.haVersion;
    const out = (m: unknown) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
    };
    let authed = false;
    let lastId = 0;
    const unsubscribers = new Map<number, () => void>();
    ws.on('close', () => {
      this.clients.delete(ws);
      for (const u of unsubscribers.values()) u();
    });
    out({ type: 'auth_required', ha_version: version });

    ws.on('message', (raw) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(raw.toString());
      } catch {
        ws.close();
        return;
      }
      if (!authed) {
        if (m.type === 'auth' && m.access_token === this.opts.token) {
          authed = true;
          this.clients.add(ws);
          out({ type: 'auth_ok', ha_version: version });
        } else {
          this.rejections.push({
            via: 'websocket',
            what: String(m.type),
            status: 'auth_invalid',
            message: '',
          });
          out({ type: 'auth_invalid', message: 'Invalid access token or password' });
          ws.close();
        }
        return;
      }
      const id = Number(m.id);
      const type = String(m.type);
      this.commands[type] = (this.commands[type] ?? 0) + 1;
      const result = (r: unknown) => out({ id, type: 'result', success: true, result: r });
      const error = (code: string, message: string) => {
        this.rejections.push({ via: 'websocket', what: type, status: code, message });
        out({ id, type: 'result', success: false, error: { code, message } });
      };
      // Home Assistant requires increasing message ids on a connection.
      if (!Number.isInteger(id) || id <= lastId)
        return error('id_reuse', 'Identifier values have to increase.');
      lastId = id;

      switch (type) {
        case 'supported_features':
          return result(null);
        case 'ping':
          return out({ id, type: 'pong' });
        case 'auth/current_user':
          return result({
            id: 'standin-user',
            name: 'Node-RED',
            is_owner: true,
            is_admin: true,
            credentials: [],
            mfa_modules: [],
          });
        case 'get_config':
          return result(this.config());
        case 'get_states':
          return result([...this.states.states.values()]);
        case 'get_services':
          return result(SERVICES);
        case 'config/area_registry/list':
        case 'config/device_registry/list':
        case 'config/entity_registry/list':
        case 'config/floor_registry/list':
        case 'config/label_registry/list':
          return result([]);
        case 'subscribe_events': {
          const eventType = typeof m.event_type === 'string' ? m.event_type : null;
          unsubscribers.set(
            id,
            this.states.onEvent((e) => {
              if (eventType === null || e.event_type === eventType) out({ id, type: 'event', event: e });
            }),
          );
          return result(null);
        }
        case 'subscribe_entities': {
          result(null);
          const added: Record<string, unknown> = {};
          for (const s of this.states.states.values()) added[s.entity_id] = compressed(s);
          out({ id, type: 'event', event: { a: added } });
          unsubscribers.set(
            id,
            this.states.onState((next, previous) =>
              out({
                id,
                type: 'event',
                event: previous
                  ? { c: { [next.entity_id]: diff(previous, next) } }
                  : { a: { [next.entity_id]: compressed(next) } },
              }),
            ),
          );
          return;
        }
        case 'unsubscribe_events':
        case 'unsubscribe_entities': {
          const sub = Number(m.subscription);
          const u = unsubscribers.get(sub);
          if (!u) return error('not_found', 'Subscription not found.');
          u();
          unsubscribers.delete(sub);
          return result(null);
        }
        case 'call_service': {
          const domain = String(m.domain);
          const service = String(m.service);
          const known = (SERVICES as Record<string, Record<string, unknown>>)[domain]?.[service];
          if (!known) return error('not_found', `Service ${domain}.${service} not found.`);
          const context = this.states.callService(
            domain,
            service,
            (m.service_data as Record<string, unknown>) ?? {},
            (m.target as Record<string, unknown>) ?? {},
          );
          return result({ context, response: null });
        }
        default:
          return error('unknown_command', 'Unknown command.');
      }
    });
  }

  private config(): Record<string, unknown> {
    return {
      components: ['api', 'websocket_api', 'http', 'sensor', 'switch', 'homeassistant', 'recorder', 'energy'],
      config_dir: '/config',
      location_name: 'Stand-in',
      time_zone: 'UTC',
      unit_system: { length: 'km', mass: 'g', temperature: '°C', volume: 'L' },
      version: this.opts.haVersion,
      state: 'RUNNING',
      safe_mode: false,
      recovery_mode: false,
    };
  }
}

/** subscribe_entities' compressed state (home-assistant-js-websocket's entities.ts reads it). */
function compressed(s: HaState): Record<string, unknown> {
  return {
    s: s.state,
    a: s.attributes,
    c: s.context.id,
    lc: Date.parse(s.last_changed) / 1000,
    lu: Date.parse(s.last_updated) / 1000,
  };
}

/** A subscribe_entities change: what was added or changed under "+", removed attributes under "-". */
function diff(prev: HaState, next: HaState): Record<string, unknown> {
  const plus: Record<string, unknown> = { c: next.context.id };
  if (prev.state !== next.state) {
    plus.s = next.state;
    plus.lc = Date.parse(next.last_changed) / 1000;
  } else {
    plus.lu = Date.parse(next.last_updated) / 1000;
  }
  const changed: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(next.attributes)) {
    if (JSON.stringify(prev.attributes[k]) !== JSON.stringify(v)) changed[k] = v;
  }
  if (Object.keys(changed).length) plus.a = changed;
  const removed = Object.keys(prev.attributes).filter((k) => !(k in next.attributes));
  return removed.length ? { '+': plus, '-': { a: removed } } : { '+': plus };
}
