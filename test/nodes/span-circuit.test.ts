import assert from 'node:assert/strict';
import type { SimulatedPanel } from '../../simulator/panel';
import {
  flow,
  helper,
  hostOf,
  panelConfig,
  Panels,
  Recorder,
  spanNodes,
  TOKEN,
  useNodeRed,
  waitFor,
} from './support';

/** A consuming, user-controllable circuit and an always-on one from the simulator's seed. */
function pickCircuits(sim: SimulatedPanel) {
  const switchable = sim.state.circuits.find(
    (c) => c.isUserControllable && c.instantPowerW < 0 && c.relayState === 'CLOSED',
  );
  const locked = sim.state.circuits.find((c) => !c.isUserControllable);
  assert.ok(switchable, 'seed has a switchable consuming circuit');
  assert.ok(locked, 'seed has an always-on circuit');
  return { switchable, locked };
}

function circuitFlow(sim: SimulatedPanel, circuit: string, extra: Record<string, unknown> = {}) {
  return flow(
    panelConfig('cfg', hostOf(sim)),
    { id: 'circ', type: 'span-circuit', panel: 'cfg', circuit, output: 'power', wires: [['out']], ...extra },
    { id: 'out', type: 'helper' },
    { id: 'catcher', type: 'catch', scope: ['circ'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
    { id: 'completer', type: 'complete', scope: ['circ'], uncaught: false, wires: [['completed']] },
    { id: 'completed', type: 'helper' },
  );
}

describe('span-circuit node (real Node-RED runtime, simulated panel)', function () {
  this.timeout(25000);
  useNodeRed();
  const panels = new Panels();
  afterEach(() => panels.closeAll());

  it('sends one circuit as power in W, consumption positive, topic = circuit name', async () => {
    const sim = await panels.start();
    const { switchable } = pickCircuits(sim);
    await helper.load(spanNodes, circuitFlow(sim, switchable.id), { cfg: { token: TOKEN } });
    const out = new Recorder('out');
    const msg = await out.next('circuit power');
    assert.equal(msg.topic, switchable.name);
    assert.equal(msg.payload, -switchable.instantPowerW);
    assert.ok(msg.payload > 0, 'a consuming load is positive');
    assert.equal(msg.circuit.id, switchable.id);
    assert.equal(msg.circuit.powerRawW, switchable.instantPowerW);
    assert.deepEqual(msg.circuit.tabs, switchable.tabs);
    await out.next('second message', (m) => m !== msg);
    assert.ok(
      out.messages.every((m) => m.circuit.id === switchable.id),
      'only the selected circuit',
    );
    out.stop();
  });

  it('"all" sends one message per circuit each interval', async () => {
    const sim = await panels.start();
    await helper.load(spanNodes, circuitFlow(sim, 'all'), { cfg: { token: TOKEN } });
    const out = new Recorder('out');
    await waitFor('a full round', () => out.messages.length >= sim.state.circuits.length);
    const ids = new Set(out.messages.slice(0, sim.state.circuits.length).map((m) => m.circuit.id));
    assert.equal(ids.size, sim.state.circuits.length, 'each circuit once per round');
    const pv = out.messages.find((m) => m.circuit.powerRawW > 0);
    if (pv) assert.ok(pv.payload < 0, 'backfeed is negative');
    out.stop();
  });

  it('shapes messages for the Home Assistant sensor node (power and energy)', async () => {
    const sim = await panels.start();
    const { switchable } = pickCircuits(sim);
    await helper.load(
      spanNodes,
      flow(
        panelConfig('cfg', hostOf(sim)),
        {
          id: 'p',
          type: 'span-circuit',
          panel: 'cfg',
          circuit: switchable.id,
          output: 'ha-power',
          wires: [['out']],
        },
        {
          id: 'e',
          type: 'span-circuit',
          panel: 'cfg',
          circuit: switchable.id,
          output: 'ha-energy',
          wires: [['out']],
        },
        { id: 'out', type: 'helper' },
      ),
      { cfg: { token: TOKEN } },
    );
    const out = new Recorder('out');
    const power = await out.next('ha power', (m) => m.payload?.attributes?.device_class === 'power');
    const energy = await out.next(
      'ha energy',
      (m) => m.payload?.attributes?.device_class === 'energy',
      8000,
      0,
    );
    assert.equal(power.payload.state, Math.round(-switchable.instantPowerW * 10) / 10);
    assert.equal(power.payload.attributes.unit_of_measurement, 'W');
    assert.equal(power.payload.attributes.state_class, 'measurement');
    assert.equal(power.payload.attributes.circuit_id, switchable.id);
    assert.equal(energy.payload.state, Math.round(switchable.consumedEnergyWh * 10) / 10);
    assert.equal(energy.payload.attributes.unit_of_measurement, 'Wh');
    assert.equal(energy.payload.attributes.state_class, 'total_increasing');
    for (const m of [power, energy]) {
      for (const v of Object.values(m.payload.attributes)) {
        assert.ok(['string', 'number', 'boolean'].includes(typeof v), 'sensor-node compatible attribute');
      }
      assert.equal(m.topic, switchable.name);
    }
    out.stop();
  });

  it('switches the relay off and on (round trip through the panel)', async () => {
    const sim = await panels.start();
    const { switchable } = pickCircuits(sim);
    await helper.load(spanNodes, circuitFlow(sim, switchable.id), { cfg: { token: TOKEN } });
    const out = new Recorder('out');
    const completed = new Recorder('completed');
    const caught = new Recorder('caught');
    await out.next('online');
    helper.getNode('circ').receive({ payload: 'OFF', tag: 1 });
    await completed.next('off completed', (m) => m.tag === 1);
    assert.equal(sim.state.circuit(switchable.id)?.relayState, 'OPEN');
    const off = await out.next('circuit off', (m) => m.circuit.relay === 'OPEN');
    assert.equal(off.payload, 0);
    helper.getNode('circ').receive({ payload: true, tag: 2 });
    const on = await completed.next('on completed', (m) => m.tag === 2);
    assert.equal(on.command.relay.result, 'confirmed');
    assert.equal(sim.state.circuit(switchable.id)?.relayState, 'CLOSED');
    await out.next('circuit on', (m) => m.circuit.relay === 'CLOSED', 8000, out.messages.indexOf(off) + 1);
    assert.equal(caught.messages.length, 0);
    out.stop();
    completed.stop();
    caught.stop();
  });

  it('sends a shed priority in either vocabulary; v1 leaves it unconfirmed, which fails the message', async () => {
    const sim = await panels.start();
    const { switchable } = pickCircuits(sim);
    await helper.load(spanNodes, circuitFlow(sim, switchable.id), { cfg: { token: TOKEN } });
    const out = new Recorder('out');
    const caught = new Recorder('caught');
    await out.next('online');
    const target = switchable.priority === 'NON_ESSENTIAL' ? 'MUST_HAVE' : 'NON_ESSENTIAL';
    const posts = sim.stats.count('POST');
    // v1 spelling, lower case; the v2 name of the same priority is checked in the unit tests.
    helper.getNode('circ').receive({ priority: target.toLowerCase(), tag: 'p' });
    const err = await caught.next('unconfirmed priority');
    assert.equal(err.tag, 'p');
    assert.match(
      String(err.error.message),
      /priority command \w+ not confirmed: .*v1 does not persist priority changes/,
    );
    assert.equal(err.command.circuitId, switchable.id);
    assert.equal(sim.stats.count('POST'), posts + 1, 'sent exactly once');
    out.stop();
    caught.stop();
  });

  it('reports a refused command (always-on circuit) to a Catch node and keeps running', async () => {
    const sim = await panels.start();
    const { locked } = pickCircuits(sim);
    await helper.load(spanNodes, circuitFlow(sim, locked.id), { cfg: { token: TOKEN } });
    const out = new Recorder('out');
    const caught = new Recorder('caught');
    await out.next('online');
    helper.getNode('circ').receive({ payload: 'off', tag: 'x' });
    const err = await caught.next('refused command');
    assert.equal(err.tag, 'x', 'the failed message itself');
    assert.match(String(err.error.message), /relay command OPEN refused: .*not user-controllable/);
    assert.equal(err.command.circuitId, locked.id);
    assert.deepEqual(err.command.relay, {
      result: 'refused',
      requested: 'OPEN',
      errorClass: 'refused-command',
    });
    assert.equal(sim.state.circuit(locked.id)?.relayState, locked.relayState, 'nothing changed');
    await out.next('still sending', () => true, 5000, out.messages.length);
    out.stop();
    caught.stop();
  });

  it('rejects invalid input with a clear error and keeps working', async () => {
    const sim = await panels.start();
    const { switchable } = pickCircuits(sim);
    await helper.load(spanNodes, circuitFlow(sim, switchable.id), { cfg: { token: TOKEN } });
    const out = new Recorder('out');
    const caught = new Recorder('caught');
    const completed = new Recorder('completed');
    await out.next('online');
    const requests = sim.stats.count('POST');
    const circ = helper.getNode('circ');
    circ.receive({ payload: 'toggle' });
    circ.receive({ payload: { on: true } });
    circ.receive({ payload: 2 });
    circ.receive({ priority: 'sometimes' });
    circ.receive({});
    await waitFor('five errors', () => caught.messages.length >= 5);
    const texts = caught.messages.map((m) => String(m.error.message));
    assert.match(texts[0], /invalid msg\.payload "toggle"/);
    assert.match(texts[1], /invalid msg\.payload \(object\)/);
    assert.match(texts[2], /invalid msg\.payload 2/);
    assert.match(texts[3], /invalid msg\.priority "sometimes"/);
    assert.match(texts[4], /no command/);
    assert.equal(sim.stats.count('POST'), requests, 'nothing sent to the panel');
    circ.receive({ payload: 0, tag: 'ok' });
    await completed.next('valid command after the bad ones', (m) => m.tag === 'ok');
    assert.equal(sim.state.circuit(switchable.id)?.relayState, 'OPEN');
    out.stop();
    caught.stop();
    completed.stop();
  });

  it('refuses input when no single circuit is selected', async () => {
    const sim = await panels.start();
    await helper.load(spanNodes, circuitFlow(sim, 'all'), { cfg: { token: TOKEN } });
    const caught = new Recorder('caught');
    helper.getNode('circ').receive({ payload: 'on' });
    const err = await caught.next('error');
    assert.match(String(err.error.message), /select a single circuit/);
    caught.stop();
  });
});
