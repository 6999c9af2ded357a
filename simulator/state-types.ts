/**
 * The simulated panel's physical state, shared by the v1 REST face and the v2 MQTT/Homie face so both
 * always describe the same panel. Values use the panel's own (v1 wire) vocabulary and signs:
 * circuit `instantPowerW` < 0 for a consuming load, > 0 for backfeed; grid power > 0 when importing.
 */
import type { EventEmitter } from 'node:events';

export type SimRelay = 'OPEN' | 'CLOSED';
export type SimV1Priority = 'MUST_HAVE' | 'NICE_TO_HAVE' | 'NON_ESSENTIAL';

export interface SimCircuit {
  id: string;
  name: string;
  tabs: number[];
  relayState: SimRelay;
  priority: SimV1Priority;
  isUserControllable: boolean;
  isSheddable: boolean;
  isNeverBackup: boolean;
  breakerRatingA: number;
  /** W, panel perspective (load < 0). Exactly 0 while the relay is OPEN. */
  instantPowerW: number;
  /** Wh, circuit → panel (Homie imported-energy). */
  producedEnergyWh: number;
  /** Wh, panel → circuit (Homie exported-energy). */
  consumedEnergyWh: number;
  /** Epoch seconds. */
  instantPowerUpdateTimeS: number;
  energyAccumUpdateTimeS: number;
}

export interface SimBranch {
  id: number;
  relayState: SimRelay;
  instantPowerW: number;
  importedActiveEnergyWh: number;
  exportedActiveEnergyWh: number;
  measureStartTsMs: number;
  measureDurationMs: number;
  isMeasureValid: boolean;
}

export interface SimMains {
  mainRelayState: SimRelay;
  /** W, + = importing from the grid. */
  instantGridPowerW: number;
  /** W, + = panel delivers to the downstream lugs. */
  feedthroughPowerW: number;
  mainMeterEnergy: { producedEnergyWh: number; consumedEnergyWh: number };
  feedthroughEnergy: { producedEnergyWh: number; consumedEnergyWh: number };
  /** Panel-monotonic ms. */
  gridSampleStartMs: number;
  gridSampleEndMs: number;
  dsmGridState: string;
  dsmState: string;
  currentRunConfig: string;
  l1VoltageV: number;
  l2VoltageV: number;
}

export interface SimIdentity {
  serial: string;
  firmwareVersion: string;
  /** v1 model code, e.g. "00200" (MAIN 32). */
  model: string;
  doorState: 'UNKNOWN' | 'OPEN' | 'CLOSED';
  proximityProven: boolean;
  uptimeS: number;
  eth0Link: boolean;
  wlanLink: boolean;
  wwanLink: boolean;
  wifiSsid: string;
}

/**
 * Emits 'change' (no args) after every tick and every command, and 'circuit' (SimCircuit) after a command
 * changed one circuit.
 */
export interface SimPanelState extends EventEmitter {
  readonly identity: SimIdentity;
  readonly mains: SimMains;
  /** In panel order (the order of the v1 fixture). */
  readonly circuits: SimCircuit[];
  /** One per breaker space, 1..32. */
  readonly branches: SimBranch[];
  /** Battery state of energy in percent, or null when no battery is commissioned. */
  readonly soePercent: number | null;
  /** PV power flow in W (< 0 while generating, the power-flows convention); from the unmapped solar tabs. */
  readonly pvPowerW: number;
  /** Advance the physics to `nowMs` (power wanders, energy integrates power × dt, sums stay consistent). */
  tick(nowMs?: number): void;
  circuit(id: string): SimCircuit | undefined;
  /** Throws Error('not controllable') for a locked circuit and Error('unknown circuit') for a bad id. */
  setRelay(id: string, state: SimRelay): SimCircuit;
  setPriority(id: string, priority: SimV1Priority): SimCircuit;
  /** Simulates a reboot: uptime restarts; optionally lowers lifetime counters as real panels do (SPAN #87). */
  reboot(opts?: { counterDipWh?: number }): void;
}
