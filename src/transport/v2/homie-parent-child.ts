import type { EnergyGuard } from '../../model/energy-guard';
import {
  panelSizeFromModel,
  type Battery,
  type Circuit,
  type PanelSnapshot,
  type ShedForecast,
} from '../../model/panel';
import * as common from './homie-common';
import type { GridInputs, ParsedPanel, PowerSource } from './homie-common';
import {
  DER_TYPE,
  pcBatteryDetails,
  pcChargeCurrentTarget,
  pcEvse,
  pcPv,
  type ConnectionOwner,
} from './homie-der';
import type { HomieDevice, HomieTree } from './homie-tree';
import { booleanValue, findNode, nodeDescription, numberValue, stringValue } from './homie-tree';

/**
 * The parent/child data model (dataModelVersion 1.x, firmware r202633+; SPAN
 * docs/public/ebus-schema-migration-guide.md): the panel device carries capability nodes (info, door,
 * status, meter, breaker, power-flows, shed, …) and lists its child devices in `$description.children`:
 * lugs, circuits, BESS, PV, EVSE; a BESS lists its MID as its own child. Every device is classified by its
 * `$description.type` and every capability node by its `energy.ebus.capability.*` type — device ids are
 * opaque and never parsed.
 */

const DEV = {
  circuit: common.CIRCUIT_TYPE,
  lugs: 'energy.ebus.device.lugs',
  lugsUp: 'energy.ebus.device.lugs.upstream',
  lugsDown: 'energy.ebus.device.lugs.downstream',
  bess: 'energy.ebus.device.bess',
  mid: 'energy.ebus.device.mid',
  pv: 'energy.ebus.device.pv',
};

/** Capability node of a device: by `energy.ebus.capability.<name>` type, then by the documented node id. */
function cap(dev: HomieDevice | undefined, name: string): string | null {
  return findNode(dev, [`energy.ebus.capability.${name}`], [name]);
}

/** All devices of the panel's tree (children, grandchildren, …) whose `$description` is known. */
export function treeDevices(tree: HomieTree, rootId: string): HomieDevice[] {
  return treeDeviceIds(tree, rootId)
    .map((id) => tree.device(id))
    .filter((d): d is HomieDevice => !!d?.description);
}

/** Every device id the panel's tree names (for subscriptions), described or not yet. */
export function treeDeviceIds(tree: HomieTree, rootId: string): string[] {
  const ids: string[] = [];
  const seen = new Set<string>([rootId]);
  const queue = [...(tree.device(rootId)?.description?.children ?? [])];
  while (queue.length > 0) {
    const id = queue.shift() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    ids.push(id);
    queue.push(...(tree.device(id)?.description?.children ?? []));
  }
  return ids;
}

function lugsDirection(dev: HomieDevice): 'UPSTREAM' | 'DOWNSTREAM' | null {
  const type = dev.description?.type;
  if (type === DEV.lugsUp) return 'UPSTREAM';
  if (type === DEV.lugsDown) return 'DOWNSTREAM';
  if (type !== DEV.lugs) return null;
  const dir = stringValue(dev, cap(dev, 'info'), 'direction');
  return dir === 'UPSTREAM' || dir === 'DOWNSTREAM' ? dir : null;
}

function parseCircuit(dev: HomieDevice): Circuit {
  const info = cap(dev, 'info');
  const sw = cap(dev, 'switch');
  const meter = cap(dev, 'meter');
  const breaker = cap(dev, 'breaker');
  const shed = cap(dev, 'load-shed');
  const priorityRaw = stringValue(dev, shed, 'priority');
  const priority = common.shedOf(priorityRaw);
  const controllable = booleanValue(dev, sw, 'relay-controllable');
  // never-backup is expressed as the priority property's Homie `settable` attribute (default false).
  const shedProps = nodeDescription(dev, shed)?.properties;
  const priorityProp = shedProps && Object.hasOwn(shedProps, 'priority') ? shedProps.priority : undefined;
  const neverBackup = priorityProp ? priorityProp.settable !== true : null;
  const powerRawW = numberValue(dev, meter, 'active-power');
  return {
    id: dev.id,
    name: stringValue(dev, info, 'name'),
    tabs: common.parseSpaces(stringValue(dev, info, 'spaces')),
    relay: common.relayOf(stringValue(dev, sw, 'relay')),
    priority,
    priorityRaw,
    controllable,
    // Retired in 1.0: computed as the migration guide says (priority != NEVER && relay-controllable).
    sheddable: priority === null || controllable === null ? null : priority !== 'NEVER' && controllable,
    neverBackup,
    powerW: common.consumptionPositive(powerRawW),
    powerRawW,
    consumedEnergyWh: numberValue(dev, meter, 'exported-energy'),
    producedEnergyWh: numberValue(dev, meter, 'imported-energy'),
    netEnergyWh: null,
    currentA: numberValue(dev, meter, 'current'),
    breakerRatingA: numberValue(dev, breaker, 'rating'),
    powerUpdatedAt: null,
    energyUpdatedAt: null,
    relayRequester: stringValue(dev, sw, 'relay-requester'),
    pcsManaged: booleanValue(dev, cap(dev, 'pcs'), 'managed'),
    pcsPriority: numberValue(dev, cap(dev, 'pcs'), 'priority'),
  };
}

/** Battery time remaining (published only while a battery is commissioned). */
function shedForecastOf(root: HomieDevice): ShedForecast | null {
  const f = cap(root, 'shed-forecast');
  if (f === null) return null;
  return {
    totalTimeRemainingMin: numberValue(root, f, 'total-time-remaining'),
    timeToPriorityShedMin: numberValue(root, f, 'time-to-priority-shed'),
    fullChargeTotalTimeRemainingMin: numberValue(root, f, 'full-charge-total-time-remaining'),
    fullChargeTimeToPriorityShedMin: numberValue(root, f, 'full-charge-time-to-priority-shed'),
    confidence: stringValue(root, f, 'confidence'),
  };
}

/** OK → true, LOST/DEGRADED → false, from the panel-side connection record that references `derId`. */
function derLinkStatus(devices: HomieDevice[], derId: string): boolean | null {
  for (const d of devices) {
    const conn = cap(d, 'connection');
    if (conn === null) continue;
    for (const side of ['fed-by', 'feeds'] as const) {
      if (stringValue(d, conn, `${side}-device-id`) !== derId) continue;
      const status = stringValue(d, conn, `${side}-device-status`);
      if (status === 'OK') return true;
      if (status === 'LOST' || status === 'DEGRADED') return false;
      return null;
    }
  }
  return null;
}

/** grid-forming-entity is "GRID" or the device id of the DER forming the grid: map it to the flat vocabulary. */
function formingSource(entity: string | null, devices: HomieDevice[]): PowerSource | null {
  if (entity === null) return null;
  if (entity === 'GRID') return 'GRID';
  const type = devices.find((d) => d.id === entity)?.description?.type;
  if (type === DEV.bess) return 'BATTERY';
  if (type === DEV.pv) return 'PV';
  return 'UNKNOWN';
}

export function parseParentChild(tree: HomieTree, serial: string): ParsedPanel {
  const root = tree.device(serial) ?? { id: serial, state: null, description: null, values: new Map() };
  const devices = treeDevices(tree, serial);
  const byType = (t: string) => devices.filter((d) => d.description?.type === t);

  const info = cap(root, 'info');
  const status = cap(root, 'status');
  const meter = cap(root, 'meter');
  const flows0 = cap(root, 'power-flows');
  const shed = cap(root, 'shed');

  const lugs = devices.filter((d) => lugsDirection(d) !== null);
  const up = lugs.find((d) => lugsDirection(d) === 'UPSTREAM');
  const down = lugs.find((d) => lugsDirection(d) === 'DOWNSTREAM');
  const upMeter = cap(up, 'meter');
  const downMeter = cap(down, 'meter');
  const circuitDevices = byType(DEV.circuit);
  const owners: ConnectionOwner[] = [
    ...circuitDevices.map((dev) => ({ dev, kind: 'circuit' as const })),
    ...(up ? [{ dev: up, kind: 'upstream-lugs' as const }] : []),
    ...(down ? [{ dev: down, kind: 'downstream-lugs' as const }] : []),
  ];
  const flows =
    flows0 === null
      ? null
      : common.normalizePowerFlows({
          gridW: numberValue(root, flows0, 'grid'),
          pvW: numberValue(root, flows0, 'pv'),
          batteryW: numberValue(root, flows0, 'battery'),
          siteW: numberValue(root, flows0, 'site'),
        });

  const bess = byType(DEV.bess)[0];
  const mid = byType(DEV.mid)[0];
  const midGrid = cap(mid, 'grid');
  const midIslanding = stringValue(mid, midGrid, 'islanding-state');
  const asserted = stringValue(root, shed, 'asserted-islanding-state');
  const formingRaw = stringValue(mid, midGrid, 'grid-forming-entity');

  const gridPowerW = numberValue(up, upMeter, 'active-power');
  const grid: GridInputs = {
    // A consumer-asserted override wins while it is set (migration guide, "Shed Controls").
    islandingState: asserted === 'ON_GRID' || asserted === 'OFF_GRID' ? asserted : midIslanding,
    dominantSource: formingSource(formingRaw, devices),
    gridPowerW,
    islandable: mid ? true : null,
  };
  const dsmState = common.deriveDsmState(grid);

  let battery: Battery | null = null;
  if (bess) {
    const soc = cap(bess, 'soc');
    battery = {
      socPercent: numberValue(bess, soc, 'soc'),
      soeKWh: numberValue(bess, soc, 'soe'),
      connected: derLinkStatus(devices, bess.id),
      gridState: midIslanding,
      ...pcBatteryDetails(bess, owners, flows),
    };
  }
  const model = stringValue(root, info, 'model');
  const lugsCurrents = (dev: HomieDevice | undefined, m: string | null) => ({
    l1CurrentA: numberValue(dev, m, 'current-a'),
    l2CurrentA: numberValue(dev, m, 'current-b'),
  });

  return {
    panel: {
      serial: stringValue(root, info, 'serial-number') ?? serial,
      model,
      firmwareVersion: stringValue(root, info, 'firmware-version'),
      mainRelay: common.relayOf(stringValue(root, status, 'relay')),
      gridPowerW,
      feedthroughPowerW: numberValue(down, downMeter, 'active-power'),
      mainMeterEnergy: {
        consumedEnergyWh: numberValue(up, upMeter, 'imported-energy'),
        producedEnergyWh: numberValue(up, upMeter, 'exported-energy'),
        netEnergyWh: null,
      },
      feedthroughEnergy: {
        consumedEnergyWh: numberValue(down, downMeter, 'imported-energy'),
        producedEnergyWh: numberValue(down, downMeter, 'exported-energy'),
        netEnergyWh: null,
      },
      dsmState,
      dsmGridState: null,
      currentRunConfig: common.deriveRunConfig(dsmState, grid),
      doorState: common.doorOf(stringValue(root, cap(root, 'door'), 'state')),
      proximityProven: null,
      uptimeS: null,
      network: {
        ethernet: booleanValue(root, status, 'ethernet'),
        wifi: booleanValue(root, status, 'wifi'),
        cellular: null,
        vendorCloud: stringValue(root, status, 'cloud-connection'),
        wifiSsid: stringValue(root, status, 'wifi-ssid'),
      },
      l1VoltageV: numberValue(root, meter, 'voltage-a'),
      l2VoltageV: numberValue(root, meter, 'voltage-b'),
      powerFlows: flows,
      mainBreakerRatingA: numberValue(root, cap(root, 'breaker'), 'rating'),
      panelSize: panelSizeFromModel(model),
      postalCode: stringValue(root, status, 'postal-code'),
      timeZone: stringValue(root, status, 'time-zone'),
      gridFormingEntity: grid.dominantSource,
      gridFormingEntityRaw: formingRaw,
      // grid-islandable is retired in 1.0; a MID means the site can island, its absence says nothing.
      gridIslandable: grid.islandable,
      upstreamLugs: lugsCurrents(up, upMeter),
      downstreamLugs: lugsCurrents(down, downMeter),
      shedForecast: shedForecastOf(root),
    },
    circuits: circuitDevices.map(parseCircuit),
    battery,
    pv: pcPv(byType(DER_TYPE.pv)[0], owners, flows),
    evse: pcEvse(byType(DER_TYPE.evse)[0], owners),
  };
}

export function buildParentChildSnapshot(
  tree: HomieTree,
  serial: string,
  guard: EnergyGuard,
  receivedAt: number,
): PanelSnapshot {
  return common.finalizeSnapshot(parseParentChild(tree, serial), 'v2-parent-child', guard, receivedAt);
}

/** Where commands for a parent/child circuit go (the circuit is its own device), and what confirms them. */
export function parentChildCommandTopics(tree: HomieTree, circuitId: string) {
  const dev = tree.device(circuitId);
  const sw = cap(dev, 'switch') ?? 'switch';
  const shed = cap(dev, 'load-shed') ?? 'load-shed';
  return {
    relay: { set: `ebus/5/${circuitId}/${sw}/relay/set`, device: circuitId, key: `${sw}/relay` },
    priority: { set: `ebus/5/${circuitId}/${shed}/priority/set`, device: circuitId, key: `${shed}/priority` },
  };
}

/** Where a charge-current command for the panel's EV charger goes (null when there is none). */
export function parentChildChargeCurrentTarget(tree: HomieTree, serial: string) {
  const evse = treeDevices(tree, serial).find((d) => d.description?.type === DER_TYPE.evse);
  return pcChargeCurrentTarget(evse);
}

/** Homie 5 state cascade: a lost root makes every child lost, whatever the child's own `$state` says. */
export function effectiveState(tree: HomieTree, deviceId: string): string | null {
  const dev = tree.device(deviceId);
  const rootId = dev?.description?.root;
  if (rootId && rootId !== deviceId && tree.device(rootId)?.state === 'lost') return 'lost';
  return dev?.state ?? null;
}
