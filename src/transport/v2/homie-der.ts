import type {
  Battery,
  DerIdentity,
  EvCharger,
  PowerFlows,
  PvSystem,
  RelativePosition,
} from '../../model/panel';
import { relativePositionOf } from './homie-common';
import { findNode, nodeDescription, numberValue, stringValue, type HomieDevice } from './homie-tree';

/**
 * The distributed energy resources a panel reports (battery, PV, EV charger), in both data models.
 * Nodes and devices are found by their `$description` type only (never by id).
 *
 * - Flat: one node per DER on the panel device, with `relative-position` and `feed` (the circuit id the DER
 *   is landed on) as properties.
 * - Parent/child: one child device per DER; position and feed are no longer on the DER but on the
 *   panel-side `connection` record of the circuit or lugs wired to it (SPAN ebus-schema-migration-guide.md,
 *   "Discovering DER Topology"). No record → position and feed unknown (null), never guessed.
 */

export const DER_TYPE = {
  bess: 'energy.ebus.device.bess',
  pv: 'energy.ebus.device.pv',
  evse: 'energy.ebus.device.evse',
};

const USER_MAX = 'user-max-charge-current';

/** Battery fields beyond SoC / SoE / link state, which the model parsers fill in. */
export type BatteryDetails = Pick<
  Battery,
  'powerW' | 'nameplateCapacityKWh' | 'relativePosition' | 'feed' | 'identity'
>;

// ---- flat ------------------------------------------------------------------------------------------------

function flatIdentity(dev: HomieDevice, node: string, modelProp: string): DerIdentity {
  return {
    deviceId: node,
    vendor: stringValue(dev, node, 'vendor-name'),
    product: stringValue(dev, node, 'product-name'),
    model: stringValue(dev, node, modelProp),
    serial: stringValue(dev, node, 'serial-number'),
    firmwareVersion: stringValue(dev, node, 'software-version'),
  };
}

export function flatBatteryDetails(dev: HomieDevice, bess: string, flows: PowerFlows | null): BatteryDetails {
  return {
    powerW: flows?.batteryW ?? null,
    nameplateCapacityKWh: numberValue(dev, bess, 'nameplate-capacity'),
    relativePosition: relativePositionOf(stringValue(dev, bess, 'relative-position')),
    feed: stringValue(dev, bess, 'feed'),
    // Flat `model` holds the SKU and `product-name` the designation (migration guide, "BESS").
    identity: flatIdentity(dev, bess, 'model'),
  };
}

export function flatPv(dev: HomieDevice, flows: PowerFlows | null): PvSystem | null {
  const pv = findNode(dev, [DER_TYPE.pv]);
  if (pv === null) return null;
  return {
    identity: flatIdentity(dev, pv, 'model'),
    nameplateCapacityW: numberValue(dev, pv, 'nameplate-capacity'),
    relativePosition: relativePositionOf(stringValue(dev, pv, 'relative-position')),
    feed: stringValue(dev, pv, 'feed'),
    powerW: flows?.pvW ?? null,
  };
}

export function flatEvse(dev: HomieDevice): EvCharger | null {
  const evse = findNode(dev, [DER_TYPE.evse]);
  if (evse === null) return null;
  return {
    identity: flatIdentity(dev, evse, 'part-number'),
    feed: stringValue(dev, evse, 'feed'),
    status: stringValue(dev, evse, 'status'),
    lockState: stringValue(dev, evse, 'lock-state'),
    advertisedCurrentA: numberValue(dev, evse, 'advertised-current'),
    // Later flat firmware (r202627) declares these; r202603 does not (null).
    maxChargeCurrentA: numberValue(dev, evse, 'max-charge-current'),
    userMaxChargeCurrentA: numberValue(dev, evse, USER_MAX),
    chargeCurrentSettable: nodeDescription(dev, evse)?.properties[USER_MAX]?.settable === true,
  };
}

/** Where a charge-current command for the flat EV charger goes, and which value confirms it. */
export function flatChargeCurrentTarget(dev: HomieDevice | undefined, serial: string) {
  const evse = findNode(dev, [DER_TYPE.evse]);
  if (evse === null) return null;
  return { set: `ebus/5/${serial}/${evse}/${USER_MAX}/set`, device: serial, key: `${evse}/${USER_MAX}` };
}

// ---- parent/child ----------------------------------------------------------------------------------------

/** Capability node of a device: by `energy.ebus.capability.<name>` type only. */
function cap(dev: HomieDevice | undefined, name: string): string | null {
  return findNode(dev, [`energy.ebus.capability.${name}`]);
}

function pcIdentity(dev: HomieDevice): DerIdentity {
  const info = cap(dev, 'info');
  return {
    deviceId: dev.id,
    vendor: stringValue(dev, info, 'vendor-name'),
    // 1.0 restandardised identity: info/model is the designation, info/part-number the SKU.
    product: stringValue(dev, info, 'model'),
    model: stringValue(dev, info, 'part-number'),
    serial: stringValue(dev, info, 'serial-number'),
    firmwareVersion: stringValue(dev, info, 'firmware-version'),
  };
}

/** A panel-side connection owner (circuit or lugs) as the parent/child parser classified it. */
export interface ConnectionOwner {
  dev: HomieDevice;
  kind: 'circuit' | 'upstream-lugs' | 'downstream-lugs';
}

/**
 * Position and feed of a DER from the connection records that reference it: a circuit feeding it → in the
 * panel, landed on that circuit; the downstream lugs feeding it → downstream; the upstream lugs fed by it →
 * upstream. Feed is a circuit id only (the flat meaning of `feed`).
 */
export function derTopology(
  owners: ConnectionOwner[],
  derId: string,
): { relativePosition: RelativePosition | null; feed: string | null } {
  for (const o of owners) {
    const conn = cap(o.dev, 'connection');
    if (conn === null) continue;
    if (stringValue(o.dev, conn, 'feeds-device-id') === derId) {
      if (o.kind === 'circuit') return { relativePosition: 'IN_PANEL', feed: o.dev.id };
      if (o.kind === 'downstream-lugs') return { relativePosition: 'DOWNSTREAM', feed: null };
    }
    if (o.kind === 'upstream-lugs' && stringValue(o.dev, conn, 'fed-by-device-id') === derId) {
      return { relativePosition: 'UPSTREAM', feed: null };
    }
  }
  return { relativePosition: null, feed: null };
}

export function pcBatteryDetails(
  bess: HomieDevice,
  owners: ConnectionOwner[],
  flows: PowerFlows | null,
): BatteryDetails {
  return {
    powerW: flows?.batteryW ?? null,
    nameplateCapacityKWh: numberValue(bess, cap(bess, 'info'), 'nameplate-capacity'),
    ...derTopology(owners, bess.id),
    identity: pcIdentity(bess),
  };
}

export function pcPv(pv: HomieDevice | undefined, owners: ConnectionOwner[], flows: PowerFlows | null) {
  if (!pv) return null;
  const result: PvSystem = {
    identity: pcIdentity(pv),
    nameplateCapacityW: numberValue(pv, cap(pv, 'info'), 'nominal-power'),
    ...derTopology(owners, pv.id),
    powerW: flows?.pvW ?? null,
  };
  return result;
}

export function pcEvse(evse: HomieDevice | undefined, owners: ConnectionOwner[]): EvCharger | null {
  if (!evse) return null;
  const config = cap(evse, 'config');
  return {
    identity: pcIdentity(evse),
    feed: derTopology(owners, evse.id).feed,
    status: stringValue(evse, cap(evse, 'status'), 'status'),
    lockState: stringValue(evse, cap(evse, 'switch'), 'lock-state'),
    advertisedCurrentA: numberValue(evse, cap(evse, 'meter'), 'advertised-current'),
    maxChargeCurrentA: numberValue(evse, config, 'max-charge-current'),
    userMaxChargeCurrentA: numberValue(evse, config, USER_MAX),
    chargeCurrentSettable: nodeDescription(evse, config)?.properties[USER_MAX]?.settable === true,
  };
}

/** Where a charge-current command for a parent/child EV charger goes, and which value confirms it. */
export function pcChargeCurrentTarget(evse: HomieDevice | undefined) {
  const config = cap(evse, 'config');
  if (!evse || config === null) return null;
  return {
    set: `ebus/5/${evse.id}/${config}/${USER_MAX}/set`,
    device: evse.id,
    key: `${config}/${USER_MAX}`,
  };
}
