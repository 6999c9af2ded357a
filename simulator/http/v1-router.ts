/**
 * The v1 REST face of the simulated panel (docs/panel-api.md §2, §4): the routes real MAIN 32 clients use,
 * FastAPI-style `{"detail": ...}` errors, and the r202603+ deprecation headers on every /api/v1/* response.
 *
 * Choices where the real panel's answer is unknown (documented, tests pin them):
 * - register outside the proximity window → 403 {"detail": "Proximity not proven ..."};
 * - register with a name already taken → 409 {"detail": "Client name already registered"};
 * - relay command on a locked (not user-controllable) circuit → 400 {"detail": "Circuit is not user controllable"};
 * - unknown circuit → 404 {"detail": "Circuit not found"}; unknown path → 404 {"detail": "Not Found"};
 * - priority writes are answered 200 with the unchanged circuit: v1 does not persist them (HA docs).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenRegistry } from '../auth/tokens';
import type { PanelState } from '../state';
import type { SimRelay } from '../state-types';
import { sendBody, sendJson, type Headers } from './respond';
import { stripQuery } from './request-stats';
import {
  V1_INVALID_TOKEN_DETAIL,
  V1_MISSING_TOKEN_BODY,
  circuitPayload,
  circuitsPayload,
  panelMeterPayload,
  panelPayload,
  panelPowerPayload,
  soePayload,
  statusPayload,
} from './v1-payloads';

export const V1_PREFIX = '/api/v1';
export const V1_DEPRECATION_HEADERS: Headers = { Deprecation: 'true', Sunset: '2026-12-31' };
const MAX_BODY_BYTES = 64 * 1024;

export interface V1Deps {
  state: PanelState;
  tokens: TokenRegistry;
}

interface V1Request {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  body: unknown;
}

interface Route {
  method: string;
  pattern: RegExp;
  auth: boolean;
  handle(r: V1Request, deps: V1Deps): void;
}

const ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/status$/, auth: false, handle: (r, d) => ok(r.res, statusPayload(d.state)) },
  { method: 'POST', pattern: /^\/auth\/register$/, auth: false, handle: register },
  { method: 'GET', pattern: /^\/auth\/clients$/, auth: true, handle: listClients },
  { method: 'GET', pattern: /^\/auth\/clients\/([^/]+)$/, auth: true, handle: getClient },
  { method: 'DELETE', pattern: /^\/auth\/clients\/([^/]+)$/, auth: true, handle: deleteClient },
  { method: 'GET', pattern: /^\/panel$/, auth: true, handle: (r, d) => ok(r.res, panelPayload(d.state)) },
  {
    method: 'GET',
    pattern: /^\/panel\/power$/,
    auth: true,
    handle: (r, d) => ok(r.res, panelPowerPayload(d.state)),
  },
  {
    method: 'GET',
    pattern: /^\/panel\/meter$/,
    auth: true,
    handle: (r, d) => ok(r.res, panelMeterPayload(d.state)),
  },
  {
    method: 'GET',
    pattern: /^\/panel\/grid$/,
    auth: true,
    handle: (r, d) => ok(r.res, { relayState: d.state.mains.mainRelayState }),
  },
  {
    method: 'GET',
    pattern: /^\/circuits$/,
    auth: true,
    handle: (r, d) => ok(r.res, circuitsPayload(d.state)),
  },
  { method: 'GET', pattern: /^\/circuits\/([^/]+)$/, auth: true, handle: getCircuit },
  { method: 'POST', pattern: /^\/circuits\/([^/]+)$/, auth: true, handle: postCircuit },
  {
    method: 'GET',
    pattern: /^\/storage\/soe$/,
    auth: true,
    handle: (r, d) => ok(r.res, soePayload(d.state)),
  },
];

/** Handles a request under /api/v1; returns false for any other path. */
export function handleV1(req: IncomingMessage, res: ServerResponse, deps: V1Deps): boolean {
  const path = stripQuery(req.url ?? '/');
  if (path !== V1_PREFIX && !path.startsWith(`${V1_PREFIX}/`)) return false;
  for (const [name, value] of Object.entries(V1_DEPRECATION_HEADERS)) res.setHeader(name, value);

  const sub = path.slice(V1_PREFIX.length);
  const candidates = ROUTES.filter((r) => r.pattern.test(sub));
  const route = candidates.find((r) => r.method === req.method);
  if (!route) {
    readBody(req, () => {
      if (candidates.length > 0) detail(res, 405, 'Method Not Allowed');
      else detail(res, 404, 'Not Found');
    });
    return true;
  }
  readBody(req, (raw) => {
    if (route.auth) {
      const verdict = authorize(req, deps.tokens);
      if (verdict === 'missing')
        return sendBody(res, 412, V1_MISSING_TOKEN_BODY, { 'Content-Type': 'application/json' });
      if (verdict === 'invalid')
        return detail(res, 401, V1_INVALID_TOKEN_DETAIL, { 'WWW-Authenticate': 'Bearer' });
    }
    let body: unknown = undefined;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        return validationError(res, ['body', 0], 'Expecting value', 'value_error.jsondecode');
      }
    }
    const params = (route.pattern.exec(sub) ?? []).slice(1).map((p) => decodeURIComponent(p));
    route.handle({ req, res, params, body }, deps);
  });
  return true;
}

function authorize(req: IncomingMessage, tokens: TokenRegistry): 'ok' | 'missing' | 'invalid' {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) return 'missing';
  return tokens.isValid(match[1] as string) ? 'ok' : 'invalid';
}

function register({ res, body }: V1Request, deps: V1Deps): void {
  const input = asObject(body);
  const name = input?.name;
  if (typeof name !== 'string' || name.length === 0) {
    return validationError(res, ['body', 'name'], 'field required', 'value_error.missing');
  }
  const description = typeof input?.description === 'string' ? input.description : '';
  if (!deps.state.identity.proximityProven) {
    return detail(
      res,
      403,
      'Proximity not proven: open the panel door and press the door switch 3 times, then register within 15 minutes',
    );
  }
  if (deps.tokens.has(name)) return detail(res, 409, 'Client name already registered');
  ok(res, deps.tokens.register(name, description));
}

function clientPayload(c: { description: string; issuedAtMs: number }) {
  return {
    description: c.description,
    issued_at: Math.floor(c.issuedAtMs / 1000),
    allowed_endpoint_groups: { get: ['*'], post: ['*'], put: ['*'], delete: ['*'], patch: ['*'] },
  };
}

function listClients({ res }: V1Request, deps: V1Deps): void {
  const clients: Record<string, ReturnType<typeof clientPayload>> = {};
  for (const c of deps.tokens.list()) clients[c.name] = clientPayload(c);
  ok(res, { clients });
}

function getClient({ res, params }: V1Request, deps: V1Deps): void {
  const c = deps.tokens.get(params[0] as string);
  if (!c) return detail(res, 404, 'Client not found');
  ok(res, clientPayload(c));
}

function deleteClient({ res, params }: V1Request, deps: V1Deps): void {
  const c = deps.tokens.revokeClient(params[0] as string);
  if (!c) return detail(res, 404, 'Client not found');
  ok(res, clientPayload(c));
}

function getCircuit({ res, params }: V1Request, deps: V1Deps): void {
  const c = deps.state.circuit(params[0] as string);
  if (!c) return detail(res, 404, 'Circuit not found');
  ok(res, circuitPayload(c));
}

function postCircuit({ res, params, body }: V1Request, deps: V1Deps): void {
  const id = params[0] as string;
  const c = deps.state.circuit(id);
  if (!c) return detail(res, 404, 'Circuit not found');
  const input = asObject(body);
  const relayIn = asObject(input?.relayStateIn);
  const priorityIn = asObject(input?.priorityIn);
  if (input?.relayStateIn !== undefined) {
    const relay = relayIn?.relayState;
    if (relay !== 'OPEN' && relay !== 'CLOSED') {
      return validationError(
        res,
        ['body', 'relayStateIn', 'relayState'],
        'value is not a valid enumeration member',
        'type_error.enum',
      );
    }
    if (!c.isUserControllable) return detail(res, 400, 'Circuit is not user controllable');
    return ok(res, circuitPayload(deps.state.setRelay(id, relay as SimRelay)));
  }
  if (input?.priorityIn !== undefined) {
    const priority = priorityIn?.priority;
    if (
      typeof priority !== 'string' ||
      !['MUST_HAVE', 'NICE_TO_HAVE', 'NON_ESSENTIAL', 'UNKNOWN'].includes(priority)
    ) {
      return validationError(
        res,
        ['body', 'priorityIn', 'priority'],
        'value is not a valid enumeration member',
        'type_error.enum',
      );
    }
    // Accepted but not persisted, like the real v1 API.
    return ok(res, circuitPayload(c));
  }
  const other = input ? Object.keys(input).find((k) => k.endsWith('In')) : undefined;
  if (other) return detail(res, 400, `${other} is not supported`);
  validationError(res, ['body'], 'one of relayStateIn or priorityIn is required', 'value_error.missing');
}

function ok(res: ServerResponse, payload: unknown): void {
  sendJson(res, 200, payload);
}

function detail(res: ServerResponse, status: number, message: string, headers: Headers = {}): void {
  sendJson(res, status, { detail: message }, headers);
}

function validationError(res: ServerResponse, loc: (string | number)[], msg: string, type: string): void {
  sendJson(res, 422, { detail: [{ loc, msg, type }] });
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Collects a (small) request body, then calls back; oversized bodies are cut at MAX_BODY_BYTES. */
export function readBody(req: IncomingMessage, done: (raw: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    if (size < MAX_BODY_BYTES) chunks.push(chunk);
    size += chunk.length;
  });
  req.once('end', () => done(Buffer.concat(chunks).toString('utf8')));
  req.once('error', () => undefined);
}
