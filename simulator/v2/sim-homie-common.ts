/**
 * What both Homie publishers share: the Homie 5 device tree they produce, value formatting, the v1 ↔ v2
 * vocabulary mappings and the panel-level derived quantities, so that the flat and the parent/child tree
 * describe the same state with the same numbers.
 *
 * Homie 5 wire rules used (homieiot.github.io/specification, SPAN "Broker Semantics"): every topic is
 * retained; payloads are UTF-8 strings; floats are plain decimal numbers (the state's value, unrounded, so
 * v1 REST and v2 report the same number); integers have no decimal point; booleans are "true"/"false";
 * `$description` is JSON with homie "5.0", an integer `version`, `name`, `type`, `nodes`, and for the
 * parent/child model `children` on parents and `root`/`parent` on children.
 */
import { createHash } from 'node:crypto';
import type { SchemaProperties, SchemaProperty } from './schema';
import type { SimCircuit, SimPanelState, SimV1Priority } from '../state-types';

export const SIM_HOMIE_PREFIX = 'ebus/5';

export type HomieDeviceState = 'init' | 'ready' | 'disconnected' | 'sleeping' | 'lost';
export const HOMIE_DEVICE_STATES: readonly HomieDeviceState[] = [
  'init',
  'ready',
  'disconnected',
  'sleeping',
  'lost',
];

export interface SimHomieNodeDescription {
  name: string;
  type: string;
  properties: Record<string, SchemaProperty>;
}

export interface HomieDescription {
  homie: '5.0';
  version: number;
  name: string;
  type: string;
  root?: string;
  parent?: string;
  children?: string[];
  nodes: Record<string, SimHomieNodeDescription>;
}

export interface SimHomieDevice {
  id: string;
  description: HomieDescription;
  /** Property values by "<node>/<property>". */
  values: Map<string, string>;
}

/** Every device the panel publishes, root first. */
export interface SimHomieTree {
  rootId: string;
  devices: SimHomieDevice[];
}

/** Values the publishers keep outside the physical state (settable panel-level properties). */
export interface PublisherExtras {
  /** Flat core/dominant-power-source after a /set; null = derived from the state. */
  dominantPowerSource: string | null;
  /** The EV charger's user charge-current ceiling, A (parent/child config/user-max-charge-current). */
  evseUserMaxChargeCurrentA: number;
}

export function deviceTopic(deviceId: string, suffix: string): string {
  return `${SIM_HOMIE_PREFIX}/${deviceId}/${suffix}`;
}

/** Homie float payload: the exact value (tiny magnitudes and non-finite values read 0). */
export function fmtFloat(value: number): string {
  if (!Number.isFinite(value) || Math.abs(value) < 1e-6) return '0';
  return String(value);
}

export function fmtInt(value: number): string {
  return String(Math.round(value));
}

export function fmtBool(value: boolean): string {
  return value ? 'true' : 'false';
}

/** v1 priority → v2 shed priority (SpanPanel simulator's mapping, docs/panel-api.md §3.3). */
export const V1_TO_V2_PRIORITY: Record<SimV1Priority, string> = {
  MUST_HAVE: 'NEVER',
  NICE_TO_HAVE: 'SOC_THRESHOLD',
  NON_ESSENTIAL: 'OFF_GRID',
};

/** v2 shed priority → v1 priority; UNKNOWN (and anything else) has none, so a write of it is ignored. */
export function v2PriorityToV1(value: string): SimV1Priority | null {
  for (const [v1, v2] of Object.entries(V1_TO_V2_PRIORITY)) if (v2 === value) return v1 as SimV1Priority;
  return null;
}

/**
 * Flat relay-requester: a user-opened relay → USER; a locked circuit → ALWAYS_ON; otherwise NONE.
 * (The simulator has no load shedding or PCS, so BACKUP/PCS/… never occur.)
 */
export function flatRelayRequester(c: SimCircuit): string {
  if (!c.isUserControllable) return 'ALWAYS_ON';
  return c.relayState === 'OPEN' ? 'USER' : 'NONE';
}

/** Data model 1.0 relay-requester (canonical set): ALWAYS_ON → CONFIGURATION, as the migration guide maps it. */
export function parentChildRelayRequester(c: SimCircuit): string {
  const flat = flatRelayRequester(c);
  return flat === 'ALWAYS_ON' ? 'CONFIGURATION' : flat;
}

export const NOMINAL_LEG_VOLTAGE = 120;

/** Circuit current (A): |power| over 120 V for one pole, 240 V for two. */
export function circuitCurrentA(c: SimCircuit): number {
  const volts = NOMINAL_LEG_VOLTAGE * Math.max(1, c.tabs.length);
  return round3(Math.abs(c.instantPowerW) / volts);
}

/** Service-entrance current per leg (A): the grid power split evenly over both legs. */
export function serviceCurrentA(state: SimPanelState): [number, number] {
  const perLegW = Math.abs(state.mains.instantGridPowerW) / 2;
  return [round3(perLegW / state.mains.l1VoltageV), round3(perLegW / state.mains.l2VoltageV)];
}

/**
 * power-flows (docs/panel-api.md §5): + = towards the named entity.
 * grid = −instantGridPowerW; pv = state.pvPowerW (< 0 while generating); battery 0 (the simulated battery
 * holds its charge); site closes the balance pv + battery + grid + site = 0.
 */
export function powerFlows(state: SimPanelState): {
  pv: number;
  battery: number;
  grid: number;
  site: number;
} {
  const grid = -state.mains.instantGridPowerW;
  const pv = state.pvPowerW;
  const battery = 0;
  const site = -(pv + battery + grid);
  return { pv, battery, grid: grid === 0 ? 0 : grid, site: site === 0 ? 0 : site };
}

/** Whether the panel is on the grid, from the v1 DSM state. */
export function isOnGrid(state: SimPanelState): boolean {
  return !/OFF_GRID/.test(state.mains.dsmState);
}

/** The commissioned battery (present while soePercent is not null). Fixed identity, like a real Powerwall. */
export const BESS = {
  vendorName: 'Tesla',
  productName: 'Powerwall 2 AC',
  partNumber: '1232100-00-E',
  serialNumber: 'TG121153003K7G',
  firmwareVersion: '23.44.0',
  nameplateCapacityKWh: 13.5,
};

export function bessSoeKWh(soePercent: number): number {
  return round3((BESS.nameplateCapacityKWh * soePercent) / 100);
}

export const PANEL_STATIC = {
  vendorName: 'SPAN',
  mainBreakerRatingA: 200,
  postalCode: '94103',
  timeZone: 'America/Los_Angeles',
};

/** A description node from schema properties: every declared property, with per-device settable overrides. */
export function describeNode(
  name: string,
  type: string,
  properties: SchemaProperties,
  settable: Record<string, boolean> = {},
): SimHomieNodeDescription {
  const out: Record<string, SchemaProperty> = {};
  for (const [id, p] of Object.entries(properties)) {
    const copy: SchemaProperty = { ...p };
    if (id in settable) copy.settable = settable[id];
    out[id] = copy;
  }
  return { name, type, properties: out };
}

/** Fills in `version`: an integer derived from the rest of the description, so it changes when it does. */
export function withVersion(description: Omit<HomieDescription, 'version'>): HomieDescription {
  const digest = createHash('sha256').update(JSON.stringify(description)).digest('hex');
  return { homie: description.homie, version: parseInt(digest.slice(0, 12), 16), ...omitHomie(description) };
}

function omitHomie(d: Omit<HomieDescription, 'version'>): Omit<HomieDescription, 'version' | 'homie'> {
  const { homie: _homie, ...rest } = d;
  return rest;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
