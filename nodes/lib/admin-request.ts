/**
 * What an editor call (`span-panel/test`, `span-panel/register`) may use, decided before anything is sent.
 *
 * The rules that keep secrets with their panel:
 * - Stored secrets (token, passphrase, the v2 registration, the trusted CA) are lent only by a deployed
 *   span-panel named by `id`, and only for its own host or the host its stored registration was made for.
 *   For any other host the request must carry its own typed secret; asking for the stored one
 *   (`__PWRD__`, what the editor sends for an untouched password field) is refused.
 * - `${VAR}` references are expanded only from the deployed node's own saved fields (the request sends
 *   the field as saved); a reference in any other request value is refused, never looked up in
 *   process.env. Expanded values are listed in `hidden` so no answer shows them.
 */
import type { NodeAPI } from 'node-red';
import { parseHost } from '../../src/connection/config';
import type { ApiChoice } from '../../src/model/panel';
import { apiChoice, DEFAULT_MQTT_PORT, hostProblem, validPort } from './panel-config';
import { isPanelConfigNode, type LentSecrets, type PanelConfigNode } from './panel-types';

/** What the editor sends for a password field that holds a stored value it was not shown. */
export const STORED = '__PWRD__';

export class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface PanelRequest {
  id: string | null;
  /** The deployed span-panel named by `id`, if any. */
  node: PanelConfigNode | null;
  host: string;
  api: ApiChoice;
  mqttPort: number;
  token?: string;
  passphrase?: string;
  /** True when the dialog sent a secret of its own (not the stored one). */
  typedSecret: boolean;
  /** What the deployed node lends for this host; null for any other host. */
  lent: LentSecrets | null;
  /** [expanded value, what to show instead] for values that came from environment variables. */
  hidden: Array<[string, string]>;
}

const ENV_REF = /\$\{/;
const WHOLE_ENV_REF = /^\$\{[^}]+\}$/;

export function parsePanelRequest(RED: NodeAPI, body: unknown): PanelRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequest('expected a JSON object');
  }
  const b = body as Record<string, unknown>;
  const id = typeof b.id === 'string' && b.id.length > 0 && b.id.length <= 64 ? b.id : null;
  const found = id ? RED.nodes.getNode(id) : null;
  if (found && found.type !== 'span-panel') throw new BadRequest('that id is not a span-panel node');
  const node = isPanelConfigNode(found) ? found : null;
  const hidden: Array<[string, string]> = [];

  // The node's fields as saved: Node-RED hands the node its properties with `${VAR}` already replaced.
  const saved = node && id ? savedConfig(RED, id) : null;
  const rawHost = typeof b.host === 'string' ? b.host.trim() : '';
  if (!rawHost) throw new BadRequest('no panel host given');
  let host: string;
  if (node && saved && rawHost === String(saved.host ?? '').trim()) {
    if (node.resolvedHost === null) {
      throw new BadRequest(`the deployed configuration cannot be used: ${node.configError ?? 'invalid'}`);
    }
    host = node.resolvedHost;
    if (host !== rawHost) hideHost(hidden, host, rawHost);
  } else {
    if (ENV_REF.test(rawHost)) throw envRefused('host');
    const problem = hostProblem(rawHost);
    if (problem) throw new BadRequest(problem);
    host = rawHost;
  }

  const apiRaw = apiChoice(b.api);
  if (apiRaw === null) throw new BadRequest('api must be auto, v1 or v2');

  const rawPort = b.mqttPort === undefined || b.mqttPort === null ? '' : String(b.mqttPort).trim();
  let mqttPort: number;
  if (node && saved && rawPort === String(saved.mqttPort ?? '').trim() && node.resolvedMqttPort !== null) {
    mqttPort = node.resolvedMqttPort;
    if (ENV_REF.test(rawPort)) hidden.push([`:${mqttPort}`, ':(MQTT port from the environment)']);
  } else {
    if (ENV_REF.test(rawPort)) throw envRefused('MQTT port');
    mqttPort = Number(rawPort || DEFAULT_MQTT_PORT);
    if (!validPort(mqttPort)) throw new BadRequest('invalid MQTT port');
  }

  const lent = node?.secretsFor(host) ?? null;
  const result: PanelRequest = { id, node, host, api: apiRaw, mqttPort, typedSecret: false, lent, hidden };
  for (const field of ['token', 'passphrase'] as const) {
    const sent = b[field];
    if (typeof sent === 'string' && sent.trim() !== '' && sent !== STORED) {
      if (WHOLE_ENV_REF.test(sent.trim())) throw envRefused(field);
      result[field] = sent;
      result.typedSecret = true;
    } else if (sent === STORED || sent === undefined || sent === null) {
      if (lent) {
        result[field] = lent[field];
      } else if (sent === STORED) {
        throw new BadRequest(
          `the stored ${field} is only sent to the panel it belongs to (the deployed configuration's host); ` +
            `type the ${field} to use another host`,
          403,
        );
      }
    }
  }
  return result;
}

/** A span-panel's properties as deployed (before Node-RED's environment-variable substitution). */
function savedConfig(RED: NodeAPI, id: string): { host?: unknown; mqttPort?: unknown } | null {
  let found: { host?: unknown; mqttPort?: unknown } | null = null;
  RED.nodes.eachNode((n) => {
    if (n.id === id && n.type === 'span-panel') found = n as { host?: unknown; mqttPort?: unknown };
  });
  return found;
}

/** Whether `id` names a span-panel of the deployed flows (running, or on a disabled tab). */
export function isDeployedPanelId(RED: NodeAPI, id: string): boolean {
  if (isPanelConfigNode(RED.nodes.getNode(id))) return true;
  let found = false;
  RED.nodes.eachNode((n) => {
    if (n.id === id && n.type === 'span-panel') found = true;
  });
  return found;
}

function envRefused(field: string): BadRequest {
  return new BadRequest(
    `environment variables in the ${field} are only read from the deployed configuration: ` +
      `deploy it first, or type the value itself`,
  );
}

/** Hide an expanded host (and its parts) behind the field as saved. */
function hideHost(hidden: Array<[string, string]>, expanded: string, saved: string): void {
  hidden.push([expanded, saved]);
  try {
    const { hostname, port } = parseHost(expanded);
    hidden.push([hostname, saved]);
    if (port !== null) hidden.push([`:${port}`, ':(port from the environment)']);
  } catch {
    // resolvedHost was validated by the node; nothing else to hide
  }
}
