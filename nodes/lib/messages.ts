/**
 * Shapes panel data into Node-RED message properties. Pure: the nodes only decide when to send.
 */
import { circuitById, type CircuitMap } from '../../src/model/circuit-map';
import type { Circuit, PanelSnapshot } from '../../src/model/panel';
import type { DataEvent, HealthEvent } from '../../src/supervisor/types';

export interface PollInclude {
  panel: boolean;
  circuits: boolean;
  battery: boolean;
}

/**
 * span-poll's msg.payload: the snapshot with only the parts the user asked for. A copy: Node-RED does not
 * clone the first message it sends, and a flow that edits it must not change the connection's cached data.
 */
export function pollPayload(snapshot: PanelSnapshot, include: PollInclude): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    api: snapshot.api,
    dataModel: snapshot.dataModel,
    receivedAt: snapshot.receivedAt,
  };
  if (include.panel) payload.panel = snapshot.panel;
  if (include.circuits) {
    payload.circuits = messageCircuits(snapshot.circuits);
    payload.unmappedTabs = snapshot.unmappedTabs;
  }
  // The "battery" option covers every energy resource behind the panel: battery, PV, EV charger.
  if (include.battery) {
    payload.battery = snapshot.battery;
    payload.pv = snapshot.pv;
    payload.evse = snapshot.evse;
  }
  payload.energyRegressions = snapshot.energyRegressions;
  return structuredClone(payload);
}

/**
 * The key of a circuit in `msg.payload.circuits`: its id, except `__proto__`, which no message can carry as
 * a key (Node-RED's RED.util.cloneMessage, used whenever a message goes to more than one wire, turns it
 * into the object's prototype and the circuit vanishes). That one id is keyed `[__proto__]`; the circuit's
 * own `id` field always holds the id as the panel sent it.
 */
export function messageKey(id: string): string {
  return id === '__proto__' ? '[__proto__]' : id;
}

/** The circuits as an ordinary object for a message, keyed by messageKey, in panel order. */
function messageCircuits(circuits: CircuitMap): Record<string, Circuit> {
  const out: Record<string, Circuit> = {};
  for (const c of Object.values(circuits)) {
    const key = messageKey(c.id);
    if (!Object.hasOwn(out, key)) out[key] = c;
  }
  return out;
}

/**
 * msg.stale / msg.dataAgeMs: present while the panel is not plainly online (or the data is old), so flows
 * can tell. `stale` is true when this is the last good data rather than a fresh read.
 */
export function freshness(
  health: HealthEvent | null,
  data: DataEvent,
): { stale: boolean; dataAgeMs: number } | null {
  if (health?.state === 'online' && !data.stale) return null;
  return { stale: data.stale, dataAgeMs: data.dataAgeMs };
}

/** What "changed" means for emit-on-change: everything but the receive time. */
export function fingerprint(value: unknown, stale: boolean): string {
  return JSON.stringify(value, (k, v) => (k === 'receivedAt' ? undefined : v)) + (stale ? '|stale' : '');
}

export type CircuitOutput = 'power' | 'ha-power' | 'ha-energy';

export interface CircuitMessage {
  topic: string;
  payload: unknown;
  circuit: Circuit;
}

/**
 * One circuit as a message. `power`: msg.payload = W, consumption positive (null if not reported).
 * `ha-power` / `ha-energy`: msg.payload = {state, attributes} as node-red-contrib-home-assistant-websocket's
 * sensor node reads it (msg.payload.state and msg.payload.attributes override its configuration); returns
 * null when the value is unknown, because that sensor node rejects an empty state.
 */
export function circuitMessage(
  source: Circuit,
  output: CircuitOutput,
  serial: string,
): CircuitMessage | null {
  const circuit = structuredClone(source); // see pollPayload: messages never share the cached snapshot
  const topic = circuit.name ?? circuit.id;
  if (output === 'power') return { topic, payload: circuit.powerW, circuit };
  const value = output === 'ha-power' ? circuit.powerW : circuit.consumedEnergyWh;
  if (value === null || !Number.isFinite(value)) return null;
  const unit =
    output === 'ha-power'
      ? { unit_of_measurement: 'W', device_class: 'power', state_class: 'measurement' }
      : { unit_of_measurement: 'Wh', device_class: 'energy', state_class: 'total_increasing' };
  const attributes: Record<string, string | number | boolean> = {
    ...unit,
    friendly_name: topic,
    circuit_id: circuit.id,
    panel_serial: serial,
  };
  // The sensor node only accepts string/number/boolean/object attribute values: drop the unknown ones.
  const extra: Record<string, unknown> = {
    tabs: circuit.tabs.join(','),
    relay: circuit.relay,
    priority: circuit.priority,
    power_w: output === 'ha-energy' ? circuit.powerW : null,
    produced_energy_wh: output === 'ha-energy' ? circuit.producedEnergyWh : null,
    consumed_energy_wh: output === 'ha-power' ? circuit.consumedEnergyWh : null,
  };
  for (const [k, v] of Object.entries(extra)) {
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) {
      attributes[k] = v;
    }
  }
  return { topic, payload: { state: Math.round(value * 10) / 10, attributes }, circuit };
}

/** The circuits a span-circuit node reports on: one id, or all of them in panel order. */
export function selectCircuits(snapshot: PanelSnapshot, circuitId: string): Circuit[] {
  if (circuitId === 'all') return Object.values(snapshot.circuits);
  const c = circuitById(snapshot.circuits, circuitId);
  return c ? [c] : [];
}

export { circuitSummaries } from '../../src/model/circuit-map';
