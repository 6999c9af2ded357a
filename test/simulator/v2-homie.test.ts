import assert from 'node:assert/strict';
import { circuitsPayload, panelPayload, soePayload } from '../../simulator/http/v1-payloads';
import { PanelState } from '../../simulator/state';
import type { SimHomieTree } from '../../simulator/v2/sim-homie-common';
import { buildFlatTree } from '../../simulator/v2/sim-homie-flat';
import {
  buildParentChildTree,
  bessId,
  lugsDownId,
  lugsUpId,
  midId,
} from '../../simulator/v2/sim-homie-parent-child';
import { FLAT_TYPES, DEVICE_CLASSES } from '../../simulator/v2/schema';

const valueOf = (tree: SimHomieTree, device: string, key: string) =>
  tree.devices.find((d) => d.id === device)?.values.get(key);

describe('simulator v2 Homie trees from one panel state', () => {
  const t0 = Date.UTC(2026, 3, 1, 10, 0, 0);
  let clock = t0;
  let state: PanelState;
  beforeEach(() => {
    clock = t0;
    state = new PanelState({ seed: 21, now: () => clock });
    clock += 7_000;
    state.tick();
  });

  it('flat, parent/child and v1 REST give the same numbers for every circuit and both lugs', () => {
    const flat = buildFlatTree(state, extras());
    const pc = buildParentChildTree(state, extras());
    const serial = state.identity.serial;
    const v1 = circuitsPayload(state).circuits;
    for (const c of Object.values(v1)) {
      const pairs: Array<[string, string, number]> = [
        ['active-power', 'meter/active-power', c.instantPowerW],
        ['imported-energy', 'meter/imported-energy', c.producedEnergyWh],
        ['exported-energy', 'meter/exported-energy', c.consumedEnergyWh],
      ];
      for (const [flatProp, pcProp, v1Value] of pairs) {
        const f = valueOf(flat, serial, `${c.id}/${flatProp}`);
        assert.equal(f, valueOf(pc, c.id, pcProp), `${c.name} ${flatProp}`);
        assert.equal(Number(f), v1Value, `${c.name} ${flatProp} = v1`);
      }
      assert.equal(valueOf(flat, serial, `${c.id}/current`), valueOf(pc, c.id, 'meter/current'));
      assert.equal(valueOf(flat, serial, `${c.id}/breaker-rating`), valueOf(pc, c.id, 'breaker/rating'));
      assert.equal(valueOf(flat, serial, `${c.id}/shed-priority`), valueOf(pc, c.id, 'load-shed/priority'));
      assert.equal(valueOf(flat, serial, `${c.id}/relay`), valueOf(pc, c.id, 'switch/relay'));
      assert.equal(
        valueOf(flat, serial, `${c.id}/always-on`) === 'true',
        valueOf(pc, c.id, 'switch/relay-controllable') === 'false',
        'relay-controllable = !always-on',
      );
    }
    const p = panelPayload(state);
    const lugs: Array<[string, string, number]> = [
      ['lugs-upstream/active-power', `${lugsUpId(serial)}`, p.instantGridPowerW],
      ['lugs-downstream/active-power', `${lugsDownId(serial)}`, p.feedthroughPowerW],
    ];
    for (const [flatKey, device, v1Value] of lugs) {
      assert.equal(Number(valueOf(flat, serial, flatKey)), v1Value);
      assert.equal(valueOf(pc, device, 'meter/active-power'), valueOf(flat, serial, flatKey));
    }
    assert.equal(
      Number(valueOf(pc, lugsUpId(serial), 'meter/imported-energy')),
      p.mainMeterEnergy.consumedEnergyWh,
    );
    assert.equal(
      Number(valueOf(pc, lugsUpId(serial), 'meter/exported-energy')),
      p.mainMeterEnergy.producedEnergyWh,
    );
    assert.equal(
      Number(valueOf(pc, lugsDownId(serial), 'meter/imported-energy')),
      p.feedthroughEnergy.consumedEnergyWh,
    );
    assert.equal(
      Number(valueOf(pc, lugsDownId(serial), 'meter/exported-energy')),
      p.feedthroughEnergy.producedEnergyWh,
    );
    for (const flow of ['pv', 'battery', 'grid', 'site'])
      assert.equal(valueOf(flat, serial, `power-flows/${flow}`), valueOf(pc, serial, `power-flows/${flow}`));
    assert.equal(Number(valueOf(pc, serial, 'power-flows/grid')), -p.instantGridPowerW);
    assert.equal(
      Math.round(Number(valueOf(pc, bessId(serial), 'soc/soc'))),
      soePayload(state).soe.percentage,
    );
    assert.equal(valueOf(flat, serial, 'bess/soc'), valueOf(pc, bessId(serial), 'soc/soc'));
  });

  it('signs: loads negative, PV generation negative in power-flows, flows balance', () => {
    const flat = buildFlatTree(state, extras());
    const serial = state.identity.serial;
    const loads = state.circuits.filter((c) => c.relayState === 'CLOSED' && c.instantPowerW !== 0);
    assert.ok(loads.length > 5);
    for (const c of loads) assert.ok(Number(valueOf(flat, serial, `${c.id}/active-power`)) < 0, c.name);
    const flows = ['pv', 'battery', 'grid', 'site'].map((f) =>
      Number(valueOf(flat, serial, `power-flows/${f}`)),
    );
    assert.ok(flows[0]! < 0, 'pv generating reads negative');
    assert.equal(flows[0], state.pvPowerW);
    assert.ok(Math.abs(flows.reduce((a, b) => a + b, 0)) < 1e-6);
    const openCircuit = state.circuits.find((c) => c.relayState === 'OPEN')!;
    assert.equal(valueOf(flat, serial, `${openCircuit.id}/active-power`), '0');
  });

  it('every published property is declared in the $description with its schema datatype', () => {
    for (const tree of [buildFlatTree(state, extras()), buildParentChildTree(state, extras())]) {
      for (const device of tree.devices) {
        assert.equal(device.description.homie, '5.0');
        for (const [key, value] of device.values) {
          const [node, prop] = key.split('/') as [string, string];
          const declared = device.description.nodes[node]?.properties[prop];
          assert.ok(declared, `${device.id} declares ${key}`);
          const checks: Record<string, RegExp> = {
            integer: /^-?\d+$/,
            float: /^-?\d+(\.\d+)?(e-?\d+)?$/,
            boolean: /^(true|false)$/,
          };
          if (checks[declared.datatype])
            assert.match(value, checks[declared.datatype]!, `${device.id} ${key}`);
          if (declared.datatype === 'enum' && declared.format)
            assert.ok(
              declared.format.split(',').includes(value),
              `${device.id} ${key}=${value} in ${declared.format}`,
            );
        }
      }
    }
    // Flat nodes declare exactly the captured schema's properties; parent/child the device classes'.
    const flat = buildFlatTree(state, extras()).devices[0]!;
    assert.deepEqual(
      Object.keys(flat.description.nodes.core!.properties),
      Object.keys(FLAT_TYPES['energy.ebus.device.distribution-enclosure.core']!),
    );
    const circuit = buildParentChildTree(state, extras()).devices.find(
      (d) => d.description.type === 'energy.ebus.device.circuit',
    )!;
    assert.deepEqual(Object.keys(circuit.description.nodes), Object.keys(DEVICE_CLASSES.circuit!));
  });

  it('without a battery there is no bess node, no BESS/MID device and no shed capabilities', () => {
    const noBattery = new PanelState({ seed: 21, now: () => clock, battery: false });
    const flat = buildFlatTree(noBattery, extras());
    assert.equal(flat.devices[0]!.description.nodes.bess, undefined);
    assert.equal(flat.devices[0]!.values.get('core/grid-islandable'), 'false');
    const pc = buildParentChildTree(noBattery, extras());
    const serial = noBattery.identity.serial;
    assert.equal(
      pc.devices.find((d) => d.id === bessId(serial) || d.id === midId(serial)),
      undefined,
    );
    const root = pc.devices[0]!.description;
    assert.equal(root.nodes.shed, undefined);
    assert.equal(root.nodes['shed-forecast'], undefined);
    assert.equal(root.children!.length, 2 + noBattery.circuits.length + 2); // + PV, EV charger
  });

  it('$description version changes exactly when the description does', () => {
    const a = buildParentChildTree(state, extras());
    clock += 5_000;
    state.tick();
    const b = buildParentChildTree(state, extras());
    assert.equal(
      a.devices[0]!.description.version,
      b.devices[0]!.description.version,
      'values do not matter',
    );
    const c = state.circuits.find((x) => x.isUserControllable)!;
    c.isUserControllable = false; // a recommissioned circuit: relay no longer settable
    const d = buildParentChildTree(state, extras()).devices.find((x) => x.id === c.id)!;
    const before = a.devices.find((x) => x.id === c.id)!;
    assert.notEqual(d.description.version, before.description.version);
    assert.equal(d.description.nodes.switch!.properties.relay!.settable, false);
  });
});

function extras() {
  return { dominantPowerSource: null, evseUserMaxChargeCurrentA: 32 };
}
