import http from 'node:http';
import axios from 'axios';
import { PanelError } from '../errors';
import { classifyHttpError } from '../http/classify';
import { buildBaseURL } from '../http/panel-http';

/**
 * The small v2 REST bootstrap (docs/panel-api.md §3.1): status, Homie schema, CA certificate and
 * registration. One short-lived request each, on a non-keep-alive agent (these calls are rare: detection,
 * registration and a CA re-fetch when the MQTT client is rebuilt), so nothing pooled can go stale and close()
 * has nothing to release. Every failure is a classified PanelError whose text names method, path and status
 * only — never a body, which for a rejected registration echoes the passphrase.
 */

export const V2_PATHS = {
  status: '/api/v2/status',
  schema: '/api/v2/homie/schema',
  ca: '/api/v2/certificate/ca',
  register: '/api/v2/auth/register',
} as const;

export interface V2Endpoint {
  /** Host name or IP as configured, optionally "host:port" or "[v6]:port". */
  host: string;
  /** Overrides a port given in `host`; default 80. */
  httpPort?: number;
  /** Per-request timeout, default 5000 ms. */
  timeoutMs?: number;
}

export interface V2Response {
  status: number;
  text: string;
}

export function baseUrlOf(ep: V2Endpoint): string {
  return buildBaseURL(ep.host, ep.httpPort);
}

/** Max body we accept from the bootstrap API; the schema is the largest at a few tens of KB. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

/**
 * One HTTP exchange. Any status resolves (the caller decides what it means); transport failures and our
 * own timeout/abort reject with a classified PanelError.
 */
export async function v2Request(
  ep: V2Endpoint,
  method: 'GET' | 'POST',
  path: string,
  signal: AbortSignal | undefined,
  body?: unknown,
): Promise<V2Response> {
  const agent = new http.Agent({ keepAlive: false });
  try {
    const res = await axios.request<string>({
      baseURL: baseUrlOf(ep),
      url: path,
      method,
      data: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? { Accept: '*/*' } : { 'Content-Type': 'application/json', Accept: '*/*' },
      timeout: ep.timeoutMs ?? 5000,
      signal,
      httpAgent: agent,
      proxy: false,
      maxRedirects: 0,
      maxContentLength: MAX_BODY_BYTES,
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      validateStatus: () => true,
    });
    return { status: res.status, text: typeof res.data === 'string' ? res.data : String(res.data ?? '') };
  } catch (e) {
    throw classifyHttpError(e, { method, path, abortReason: signal?.aborted ? signal.reason : undefined });
  } finally {
    agent.destroy();
  }
}

/** A classified error for a non-2xx answer, built from the status only (the body is never quoted). */
export function statusError(method: string, path: string, res: V2Response, hint?: string): PanelError {
  const err = classifyHttpError(
    { response: { status: res.status }, message: `HTTP ${res.status}` },
    { method, path },
  );
  if (!hint) return err;
  return new PanelError(err.errorClass, `${method} ${path}: HTTP ${res.status}: ${hint}`, {
    status: err.status,
    retryAfterMs: err.retryAfterMs,
  });
}

export function parseJsonObject(text: string, where: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new PanelError('protocol', `${where}: the panel did not answer with JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new PanelError('protocol', `${where}: expected a JSON object`);
  }
  return v as Record<string, unknown>;
}

export interface V2Status {
  serialNumber: string;
  firmwareVersion: string | null;
  proximityProven: boolean | null;
  hardwareVersion: string | null;
}

export function parseV2Status(body: Record<string, unknown>, where = `GET ${V2_PATHS.status}`): V2Status {
  const serial = body.serialNumber;
  if (typeof serial !== 'string' || serial === '') {
    throw new PanelError('protocol', `${where}: no serialNumber in the answer`);
  }
  return {
    serialNumber: serial,
    firmwareVersion: typeof body.firmwareVersion === 'string' ? body.firmwareVersion : null,
    proximityProven: typeof body.proximityProven === 'boolean' ? body.proximityProven : null,
    hardwareVersion: typeof body.hardwareVersion === 'string' ? body.hardwareVersion : null,
  };
}

export async function fetchV2Status(ep: V2Endpoint, signal?: AbortSignal): Promise<V2Status> {
  const res = await v2Request(ep, 'GET', V2_PATHS.status, signal);
  if (res.status !== 200) throw statusError('GET', V2_PATHS.status, res);
  return parseV2Status(parseJsonObject(res.text, `GET ${V2_PATHS.status}`));
}

/** The panel's self-signed CA (PEM). Rate-limited by the panel to 10 requests/min per client. */
export async function fetchCaPem(ep: V2Endpoint, signal?: AbortSignal): Promise<string> {
  const res = await v2Request(ep, 'GET', V2_PATHS.ca, signal);
  if (res.status !== 200) throw statusError('GET', V2_PATHS.ca, res);
  if (!/-----BEGIN CERTIFICATE-----/.test(res.text)) {
    throw new PanelError('protocol', `GET ${V2_PATHS.ca}: the answer is not a PEM certificate`);
  }
  return res.text;
}
