/**
 * The parent/child Homie 5 tree (data model 1.0, firmware r202633+), per SPAN's
 * docs/public/ebus-schema-migration-guide.md and the 1.0 docs/public/mqtt-topic-reference.md.
 * Every device publishes ebus/5/<device-id>/$state, $description and <capability>/<property>, retained.
 * Node types are `energy.ebus.capability.<capability>`; device types `energy.ebus.device.<class>`.
 *
 * Panel  <serial>  (energy.ebus.device.distribution-enclosure; `children` = lugs-up, lugs-dn, every circuit
 *                   in panel order, then the BESS when one is commissioned)
 *   info/vendor-name SPAN, info/model MAIN_32, info/serial-number, info/hardware-version,
 *   info/firmware-version = firmwareVersion, info/data-model-version "1.0"
 *   door/state = doorState
 *   status/relay = mainRelayState, status/ethernet = eth0Link, status/wifi = wlanLink, status/wifi-ssid,
 *   status/cloud-connection = CONNECTED if wwanLink else UNCONNECTED, status/postal-code, status/time-zone
 *   meter/voltage-a = l1VoltageV, meter/voltage-b = l2VoltageV;  breaker/rating 200
 *   power-flows/{pv,battery,grid,site}: same values as flat (grid = −instantGridPowerW, pv = pvPowerW,
 *   battery 0, site = −(pv+battery+grid))
 *   pcs/enabled false, pcs/active false, pcs/binding-constraint NONE
 *   with a BESS only: shed/asserted-islanding-state NONE (settable; writes ignored: no MID comm loss here),
 *   shed/policy {"algorithm":"soc-priority.v1","parameters":{"soc-threshold-shed":20,"soc-threshold-release":25}},
 *   shed-forecast/* (integer minutes from the battery energy and the site load) and confidence MEDIUM
 * Lugs   <serial>-lugs-up / <serial>-lugs-dn  (energy.ebus.device.lugs; root = parent = <serial>)
 *   info/direction UPSTREAM / DOWNSTREAM
 *   meter/current-a, meter/current-b: the service-entrance current, the same on both lugs devices
 *   up: meter/active-power = instantGridPowerW, imported-energy = mainMeterEnergy.consumedEnergyWh,
 *       exported-energy = mainMeterEnergy.producedEnergyWh; with a BESS: connection/fed-by-device-id = the
 *       BESS id, fed-by-device-type energy.ebus.device.bess, fed-by-device-status OK
 *   dn: meter/active-power = feedthroughPowerW (+ = to the sub-panel), imported-energy =
 *       feedthroughEnergy.consumedEnergyWh, exported-energy = feedthroughEnergy.producedEnergyWh
 * Circuit  <circuit id> (the v1 id, dashless UUID; energy.ebus.device.circuit; name = circuit name)
 *   info/name, info/spaces = tabs joined by "," (e.g. "24,26")
 *   switch/relay = relayState ($settable = isUserControllable), switch/relay-requester (USER if opened,
 *   CONFIGURATION if locked, else NONE), switch/relay-controllable = isUserControllable
 *   breaker/rating = breakerRatingA, breaker/poles = number of tabs
 *   meter/current (A), meter/active-power = instantPowerW (W, load < 0), meter/imported-energy =
 *   producedEnergyWh, meter/exported-energy = consumedEnergyWh
 *   load-shed/priority = MUST_HAVE→NEVER, NICE_TO_HAVE→SOC_THRESHOLD, NON_ESSENTIAL→OFF_GRID
 *   ($settable = !isNeverBackup);  pcs/managed false, pcs/priority 0;  connection declared, no values
 * BESS  <serial>-tg121153003k7g  (energy.ebus.device.bess, only while soePercent ≠ null; children = [MID])
 *   info/vendor-name Tesla, info/model "Powerwall 2 AC", info/part-number, info/serial-number,
 *   info/firmware-version, info/nameplate-capacity 13.5;  soc/soc = soePercent, soc/soe = 13.5 × soc / 100
 *   meter/active-power = −power-flows/battery (+ = discharging);  status/communication-state OK
 * MID  <bess-id>-mid  (energy.ebus.device.mid; root = <serial>, parent = the BESS)
 *   info/*, grid/islanding-state ON_GRID|OFF_GRID (dsmState), grid/grid-state UNKNOWN,
 *   grid/grid-forming-entity "GRID" on grid, else the BESS id
 * PV  <serial>-<product id> (energy.ebus.device.pv): info/vendor-name, model, serial-number, firmware-version,
 *   nominal-power (W); no circuit carries it (spaces 30/32), so no connection record references it
 * EVSE  <serial>-<evse serial> (energy.ebus.device.evse): info/*, switch/lock-state, status/status,
 *   meter/advertised-current, config/max-charge-current, config/user-max-charge-current (settable); the EV
 *   circuit publishes connection/feeds-device-id = the EVSE id, feeds-device-type, feeds-device-status OK
 * Commands: <evse>/config/user-max-charge-current/set (integer A, clamped), <circuit>/switch/relay/set OPEN|CLOSED (controllable circuits only),
 * <circuit>/load-shed/priority/set OFF_GRID|SOC_THRESHOLD|NEVER (UNKNOWN ignored),
 * <serial>/shed/asserted-islanding-state/set (ignored).
 */
import type { SimCircuit, SimPanelState } from '../state-types';
import {
  BESS,
  PANEL_STATIC,
  V1_TO_V2_PRIORITY,
  bessSoeKWh,
  circuitCurrentA,
  describeNode,
  fmtBool,
  fmtFloat,
  fmtInt,
  isOnGrid,
  parentChildRelayRequester,
  powerFlows,
  serviceCurrentA,
  withVersion,
  type SimHomieDevice,
  type SimHomieNodeDescription,
  type SimHomieTree,
  type PublisherExtras,
} from './sim-homie-common';
import { EVSE, PV, evseId, evseView, pvId } from './der';
import { HARDWARE_VERSION } from './firmware';
import { DATA_MODEL_VERSION, DEVICE_CLASSES, type SchemaProperties } from './schema';

export const DEVICE_TYPE = {
  panel: 'energy.ebus.device.distribution-enclosure',
  lugs: 'energy.ebus.device.lugs',
  circuit: 'energy.ebus.device.circuit',
  bess: 'energy.ebus.device.bess',
  mid: 'energy.ebus.device.mid',
  pv: 'energy.ebus.device.pv',
  evse: 'energy.ebus.device.evse',
};

export const SHED_POLICY = {
  algorithm: 'soc-priority.v1',
  parameters: { 'soc-threshold-shed': 20, 'soc-threshold-release': 25 },
};

const CAPABILITY_NAMES: Record<string, string> = {
  info: 'Info',
  door: 'Door',
  status: 'Status',
  meter: 'Meter',
  breaker: 'Breaker',
  'power-flows': 'Power Flows',
  pcs: 'Power Control System',
  'shed-forecast': 'Shed Forecast',
  shed: 'Shed',
  connection: 'Connection',
  switch: 'Switch',
  'load-shed': 'Load Shed',
  soc: 'State of Charge',
  grid: 'Grid',
  config: 'Configuration',
};

export function lugsUpId(serial: string): string {
  return `${serial}-lugs-up`;
}
export function lugsDownId(serial: string): string {
  return `${serial}-lugs-dn`;
}
export function bessId(serial: string): string {
  return `${serial}-${BESS.serialNumber.toLowerCase()}`;
}
export function midId(serial: string): string {
  return `${bessId(serial)}-mid`;
}

/** Collects one device's capability nodes and values. */
class DeviceBuilder {
  readonly nodes: Record<string, SimHomieNodeDescription> = {};
  readonly values = new Map<string, string>();

  constructor(private readonly deviceClass: string) {}

  capability(capability: string, settable: Record<string, boolean> = {}): this {
    const properties: SchemaProperties = DEVICE_CLASSES[this.deviceClass]?.[capability] ?? {};
    this.nodes[capability] = describeNode(
      CAPABILITY_NAMES[capability] ?? capability,
      `energy.ebus.capability.${capability}`,
      properties,
      settable,
    );
    return this;
  }

  set(capability: string, property: string, value: string): this {
    this.values.set(`${capability}/${property}`, value);
    return this;
  }

  device(
    id: string,
    name: string,
    type: string,
    tree: { root?: string; parent?: string; children?: string[] },
  ): SimHomieDevice {
    const description = withVersion({
      homie: '5.0',
      name,
      type,
      ...(tree.root !== undefined ? { root: tree.root, parent: tree.parent } : {}),
      ...(tree.children ? { children: tree.children } : {}),
      nodes: this.nodes,
    });
    return { id, description, values: this.values };
  }
}

export function buildParentChildTree(state: SimPanelState, extras: PublisherExtras): SimHomieTree {
  const serial = state.identity.serial;
  const battery = state.soePercent;
  const devices: SimHomieDevice[] = [];
  const childOf = { root: serial, parent: serial };
  const [currentA, currentB] = serviceCurrentA(state);

  const children = [lugsUpId(serial), lugsDownId(serial), ...state.circuits.map((c) => c.id)];
  if (battery !== null) children.push(bessId(serial));
  children.push(pvId(serial), evseId(serial));
  devices.push(panelDevice(state).device(serial, 'SPAN Panel', DEVICE_TYPE.panel, { children }));

  const m = state.mains;
  const lugs = (direction: 'UPSTREAM' | 'DOWNSTREAM', powerW: number, imported: number, exported: number) => {
    const b = new DeviceBuilder('lugs')
      .capability('info')
      .capability('meter')
      .capability('connection')
      .set('info', 'direction', direction)
      .set('meter', 'current-a', fmtFloat(currentA))
      .set('meter', 'current-b', fmtFloat(currentB))
      .set('meter', 'active-power', fmtFloat(powerW))
      .set('meter', 'imported-energy', fmtFloat(imported))
      .set('meter', 'exported-energy', fmtFloat(exported));
    if (direction === 'UPSTREAM' && battery !== null) {
      b.set('connection', 'fed-by-device-id', bessId(serial))
        .set('connection', 'fed-by-device-type', DEVICE_TYPE.bess)
        .set('connection', 'fed-by-device-status', 'OK');
    }
    return b;
  };
  devices.push(
    lugs(
      'UPSTREAM',
      m.instantGridPowerW,
      m.mainMeterEnergy.consumedEnergyWh,
      m.mainMeterEnergy.producedEnergyWh,
    ).device(lugsUpId(serial), 'Upstream Lugs', DEVICE_TYPE.lugs, childOf),
  );
  devices.push(
    lugs(
      'DOWNSTREAM',
      m.feedthroughPowerW,
      m.feedthroughEnergy.consumedEnergyWh,
      m.feedthroughEnergy.producedEnergyWh,
    ).device(lugsDownId(serial), 'Downstream Lugs', DEVICE_TYPE.lugs, childOf),
  );

  for (const c of state.circuits) {
    const b = circuitDevice(c);
    if (c.id === EVSE.circuitId) {
      b.set('connection', 'feeds-device-id', evseId(serial))
        .set('connection', 'feeds-device-type', DEVICE_TYPE.evse)
        .set('connection', 'feeds-device-status', 'OK');
    }
    devices.push(b.device(c.id, c.name, DEVICE_TYPE.circuit, childOf));
  }
  devices.push(
    new DeviceBuilder('pv')
      .capability('info')
      .set('info', 'vendor-name', PV.vendorName)
      .set('info', 'model', PV.productName)
      .set('info', 'serial-number', PV.serialNumber)
      .set('info', 'firmware-version', PV.firmwareVersion)
      .set('info', 'nominal-power', fmtFloat(PV.nameplateCapacityW))
      .device(pvId(serial), 'PV System', DEVICE_TYPE.pv, childOf),
  );
  const ev = evseView(state, extras.evseUserMaxChargeCurrentA);
  devices.push(
    new DeviceBuilder('evse')
      .capability('info')
      .capability('switch')
      .capability('status')
      .capability('meter')
      .capability('config')
      .set('info', 'vendor-name', EVSE.vendorName)
      .set('info', 'model', EVSE.productName)
      .set('info', 'part-number', EVSE.partNumber)
      .set('info', 'serial-number', EVSE.serialNumber)
      .set('info', 'firmware-version', EVSE.firmwareVersion)
      .set('switch', 'lock-state', ev.lockState)
      .set('status', 'status', ev.status)
      .set('meter', 'advertised-current', fmtFloat(ev.advertisedCurrentA))
      .set('config', 'max-charge-current', fmtInt(EVSE.maxChargeCurrentA))
      .set('config', 'user-max-charge-current', fmtInt(extras.evseUserMaxChargeCurrentA))
      .device(evseId(serial), 'SPAN Drive', DEVICE_TYPE.evse, childOf),
  );

  if (battery !== null) {
    const flows = powerFlows(state);
    const onGrid = isOnGrid(state);
    devices.push(
      new DeviceBuilder('bess')
        .capability('info')
        .capability('soc')
        .capability('meter')
        .capability('status')
        .set('info', 'vendor-name', BESS.vendorName)
        .set('info', 'model', BESS.productName)
        .set('info', 'part-number', BESS.partNumber)
        .set('info', 'serial-number', BESS.serialNumber)
        .set('info', 'firmware-version', BESS.firmwareVersion)
        .set('info', 'nameplate-capacity', fmtFloat(BESS.nameplateCapacityKWh))
        .set('soc', 'soc', fmtFloat(battery))
        .set('soc', 'soe', fmtFloat(bessSoeKWh(battery)))
        .set('meter', 'active-power', fmtFloat(-flows.battery))
        .set('status', 'communication-state', 'OK')
        .device(bessId(serial), 'Energy Storage System', DEVICE_TYPE.bess, {
          ...childOf,
          children: [midId(serial)],
        }),
    );
    devices.push(
      new DeviceBuilder('mid')
        .capability('info')
        .capability('grid')
        .set('info', 'vendor-name', BESS.vendorName)
        .set('info', 'serial-number', BESS.serialNumber)
        .set('info', 'model', BESS.productName)
        .set('info', 'firmware-version', BESS.firmwareVersion)
        .set('info', 'hardware-version', HARDWARE_VERSION)
        .set('grid', 'islanding-state', onGrid ? 'ON_GRID' : 'OFF_GRID')
        .set('grid', 'grid-state', 'UNKNOWN')
        .set('grid', 'grid-forming-entity', onGrid ? 'GRID' : bessId(serial))
        .device(midId(serial), 'Microgrid Interconnect Device', DEVICE_TYPE.mid, {
          root: serial,
          parent: bessId(serial),
        }),
    );
  }
  return { rootId: serial, devices };
}

function panelDevice(state: SimPanelState): DeviceBuilder {
  const id = state.identity;
  const m = state.mains;
  const flows = powerFlows(state);
  const b = new DeviceBuilder('distribution-enclosure')
    .capability('info')
    .capability('door')
    .capability('status')
    .capability('meter')
    .capability('breaker')
    .capability('power-flows')
    .capability('pcs')
    .set('info', 'vendor-name', PANEL_STATIC.vendorName)
    .set('info', 'model', 'MAIN_32')
    .set('info', 'serial-number', id.serial)
    .set('info', 'hardware-version', HARDWARE_VERSION)
    .set('info', 'firmware-version', id.firmwareVersion)
    .set('info', 'data-model-version', DATA_MODEL_VERSION)
    .set('door', 'state', id.doorState)
    .set('status', 'relay', m.mainRelayState)
    .set('status', 'ethernet', fmtBool(id.eth0Link))
    .set('status', 'wifi', fmtBool(id.wlanLink))
    .set('status', 'wifi-ssid', id.wifiSsid)
    .set('status', 'cloud-connection', id.wwanLink ? 'CONNECTED' : 'UNCONNECTED')
    .set('status', 'postal-code', PANEL_STATIC.postalCode)
    .set('status', 'time-zone', PANEL_STATIC.timeZone)
    .set('meter', 'voltage-a', fmtFloat(m.l1VoltageV))
    .set('meter', 'voltage-b', fmtFloat(m.l2VoltageV))
    .set('breaker', 'rating', fmtInt(PANEL_STATIC.mainBreakerRatingA))
    .set('power-flows', 'pv', fmtFloat(flows.pv))
    .set('power-flows', 'battery', fmtFloat(flows.battery))
    .set('power-flows', 'grid', fmtFloat(flows.grid))
    .set('power-flows', 'site', fmtFloat(flows.site))
    .set('pcs', 'enabled', 'false')
    .set('pcs', 'active', 'false')
    .set('pcs', 'binding-constraint', 'NONE');
  if (state.soePercent !== null) {
    const forecast = shedForecast(state, state.soePercent);
    b.capability('shed-forecast')
      .capability('shed')
      .set('shed-forecast', 'total-time-remaining', fmtInt(forecast.total))
      .set('shed-forecast', 'time-to-priority-shed', fmtInt(forecast.toPriorityShed))
      .set('shed-forecast', 'full-charge-total-time-remaining', fmtInt(forecast.fullTotal))
      .set('shed-forecast', 'full-charge-time-to-priority-shed', fmtInt(forecast.fullToPriorityShed))
      .set('shed-forecast', 'confidence', 'MEDIUM')
      .set('shed', 'asserted-islanding-state', 'NONE')
      .set('shed', 'policy', JSON.stringify(SHED_POLICY));
  }
  return b;
}

function circuitDevice(c: SimCircuit): DeviceBuilder {
  return new DeviceBuilder('circuit')
    .capability('info')
    .capability('switch', { relay: c.isUserControllable })
    .capability('breaker')
    .capability('meter')
    .capability('load-shed', { priority: !c.isNeverBackup })
    .capability('pcs')
    .capability('connection')
    .set('info', 'name', c.name)
    .set('info', 'spaces', c.tabs.join(','))
    .set('switch', 'relay', c.relayState)
    .set('switch', 'relay-requester', parentChildRelayRequester(c))
    .set('switch', 'relay-controllable', fmtBool(c.isUserControllable))
    .set('breaker', 'rating', fmtInt(c.breakerRatingA))
    .set('breaker', 'poles', fmtInt(c.tabs.length))
    .set('meter', 'current', fmtFloat(circuitCurrentA(c)))
    .set('meter', 'active-power', fmtFloat(c.instantPowerW))
    .set('meter', 'imported-energy', fmtFloat(c.producedEnergyWh))
    .set('meter', 'exported-energy', fmtFloat(c.consumedEnergyWh))
    .set('load-shed', 'priority', V1_TO_V2_PRIORITY[c.priority])
    .set('pcs', 'managed', 'false')
    .set('pcs', 'priority', '0');
}

/**
 * Battery time remaining (minutes): the battery's energy over the site load, with the SOC_THRESHOLD tier
 * shed once the SoC falls to the policy's shed threshold. Only a plausible, self-consistent estimate.
 */
function shedForecast(state: SimPanelState, soePercent: number) {
  const siteW = Math.max(100, powerFlows(state).site);
  const capacityWh = BESS.nameplateCapacityKWh * 1000;
  const minutes = (fraction: number) => Math.max(0, Math.round(((capacityWh * fraction) / siteW) * 60));
  const threshold = SHED_POLICY.parameters['soc-threshold-shed'] / 100;
  return {
    total: minutes(soePercent / 100),
    toPriorityShed: minutes(Math.max(0, soePercent / 100 - threshold)),
    fullTotal: minutes(1),
    fullToPriorityShed: minutes(1 - threshold),
  };
}
