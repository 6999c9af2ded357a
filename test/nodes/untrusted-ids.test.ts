/**
 * Circuit ids are the panel's data (issue 12): a simulated panel whose circuits are called `__proto__` and
 * `constructor` (v1, v2 flat, v2 parent/child) flows through span-poll (also into a second wire, where
 * Node-RED clones the message with RED.util.cloneMessage), span-circuit (power and Home Assistant mode, one
 * circuit and all) and span-status like any other circuit; a circuit id that the panel does not have (even
 * `toString`) is "not found", never something inherited.
 */
import assert from 'node:assert/strict';
import {
  flow,
  helper,
  hostOf,
  panelConfig,
  Panels,
  PASSPHRASE,
  Recorder,
  spanNodes,
  TOKEN,
  useNodeRed,
  waitFor,
} from './support';

/* eslint-disable @typescript-eslint/no-explicit-any */

const IDS = ['__proto__', 'constructor'];

describe('circuit ids __proto__ and constructor flow through every node (real runtime)', function () {
  this.timeout(60000);
  useNodeRed();
  const panels = new Panels();
  afterEach(() => panels.closeAll());

  const cases = [
    { name: 'v1', dataModel: null },
    { name: 'v2 flat', dataModel: 'flat' as const },
    { name: 'v2 parent/child', dataModel: 'parent-child' as const },
  ];

  for (const c of cases) {
    it(`${c.name}`, async () => {
      let host: string;
      let extra: Record<string, unknown> = {};
      let creds: Record<string, string> = { token: TOKEN };
      let sim;
      if (c.dataModel === null) {
        sim = await panels.start({ circuitIds: IDS });
        host = hostOf(sim);
      } else {
        const started = await panels.startV2(c.dataModel, { circuitIds: IDS });
        sim = started.sim;
        host = hostOf(sim);
        extra = { api: 'v2', mqttPort: String(started.mqttPort) };
        creds = { passphrase: PASSPHRASE };
      }
      const names = IDS.map((id) => sim.state.circuit(id)!.name);
      await helper.load(
        spanNodes,
        flow(
          panelConfig('cfg', host, { interval: '0.5', ...extra }),
          { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [['out1', 'out2']] },
          { id: 'proto', type: 'span-circuit', panel: 'cfg', circuit: '__proto__', wires: [['protoOut']] },
          {
            id: 'ctor',
            type: 'span-circuit',
            panel: 'cfg',
            circuit: 'constructor',
            output: 'ha-energy',
            wires: [['ctorOut']],
          },
          {
            id: 'everyCircuit',
            type: 'span-circuit',
            panel: 'cfg',
            circuit: 'all',
            output: 'ha-power',
            wires: [['allOut']],
          },
          { id: 'missing', type: 'span-circuit', panel: 'cfg', circuit: 'toString', wires: [['missingOut']] },
          { id: 'st', type: 'span-status', panel: 'cfg', initial: true, wires: [['stOut']] },
          ...['out1', 'out2', 'protoOut', 'ctorOut', 'allOut', 'missingOut', 'stOut'].map((id) => ({
            id,
            type: 'helper',
          })),
        ),
        { cfg: creds },
      );
      const rec = Object.fromEntries(
        ['out1', 'out2', 'protoOut', 'ctorOut', 'allOut', 'missingOut', 'stOut'].map((id) => [
          id,
          new Recorder(id),
        ]),
      );

      // span-poll, on the first wire (the message itself) and the second (a RED.util.cloneMessage copy).
      for (const out of ['out1', 'out2']) {
        const m = await rec[out].next(`${out} snapshot`, (x) => x.payload?.circuits, 20000);
        const circuits = m.payload.circuits;
        assert.equal(Object.getPrototypeOf(circuits), Object.prototype, `${out}: an ordinary object`);
        assert.equal(Object.keys(circuits).length, sim.state.circuits.length, `${out}: every circuit`);
        assert.ok(Object.hasOwn(circuits, '[__proto__]'), `${out}: __proto__ keyed [__proto__]`);
        assert.equal(circuits['[__proto__]'].id, '__proto__');
        assert.ok(Object.hasOwn(circuits, 'constructor'), `${out}: constructor`);
        assert.equal(circuits.constructor.id, 'constructor');
        assert.equal(circuits.constructor.name, names[1]);
        assert.equal(typeof circuits.constructor.powerW, 'number');
        assert.equal(JSON.parse(JSON.stringify(m.payload)).circuits['[__proto__]'].id, '__proto__');
      }

      const proto = await rec.protoOut.next('__proto__ circuit', () => true, 20000);
      assert.equal(proto.circuit.id, '__proto__');
      assert.equal(proto.topic, names[0]);
      assert.equal(typeof proto.payload, 'number');

      const ctor = await rec.ctorOut.next('constructor circuit (HA energy)', () => true, 20000);
      assert.equal(ctor.payload.attributes.circuit_id, 'constructor');
      assert.equal(ctor.payload.attributes.device_class, 'energy');
      assert.equal(typeof ctor.payload.state, 'number');

      const all = await rec.allOut.next(
        'both circuits from "all"',
        () => IDS.every((id) => rec.allOut.messages.some((x) => x.payload.attributes.circuit_id === id)),
        20000,
        0,
      );
      assert.ok(all);

      const st = await rec.stOut.next('span-status', (x) => x.initial === true, 20000, 0);
      assert.ok(st.payload.state);

      // A circuit the panel does not have is "not found", even a name Object.prototype has.
      // (Its status is set before a StatusLog could attach: read the spy's calls.)
      await waitFor('not found', () => {
        const calls = (helper.getNode('missing').status as any)
          .getCalls()
          .filter((call: any) => call.thisValue.id === 'missing');
        return calls.at(-1)?.args[0].text === 'circuit not found';
      });
      assert.equal(rec.missingOut.messages.length, 0);
      for (const r of Object.values(rec)) r.stop();
    });
  }
});
