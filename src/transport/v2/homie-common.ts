import { guardEnergy } from '../../model/energy';
import type { EnergyGuard } from '../../model/energy-guard';
import {
  unmappedSpaces,
  type Battery,
  type Circuit,
  type DoorState,
  type EvCharger,
  type PanelInfo,
  type PanelSnapshot,
  type PowerFlows,
  type PvSystem,
  type RelativePosition,
  type RelayState,
  type ShedPriority,
  type UnmappedTab,
} from '../../model/panel';

/**
 * What both Homie parsers (flat and parent/child) share: value vocabularies, the derived DSM state and run
 * configuration (docs/panel-api.md §3.3), and the final step that passes energy counters through the
 * EnergyGuard with the same counter keys as the v1 client, so switching API never looks like a counter reset.
 */

export const CIRCUIT_TYPE = 'energy.ebus.device.circuit';

export function relayOf(v: string | null): RelayState | null {
  if (v === null) return null;
  return v === 'OPEN' || v === 'CLOSED' ? v : 'UNKNOWN';
}

export function doorOf(v: string | null): DoorState | null {
  if (v === null) return null;
  return v === 'OPEN' || v === 'CLOSED' ? v : 'UNKNOWN';
}

export function shedOf(v: string | null): ShedPriority | null {
  if (v === null) return null;
  return v === 'NEVER' || v === 'SOC_THRESHOLD' || v === 'OFF_GRID' ? v : 'UNKNOWN';
}

/** Panel perspective → ours: a consuming load is negative on the wire, positive here (never -0). */
export function consumptionPositive(raw: number | null): number | null {
  return raw === null ? null : raw === 0 ? 0 : -raw;
}

export const not = (b: boolean | null): boolean | null => (b === null ? null : !b);

/** "17,19" → [17, 19]; anything unparsable is skipped. */
export function parseSpaces(raw: string | null): number[] {
  if (raw === null) return [];
  return raw
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

export type PowerSource = 'GRID' | 'BATTERY' | 'PV' | 'GENERATOR' | 'NONE' | 'UNKNOWN';

export interface GridInputs {
  /** BESS grid-state (flat) / MID islanding-state (parent/child): ON_GRID | OFF_GRID | UNKNOWN. */
  islandingState: string | null;
  /** Who forms the grid: flat dominant-power-source; parent/child mapped from grid-forming-entity. */
  dominantSource: PowerSource | null;
  gridPowerW: number | null;
  islandable: boolean | null;
}

/**
 * DSM state as the HA integration / span-panel-api derive it for v2: the battery's islanding state when
 * known; else the dominant power source; else whether power flows at the grid lugs. null when nothing is
 * known yet (no value is invented).
 */
export function deriveDsmState(g: GridInputs): string | null {
  if (g.islandingState === 'ON_GRID') return 'DSM_ON_GRID';
  if (g.islandingState === 'OFF_GRID') return 'DSM_OFF_GRID';
  if (g.dominantSource === 'GRID') return 'DSM_ON_GRID';
  if (g.gridPowerW !== null) return Math.abs(g.gridPowerW) > 1 ? 'DSM_ON_GRID' : 'DSM_OFF_GRID';
  if (g.dominantSource !== null && g.dominantSource !== 'UNKNOWN') return 'DSM_OFF_GRID';
  return null;
}

export function deriveRunConfig(dsmState: string | null, g: GridInputs): string | null {
  if (dsmState === null) return null;
  if (dsmState === 'DSM_ON_GRID') return 'PANEL_ON_GRID';
  if (g.islandable !== false && g.dominantSource === 'BATTERY') return 'PANEL_BACKUP';
  if (g.dominantSource === 'PV' || g.dominantSource === 'GENERATOR') return 'PANEL_OFF_GRID';
  return 'UNKNOWN';
}

export function powerSourceOf(v: string | null): PowerSource | null {
  if (v === null) return null;
  return (['GRID', 'BATTERY', 'PV', 'GENERATOR', 'NONE'] as const).find((s) => s === v) ?? 'UNKNOWN';
}

const negate = (v: number | null): number | null => (v === null ? null : v === 0 ? 0 : -v);

/**
 * power-flows as published (+ = towards the named entity) → this package's convention (sources positive
 * while they deliver to the site, site positive while consuming; see PowerFlows), raw values kept.
 */
export function normalizePowerFlows(raw: {
  gridW: number | null;
  pvW: number | null;
  batteryW: number | null;
  siteW: number | null;
}): PowerFlows {
  return {
    gridW: negate(raw.gridW),
    pvW: negate(raw.pvW),
    batteryW: negate(raw.batteryW),
    siteW: raw.siteW,
    raw,
  };
}

export function relativePositionOf(v: string | null): RelativePosition | null {
  return v === 'UPSTREAM' || v === 'DOWNSTREAM' || v === 'IN_PANEL' ? v : null;
}

/** The parsers' output before energy guarding. */
export interface ParsedPanel {
  panel: PanelInfo;
  circuits: Circuit[];
  battery: Battery | null;
  pv: PvSystem | null;
  evse: EvCharger | null;
}

/** Spaces without a circuit, up to the panel size; v2 publishes no per-space readings, so values are null. */
function v2UnmappedTabs(size: number | null, circuits: Circuit[]): UnmappedTab[] | null {
  if (size === null) return null;
  return unmappedSpaces(size, circuits).map((tab) => ({
    tab,
    powerW: null,
    powerRawW: null,
    consumedEnergyWh: null,
    producedEnergyWh: null,
    netEnergyWh: null,
  }));
}

/** Applies the EnergyGuard (v1's counter keys), computes net energies and stamps the snapshot. */
export function finalizeSnapshot(
  parsed: ParsedPanel,
  dataModel: 'v2-flat' | 'v2-parent-child',
  guard: EnergyGuard,
  receivedAt: number,
): PanelSnapshot {
  const guarded = guardEnergy(
    {
      serial: parsed.panel.serial,
      circuits: parsed.circuits,
      mainMeterEnergy: parsed.panel.mainMeterEnergy,
      feedthroughEnergy: parsed.panel.feedthroughEnergy,
      unmappedTabs: v2UnmappedTabs(parsed.panel.panelSize, parsed.circuits),
    },
    guard,
  );
  return {
    api: 'v2',
    dataModel,
    receivedAt,
    panel: {
      ...parsed.panel,
      mainMeterEnergy: guarded.mainMeterEnergy,
      feedthroughEnergy: guarded.feedthroughEnergy,
    },
    circuits: guarded.circuits,
    battery: parsed.battery,
    pv: parsed.pv,
    evse: parsed.evse,
    unmappedTabs: guarded.unmappedTabs,
    energyRegressions: guarded.energyRegressions,
  };
}
