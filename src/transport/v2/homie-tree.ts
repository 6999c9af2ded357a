/**
 * A pure accumulator of Homie 5 retained state under `ebus/5/` (docs/panel-api.md §3.2–3.4): per device its
 * `$state`, its parsed `$description` and its property values as the raw strings the panel published.
 *
 * Rules that matter:
 * - A value that was never published is simply absent: the parsers turn that into null, never 0 (SPAN #259).
 * - An empty retained payload is a Homie deletion: the value (or $state / $description) becomes unknown.
 * - Sub-topics of a property (`…/set`, `…/$target`) and other device attributes are ignored: our own
 *   commands must never be mistaken for the panel's confirmation.
 */

export const HOMIE_PREFIX = 'ebus/5/';

export interface HomiePropertyDescription {
  name?: string;
  datatype?: string;
  format?: string;
  unit?: string;
  settable?: boolean;
  retained?: boolean;
}

export interface HomieNodeDescription {
  name?: string;
  type?: string;
  properties: Record<string, HomiePropertyDescription>;
}

export interface HomieDeviceDescription {
  type: string | null;
  name: string | null;
  root: string | null;
  parent: string | null;
  children: string[];
  /** In the order the panel listed them. */
  nodes: Array<[string, HomieNodeDescription]>;
}

export interface HomieDevice {
  id: string;
  state: string | null;
  description: HomieDeviceDescription | null;
  /** "node/property" → raw payload. */
  values: Map<string, string>;
}

export type IngestResult =
  | { kind: 'ignored' }
  | { kind: 'state'; device: string }
  | { kind: 'description'; device: string }
  | { kind: 'value'; device: string; key: string };

function asRecord(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** Parses a `$description` payload; null when it is not a JSON object (a truncated or placeholder payload). */
export function parseDescription(payload: string): HomieDeviceDescription | null {
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return null;
  }
  const d = asRecord(raw);
  if (!d) return null;
  const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  const nodes: Array<[string, HomieNodeDescription]> = [];
  for (const [id, n] of Object.entries(asRecord(d.nodes) ?? {})) {
    const node = asRecord(n);
    if (!node) continue;
    // Null prototype: property ids are the panel's data (`__proto__` is just a key here).
    const properties: Record<string, HomiePropertyDescription> = Object.create(null);
    for (const [pid, p] of Object.entries(asRecord(node.properties) ?? {})) {
      const prop = asRecord(p);
      if (!prop) continue;
      properties[pid] = {
        name: str(prop.name) ?? undefined,
        datatype: str(prop.datatype) ?? undefined,
        format: str(prop.format) ?? undefined,
        unit: str(prop.unit) ?? undefined,
        settable: typeof prop.settable === 'boolean' ? prop.settable : undefined,
        retained: typeof prop.retained === 'boolean' ? prop.retained : undefined,
      };
    }
    nodes.push([id, { name: str(node.name) ?? undefined, type: str(node.type) ?? undefined, properties }]);
  }
  return {
    type: str(d.type),
    name: str(d.name),
    root: str(d.root),
    parent: str(d.parent),
    children: Array.isArray(d.children)
      ? d.children.filter((c): c is string => typeof c === 'string' && c !== '')
      : [],
    nodes,
  };
}

export class HomieTree {
  private readonly devices = new Map<string, HomieDevice>();

  device(id: string): HomieDevice | undefined {
    return this.devices.get(id);
  }

  private deviceFor(id: string): HomieDevice {
    let d = this.devices.get(id);
    if (!d) {
      d = { id, state: null, description: null, values: new Map() };
      this.devices.set(id, d);
    }
    return d;
  }

  /** Feeds one MQTT message. `payload` is the UTF-8 text ('' = deletion). */
  ingest(topic: string, payload: string): IngestResult {
    if (!topic.startsWith(HOMIE_PREFIX)) return { kind: 'ignored' };
    const parts = topic.slice(HOMIE_PREFIX.length).split('/');
    const deviceId = parts[0];
    if (!deviceId || deviceId.startsWith('$')) return { kind: 'ignored' };
    if (parts.length === 2 && parts[1] === '$state') {
      const d = this.deviceFor(deviceId);
      d.state = payload === '' ? null : payload;
      return { kind: 'state', device: deviceId };
    }
    if (parts.length === 2 && parts[1] === '$description') {
      const d = this.deviceFor(deviceId);
      // An unparsable description keeps the last good one: a cut message must not make circuits vanish.
      if (payload === '') d.description = null;
      else d.description = parseDescription(payload) ?? d.description;
      return { kind: 'description', device: deviceId };
    }
    if (parts.length !== 3) return { kind: 'ignored' }; // …/set, …/$target, $log, …
    const [, node, prop] = parts;
    if (!node || !prop || node.startsWith('$') || prop.startsWith('$')) return { kind: 'ignored' };
    const d = this.deviceFor(deviceId);
    const key = `${node}/${prop}`;
    if (payload === '') d.values.delete(key);
    else d.values.set(key, payload);
    return { kind: 'value', device: deviceId, key };
  }

  /** Forget everything (a rebuilt client starts from the retained replay). */
  clear(): void {
    this.devices.clear();
  }

  deviceIds(): string[] {
    return [...this.devices.keys()];
  }
}

// ---- typed reads shared by both parsers ------------------------------------------------------------------

export function rawValue(device: HomieDevice | undefined, node: string | null, prop: string): string | null {
  if (!device || node === null) return null;
  return device.values.get(`${node}/${prop}`) ?? null;
}

/** A finite number, or null (absent, deleted or unparsable — never 0 by default). */
export function numberValue(
  device: HomieDevice | undefined,
  node: string | null,
  prop: string,
): number | null {
  const raw = rawValue(device, node, prop);
  if (raw === null) return null;
  const t = raw.trim();
  if (t === '') return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

export function booleanValue(
  device: HomieDevice | undefined,
  node: string | null,
  prop: string,
): boolean | null {
  const raw = rawValue(device, node, prop)?.trim().toLowerCase();
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  return null;
}

export function stringValue(
  device: HomieDevice | undefined,
  node: string | null,
  prop: string,
): string | null {
  const raw = rawValue(device, node, prop);
  return raw === null || raw === '' ? null : raw;
}

/** The id of the first node of `type` (then of one of `fallbackIds`) in a device's description. */
export function findNode(
  device: HomieDevice | undefined,
  types: string[],
  fallbackIds: string[] = [],
): string | null {
  const nodes = device?.description?.nodes ?? [];
  for (const [id, n] of nodes) if (n.type && types.includes(n.type)) return id;
  for (const id of fallbackIds) if (nodes.some(([nid]) => nid === id)) return id;
  return null;
}

export function nodeDescription(
  device: HomieDevice | undefined,
  nodeId: string | null,
): HomieNodeDescription | null {
  if (!device?.description || nodeId === null) return null;
  return device.description.nodes.find(([id]) => id === nodeId)?.[1] ?? null;
}
