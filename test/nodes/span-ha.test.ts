/**
 * span-ha in the real Node-RED runtime against a simulated panel: it waits for Home Assistant's connection,
 * writes only changes, marks the entities unavailable while the panel is offline, and a relay command the
 * panel cannot take ends in a Catch-able error and in the switch's last_command attribute.
 */
import assert from 'node:assert/strict';
import {
  flow,
  helper,
  hostOf,
  panelConfig,
  Panels,
  Recorder,
  sleep,
  spanNodes,
  TOKEN,
  useNodeRed,
  waitFor,
} from './support';

describe('span-ha node (real Node-RED runtime, simulated panel)', function () {
  this.timeout(60_000);
  useNodeRed();
  const panels = new Panels();
  afterEach(() => panels.closeAll());

  it('writes after "ready", only changes, unavailable while offline; a refused relay command is reported', async () => {
    const sim = await panels.start();
    await helper.load(
      spanNodes,
      flow(
        panelConfig('cfg', hostOf(sim), { interval: '0.3' }),
        { id: 'ha', type: 'span-ha', panel: 'cfg', energyUnit: 'Wh', relays: true, wires: [['out']] },
        { id: 'catcher', type: 'catch', scope: ['ha'], uncaught: false, wires: [['caught']] },
        { id: 'out', type: 'helper' },
        { id: 'caught', type: 'helper' },
      ),
      { cfg: { token: TOKEN } },
    );
    const out = new Recorder('out');
    const caught = new Recorder('caught');
    await waitFor('online', () => helper.getNode('cfg').health?.state === 'online');
    await sleep(800);
    assert.equal(out.messages.length, 0, 'nothing written before Home Assistant is ready');

    const ha = helper.getNode('ha');
    ha.receive({ event_type: 'home_assistant_client', payload: 'ready' });
    await waitFor('all entities written', () => out.messages.length > 20);
    const serial = sim.state.identity.serial.toLowerCase().replace(/-/g, '_');
    const circuit = sim.state.circuits.find((c) => c.isUserControllable && c.relayState === 'CLOSED')!;
    const switchId = `switch.span_${serial}_${circuit.id}_relay`;
    const sw = out.messages.find((m) => m.topic === switchId)!;
    assert.deepEqual(
      {
        protocol: sw.payload.protocol,
        method: sw.payload.method,
        path: sw.payload.path,
        state: sw.payload.data.state,
      },
      { protocol: 'http', method: 'post', path: `states/${switchId}`, state: 'on' },
    );
    const energy = out.messages.find((m) => m.topic.endsWith(`${circuit.id}_energy_consumed`))!;
    assert.equal(energy.payload.data.attributes.unit_of_measurement, 'Wh');
    // No physics ticks: nothing changes, so nothing more is written.
    const settled = out.messages.length;
    await sleep(1000);
    assert.equal(out.messages.length, settled, 'unchanged entities are not written again');

    // Home Assistant switches the relay off.
    const beforeOff = out.messages.length;
    ha.receive({
      payload: {
        event_type: 'call_service',
        event: { domain: 'switch', service: 'turn_off', service_data: { entity_id: switchId } },
      },
    });
    await waitFor('relay OPEN', () => sim.state.circuit(circuit.id)!.relayState === 'OPEN');
    const off = await out.next(
      'the switch written off',
      (m) => m.topic === switchId && m.payload.data.state === 'off',
      8000,
      beforeOff,
    );
    assert.equal(off.payload.data.attributes.last_command, 'turn_off confirmed');

    // The panel goes away: every entity becomes unavailable; a command now is refused and reported.
    const from = out.messages.length;
    await sim.faults.refuse();
    await waitFor('offline', () => helper.getNode('cfg').health?.state === 'offline', 15_000);
    await waitFor(
      'entities unavailable',
      () => out.messages.slice(from).filter((m) => m.payload.data.state === 'unavailable').length >= 20,
    );
    const beforeOn = out.messages.length;
    ha.receive({
      payload: {
        event_type: 'call_service',
        event: { domain: 'switch', service: 'turn_on', service_data: { entity_id: [switchId] } },
      },
    });
    const err = await caught.next('the refusal caught', () => true, 15_000);
    assert.match(String(err.error.message), new RegExp(`turn_on of ${switchId} refused`));
    const refused = await out.next(
      'the switch shows the refusal',
      (m) => String(m.payload.data.attributes.last_command).startsWith('turn_on refused'),
      8000,
      beforeOn,
    );
    assert.equal(refused.payload.data.state, 'unavailable');

    // Back: real values again.
    const beforeBack = out.messages.length;
    await sim.faults.reopen();
    await waitFor('online again', () => helper.getNode('cfg').health?.state === 'online', 20_000);
    await out.next(
      'the switch written with its state again',
      (m) => m.topic === switchId && m.payload.data.state === 'off',
      8000,
      beforeBack,
    );
    out.stop();
    caught.stop();
  });
});
