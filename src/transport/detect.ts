import type { DataModel } from '../model/panel';
import { PanelError } from './errors';
import {
  parseJsonObject,
  parseV2Status,
  statusError,
  v2Request,
  V2_PATHS,
  type V2Endpoint,
  type V2Status,
} from './v2/rest';

/**
 * Which local API a panel speaks (span-api.md §12.1): GET /api/v2/status without a token; a 200 means the
 * SPAN API (eBus/MQTT), and GET /api/v2/homie/schema then tells the data model — no `dataModelVersion` is the
 * flat model (r202603–r202627), "1.x" the parent/child model (r202633+). Any other answer means the legacy
 * v1 REST API.
 *
 * A transport failure (refused, unreachable, timeout) is NOT "v1": it throws a classified PanelError and the
 * supervisor retries detection. So does a 5xx from /api/v2/status when /api/v1/status does not answer 200
 * either — a v2 panel in the middle of a reboot answers 502 everywhere, and must not be mistaken for v1.
 */

export type V2DataModel = Extract<DataModel, 'v2-flat' | 'v2-parent-child'>;

export type DetectResult =
  { api: 'v2'; dataModel: V2DataModel; status: V2Status; schema: Record<string, unknown> } | { api: 'v1' };

export interface DetectOptions {
  signal?: AbortSignal;
  /** Per-request timeout, default 5000 ms. */
  timeoutMs?: number;
  /** HTTP port; overrides one given in `host` (default 80). */
  httpPort?: number;
}

/** `dataModelVersion` absent ⇒ flat; present ("1.0", "1.2", …) ⇒ parent/child. */
export function dataModelOfSchema(schema: Record<string, unknown>): V2DataModel {
  const v = schema.dataModelVersion;
  if (v === undefined || v === null || v === '') return 'v2-flat';
  return 'v2-parent-child';
}

export async function detectApi(host: string, opts: DetectOptions = {}): Promise<DetectResult> {
  const ep: V2Endpoint = { host, httpPort: opts.httpPort, timeoutMs: opts.timeoutMs };
  const res = await v2Request(ep, 'GET', V2_PATHS.status, opts.signal);
  if (res.status !== 200) {
    if (res.status >= 500) await confirmV1(ep, res.status, opts.signal);
    return { api: 'v1' };
  }
  const status = parseV2Status(parseJsonObject(res.text, `GET ${V2_PATHS.status}`));
  const schemaRes = await v2Request(ep, 'GET', V2_PATHS.schema, opts.signal);
  if (schemaRes.status !== 200) {
    throw statusError(
      'GET',
      V2_PATHS.schema,
      schemaRes,
      'cannot read the Homie schema to choose the data model',
    );
  }
  const schema = parseJsonObject(schemaRes.text, `GET ${V2_PATHS.schema}`);
  return { api: 'v2', dataModel: dataModelOfSchema(schema), status, schema };
}

/** A 5xx on /api/v2/status means v1 only when the v1 API itself answers; otherwise the panel is just busy. */
async function confirmV1(ep: V2Endpoint, v2Status: number, signal?: AbortSignal): Promise<void> {
  const v1 = await v2Request(ep, 'GET', '/api/v1/status', signal);
  if (v1.status === 200) return;
  throw new PanelError(
    v2Status === 500 ? 'server' : 'gateway',
    `GET ${V2_PATHS.status}: HTTP ${v2Status} and GET /api/v1/status: HTTP ${v1.status} (panel busy or restarting; ` +
      'the API will be detected again)',
    { status: v2Status },
  );
}
