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
/** The API setting of a panel: detect it (`auto`) or force one. */
export type ApiChoice = 'auto' | ApiKind;
export type DataModel = 'v1-rest' | 'v2-flat' | 'v2-parent-child';

/** Shed priority in the v2 vocabulary. v1 values map MUST_HAVE→NEVER, NICE_TO_HAVE→SOC_THRESHOLD, NON_ESSENTIAL→OFF_GRID. */
export type ShedPriority = 'NEVER' | 'SOC_THRESHOLD' | 'OFF_GRID' | 'UNKNOWN';
/** What a relay command may ask for, and a priority command may set (never UNKNOWN). */
export type SettableRelay = Exclude<RelayState, 'UNKNOWN'>;
export type SettablePriority = Exclude<ShedPriority, 'UNKNOWN'>;
export type V1Priority = 'MUST_HAVE' | 'NICE_TO_HAVE' | 'NON_ESSENTIAL' | 'UNKNOWN';

export interface EnergyPair {
  /** Wh that flowed into the load (main meter: imported from the grid). */
  consumedEnergyWh: number | null;
  /** Wh that flowed out of the load back into the panel (main meter: exported to the grid). */
  producedEnergyWh: number | null;
  /** consumed − produced, Wh (main meter: net import). Not a monotonic counter: it falls while producing. */
  netEnergyWh: number | null;
}

/** Current on each leg of a set of lugs, A (magnitude, as the panel reports it). */
export interface LugsCurrents {
  l1CurrentA: number | null;
  l2CurrentA: number | null;
}

/**
 * Who forms the grid (sets voltage and frequency): the flat `dominant-power-source` vocabulary; the
 * parent/child model's device id of the grid-forming DER is mapped to the DER's class.
 */
export type GridFormingEntity = 'GRID' | 'BATTERY' | 'PV' | 'GENERATOR' | 'NONE' | 'UNKNOWN';

/**
 * The panel's power-flows, in this package's convention: each source is positive while it delivers power
 * to the site (grid importing, PV producing, battery discharging) and `siteW` is positive while the site
 * consumes, so gridW + pvW + batteryW = siteW. `raw` keeps the panel's own signs (+ = towards the named
 * entity: grid + = exporting, pv − = producing, battery + = charging, site + = consuming).
 */
export interface PowerFlows {
  gridW: number | null;
  pvW: number | null;
  batteryW: number | null;
  siteW: number | null;
  raw: { gridW: number | null; pvW: number | null; batteryW: number | null; siteW: number | null };
}

/** Battery time remaining as the panel forecasts it (parent/child firmware with a battery), in minutes. */
export interface ShedForecast {
  totalTimeRemainingMin: number | null;
  timeToPriorityShedMin: number | null;
  fullChargeTotalTimeRemainingMin: number | null;
  fullChargeTimeToPriorityShedMin: number | null;
  /** LOW | MEDIUM | HIGH. */
  confidence: string | null;
}

/** Where a DER sits relative to the panel. */
export type RelativePosition = 'UPSTREAM' | 'DOWNSTREAM' | 'IN_PANEL';

/** Identity of a battery, PV system or EV charger the panel reports (all strings as the panel sends them). */
export interface DerIdentity {
  /** The Homie node id (flat) or device id (parent/child); null on v1. */
  deviceId: string | null;
  vendor: string | null;
  /** Human designation, e.g. "Powerwall 2 AC" (flat product-name, parent/child info/model). */
  product: string | null;
  /** Vendor SKU / part number (flat bess model or evse part-number, parent/child info/part-number). */
  model: string | null;
  serial: string | null;
  firmwareVersion: string | null;
}

export interface NetworkLinks {
  ethernet: boolean | null;
  wifi: boolean | null;
  /** v1 only (`wwanLink`); v2 panels have no cellular link and report null. */
  cellular: boolean | null;
  /** v2 only (`vendor-cloud`): UNKNOWN | UNCONNECTED | CONNECTED. */
  vendorCloud: string | null;
  /** v2 only: the Wi-Fi network the panel is joined to. */
  wifiSsid: string | null;
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
  /** v2 only; see PowerFlows for the signs. */
  powerFlows: PowerFlows | null;
  /** Main breaker rating, A (v2 only). */
  mainBreakerRatingA: number | null;
  /** Breaker spaces of the panel (v1: number of branches; v2: from the model or the `space` format). */
  panelSize: number | null;
  /** v2 only. */
  postalCode: string | null;
  timeZone: string | null;
  /** v2 only: who currently forms the grid, and the value exactly as the panel published it. */
  gridFormingEntity: GridFormingEntity | null;
  gridFormingEntityRaw: string | null;
  /** Whether the site can run islanded (flat `grid-islandable`; parent/child: true when a MID exists). */
  gridIslandable: boolean | null;
  /** v2 only. Upstream = service entrance (grid), downstream = feed-through lugs. */
  upstreamLugs: LugsCurrents;
  downstreamLugs: LugsCurrents;
  /** Parent/child firmware with a battery only. */
  shedForecast: ShedForecast | null;
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
  /** consumed − produced, Wh (falls while the circuit backfeeds). */
  netEnergyWh: number | null;
  /** v2 only. */
  currentA: number | null;
  breakerRatingA: number | null;
  /** Epoch ms of the panel's power / energy sample, when the panel says. */
  powerUpdatedAt: number | null;
  energyUpdatedAt: number | null;
  /** v2 only: who asked for the current relay state (USER, LOAD_SHED/BACKUP, PCS, CONFIGURATION, …). */
  relayRequester: string | null;
  /** v2 only: managed by the panel's power control system, and its PCS priority rank. */
  pcsManaged: boolean | null;
  pcsPriority: number | null;
}

/** A breaker space with no circuit on it (e.g. a PV backfeed breaker), up to the panel size. */
export interface UnmappedTab {
  tab: number;
  /** W, positive = consumption (v1 branches only; v2 reports no per-space readings: null). */
  powerW: number | null;
  powerRawW: number | null;
  consumedEnergyWh: number | null;
  producedEnergyWh: number | null;
  netEnergyWh: number | null;
}

export interface Battery {
  /** State of energy / charge in percent. */
  socPercent: number | null;
  /** v2 only, kWh. */
  soeKWh: number | null;
  connected: boolean | null;
  /** v2 only: UNKNOWN | ON_GRID | OFF_GRID. */
  gridState: string | null;
  /** W, positive = discharging (from power-flows; v2 only). */
  powerW: number | null;
  /** kWh. */
  nameplateCapacityKWh: number | null;
  relativePosition: RelativePosition | null;
  /** Circuit id the battery is landed on, when the panel says (null when upstream or unknown). */
  feed: string | null;
  identity: DerIdentity;
}

export interface PvSystem {
  identity: DerIdentity;
  /** Rated power, W (flat nameplate-capacity, parent/child nominal-power). */
  nameplateCapacityW: number | null;
  relativePosition: RelativePosition | null;
  /** Circuit id the PV system is landed on, when the panel says. */
  feed: string | null;
  /** W, positive = producing (from power-flows). */
  powerW: number | null;
}

export interface EvCharger {
  identity: DerIdentity;
  /** Circuit id the charger is fed from. */
  feed: string | null;
  /** AVAILABLE | PREPARING | CHARGING | SUSPENDED_EV | … | UNAVAILABLE, as the panel sends it. */
  status: string | null;
  /** LOCKED | UNLOCKED. */
  lockState: string | null;
  /** A the charger currently offers the car. */
  advertisedCurrentA: number | null;
  /** Installer-configured maximum, A. */
  maxChargeCurrentA: number | null;
  /** The user's charge-current ceiling, A (settable when chargeCurrentSettable). */
  userMaxChargeCurrentA: number | null;
  chargeCurrentSettable: boolean;
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
  /** v2 only. */
  pv: PvSystem | null;
  evse: EvCharger | null;
  /** Spaces without a circuit, in tab order; null when the panel size is unknown. */
  unmappedTabs: UnmappedTab[] | null;
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

/** consumed − produced, or null when either is unknown. */
export function netEnergy(consumed: number | null, produced: number | null): number | null {
  return consumed === null || produced === null ? null : consumed - produced;
}

/** "MAIN_32" / "MLO_48" → 32 / 48; null when the model names no size. */
export function panelSizeFromModel(model: string | null): number | null {
  const m = model === null ? null : /^(?:MAIN|MLO)_(\d+)$/.exec(model);
  return m ? Number(m[1]) : null;
}

/** Spaces 1…size that no circuit occupies. */
export function unmappedSpaces(size: number, circuits: Iterable<{ tabs: number[] }>): number[] {
  const used = new Set<number>();
  for (const c of circuits) for (const t of c.tabs) used.add(t);
  const out: number[] = [];
  for (let t = 1; t <= size; t++) if (!used.has(t)) out.push(t);
  return out;
}

export const NO_IDENTITY: DerIdentity = {
  deviceId: null,
  vendor: null,
  product: null,
  model: null,
  serial: null,
  firmwareVersion: null,
};
