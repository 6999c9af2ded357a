import type { EnergyGuard } from '../../model/energy-guard';
import { panelSizeFromModel, type Battery, type Circuit, type PanelSnapshot } from '../../model/panel';
import * as common from './homie-common';
import type { GridInputs, ParsedPanel } from './homie-common';
import { flatBatteryDetails, flatEvse, flatPv } from './homie-der';
import type { HomieDevice, HomieTree } from './homie-tree';
import { booleanValue, findNode, nodeDescription, numberValue, stringValue } from './homie-tree';

/**
 * The flat data model (firmware r202603–r202627, no dataModelVersion): one Homie device, the panel serial,
 * with one node per function and one node per circuit (SPAN docs/public/mqtt-topic-reference.md).
 * Nodes are recognised by their `$description` type, never by the shape of their id; the documented ids
 * are only a fallback for a node whose description carries no type.
 */

const T = {
  core: 'energy.ebus.device.distribution-enclosure.core',
  lugs: 'energy.ebus.device.lugs',
  lugsUp: 'energy.ebus.device.lugs.upstream',
  lugsDown: 'energy.ebus.device.lugs.downstream',
  powerFlows: 'energy.ebus.device.power-flows',
  bess: 'energy.ebus.device.bess',
};

/** Upstream / downstream lugs node: by type + `direction`, then by the lugs sub-types, then by id. */
function lugsNode(dev: HomieDevice, direction: 'UPSTREAM' | 'DOWNSTREAM'): string | null {
  const nodes = dev.description?.nodes ?? [];
  for (const [id, n] of nodes) {
    if (n.type === T.lugs && stringValue(dev, id, 'direction') === direction) return id;
  }
  const sub = direction === 'UPSTREAM' ? T.lugsUp : T.lugsDown;
  const ids =
    direction === 'UPSTREAM' ? ['lugs-upstream', 'upstream-lugs'] : ['lugs-downstream', 'downstream-lugs'];
  return findNode(dev, [sub], ids);
}

function parseCircuit(dev: HomieDevice, id: string): Circuit {
  const space = numberValue(dev, id, 'space');
  const dipole = booleanValue(dev, id, 'dipole');
  const tabs = space === null || !Number.isInteger(space) ? [] : dipole ? [space, space + 2] : [space];
  const powerRawW = numberValue(dev, id, 'active-power');
  const priorityRaw = stringValue(dev, id, 'shed-priority');
  return {
    id,
    name: stringValue(dev, id, 'name'),
    tabs,
    relay: common.relayOf(stringValue(dev, id, 'relay')),
    priority: common.shedOf(priorityRaw),
    priorityRaw,
    controllable: common.not(booleanValue(dev, id, 'always-on')),
    sheddable: booleanValue(dev, id, 'sheddable'),
    neverBackup: booleanValue(dev, id, 'never-backup'),
    powerW: common.consumptionPositive(powerRawW),
    powerRawW,
    // Panel perspective: exported = panel → circuit (consumption), imported = circuit → panel.
    consumedEnergyWh: numberValue(dev, id, 'exported-energy'),
    producedEnergyWh: numberValue(dev, id, 'imported-energy'),
    netEnergyWh: null,
    currentA: numberValue(dev, id, 'current'),
    breakerRatingA: numberValue(dev, id, 'breaker-rating'),
    powerUpdatedAt: null,
    energyUpdatedAt: null,
    relayRequester: stringValue(dev, id, 'relay-requester'),
    pcsManaged: booleanValue(dev, id, 'pcs-managed'),
    pcsPriority: numberValue(dev, id, 'pcs-priority'),
  };
}

/** The panel's breaker spaces: from the model (r202609+), else from the circuits' `space` format "1:32:1". */
function flatPanelSize(dev: HomieDevice, core: string | null, circuitIds: string[]): number | null {
  const fromModel = panelSizeFromModel(stringValue(dev, core, 'model'));
  if (fromModel !== null) return fromModel;
  for (const id of circuitIds) {
    const format = nodeDescription(dev, id)?.properties.space?.format;
    const m = format === undefined ? null : /^1:(\d+)(?::1)?$/.exec(format);
    if (m) return Number(m[1]);
  }
  return null;
}

/** Circuit node ids, in the order of the panel's `$description`. */
export function flatCircuitIds(dev: HomieDevice | undefined): string[] {
  return (dev?.description?.nodes ?? []).filter(([, n]) => n.type === common.CIRCUIT_TYPE).map(([id]) => id);
}

export function parseFlat(tree: HomieTree, serial: string): ParsedPanel {
  const dev = tree.device(serial) ?? { id: serial, state: null, description: null, values: new Map() };
  const core = findNode(dev, [T.core], ['core']);
  const up = lugsNode(dev, 'UPSTREAM');
  const down = lugsNode(dev, 'DOWNSTREAM');
  const flowsNode = findNode(dev, [T.powerFlows], ['power-flows']);
  const bess = findNode(dev, [T.bess], ['bess']);
  const circuitIds = flatCircuitIds(dev);

  const gridPowerW = numberValue(dev, up, 'active-power');
  const dominantRaw = stringValue(dev, core, 'dominant-power-source');
  const grid: GridInputs = {
    islandingState: stringValue(dev, bess, 'grid-state'),
    dominantSource: common.powerSourceOf(dominantRaw),
    gridPowerW,
    islandable: booleanValue(dev, core, 'grid-islandable'),
  };
  const dsmState = common.deriveDsmState(grid);
  const flows =
    flowsNode === null
      ? null
      : common.normalizePowerFlows({
          gridW: numberValue(dev, flowsNode, 'grid'),
          pvW: numberValue(dev, flowsNode, 'pv'),
          batteryW: numberValue(dev, flowsNode, 'battery'),
          siteW: numberValue(dev, flowsNode, 'site'),
        });

  const battery: Battery | null =
    bess === null
      ? null
      : {
          socPercent: numberValue(dev, bess, 'soc'),
          soeKWh: numberValue(dev, bess, 'soe'),
          connected: booleanValue(dev, bess, 'connected'),
          gridState: stringValue(dev, bess, 'grid-state'),
          ...flatBatteryDetails(dev, bess, flows),
        };
  const lugsCurrents = (node: string | null) => ({
    l1CurrentA: numberValue(dev, node, 'l1-current'),
    l2CurrentA: numberValue(dev, node, 'l2-current'),
  });

  return {
    panel: {
      serial: stringValue(dev, core, 'serial-number') ?? serial,
      model: stringValue(dev, core, 'model'),
      firmwareVersion: stringValue(dev, core, 'software-version'),
      mainRelay: common.relayOf(stringValue(dev, core, 'relay')),
      gridPowerW,
      feedthroughPowerW: numberValue(dev, down, 'active-power'),
      // Upstream lugs: imported = grid → panel (consumed), exported = panel → grid (produced).
      mainMeterEnergy: {
        consumedEnergyWh: numberValue(dev, up, 'imported-energy'),
        producedEnergyWh: numberValue(dev, up, 'exported-energy'),
        netEnergyWh: null,
      },
      // Downstream lugs run the other way: imported = panel → sub-panel (SPAN power-and-energy-conventions).
      feedthroughEnergy: {
        consumedEnergyWh: numberValue(dev, down, 'imported-energy'),
        producedEnergyWh: numberValue(dev, down, 'exported-energy'),
        netEnergyWh: null,
      },
      dsmState,
      dsmGridState: null,
      currentRunConfig: common.deriveRunConfig(dsmState, grid),
      doorState: common.doorOf(stringValue(dev, core, 'door')),
      proximityProven: null,
      uptimeS: null,
      network: {
        ethernet: booleanValue(dev, core, 'ethernet'),
        wifi: booleanValue(dev, core, 'wifi'),
        cellular: null,
        vendorCloud: stringValue(dev, core, 'vendor-cloud'),
        wifiSsid: stringValue(dev, core, 'wifi-ssid'),
      },
      l1VoltageV: numberValue(dev, core, 'l1-voltage'),
      l2VoltageV: numberValue(dev, core, 'l2-voltage'),
      powerFlows: flows,
      mainBreakerRatingA: numberValue(dev, core, 'breaker-rating'),
      panelSize: flatPanelSize(dev, core, circuitIds),
      postalCode: stringValue(dev, core, 'postal-code'),
      timeZone: stringValue(dev, core, 'time-zone'),
      gridFormingEntity: grid.dominantSource,
      gridFormingEntityRaw: dominantRaw,
      gridIslandable: grid.islandable,
      upstreamLugs: lugsCurrents(up),
      downstreamLugs: lugsCurrents(down),
      shedForecast: null, // the flat model has no forecast
    },
    circuits: circuitIds.map((id) => parseCircuit(dev, id)),
    battery,
    pv: flatPv(dev, flows),
    evse: flatEvse(dev),
  };
}

export function buildFlatSnapshot(
  tree: HomieTree,
  serial: string,
  guard: EnergyGuard,
  receivedAt: number,
): PanelSnapshot {
  return common.finalizeSnapshot(parseFlat(tree, serial), 'v2-flat', guard, receivedAt);
}

/** Where commands for a flat circuit go, and which property confirms them. */
export function flatCommandTopics(serial: string, circuitId: string) {
  return {
    relay: { set: `ebus/5/${serial}/${circuitId}/relay/set`, device: serial, key: `${circuitId}/relay` },
    priority: {
      set: `ebus/5/${serial}/${circuitId}/shed-priority/set`,
      device: serial,
      key: `${circuitId}/shed-priority`,
    },
  };
}
