/**
 * The home-assistant-entities example, end to end: a real Node-RED with the real
 * node-red-contrib-home-assistant-websocket nodes and ours, a simulated v2 panel, and a Home Assistant
 * stand-in (test/ha-standin) that speaks Home Assistant's websocket and REST APIs and records what Home
 * Assistant would receive. The expected entity ids, units and classes are written out here, independently
 * of the code under test, so a wrong one fails.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { SimulatedPanel } from '../../simulator';
import { createV2Plugin } from '../../simulator/v2';
import { statisticsProblems } from '../ha-standin/energy-rules';
import { HaStandin } from '../ha-standin/server';
import {
  assertBuilt,
  hostOf,
  leakedSecrets,
  NodeRed,
  packageRoot,
  PASSPHRASE,
  readJson,
  sleep,
  startPanel,
  waitFor,
  type FlowNode,
} from './harness';

const HA_TOKEN = 'ha-standin-token-0c4e-must-not-leak';
const POWER = { unit_of_measurement: 'W', device_class: 'power', state_class: 'measurement' };
const ENERGY = { unit_of_measurement: 'kWh', device_class: 'energy', state_class: 'total_increasing' };
const ENERGY_TOTAL = { unit_of_measurement: 'kWh', device_class: 'energy', state_class: 'total' };
const BATTERY = { unit_of_measurement: '%', device_class: 'battery', state_class: 'measurement' };

function example(): FlowNode[] {
  return readJson(path.join(packageRoot(), 'examples', 'home-assistant-entities.json'));
}

function one(flow: FlowNode[], type: string): FlowNode {
  const hits = flow.filter((n) => n.type === type);
  assert.equal(hits.length, 1, `one ${type} in the example`);
  return hits[0];
}

/** Entity id → expected unit and classes (null: a switch), from the simulated panel's own data. */
function expectedEntities(panel: SimulatedPanel): Map<string, Record<string, string> | null> {
  const prefix = `span_${panel.state.identity.serial.toLowerCase().replace(/-/g, '_')}`;
  const want = new Map<string, Record<string, string> | null>([
    [`sensor.${prefix}_grid_power`, POWER],
    [`sensor.${prefix}_grid_energy_imported`, ENERGY],
    [`sensor.${prefix}_grid_energy_exported`, ENERGY],
    [`sensor.${prefix}_feedthrough_power`, POWER],
    [`sensor.${prefix}_feedthrough_energy_consumed`, ENERGY_TOTAL],
    [`sensor.${prefix}_feedthrough_energy_produced`, ENERGY_TOTAL],
    [`sensor.${prefix}_solar_power`, POWER],
    [`sensor.${prefix}_battery_soc`, BATTERY],
  ]);
  for (const c of panel.state.circuits) {
    want.set(`sensor.${prefix}_${c.id}_power`, POWER);
    want.set(`sensor.${prefix}_${c.id}_energy_consumed`, ENERGY);
    want.set(`sensor.${prefix}_${c.id}_energy_produced`, ENERGY);
    if (c.isUserControllable) want.set(`switch.${prefix}_${c.id}_relay`, null);
  }
  return want;
}

describe('Home Assistant: every entity of the example through node-red-contrib-home-assistant-websocket, against a Home Assistant stand-in', function () {
  this.timeout(120_000);

  let ha: HaStandin | null = null;
  let panel: SimulatedPanel | null = null;
  let nr: NodeRed | null = null;

  before(() => assertBuilt());

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && nr) {
      console.log(`    Node-RED problems:\n      ${nr.problems().join('\n      ')}`);
      console.log(`    stand-in rejections: ${JSON.stringify(ha?.rejections.slice(0, 5))}`);
    }
    await nr?.stop();
    await panel?.close();
    await ha?.close();
    nr = null;
    panel = null;
    ha = null;
  });

  it('one entity per value with Energy-dashboard units and classes, energy never decreasing, relays switched from Home Assistant', async () => {
    const flow = example();
    const cfg = one(flow, 'span-panel');
    const server = one(flow, 'server');
    ha = await HaStandin.start({ token: HA_TOKEN });
    // No physics timer: the test advances the panel itself, so values can be compared exactly.
    panel = await startPanel({
      plugins: [createV2Plugin({ dataModel: 'flat', passphrase: PASSPHRASE })],
      tickMs: 0,
    });
    const p = panel;
    // What a user fills in: the panel's broker port (8883 on a real panel), its passphrase, and the
    // Home Assistant URL and token in the server node.
    const flows = flow.map((n) => (n.id === cfg.id ? { ...n, mqttPort: String(p.ports.mqtt) } : n));
    nr = await NodeRed.start({
      homeAssistant: true,
      flows,
      credentials: {
        [cfg.id]: { passphrase: PASSPHRASE },
        [server.id]: { host: ha.url, access_token: HA_TOKEN },
      },
      env: { SPAN_HOST: hostOf(p) },
    });
    const standin = ha;
    const running = nr;

    // 1. One entity per value, each with its unit and classes, and nothing else.
    const want = expectedEntities(p);
    await waitFor(
      () =>
        `every expected entity written (${[...want.keys()].filter((id) => !standin.states.states.has(id)).length} missing)`,
      () => [...want.keys()].every((id) => standin.states.states.has(id)),
      45_000,
    );
    assert.deepEqual(
      [...standin.states.states.keys()].sort(),
      [...want.keys()].sort(),
      'exactly the expected entities',
    );
    for (const [id, classes] of want) {
      const s = standin.states.states.get(id)!;
      if (classes) {
        for (const [k, v] of Object.entries(classes)) assert.equal(s.attributes[k], v, `${id}: ${k}`);
        assert.deepEqual(statisticsProblems(id, s.state, s.attributes), [], `${id} usable for statistics`);
      } else {
        assert.match(s.state, /^(on|off)$/, `${id} is on or off`);
      }
    }

    // 2. The states are the panel's values (consumption positive; energy in kWh).
    const prefix = `span_${p.state.identity.serial.toLowerCase().replace(/-/g, '_')}`;
    const num = (id: string) => Number(standin.states.states.get(id)!.state);
    for (const c of p.state.circuits) {
      assert.ok(
        Math.abs(num(`sensor.${prefix}_${c.id}_power`) - -c.instantPowerW) <= 0.05,
        `${c.name} power`,
      );
      const kWh = num(`sensor.${prefix}_${c.id}_energy_consumed`);
      assert.ok(
        Math.abs(kWh - c.consumedEnergyWh / 1000) <= 0.001,
        `${c.name} energy ${kWh} kWh, panel ${c.consumedEnergyWh} Wh`,
      );
      if (c.isUserControllable) {
        const relay = standin.states.states.get(`switch.${prefix}_${c.id}_relay`)!.state;
        assert.equal(relay, c.relayState === 'CLOSED' ? 'on' : 'off', `${c.name} relay`);
      }
    }
    assert.ok(Math.abs(num(`sensor.${prefix}_grid_power`) - p.state.mains.instantGridPowerW) <= 0.05);
    assert.ok(Math.abs(num(`sensor.${prefix}_battery_soc`) - p.state.soePercent!) <= 0.05);
    assert.ok(
      Math.abs(num(`sensor.${prefix}_solar_power`) - -p.state.pvPowerW) <= 0.05,
      'solar power, + = generating',
    );

    // 3. Energy only ever grows in Home Assistant, also across a panel reboot that dips its counters.
    const energyIds = [...want].filter(([, c]) => c?.state_class === 'total_increasing').map(([id]) => id);
    const latest = () => new Map(energyIds.map((id) => [id, num(id)]));
    const before = latest();
    const grewSince = (from: Map<string, number>) => energyIds.some((id) => num(id) > from.get(id)!);
    const tickUntil = async (what: string, done: () => boolean) => {
      await waitFor(
        what,
        async () => {
          await sleep(1000);
          p.state.tick();
          return done();
        },
        30_000,
      );
    };
    await tickUntil('an energy counter growing', () => grewSince(before));
    p.state.reboot({ counterDipWh: 5000 });
    const afterReboot = latest();
    await tickUntil('an energy counter growing after the reboot', () => grewSince(afterReboot));
    let grew = 0;
    for (const [id, classes] of want) {
      if (classes?.state_class !== 'total_increasing') continue;
      const values = standin.states.history(id).map((w) => Number(w.state));
      for (let i = 1; i < values.length; i++) {
        assert.ok(values[i] >= values[i - 1], `${id} went from ${values[i - 1]} to ${values[i]}`);
      }
      if (values[values.length - 1] > values[0]) grew += 1;
    }
    assert.ok(grew > 0, 'some energy counters grew (the check above compared something)');

    // 4. A relay switched in Home Assistant's UI reaches the panel, and the switch follows.
    const target = p.state.circuits.find((c) => c.isUserControllable && c.relayState === 'CLOSED')!;
    const switchId = `switch.${prefix}_${target.id}_relay`;
    standin.callServiceAsUser('switch', 'turn_off', switchId);
    await waitFor('the relay OPEN on the panel', () => p.state.circuit(target.id)!.relayState === 'OPEN');
    await waitFor(
      'the switch off in Home Assistant',
      () => standin.states.states.get(switchId)?.state === 'off',
    );
    standin.callServiceAsUser('switch', 'toggle', switchId);
    await waitFor('the relay CLOSED again', () => p.state.circuit(target.id)!.relayState === 'CLOSED');
    await waitFor('the switch on again', () => standin.states.states.get(switchId)?.state === 'on');
    // Another integration's switch is none of our business.
    standin.callServiceAsUser('switch', 'turn_off', 'switch.kitchen_kettle');
    await sleep(500);
    assert.equal(p.state.circuit(target.id)!.relayState, 'CLOSED');

    // 5. Home Assistant accepted everything; no secret went anywhere it should not.
    assert.deepEqual(standin.rejections, [], 'requests the stand-in refused');
    assert.deepEqual(running.problems(20), [], 'errors logged by Node-RED');
    assert.deepEqual(leakedSecrets(standin.states.writes, [PASSPHRASE, HA_TOKEN]), []);
    assert.deepEqual(leakedSecrets(running.logs, [PASSPHRASE, HA_TOKEN]), []);
    assert.deepEqual(leakedSecrets(running.deliveries, [PASSPHRASE, HA_TOKEN]), []);
  });
});
