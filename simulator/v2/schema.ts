/**
 * The Homie property schemas of both v2 data models, as GET /api/v2/homie/schema serves them and as the
 * $description topics declare them.
 *
 * - Flat (r202603 … r202627): the captured r202603/05 response (homie_schema_r202603.json, a copy of
 *   test/fixtures/v2_homie_schema_r202603.json): `types` keyed by node type, then property id. Its
 *   `typesSchemaHash` is served as captured (SPAN's canonicalisation is not public).
 * - Parent/child (data model 1.0, r202633+): `deviceClasses` keyed by short device class, then capability,
 *   then property id, per SPAN's ebus-schema-migration-guide.md and the 1.0 mqtt-topic-reference.md.
 *   `deviceClassesSchemaHash` = "sha256:" + the first 16 hex digits of SHA-256 over the key-sorted,
 *   whitespace-free JSON of `deviceClasses` (same form as the flat hash; our own canonicalisation).
 */
import { createHash } from 'node:crypto';
import flatSchemaJson from './homie_schema_r202603.json';

export interface SchemaProperty {
  name: string;
  datatype: 'string' | 'integer' | 'float' | 'boolean' | 'enum' | 'json' | string;
  unit?: string;
  format?: string;
  settable?: boolean;
}

/** Properties by id. */
export type SchemaProperties = Record<string, SchemaProperty>;

export interface FlatSchemaResponse {
  firmwareVersion: string;
  homieDomain: string;
  homieVersion: number;
  types: Record<string, SchemaProperties>;
  typesSchemaHash: string;
}

export interface ParentChildSchemaResponse {
  firmwareVersion: string;
  homieDomain: 'ebus';
  homieVersion: 5;
  dataModelVersion: string;
  deviceClasses: Record<string, Record<string, SchemaProperties>>;
  deviceClassesSchemaHash: string;
}

export const DATA_MODEL_VERSION = '1.0';

export const FLAT_TYPES = (flatSchemaJson as unknown as FlatSchemaResponse).types;
export const FLAT_TYPES_SCHEMA_HASH = (flatSchemaJson as unknown as FlatSchemaResponse).typesSchemaHash;

const str = (name: string): SchemaProperty => ({ name, datatype: 'string' });
const bool = (name: string): SchemaProperty => ({ name, datatype: 'boolean' });
const enumOf = (name: string, format: string, settable?: boolean): SchemaProperty =>
  settable ? { name, datatype: 'enum', format, settable } : { name, datatype: 'enum', format };
const float = (name: string, unit?: string): SchemaProperty =>
  unit ? { name, datatype: 'float', unit } : { name, datatype: 'float' };
const int = (name: string, unit?: string, format?: string): SchemaProperty => ({
  name,
  datatype: 'integer',
  ...(unit ? { unit } : {}),
  ...(format ? { format } : {}),
});

const ENABLEMENT = 'UNSPECIFIED,UNCONFIGURED,DISABLED,ENABLED';
const LINK_STATUS = 'OK,LOST,DEGRADED';

function importLimit(prefix: string, label: string): SchemaProperties {
  return {
    [`${prefix}-import-limit`]: float(`${label} maximum import limit`, 'A'),
    [`${prefix}-import-limit-enablement`]: enumOf(
      `Enablement status of the ${prefix}-import-limit`,
      ENABLEMENT,
    ),
    [`${prefix}-import-limit-active`]: bool(`Is ${prefix}-import-limit currently being enforced?`),
  };
}

function connection(sides: 'both' | 'feeds'): SchemaProperties {
  const feeds: SchemaProperties = {
    'feeds-device-id': str('Homie device-id of the downstream device'),
    'feeds-device-type': str('Homie $type of the downstream device'),
    'feeds-device-status': enumOf("Panel's view of comm health to the downstream device", LINK_STATUS),
  };
  const fedBy: SchemaProperties = {
    'fed-by-device-id': str('Homie device-id of the upstream device'),
    'fed-by-device-type': str('Homie $type of the upstream device'),
    'fed-by-device-status': enumOf("Panel's view of comm health to the upstream device", LINK_STATUS),
  };
  return {
    ...(sides === 'both' ? fedBy : {}),
    ...feeds,
    count: int('Number of physical units aggregated as the connected device'),
  };
}

const SHED_POLICY_FORMAT = JSON.stringify({
  $id: 'soc-priority.v1',
  type: 'object',
  required: ['algorithm', 'parameters'],
  additionalProperties: false,
  properties: {
    algorithm: { const: 'soc-priority.v1' },
    parameters: {
      type: 'object',
      required: ['soc-threshold-shed', 'soc-threshold-release'],
      additionalProperties: false,
      properties: {
        'soc-threshold-shed': { type: 'integer', minimum: 0, maximum: 100 },
        'soc-threshold-release': { type: 'integer', minimum: 0, maximum: 100 },
      },
    },
  },
});

/** Data model 1.0 device classes → capability → property. */
export const DEVICE_CLASSES: Record<string, Record<string, SchemaProperties>> = {
  'distribution-enclosure': {
    info: {
      'vendor-name': str('Vendor name'),
      model: enumOf('Model', 'MAIN_16,MLO_24,MAIN_32,MAIN_40,MLO_48'),
      'serial-number': str('Serial number'),
      'hardware-version': str('Hardware version'),
      'firmware-version': str('Firmware version'),
      'data-model-version': str('eBus data-model version (parent/child schema discriminator)'),
    },
    door: { state: enumOf('Door state', 'UNKNOWN,OPEN,CLOSED') },
    status: {
      relay: enumOf('Main relay', 'UNKNOWN,OPEN,CLOSED'),
      ethernet: bool('Is Ethernet network interface operational?'),
      wifi: bool('Is Wi-Fi network interface operational?'),
      'wifi-ssid': str('SSID to which Wi-Fi network interface is connected'),
      'cloud-connection': enumOf('Device connected to vendor cloud?', 'UNKNOWN,UNCONNECTED,CONNECTED'),
      'postal-code': str('Postal (Zip) code'),
      'time-zone': str('Time zone'),
    },
    meter: { 'voltage-a': float('L1 voltage', 'V'), 'voltage-b': float('L2 voltage', 'V') },
    breaker: { rating: int('Main breaker rating', 'A') },
    'power-flows': {
      pv: float('PV power flow', 'W'),
      battery: float('Battery/BESS power flow', 'W'),
      grid: float('Grid power flow', 'W'),
      site: float('Site power flow', 'W'),
    },
    pcs: {
      enabled: bool('PCS system enabled'),
      active: bool('PCS system actively controlling one (or more) loads'),
      'import-limit': float('The power import limit currently being managed to', 'A'),
      'binding-constraint': enumOf(
        'Which constraint class currently sets the import limit',
        'FSR,DOE,VOLTAGE,OFF_GRID,REQUESTED,OPERATOR,NONE,UNKNOWN',
      ),
      ...importLimit('feed', 'Feed'),
      ...importLimit('operator', 'Operator'),
      ...importLimit('off-grid', 'Off-grid'),
      ...importLimit('requested', 'Requested'),
    },
    'shed-forecast': {
      'total-time-remaining': int('Estimated total time before backed-up circuits drop', 'min'),
      'time-to-priority-shed': int('Estimated time before the next priority tier is shed', 'min'),
      'full-charge-total-time-remaining': int('Estimated total time assuming a full BESS', 'min'),
      'full-charge-time-to-priority-shed': int(
        'Estimated time to next priority shed assuming a full BESS',
        'min',
      ),
      confidence: enumOf('Confidence of the shed-forecast estimate', 'LOW,MEDIUM,HIGH'),
    },
    shed: {
      'asserted-islanding-state': enumOf(
        'Consumer-asserted islanding-state (grid-state override during MID/BESS comm-loss)',
        'NONE,ON_GRID,OFF_GRID',
        true,
      ),
      policy: {
        name: 'Shed policy (algorithm and parameters)',
        datatype: 'json',
        format: SHED_POLICY_FORMAT,
      },
    },
  },
  lugs: {
    info: { direction: enumOf('Lugs feed direction: upstream or downstream', 'UPSTREAM,DOWNSTREAM') },
    meter: {
      'current-a': float('L1 current', 'A'),
      'current-b': float('L2 current', 'A'),
      'active-power': float('Active power', 'W'),
      'imported-energy': float('Imported energy', 'Wh'),
      'exported-energy': float('Exported energy', 'Wh'),
    },
    connection: connection('both'),
  },
  circuit: {
    info: { name: str('Circuit name'), spaces: str('Physical panel position(s) the circuit occupies') },
    switch: {
      relay: enumOf('Circuit relay state', 'UNKNOWN,OPEN,CLOSED', true),
      'relay-requester': enumOf(
        'Actor requesting the relay state',
        'UNKNOWN,NONE,LOAD_SHED,USER,PCS,CONFIGURATION,FAULT',
      ),
      'relay-controllable': bool("Can the circuit's relay be commanded by the user?"),
    },
    breaker: {
      rating: int('Circuit breaker rating', 'A'),
      poles: int('Number of breaker poles', undefined, '1:4:1'),
    },
    meter: {
      current: float('Measured current', 'A'),
      'active-power': float('Measured active power', 'W'),
      'imported-energy': float('Measured energy imported', 'Wh'),
      'exported-energy': float('Measured energy exported', 'Wh'),
    },
    'load-shed': {
      priority: enumOf(
        'Configured priority of circuit shedding when off-grid',
        'UNKNOWN,OFF_GRID,SOC_THRESHOLD,NEVER',
        true,
      ),
    },
    pcs: { managed: bool('Is circuit managed by PCS?'), priority: int('Circuit PCS priority ranking') },
    connection: connection('feeds'),
  },
  bess: {
    info: {
      'vendor-name': str('Vendor name'),
      model: str('Model'),
      'part-number': str('Part number'),
      'serial-number': str('Serial number'),
      'firmware-version': str('Firmware version'),
      'nameplate-capacity': float('Nameplate capacity', 'kWh'),
    },
    soc: { soc: float('State of charge', '%'), soe: float('State of energy', 'kWh') },
    meter: { 'active-power': float('Active power', 'W') },
    status: { 'communication-state': enumOf('Communication state', 'OK,DEGRADED,LOST,UNKNOWN') },
  },
  pv: {
    info: {
      'vendor-name': str('Vendor name'),
      model: str('Model'),
      'serial-number': str('Serial number'),
      'firmware-version': str('Firmware version'),
      'nominal-power': float('Nominal power', 'W'),
    },
  },
  evse: {
    info: {
      'vendor-name': str('Vendor name'),
      model: str('Model'),
      'part-number': str('Part number'),
      'serial-number': str('Serial number'),
      'firmware-version': str('Firmware version'),
    },
    switch: { 'lock-state': enumOf('Lock state', 'UNLOCKED,LOCKED') },
    status: { status: enumOf('Status', 'AVAILABLE,PREPARING,CHARGING,UNAVAILABLE') },
    meter: { 'advertised-current': float('Current EVSE is advertising to the EV', 'A') },
    config: {
      'user-max-charge-current': {
        name: 'User-configured maximum EVSE charge current (ceiling)',
        datatype: 'integer',
        unit: 'A',
        settable: true,
      },
      'max-charge-current': int('Commissioned maximum EVSE charge current', 'A'),
    },
  },
  mid: {
    info: {
      'vendor-name': str('Vendor name'),
      'serial-number': str('Serial number'),
      model: str('Model'),
      'firmware-version': str('Firmware version'),
      'hardware-version': str('Hardware version'),
    },
    grid: {
      'islanding-state': enumOf('Islanding state of the grid-forming device', 'ON_GRID,OFF_GRID,UNKNOWN'),
      'grid-state': enumOf('Sensed grid condition', 'UP,DOWN,DEGRADED,UNKNOWN'),
      'grid-forming-entity': str('Identity of the currently grid-forming entity'),
    },
  },
};

export const DEVICE_CLASSES_SCHEMA_HASH = schemaHash(DEVICE_CLASSES);

export function flatSchemaResponse(firmwareVersion: string): FlatSchemaResponse {
  return {
    firmwareVersion,
    homieDomain: 'ebus',
    homieVersion: 5,
    types: FLAT_TYPES,
    typesSchemaHash: FLAT_TYPES_SCHEMA_HASH,
  };
}

export function parentChildSchemaResponse(firmwareVersion: string): ParentChildSchemaResponse {
  return {
    firmwareVersion,
    homieDomain: 'ebus',
    homieVersion: 5,
    dataModelVersion: DATA_MODEL_VERSION,
    deviceClasses: DEVICE_CLASSES,
    deviceClassesSchemaHash: DEVICE_CLASSES_SCHEMA_HASH,
  };
}

/** "sha256:" + 16 hex digits over key-sorted compact JSON. */
export function schemaHash(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16)}`;
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as Record<string, unknown>)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
