import { guardEnergy } from '../../model/energy';
import type { EnergyGuard } from '../../model/energy-guard';
import {
  NO_IDENTITY,
  unmappedSpaces,
  v1PriorityToShed,
  type Battery,
  type Circuit,
  type DoorState,
  type PanelInfo,
  type PanelSnapshot,
  type RelayState,
  type UnmappedTab,
} from '../../model/panel';
import { PanelError } from '../errors';
import { readerFor, type FieldReader } from './validate';

/**
 * Pure translation of the four v1 REST bodies into the normalized PanelSnapshot (src/model/panel.ts).
 * Everything is validated before anything is emitted; energy counters then pass through the caller's
 * EnergyGuard (one per client) so a counter that goes backwards is held and reported, never emitted.
 */

export const V1_PATHS = {
  status: '/api/v1/status',
  panel: '/api/v1/panel',
  circuits: '/api/v1/circuits',
  soe: '/api/v1/storage/soe',
  register: '/api/v1/auth/register',
  circuit: (id: string) => `/api/v1/circuits/${encodeURIComponent(id)}`,
} as const;

export interface V1Bodies {
  status: unknown;
  panel: unknown;
  circuits: unknown;
  /** null when the panel has no storage endpoint (404). */
  soe: unknown | null;
}

export interface V1Status {
  serial: string;
  model: string | null;
  firmwareVersion: string | null;
  doorState: DoorState | null;
  proximityProven: boolean | null;
  uptimeS: number | null;
  ethernet: boolean | null;
  wifi: boolean | null;
  cellular: boolean | null;
}

/** A circuit as validated from v1, before energy guarding. */
export type V1Circuit = Circuit;

function relayOf(v: string | null): RelayState | null {
  if (v === null) return null;
  return v === 'OPEN' || v === 'CLOSED' ? v : 'UNKNOWN';
}

function doorOf(v: string | null): DoorState | null {
  if (v === null) return null;
  return v === 'OPEN' || v === 'CLOSED' ? v : 'UNKNOWN';
}

const msFromEpochS = (s: number | null): number | null => (s === null ? null : Math.round(s * 1000));
/** Panel perspective → ours: a consuming load is negative on the wire, positive here (never -0). */
const consumptionPositive = (raw: number | null): number | null =>
  raw === null ? null : raw === 0 ? 0 : -raw;

export function parseV1Status(body: unknown, where = `GET ${V1_PATHS.status}`): V1Status {
  const r = readerFor(body, where);
  const system = r.object('system');
  const software = r.optObject('software');
  const network = r.optObject('network');
  let proximityProven = system.optBoolean('proximityProven');
  if (proximityProven === null && system.has('remainingAuthUnlockButtonPresses')) {
    // Pre-r202342 firmware: the window is open once no presses remain (SPAN #21).
    proximityProven = system.number('remainingAuthUnlockButtonPresses') === 0;
  }
  return {
    serial: system.string('serial'),
    model: system.optString('model'),
    firmwareVersion: software?.optString('firmwareVersion') ?? null,
    doorState: doorOf(system.optString('doorState')),
    proximityProven,
    uptimeS: system.optNumber('uptime'),
    ethernet: network?.optBoolean('eth0Link') ?? null,
    wifi: network?.optBoolean('wlanLink') ?? null,
    cellular: network?.optBoolean('wwanLink') ?? null,
  };
}

function readCircuit(c: FieldReader, key: string): V1Circuit {
  const id = c.optString('id') ?? key;
  const priorityRaw = c.optString('priority');
  return {
    id,
    name: c.optString('name'),
    tabs: c.optNumberArray('tabs') ?? [],
    relay: relayOf(c.string('relayState')),
    priority: priorityRaw === null ? null : (v1PriorityToShed(priorityRaw) ?? 'UNKNOWN'),
    priorityRaw,
    controllable: c.optBoolean('isUserControllable'),
    sheddable: c.optBoolean('isSheddable'),
    neverBackup: c.optBoolean('isNeverBackup'),
    powerW: consumptionPositive(c.number('instantPowerW')),
    powerRawW: c.number('instantPowerW'),
    consumedEnergyWh: c.number('consumedEnergyWh'),
    producedEnergyWh: c.number('producedEnergyWh'),
    netEnergyWh: null, // computed from the guarded counters
    currentA: null,
    breakerRatingA: null,
    powerUpdatedAt: msFromEpochS(c.optNumber('instantPowerUpdateTimeS')),
    energyUpdatedAt: msFromEpochS(c.optNumber('energyAccumUpdateTimeS')),
    relayRequester: null,
    pcsManaged: null,
    pcsPriority: null,
  };
}

/** One circuit body (GET/POST /api/v1/circuits/{id}); no energy guarding (used to check and confirm commands). */
export function parseV1Circuit(body: unknown, where: string): V1Circuit {
  return readCircuit(readerFor(body, where), '');
}

function parseCircuits(body: unknown): V1Circuit[] {
  const r = readerFor(body, `GET ${V1_PATHS.circuits}`);
  return r.objectMap('circuits').map(([key, c]) => readCircuit(c, key));
}

function parseBattery(body: unknown | null): Battery | null {
  if (body === null) return null;
  const soe = readerFor(body, `GET ${V1_PATHS.soe}`).object('soe');
  return {
    socPercent: soe.number('percentage'),
    soeKWh: null,
    connected: null,
    gridState: null,
    powerW: null,
    nameplateCapacityKWh: null,
    relativePosition: null,
    feed: null,
    identity: NO_IDENTITY,
  };
}

type PanelWithoutStatus = Omit<
  PanelInfo,
  'serial' | 'model' | 'firmwareVersion' | 'doorState' | 'proximityProven' | 'uptimeS' | 'network'
>;

/** One breaker space of `branches` (its id is the space number). */
interface V1Branch {
  tab: number;
  powerRawW: number | null;
  /** Panel perspective: imported = space → panel (produced), exported = panel → space (consumed). */
  importedWh: number | null;
  exportedWh: number | null;
}

const NO_LUGS = { l1CurrentA: null, l2CurrentA: null };

function parsePanel(body: unknown): { panel: PanelWithoutStatus; branches: V1Branch[] | null } {
  const r = readerFor(body, `GET ${V1_PATHS.panel}`);
  const main = r.object('mainMeterEnergy');
  const feed = r.optObject('feedthroughEnergy');
  const branches =
    r.optObjectArray('branches')?.map((b) => ({
      tab: b.number('id'),
      powerRawW: b.optNumber('instantPowerW'),
      importedWh: b.optNumber('importedActiveEnergyWh'),
      exportedWh: b.optNumber('exportedActiveEnergyWh'),
    })) ?? null;
  const panel: PanelWithoutStatus = {
    mainRelay: relayOf(r.string('mainRelayState')),
    gridPowerW: r.number('instantGridPowerW'),
    feedthroughPowerW: r.optNumber('feedthroughPowerW'),
    mainMeterEnergy: {
      consumedEnergyWh: main.number('consumedEnergyWh'),
      producedEnergyWh: main.number('producedEnergyWh'),
      netEnergyWh: null,
    },
    feedthroughEnergy: {
      consumedEnergyWh: feed?.optNumber('consumedEnergyWh') ?? null,
      producedEnergyWh: feed?.optNumber('producedEnergyWh') ?? null,
      netEnergyWh: null,
    },
    dsmState: r.optString('dsmState'),
    dsmGridState: r.optString('dsmGridState'),
    currentRunConfig: r.optString('currentRunConfig'),
    l1VoltageV: null,
    l2VoltageV: null,
    powerFlows: null,
    mainBreakerRatingA: null,
    // One branch per breaker space (32 on a MAIN 32).
    panelSize: branches && branches.length > 0 ? branches.length : null,
    postalCode: null,
    timeZone: null,
    gridFormingEntity: null,
    gridFormingEntityRaw: null,
    gridIslandable: null,
    upstreamLugs: NO_LUGS,
    downstreamLugs: NO_LUGS,
    shedForecast: null,
  };
  return { panel, branches };
}

/** Spaces no circuit occupies, with their branch readings (HA's "unmapped tabs", e.g. a PV backfeed). */
function unmappedTabs(
  size: number | null,
  branches: V1Branch[],
  circuits: V1Circuit[],
): UnmappedTab[] | null {
  if (size === null) return null;
  const byTab = new Map(branches.map((b) => [b.tab, b]));
  return unmappedSpaces(size, circuits).map((tab) => {
    const b = byTab.get(tab);
    const raw = b?.powerRawW ?? null;
    return {
      tab,
      powerW: consumptionPositive(raw),
      powerRawW: raw,
      consumedEnergyWh: b?.exportedWh ?? null,
      producedEnergyWh: b?.importedWh ?? null,
      netEnergyWh: null,
    };
  });
}

/**
 * Validates and normalizes one poll. Throws PanelError('protocol') for a body that is not what v1 sends and
 * for "empty data" (main relay UNKNOWN or no circuits: HA's SpanPanelReturnedEmptyData). The guard is only
 * touched once the whole poll is known to be valid.
 */
export function normalizeV1Snapshot(bodies: V1Bodies, guard: EnergyGuard, receivedAt: number): PanelSnapshot {
  const status = parseV1Status(bodies.status);
  const { panel, branches } = parsePanel(bodies.panel);
  const circuitList = parseCircuits(bodies.circuits);
  const battery = parseBattery(bodies.soe);

  if (panel.mainRelay === 'UNKNOWN' || circuitList.length === 0) {
    throw new PanelError('protocol', 'panel returned empty data');
  }

  const guarded = guardEnergy(
    {
      serial: status.serial,
      circuits: circuitList,
      mainMeterEnergy: panel.mainMeterEnergy,
      feedthroughEnergy: panel.feedthroughEnergy,
      unmappedTabs: unmappedTabs(panel.panelSize, branches ?? [], circuitList),
    },
    guard,
  );

  return {
    api: 'v1',
    dataModel: 'v1-rest',
    receivedAt,
    panel: {
      ...panel,
      mainMeterEnergy: guarded.mainMeterEnergy,
      feedthroughEnergy: guarded.feedthroughEnergy,
      serial: status.serial,
      model: status.model,
      firmwareVersion: status.firmwareVersion,
      doorState: status.doorState,
      proximityProven: status.proximityProven,
      uptimeS: status.uptimeS,
      network: {
        ethernet: status.ethernet,
        wifi: status.wifi,
        cellular: status.cellular,
        vendorCloud: null,
        wifiSsid: null,
      },
    },
    circuits: guarded.circuits,
    battery,
    pv: null,
    evse: null,
    unmappedTabs: guarded.unmappedTabs,
    energyRegressions: guarded.energyRegressions,
  };
}
