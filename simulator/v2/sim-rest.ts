/**
 * The v2 REST bootstrap routes (docs/panel-api.md §3.1, §4), as a plugin request handler on the panel's API
 * port. Unknown /api/v2 paths are left to the panel (404).
 *
 *   GET  /api/v2/status          {serialNumber, firmwareVersion, proximityProven} (+ hardwareVersion, r202639+)
 *   GET  /api/v2/homie/schema    flat: {firmwareVersion, homieDomain, homieVersion, types, typesSchemaHash};
 *                                parent/child: {…, dataModelVersion "1.0", deviceClasses, deviceClassesSchemaHash}
 *   GET  /api/v2/certificate/ca  the current CA PEM (application/x-pem-file, Cache-Control public, 1 h);
 *                                optional rate limit (429) like the real 10 requests/min per IP
 *   POST /api/v2/auth/register   {name, hopPassphrase?} → AuthOut (v2_register_response_example.json)
 *
 * Register answers (documented choices where the real panel's exact body is unknown):
 * - "not ready" fault → 503 {"detail": "panel is not ready to register clients yet"} (r202639 spec text);
 * - wrong hopPassphrase → 422 with a FastAPI-style validation body whose `input` echoes the submitted
 *   passphrase, as the real panel does (LIB 3.1.0), so client-side redaction can be tested;
 * - no hopPassphrase outside the proximity window → 422 {"detail": "request invalid or credential not accepted"};
 * - missing/invalid name or body → 422 FastAPI validation body; a name already registered → 409.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendBody, sendJson } from '../http/respond';
import { readBody } from '../http/v1-router';
import type { SimPanelState } from '../state-types';
import type { SimV2Credentials } from './credentials';
import { HARDWARE_VERSION, reportsHardwareVersion, type SimDataModel } from './firmware';
import { flatSchemaResponse, parentChildSchemaResponse } from './schema';

export const V2_PREFIX = '/api/v2';
export const REGISTER_NOT_READY_DETAIL = 'panel is not ready to register clients yet';
export const CREDENTIAL_NOT_ACCEPTED_DETAIL = 'request invalid or credential not accepted';

/** The part of the panel's token registry the register route needs. */
export interface AccessTokenIssuer {
  has(name: string): boolean;
  register(name: string, description?: string): { accessToken: string; tokenType: string; iatMs: number };
}

export interface V2RestDeps {
  state: SimPanelState;
  model: SimDataModel;
  credentials: SimV2Credentials;
  tokens: AccessTokenIssuer;
  caPem(): string;
  /** The broker's actual MQTTS port. */
  mqttsPort(): number;
  /** What register reports as ebusBrokerHost (default: the API host, so clients can reach it). */
  brokerHost(): string;
  /** True while the 'register not ready' fault is active. */
  registerNotReady(): boolean;
  /** CA downloads allowed per minute per client address; null = unlimited. */
  caRateLimitPerMin?: number | null;
  now?: () => number;
}

export interface AuthOut {
  accessToken: string;
  tokenType: string;
  iatMs: number;
  hostname: string;
  serialNumber: string;
  hopPassphrase: string;
  ebusBrokerUsername: string;
  ebusBrokerPassword: string;
  ebusBrokerHost: string;
  ebusBrokerMqttsPort: number;
  ebusBrokerWsPort: number;
  ebusBrokerWssPort: number;
}

/** Documented defaults; the simulator serves no WebSocket listeners. */
export const EBUS_WS_PORT = 9001;
export const EBUS_WSS_PORT = 9002;

export function createV2RestHandler(
  deps: V2RestDeps,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const now = deps.now ?? Date.now;
  const caRequests = new Map<string, number[]>();

  const routes: Record<
    string,
    Partial<Record<string, (req: IncomingMessage, res: ServerResponse) => void>>
  > = {
    '/status': { GET: (_req, res) => sendJson(res, 200, statusPayload(deps.state)) },
    '/homie/schema': {
      GET: (_req, res) => {
        const fw = deps.state.identity.firmwareVersion;
        sendJson(res, 200, deps.model === 'flat' ? flatSchemaResponse(fw) : parentChildSchemaResponse(fw));
      },
    },
    '/certificate/ca': {
      GET: (req, res) => {
        if (!allowCaDownload(req)) {
          sendJson(res, 429, { detail: 'Too Many Requests' }, { 'Retry-After': 60 });
          return;
        }
        sendBody(res, 200, deps.caPem(), {
          'Content-Type': 'application/x-pem-file',
          'Cache-Control': 'public, max-age=3600',
        });
      },
    },
    '/auth/register': { POST: (req, res) => readBody(req, (raw) => register(raw, res)) },
  };

  function allowCaDownload(req: IncomingMessage): boolean {
    const limit = deps.caRateLimitPerMin;
    if (limit === undefined || limit === null) return true;
    const key = req.socket.remoteAddress ?? '?';
    const t = now();
    const recent = (caRequests.get(key) ?? []).filter((at) => t - at < 60_000);
    if (recent.length >= limit) {
      caRequests.set(key, recent);
      return false;
    }
    recent.push(t);
    caRequests.set(key, recent);
    return true;
  }

  function register(raw: string, res: ServerResponse): void {
    if (deps.registerNotReady()) return sendJson(res, 503, { detail: REGISTER_NOT_READY_DETAIL });
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return sendJson(res, 422, validationError('json_invalid', ['body', 0], 'JSON decode error', raw));
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return sendJson(
        res,
        422,
        validationError('model_attributes_type', ['body'], 'Input should be an object', body),
      );
    }
    const { name, hopPassphrase } = body as { name?: unknown; hopPassphrase?: unknown };
    if (typeof name !== 'string' || name.trim() === '') {
      return sendJson(res, 422, validationError('missing', ['body', 'name'], 'Field required', body));
    }
    if (hopPassphrase !== undefined && hopPassphrase !== null) {
      if (typeof hopPassphrase !== 'string' || !deps.credentials.passphraseMatches(hopPassphrase)) {
        // The real panel echoes the rejected credential back; so does the simulator (clients must redact).
        return sendJson(
          res,
          422,
          validationError(
            'value_error',
            ['body', 'hopPassphrase'],
            CREDENTIAL_NOT_ACCEPTED_DETAIL,
            hopPassphrase,
          ),
        );
      }
    } else if (!deps.state.identity.proximityProven) {
      return sendJson(res, 422, { detail: CREDENTIAL_NOT_ACCEPTED_DETAIL });
    }
    if (deps.tokens.has(name)) return sendJson(res, 409, { detail: 'Client name already registered' });
    sendJson(res, 200, issueAuth(name));
  }

  function issueAuth(name: string): AuthOut {
    const token = deps.tokens.register(name, 'SPAN API v2 client');
    const serial = deps.state.identity.serial;
    return {
      accessToken: token.accessToken,
      tokenType: token.tokenType,
      iatMs: token.iatMs,
      hostname: `span-${serial}.local`,
      serialNumber: serial,
      hopPassphrase: deps.credentials.passphrase,
      ebusBrokerUsername: serial,
      ebusBrokerPassword: deps.credentials.issueBrokerPassword(),
      ebusBrokerHost: deps.brokerHost(),
      ebusBrokerMqttsPort: deps.mqttsPort(),
      ebusBrokerWsPort: EBUS_WS_PORT,
      ebusBrokerWssPort: EBUS_WSS_PORT,
    };
  }

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!path.startsWith(`${V2_PREFIX}/`)) return false;
    const route = routes[path.slice(V2_PREFIX.length)];
    if (!route) return false;
    const handler = route[(req.method ?? 'GET').toUpperCase()];
    if (!handler) {
      sendJson(res, 405, { detail: 'Method Not Allowed' }, { Allow: Object.keys(route).join(', ') });
      return true;
    }
    handler(req, res);
    return true;
  };
}

export function statusPayload(state: SimPanelState): Record<string, unknown> {
  const id = state.identity;
  return {
    serialNumber: id.serial,
    firmwareVersion: id.firmwareVersion,
    proximityProven: id.proximityProven,
    ...(reportsHardwareVersion(id.firmwareVersion) ? { hardwareVersion: HARDWARE_VERSION } : {}),
  };
}

function validationError(type: string, loc: Array<string | number>, msg: string, input: unknown) {
  return { detail: [{ type, loc, msg, input }] };
}
