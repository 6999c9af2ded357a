/**
 * The Home Assistant entities of one panel snapshot, as state writes for Home Assistant's REST API
 * (`POST /api/states/<entity_id>`, body `{state, attributes}`). Pure: span-ha decides when to send.
 *
 * Entity ids are stable and derived from the panel serial and the circuit id only (never from names a
 * user can change): `sensor.span_<serial>_<circuit id>_power`, `switch.span_<serial>_<circuit id>_relay`,
 * `sensor.span_<serial>_grid_power`… Units and classes are the ones Home Assistant's Energy dashboard
 * accepts: power in W with device_class power / state_class measurement, energy in kWh or Wh with
 * device_class energy / state_class total_increasing (the model's energy guard keeps those counters from
 * going backwards). A value the panel did not report produces no entity write: never a made-up 0.
 */
import type { Circuit, PanelSnapshot } from '../../src/model/panel';

export type EnergyUnit = 'kWh' | 'Wh';

export interface HaEntity {
  entityId: string;
  /** Home Assistant states are strings. */
  state: string;
  attributes: Record<string, string | number | boolean>;
  /** For a relay switch: the circuit it switches. */
  circuitId?: string;
}

type SensorKind = 'power' | 'energy' | 'energy-total' | 'battery';

const CLASSES: Record<SensorKind, { device_class: string; state_class: string }> = {
  power: { device_class: 'power', state_class: 'measurement' },
  energy: { device_class: 'energy', state_class: 'total_increasing' },
  // Feed-through energy can legitimately go down (and below 0) on real panels: a total, not increasing.
  'energy-total': { device_class: 'energy', state_class: 'total' },
  battery: { device_class: 'battery', state_class: 'measurement' },
};

/** Lower case letters, digits and single underscores: what Home Assistant accepts in an object id. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** `span_<serial>`: the start of every object id of this panel. */
export function entityPrefix(serial: string): string {
  const s = slug(serial);
  return s ? `span_${s}` : 'span';
}

export function relayEntityId(serial: string, circuitId: string): string {
  return `switch.${entityPrefix(serial)}_${slug(circuitId)}_relay`;
}

const round = (v: number, digits: number): string => {
  const f = 10 ** digits;
  const r = Math.round(v * f) / f;
  return String(Object.is(r, -0) ? 0 : r);
};

export class EntityBuilder {
  private readonly out: HaEntity[] = [];

  constructor(
    private readonly serial: string,
    private readonly energyUnit: EnergyUnit,
  ) {}

  get entities(): HaEntity[] {
    return this.out;
  }

  sensor(
    objectSuffix: string,
    name: string,
    kind: SensorKind,
    value: number | null | undefined,
    extra: Record<string, string> = {},
  ): void {
    if (value === null || value === undefined || !Number.isFinite(value)) return;
    let state: string;
    let unit: string;
    if (kind === 'power') {
      state = round(value, 1);
      unit = 'W';
    } else if (kind === 'battery') {
      state = round(value, 1);
      unit = '%';
    } else if (this.energyUnit === 'kWh') {
      state = round(value / 1000, 3);
      unit = 'kWh';
    } else {
      state = round(value, 0);
      unit = 'Wh';
    }
    this.out.push({
      entityId: `sensor.${entityPrefix(this.serial)}_${objectSuffix}`,
      state,
      attributes: {
        unit_of_measurement: unit,
        ...CLASSES[kind],
        friendly_name: name,
        panel_serial: this.serial,
        ...extra,
      },
    });
  }

  relay(circuit: Circuit, label: string): void {
    if (circuit.controllable !== true) return;
    if (circuit.relay !== 'OPEN' && circuit.relay !== 'CLOSED') return;
    this.out.push({
      entityId: relayEntityId(this.serial, circuit.id),
      state: circuit.relay === 'CLOSED' ? 'on' : 'off',
      attributes: {
        friendly_name: label,
        device_class: 'switch',
        icon: 'mdi:electric-switch',
        panel_serial: this.serial,
        circuit_id: circuit.id,
      },
      circuitId: circuit.id,
    });
  }
}

/** Every entity of the snapshot, panel-level values first, then each circuit in panel order. */
export function panelEntities(
  snapshot: PanelSnapshot,
  opts: { energyUnit: EnergyUnit; relays: boolean },
): HaEntity[] {
  const p = snapshot.panel;
  const b = new EntityBuilder(p.serial, opts.energyUnit);
  const panelName = `SPAN ${p.serial}`;
  b.sensor('grid_power', `${panelName} grid power`, 'power', p.gridPowerW);
  b.sensor(
    'grid_energy_imported',
    `${panelName} grid energy imported`,
    'energy',
    p.mainMeterEnergy.consumedEnergyWh,
  );
  b.sensor(
    'grid_energy_exported',
    `${panelName} grid energy exported`,
    'energy',
    p.mainMeterEnergy.producedEnergyWh,
  );
  b.sensor('feedthrough_power', `${panelName} feed-through power`, 'power', p.feedthroughPowerW);
  b.sensor(
    'feedthrough_energy_consumed',
    `${panelName} feed-through energy consumed`,
    'energy-total',
    p.feedthroughEnergy.consumedEnergyWh,
  );
  b.sensor(
    'feedthrough_energy_produced',
    `${panelName} feed-through energy produced`,
    'energy-total',
    p.feedthroughEnergy.producedEnergyWh,
  );
  // Power flows are in the package's convention: PV is positive while it produces (src/model/panel.ts).
  b.sensor('solar_power', `${panelName} solar power`, 'power', p.powerFlows?.pvW);
  b.sensor('battery_soc', `${panelName} battery`, 'battery', snapshot.battery?.socPercent);

  for (const c of Object.values(snapshot.circuits)) {
    const id = slug(c.id);
    const name = c.name ?? c.id;
    const extra = { circuit_id: c.id };
    b.sensor(`${id}_power`, `${name} power`, 'power', c.powerW, extra);
    b.sensor(`${id}_energy_consumed`, `${name} energy consumed`, 'energy', c.consumedEnergyWh, extra);
    b.sensor(`${id}_energy_produced`, `${name} energy produced`, 'energy', c.producedEnergyWh, extra);
    if (opts.relays) b.relay(c, name);
  }
  return b.entities;
}
