/**
 * span-ha's pure parts: which entities a snapshot makes (and which it must not), and what an input
 * message from node-red-contrib-home-assistant-websocket's events node means.
 */
import assert from 'node:assert/strict';
import type { Circuit, PanelSnapshot } from '../../src/model/panel';
import { entityPrefix, panelEntities, slug } from '../../nodes/lib/ha-entities';
import { parseHaInput, requestedRelay } from '../../nodes/lib/ha-input';
import { makeSnapshot } from '../helpers/scripted-transport';

function circuit(id: string, over: Partial<Circuit> = {}): Circuit {
  return {
    id,
    name: `Circuit ${id}`,
    tabs: [1],
    relay: 'CLOSED',
    priority: 'NEVER',
    priorityRaw: 'NEVER',
    controllable: true,
    sheddable: true,
    neverBackup: false,
    powerW: 120.04,
    powerRawW: -120.04,
    consumedEnergyWh: 1234.5,
    producedEnergyWh: 0,
    currentA: null,
    breakerRatingA: null,
    powerUpdatedAt: null,
    energyUpdatedAt: null,
    netEnergyWh: null,
    relayRequester: null,
    pcsManaged: null,
    pcsPriority: null,
    ...over,
  };
}

function snapshot(circuits: Circuit[], over: Partial<PanelSnapshot['panel']> = {}): PanelSnapshot {
  const base = makeSnapshot(0);
  return {
    ...base,
    receivedAt: 0,
    panel: {
      ...base.panel,
      serial: 'nj-2316-AB3C',
      gridPowerW: 1500,
      mainMeterEnergy: { consumedEnergyWh: 10_000, producedEnergyWh: null, netEnergyWh: null },
      ...over,
    },
    circuits: Object.fromEntries(circuits.map((c) => [c.id, c])),
  };
}

describe('span-ha entities', () => {
  it('derives object ids Home Assistant accepts from the serial', () => {
    assert.equal(slug('nj-2316-AB3C'), 'nj_2316_ab3c');
    assert.equal(slug('--A..b--'), 'a_b');
    assert.equal(entityPrefix('nj-2316-AB3C'), 'span_nj_2316_ab3c');
    assert.equal(entityPrefix('***'), 'span');
  });

  it('writes nothing for a value the panel did not report (never a made-up 0), and no switch for an always-on circuit', () => {
    const ids = panelEntities(
      snapshot([
        circuit('aa11', { controllable: false }),
        circuit('bb22', { powerW: null, producedEnergyWh: null, relay: 'UNKNOWN' }),
      ]),
      { energyUnit: 'kWh', relays: true },
    ).map((e) => e.entityId);
    assert.deepEqual(ids, [
      'sensor.span_nj_2316_ab3c_grid_power',
      'sensor.span_nj_2316_ab3c_grid_energy_imported',
      'sensor.span_nj_2316_ab3c_aa11_power',
      'sensor.span_nj_2316_ab3c_aa11_energy_consumed',
      'sensor.span_nj_2316_ab3c_aa11_energy_produced',
      'sensor.span_nj_2316_ab3c_bb22_energy_consumed',
    ]);
  });

  it('states are strings: power to 0.1 W, energy to 1 Wh in kWh or Wh; relays on/off', () => {
    const byId = (unit: 'kWh' | 'Wh') =>
      new Map(
        panelEntities(snapshot([circuit('aa11')]), { energyUnit: unit, relays: true }).map((e) => [
          e.entityId,
          e,
        ]),
      );
    const kwh = byId('kWh');
    assert.equal(kwh.get('sensor.span_nj_2316_ab3c_aa11_power')!.state, '120');
    assert.equal(kwh.get('sensor.span_nj_2316_ab3c_aa11_energy_consumed')!.state, '1.235');
    assert.equal(
      kwh.get('sensor.span_nj_2316_ab3c_aa11_energy_consumed')!.attributes.unit_of_measurement,
      'kWh',
    );
    assert.equal(kwh.get('switch.span_nj_2316_ab3c_aa11_relay')!.state, 'on');
    assert.equal(kwh.get('switch.span_nj_2316_ab3c_aa11_relay')!.circuitId, 'aa11');
    const wh = byId('Wh');
    assert.equal(wh.get('sensor.span_nj_2316_ab3c_aa11_energy_consumed')!.state, '1235');
    assert.equal(
      wh.get('sensor.span_nj_2316_ab3c_aa11_energy_consumed')!.attributes.unit_of_measurement,
      'Wh',
    );
  });

  it('solar power is generation-positive (power flows in the package convention: PV + while producing)', () => {
    const raw = { gridW: null, pvW: -2500, batteryW: null, siteW: null };
    const e = panelEntities(
      snapshot([], { powerFlows: { gridW: null, pvW: 2500, batteryW: null, siteW: null, raw } }),
      { energyUnit: 'kWh', relays: true },
    ).find((x) => x.entityId.endsWith('_solar_power'))!;
    assert.equal(e.state, '2500');
  });
});

describe('span-ha input', () => {
  const call = (event: Record<string, unknown>) => ({
    topic: 'call_service',
    payload: { event_type: 'call_service', event },
  });

  it('turns switch service calls into relay commands for the named entities', () => {
    assert.deepEqual(
      parseHaInput(call({ domain: 'switch', service: 'turn_off', service_data: { entity_id: 'switch.a' } })),
      { kind: 'service', service: 'turn_off', entityIds: ['switch.a'] },
    );
    assert.deepEqual(
      parseHaInput(
        call({ domain: 'switch', service: 'toggle', service_data: { entity_id: ['switch.a', 'switch.b'] } }),
      ),
      { kind: 'service', service: 'toggle', entityIds: ['switch.a', 'switch.b'] },
    );
    assert.deepEqual(
      parseHaInput(
        call({ domain: 'switch', service: 'turn_on', service_data: { entity_id: 'switch.a, switch.b' } }),
      ),
      { kind: 'service', service: 'turn_on', entityIds: ['switch.a', 'switch.b'] },
    );
    assert.deepEqual(parseHaInput(call({ domain: 'light', service: 'turn_on' })), {
      kind: 'ignored-service',
    });
    assert.deepEqual(parseHaInput(call({ domain: 'switch', service: 'reload' })), {
      kind: 'ignored-service',
    });
  });

  it('tells connection events and plain triggers apart', () => {
    assert.deepEqual(parseHaInput({ event_type: 'home_assistant_client', payload: 'ready' }), {
      kind: 'connection',
      event: 'ready',
    });
    assert.deepEqual(parseHaInput({ payload: 1 }), { kind: 'resend' });
    assert.deepEqual(parseHaInput({ payload: { event_type: 'state_changed' } }), { kind: 'resend' });
  });

  it('toggle flips the current relay state', () => {
    assert.equal(requestedRelay('toggle', 'CLOSED'), 'OPEN');
    assert.equal(requestedRelay('toggle', 'OPEN'), 'CLOSED');
    assert.equal(requestedRelay('turn_on', 'CLOSED'), 'CLOSED');
    assert.equal(requestedRelay('turn_off', null), 'OPEN');
  });
});
