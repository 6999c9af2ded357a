import type { DataModel } from '../model/panel';
import { PanelError } from './errors';
import { parseV1Status, V1_PATHS } from './v1/normalize';
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
 * Which local API a panel speaks (docs/resilience.md §5, docs/panel-api.md §3.1): GET /api/v2/status
 * without a token; a 200 with a v2 status body means the SPAN API (eBus/MQTT), and GET /api/v2/homie/schema
 * then tells the data model — no `dataModelVersion` is the flat model (r202603–r202627), "1.x" the
 * parent/child model (r202633+).
 *
 * Detection is a hypothesis, never a guess: v1 is chosen only when GET /api/v1/status positively answers
 * with a v1 status body. Any other outcome — a transport failure, a 4xx/5xx or an unparseable answer on
 * /api/v2/status with no v1 to confirm — throws a classified PanelError and the supervisor detects again
 * with backoff. (A v2 panel whose v2 service is still starting answers 404 there for a while; a v2 panel
 * rebooting answers 502 everywhere. Neither is "v1".)
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
    await confirmV1(ep, res.status, opts.signal);
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

/**
 * /api/v2/status did not answer 200: the panel is v1 only when /api/v1/status answers with a v1 status
 * body. Otherwise detection failed (busy, restarting, v2 service not up yet) and is retried.
 */
async function confirmV1(ep: V2Endpoint, v2Status: number, signal?: AbortSignal): Promise<void> {
  const v1 = await v2Request(ep, 'GET', V1_PATHS.status, signal);
  if (v1.status === 200 && isV1StatusBody(v1.text)) return;
  const errorClass = v2Status >= 500 ? (v2Status === 500 ? 'server' : 'gateway') : 'client';
  throw new PanelError(
    errorClass,
    `GET ${V2_PATHS.status}: HTTP ${v2Status} and GET ${V1_PATHS.status}: ` +
      `${v1.status === 200 ? 'not a v1 status' : `HTTP ${v1.status}`} (neither API identified: panel busy, ` +
      'restarting or still starting its services; the API will be detected again)',
    { status: v2Status },
  );
}

function isV1StatusBody(text: string): boolean {
  try {
    parseV1Status(JSON.parse(text));
    return true;
  } catch {
    return false;
  }
}
