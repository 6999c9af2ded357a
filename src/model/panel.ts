/**
 * The normalized panel model: the same shape whatever API the panel speaks (v1 REST or v2 MQTT/Homie).
 *
 * Sign convention (documented in README "Signs and units"):
 * - Power is in watts. **Positive = consumption**: a load drawing power, the site importing from the grid,
 *   the panel feeding a downstream sub-panel. Negative = production/backfeed (PV breaker, exporting to grid).
 * - The panel itself reports circuit power from its own perspective (a consuming load is negative). That raw
 *   value is kept in `powerRawW` so nothing is lost.
 * - Energy is cumulative, in Wh. `consumedEnergyWh` flowed panel → load (or grid → panel for the main meter),
 *   `producedEnergyWh` flowed load → panel (or panel → grid).
 *
 * A value the panel did not report is `null`: never a made-up 0.
 */

export type RelayState = 'OPEN' | 'CLOSED' | 'UNKNOWN';
export type DoorState = 'OPEN' | 'CLOSED' | 'UNKNOWN';
export type ApiKind = 'v1' | 'v2';
export type DataModel = 'v1-rest' | 'v2-flat' | 'v2-parent-child';

/** Shed priority in the v2 vocabulary. v1 values map MUST_HAVE→NEVER, NICE_TO_HAVE→SOC_THRESHOLD, NON_ESSENTIAL→OFF_GRID. */
export type ShedPriority = 'NEVER' | 'SOC_THRESHOLD' | 'OFF_GRID' | 'UNKNOWN';
export type V1Priority = 'MUST_HAVE' | 'NICE_TO_HAVE' | 'NON_ESSENTIAL' | 'UNKNOWN';

export interface EnergyPair {
  /** Wh that flowed into the load (main meter: imported from the grid). */
  consumedEnergyWh: number | null;
  /** Wh that flowed out of the load back into the panel (main meter: exported to the grid). */
  producedEnergyWh: number | null;
}

export interface NetworkLinks {
  ethernet: boolean | null;
  wifi: boolean | null;
  /** v1 only (`wwanLink`); v2 panels have no cellular link and report null. */
  cellular: boolean | null;
  /** v2 only (`vendor-cloud`): UNKNOWN | UNCONNECTED | CONNECTED. */
  vendorCloud: string | null;
}

export interface PanelInfo {
  serial: string;
  model: string | null;
  firmwareVersion: string | null;
  mainRelay: RelayState | null;
  /** W, positive = importing from the grid (the panel's own sign for the upstream lugs). */
  gridPowerW: number | null;
  /** W, positive = the panel delivers power to the downstream (feed-through) lugs. */
  feedthroughPowerW: number | null;
  /** Main meter: consumed = imported from grid, produced = exported to grid. */
  mainMeterEnergy: EnergyPair;
  /** Can legitimately be negative on real panels (SPAN #11); not guarded as a monotonic counter. */
  feedthroughEnergy: EnergyPair;
  /** DSM_ON_GRID | DSM_OFF_GRID (v2: derived from grid state / dominant power source). */
  dsmState: string | null;
  /** v1 only: DSM_GRID_UP | DSM_GRID_DOWN. */
  dsmGridState: string | null;
  /** PANEL_ON_GRID | PANEL_OFF_GRID | PANEL_BACKUP (v2: derived). */
  currentRunConfig: string | null;
  doorState: DoorState | null;
  proximityProven: boolean | null;
  uptimeS: number | null;
  network: NetworkLinks;
  /** v2 only. */
  l1VoltageV: number | null;
  l2VoltageV: number | null;
  /** v2 only; the panel's power-flows node (+ = towards the named entity, so pv < 0 while generating). */
  powerFlows: {
    gridW: number | null;
    pvW: number | null;
    batteryW: number | null;
    siteW: number | null;
  } | null;
}

export interface Circuit {
  /** Dashless UUID, the same id in v1 and v2. */
  id: string;
  name: string | null;
  /** Breaker spaces; two entries for a 240 V two-pole circuit. */
  tabs: number[];
  relay: RelayState | null;
  priority: ShedPriority | null;
  /** The priority exactly as this panel's API spells it (v1 or v2 vocabulary). */
  priorityRaw: string | null;
  /** False for "always on" circuits: relay commands are refused for them. */
  controllable: boolean | null;
  sheddable: boolean | null;
  neverBackup: boolean | null;
  /** W, positive = consumption. */
  powerW: number | null;
  /** W as the panel reported it (panel perspective: a consuming load is negative). */
  powerRawW: number | null;
  consumedEnergyWh: number | null;
  producedEnergyWh: number | null;
  /** v2 only. */
  currentA: number | null;
  breakerRatingA: number | null;
  /** Epoch ms of the panel's power / energy sample, when the panel says. */
  powerUpdatedAt: number | null;
  energyUpdatedAt: number | null;
}

export interface Battery {
  /** State of energy / charge in percent. */
  socPercent: number | null;
  /** v2 only, kWh. */
  soeKWh: number | null;
  connected: boolean | null;
  /** v2 only: UNKNOWN | ON_GRID | OFF_GRID. */
  gridState: string | null;
}

/** An energy counter that read lower than before: held (never emitted as a drop), see EnergyGuard. */
export interface EnergyRegression {
  counter: string;
  previousWh: number;
  reportedWh: number;
  /** 'held': last good value emitted instead; 'rebased': a persistent reset was absorbed by an offset. */
  action: 'held' | 'rebased';
}

export interface PanelSnapshot {
  api: ApiKind;
  dataModel: DataModel;
  /** Epoch ms when this snapshot was assembled. */
  receivedAt: number;
  panel: PanelInfo;
  /** Keyed by circuit id, in panel order. */
  circuits: Record<string, Circuit>;
  battery: Battery | null;
  /** Counters that went backwards in this snapshot and how they were handled. Empty when all is well. */
  energyRegressions: EnergyRegression[];
}

export function v1PriorityToShed(p: string | null | undefined): ShedPriority | null {
  switch (p) {
    case 'MUST_HAVE':
      return 'NEVER';
    case 'NICE_TO_HAVE':
      return 'SOC_THRESHOLD';
    case 'NON_ESSENTIAL':
      return 'OFF_GRID';
    case 'UNKNOWN':
      return 'UNKNOWN';
    default:
      return null;
  }
}

export function shedToV1Priority(p: ShedPriority): V1Priority {
  switch (p) {
    case 'NEVER':
      return 'MUST_HAVE';
    case 'SOC_THRESHOLD':
      return 'NICE_TO_HAVE';
    case 'OFF_GRID':
      return 'NON_ESSENTIAL';
    default:
      return 'UNKNOWN';
  }
}

/** Accepts either vocabulary (and lower case) from a user message; null when it is neither. */
export function parsePriority(input: unknown): ShedPriority | null {
  if (typeof input !== 'string') return null;
  const s = input.trim().toUpperCase().replace(/[- ]/g, '_');
  if (s === 'NEVER' || s === 'SOC_THRESHOLD' || s === 'OFF_GRID') return s;
  const mapped = v1PriorityToShed(s);
  return mapped === 'UNKNOWN' ? null : mapped;
}
