/**
 * The flat Homie 5 tree (firmware r202603 … r202627, no data-model-version), per SPAN's
 * docs/public/mqtt-topic-reference.md (r202603) and the /api/v2/homie/schema capture. One device, the panel:
 *
 *   ebus/5/<serial>/$state                      ready (init during a replay)
 *   ebus/5/<serial>/$description                Homie 5 JSON; type energy.ebus.device.distribution-enclosure
 *   ebus/5/<serial>/<node>/<property>           value, retained
 *   ebus/5/<serial>/<node>/<property>/set       commands (client → panel)
 *
 * Node id → node type → values (v1 names are the SimPanelState fields, i.e. the v1 REST wire values):
 *   core            energy.ebus.device.distribution-enclosure.core
 *                   vendor-name SPAN, serial-number, hardware-version, software-version = firmwareVersion,
 *                   door = doorState, grid-islandable = battery commissioned, dominant-power-source
 *                   (settable) = GRID on grid / BATTERY off grid unless set, relay = mainRelayState,
 *                   l1-voltage, l2-voltage, breaker-rating 200, ethernet = eth0Link, wifi = wlanLink,
 *                   wifi-ssid, vendor-cloud = CONNECTED if wwanLink else UNCONNECTED, postal-code, time-zone
 *   lugs-upstream   energy.ebus.device.lugs: direction UPSTREAM, active-power = instantGridPowerW (+ import),
 *                   imported-energy = mainMeterEnergy.consumedEnergyWh, exported-energy = .producedEnergyWh,
 *                   l1-current / l2-current = |grid power| / 2 / leg voltage
 *   lugs-downstream energy.ebus.device.lugs: direction DOWNSTREAM, active-power = feedthroughPowerW (+ = panel
 *                   delivers to the sub-panel), imported-energy = feedthroughEnergy.consumedEnergyWh,
 *                   exported-energy = feedthroughEnergy.producedEnergyWh, currents as upstream
 *   power-flows     energy.ebus.device.power-flows: grid = −instantGridPowerW, pv = pvPowerW (< 0 generating),
 *                   battery = 0, site = −(pv + battery + grid)
 *   bess            energy.ebus.device.bess (only while soePercent ≠ null): soc = soePercent (float %),
 *                   soe = 13.5 kWh × soc / 100, connected true, grid-state ON_GRID/OFF_GRID (dsmState),
 *                   vendor-name, product-name, model, serial-number, software-version,
 *                   nameplate-capacity 13.5, relative-position UPSTREAM
 *   pv              energy.ebus.device.pv: vendor-name, product-name, serial-number, software-version,
 *                   nameplate-capacity (W), relative-position IN_PANEL (der.ts)
 *   evse            energy.ebus.device.evse: vendor-name, product-name, part-number, serial-number,
 *                   software-version, feed = the EV circuit id, status, lock-state, advertised-current
 *   <circuit id>    energy.ebus.device.circuit, node id = the v1 circuit id (dashless UUID):
 *                   name, relay (settable) = relayState, relay-requester (USER if opened, ALWAYS_ON if locked,
 *                   else NONE), breaker-rating = breakerRatingA, current (A), active-power = instantPowerW
 *                   (W despite the schema's "kW"; load < 0), imported-energy = producedEnergyWh,
 *                   exported-energy = consumedEnergyWh, space = lowest tab, dipole = two tabs,
 *                   shed-priority (settable) = MUST_HAVE→NEVER, NICE_TO_HAVE→SOC_THRESHOLD,
 *                   NON_ESSENTIAL→OFF_GRID, pcs-managed false, pcs-priority 0, sheddable = isSheddable,
 *                   never-backup = isNeverBackup, always-on = !isUserControllable
 * Node descriptions declare every property of the node type in the schema (as the schema lists them).
 * Commands: <circuit>/relay/set OPEN|CLOSED, <circuit>/shed-priority/set OFF_GRID|SOC_THRESHOLD|NEVER,
 * core/dominant-power-source/set (stored and republished).
 */
import type { SimPanelState } from '../state-types';
import {
  BESS,
  PANEL_STATIC,
  V1_TO_V2_PRIORITY,
  bessSoeKWh,
  circuitCurrentA,
  describeNode,
  flatRelayRequester,
  fmtBool,
  fmtFloat,
  fmtInt,
  isOnGrid,
  powerFlows,
  serviceCurrentA,
  withVersion,
  type SimHomieNodeDescription,
  type SimHomieTree,
  type PublisherExtras,
} from './sim-homie-common';
import { EVSE, PV, evseView } from './der';
import { HARDWARE_VERSION } from './firmware';
import { FLAT_TYPES } from './schema';

export const FLAT_DEVICE_TYPE = 'energy.ebus.device.distribution-enclosure';
const T = {
  core: 'energy.ebus.device.distribution-enclosure.core',
  lugs: 'energy.ebus.device.lugs',
  circuit: 'energy.ebus.device.circuit',
  bess: 'energy.ebus.device.bess',
  powerFlows: 'energy.ebus.device.power-flows',
  pv: 'energy.ebus.device.pv',
  evse: 'energy.ebus.device.evse',
};

export function buildFlatTree(state: SimPanelState, extras: PublisherExtras): SimHomieTree {
  const id = state.identity;
  const m = state.mains;
  const values = new Map<string, string>();
  const set = (node: string, prop: string, value: string) => values.set(`${node}/${prop}`, value);
  // Null prototype: a node id (a circuit id) is an ordinary key, even `__proto__`.
  const nodes: Record<string, SimHomieNodeDescription> = Object.create(null);
  const battery = state.soePercent !== null;
  const onGrid = isOnGrid(state);

  nodes.core = describeNode('Distribution Enclosure Core', T.core, FLAT_TYPES[T.core] ?? {});
  set('core', 'vendor-name', PANEL_STATIC.vendorName);
  set('core', 'serial-number', id.serial);
  set('core', 'hardware-version', HARDWARE_VERSION);
  set('core', 'software-version', id.firmwareVersion);
  set('core', 'door', id.doorState);
  set('core', 'grid-islandable', fmtBool(battery));
  set('core', 'dominant-power-source', extras.dominantPowerSource ?? (onGrid ? 'GRID' : 'BATTERY'));
  set('core', 'relay', m.mainRelayState);
  set('core', 'l1-voltage', fmtFloat(m.l1VoltageV));
  set('core', 'l2-voltage', fmtFloat(m.l2VoltageV));
  set('core', 'breaker-rating', fmtInt(PANEL_STATIC.mainBreakerRatingA));
  set('core', 'ethernet', fmtBool(id.eth0Link));
  set('core', 'wifi', fmtBool(id.wlanLink));
  set('core', 'wifi-ssid', id.wifiSsid);
  set('core', 'vendor-cloud', id.wwanLink ? 'CONNECTED' : 'UNCONNECTED');
  set('core', 'postal-code', PANEL_STATIC.postalCode);
  set('core', 'time-zone', PANEL_STATIC.timeZone);

  const [l1, l2] = serviceCurrentA(state);
  const lugs = (node: string, direction: string, powerW: number, imported: number, exported: number) => {
    nodes[node] = describeNode(
      direction === 'UPSTREAM' ? 'Upstream Lugs' : 'Downstream Lugs',
      T.lugs,
      FLAT_TYPES[T.lugs] ?? {},
    );
    set(node, 'direction', direction);
    set(node, 'l1-current', fmtFloat(l1));
    set(node, 'l2-current', fmtFloat(l2));
    set(node, 'active-power', fmtFloat(powerW));
    set(node, 'imported-energy', fmtFloat(imported));
    set(node, 'exported-energy', fmtFloat(exported));
  };
  lugs(
    'lugs-upstream',
    'UPSTREAM',
    m.instantGridPowerW,
    m.mainMeterEnergy.consumedEnergyWh,
    m.mainMeterEnergy.producedEnergyWh,
  );
  lugs(
    'lugs-downstream',
    'DOWNSTREAM',
    m.feedthroughPowerW,
    m.feedthroughEnergy.consumedEnergyWh,
    m.feedthroughEnergy.producedEnergyWh,
  );

  const flows = powerFlows(state);
  nodes['power-flows'] = describeNode('Power Flows', T.powerFlows, FLAT_TYPES[T.powerFlows] ?? {});
  set('power-flows', 'pv', fmtFloat(flows.pv));
  set('power-flows', 'battery', fmtFloat(flows.battery));
  set('power-flows', 'grid', fmtFloat(flows.grid));
  set('power-flows', 'site', fmtFloat(flows.site));

  if (state.soePercent !== null) {
    nodes.bess = describeNode('Battery Energy Storage System', T.bess, FLAT_TYPES[T.bess] ?? {});
    set('bess', 'vendor-name', BESS.vendorName);
    set('bess', 'product-name', BESS.productName);
    set('bess', 'model', BESS.partNumber);
    set('bess', 'serial-number', BESS.serialNumber);
    set('bess', 'software-version', BESS.firmwareVersion);
    set('bess', 'nameplate-capacity', fmtFloat(BESS.nameplateCapacityKWh));
    set('bess', 'relative-position', 'UPSTREAM');
    set('bess', 'soc', fmtFloat(state.soePercent));
    set('bess', 'soe', fmtFloat(bessSoeKWh(state.soePercent)));
    set('bess', 'connected', 'true');
    set('bess', 'grid-state', onGrid ? 'ON_GRID' : 'OFF_GRID');
  }

  nodes.pv = describeNode('PV System', T.pv, FLAT_TYPES[T.pv] ?? {});
  set('pv', 'vendor-name', PV.vendorName);
  set('pv', 'product-name', PV.productName);
  set('pv', 'serial-number', PV.serialNumber);
  set('pv', 'software-version', PV.firmwareVersion);
  set('pv', 'nameplate-capacity', fmtFloat(PV.nameplateCapacityW));
  set('pv', 'relative-position', 'IN_PANEL');

  const ev = evseView(state, extras.evseUserMaxChargeCurrentA);
  nodes.evse = describeNode('Electric Vehicle Supply Equipment', T.evse, FLAT_TYPES[T.evse] ?? {});
  set('evse', 'vendor-name', EVSE.vendorName);
  set('evse', 'product-name', EVSE.productName);
  set('evse', 'part-number', EVSE.partNumber);
  set('evse', 'serial-number', EVSE.serialNumber);
  set('evse', 'software-version', EVSE.firmwareVersion);
  set('evse', 'feed', EVSE.circuitId);
  set('evse', 'status', ev.status);
  set('evse', 'lock-state', ev.lockState);
  set('evse', 'advertised-current', fmtFloat(ev.advertisedCurrentA));

  for (const c of state.circuits) {
    nodes[c.id] = describeNode(c.name, T.circuit, FLAT_TYPES[T.circuit] ?? {});
    set(c.id, 'name', c.name);
    set(c.id, 'relay', c.relayState);
    set(c.id, 'relay-requester', flatRelayRequester(c));
    set(c.id, 'breaker-rating', fmtInt(c.breakerRatingA));
    set(c.id, 'current', fmtFloat(circuitCurrentA(c)));
    set(c.id, 'active-power', fmtFloat(c.instantPowerW));
    set(c.id, 'imported-energy', fmtFloat(c.producedEnergyWh));
    set(c.id, 'exported-energy', fmtFloat(c.consumedEnergyWh));
    set(c.id, 'space', fmtInt(Math.min(...c.tabs)));
    set(c.id, 'dipole', fmtBool(c.tabs.length === 2));
    set(c.id, 'shed-priority', V1_TO_V2_PRIORITY[c.priority]);
    set(c.id, 'pcs-managed', 'false');
    set(c.id, 'pcs-priority', '0');
    set(c.id, 'sheddable', fmtBool(c.isSheddable));
    set(c.id, 'never-backup', fmtBool(c.isNeverBackup));
    set(c.id, 'always-on', fmtBool(!c.isUserControllable));
  }

  const description = withVersion({
    homie: '5.0',
    name: 'SPAN Panel eBus Adapter',
    type: FLAT_DEVICE_TYPE,
    nodes,
  });
  return { rootId: id.serial, devices: [{ id: id.serial, description, values }] };
}
