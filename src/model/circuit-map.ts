import type { Circuit, PanelSnapshot } from './panel';

/**
 * Circuit ids come from the panel: untrusted data. Maps keyed by them are null-prototype objects, so an id
 * such as `__proto__` or `constructor` is an ordinary key (never the prototype, never an inherited member),
 * and every lookup asks for an own property.
 */
export type CircuitMap = Record<string, Circuit>;

export function newCircuitMap(): CircuitMap {
  return Object.create(null) as CircuitMap;
}

/** The circuit with this id, or undefined (never something inherited from Object.prototype). */
export function circuitById(map: CircuitMap, id: string): Circuit | undefined {
  return Object.hasOwn(map, id) ? map[id] : undefined;
}

/** EnergyGuard counter keys of one circuit (the same in v1 and v2). */
export function circuitCounterKeys(id: string): [consumed: string, produced: string] {
  return [`circuit.${id}.consumed`, `circuit.${id}.produced`];
}

/** What the editor's circuit picker needs of a circuit, and nothing more. */
export interface CircuitSummary {
  id: string;
  name: string | null;
  tabs: number[];
  controllable: boolean | null;
}

export function circuitSummary(c: Circuit): CircuitSummary {
  return { id: c.id, name: c.name, tabs: c.tabs, controllable: c.controllable };
}

export function circuitSummaries(snapshot: PanelSnapshot): CircuitSummary[] {
  return Object.values(snapshot.circuits).map(circuitSummary);
}
