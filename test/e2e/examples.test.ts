/**
 * The shipped example flows (examples/*.json, what Import > Examples offers), run end to end in a real
 * Node-RED against a simulated panel. The flows are loaded as shipped, with the panel host from SPAN_HOST
 * as the examples document and the token in the credentials store, as a user would enter it. What reaches
 * each node is observed through the runtime's preDeliver hook (no node of the flow is replaced).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { SimulatedPanel } from '../../simulator';
import { createV2Plugin } from '../../simulator/v2';
import {
  assertBuilt,
  hostOf,
  leakedSecrets,
  nodeRedDir,
  NodeRed,
  packageRoot,
  PASSPHRASE,
  readJson,
  startPanel,
  TOKEN,
  waitFor,
  type Delivery,
  type FlowNode,
  type NodeRedOptions,
} from './harness';

/* eslint-disable @typescript-eslint/no-explicit-any */

const nodeRedVersion: string = readJson(path.join(nodeRedDir(), 'package.json')).version;
const SPAN_TYPES = new Set(['span-poll', 'span-circuit', 'span-status']);

function exampleFiles(): string[] {
  return fs
    .readdirSync(path.join(packageRoot(), 'examples'))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

function loadExample(file: string): FlowNode[] {
  return readJson(path.join(packageRoot(), 'examples', file));
}

/** The one node of the flow with this type and (optionally) name. */
function find(flow: FlowNode[], type: string, name?: string): FlowNode {
  const hits = flow.filter((n) => n.type === type && (name === undefined || n.name === name));
  assert.equal(hits.length, 1, `exactly one ${type}${name === undefined ? '' : ` "${name}"`} in the example`);
  return hits[0];
}

describe(`example flows end to end (Node-RED ${nodeRedVersion})`, function () {
  this.timeout(60_000);

  let panel: SimulatedPanel | null = null;
  let nr: NodeRed | null = null;

  before(() => assertBuilt());

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && nr) {
      console.log(`    Node-RED problems:\n      ${nr.problems().join('\n      ')}`);
    }
    await nr?.stop();
    await panel?.close();
    nr = null;
    panel = null;
  });

  /** Starts the simulated panel and Node-RED with an example deployed, as a user would run it. */
  async function run(
    flow: FlowNode[],
    opts: {
      panel?: Parameters<typeof startPanel>[0];
      nodeRed?: NodeRedOptions;
      env?: Record<string, string>;
      /** Adjusts the flow to the started panel (e.g. its ephemeral MQTT port) before deploying. */
      prepare?: (panel: SimulatedPanel) => void;
    } = {},
  ): Promise<{ panel: SimulatedPanel; nr: NodeRed; cfg: FlowNode }> {
    const cfg = find(flow, 'span-panel');
    assert.equal(cfg.host, '${SPAN_HOST}', 'examples take the panel host from SPAN_HOST');
    panel = await startPanel(opts.panel);
    opts.prepare?.(panel);
    nr = await NodeRed.start({
      ...opts.nodeRed,
      flows: flow,
      credentials: { [cfg.id]: { token: TOKEN }, ...opts.nodeRed?.credentials },
      env: { SPAN_HOST: hostOf(panel), ...opts.env },
    });
    return { panel, nr, cfg };
  }

  /** What every example must do: known node types only, every SPAN node green, no secret anywhere. */
  async function commonChecks(
    flow: FlowNode[],
    running: NodeRed,
    allowedErrors: RegExp[] = [],
  ): Promise<void> {
    assert.deepEqual(running.missingTypes(), [], 'unknown node types');
    for (const node of flow.filter((n) => SPAN_TYPES.has(n.type))) {
      await running.waitForStatus(node.id, (s) => s.fill === 'green', `${node.type} "${node.name}" green`);
    }
    const errors = running.problems(20).filter((p) => !allowedErrors.some((re) => re.test(p)));
    assert.deepEqual(errors, [], 'errors logged by Node-RED or a node');
    assert.deepEqual(leakedSecrets(running.logs), [], 'secret in the log');
    assert.deepEqual(leakedSecrets(running.deliveries), [], 'secret in a message');
  }

  it('covers every shipped example with a test below (home-assistant-entities.json: home-assistant.test.ts, dashboard.json: dashboard.test.ts)', () => {
    assert.deepEqual(exampleFiles(), [
      'basics.json',
      'dashboard.json',
      'health-alerts.json',
      'home-assistant-entities.json',
      'home-assistant-sensors.json',
      'load-shedding.json',
      'solar-battery-ev.json',
    ]);
  });

  it('basics.json: grid power, circuit power and health reach their debug nodes; the inject nodes switch the circuit', async () => {
    const flow = loadExample('basics.json');
    // No physics ticks: the values the flow reports can be compared with the panel's exactly.
    const { panel: p, nr: n } = await run(flow, { panel: { tickMs: 0 } });
    const circuitNode = find(flow, 'span-circuit');
    const circuit = p.state.circuit(circuitNode.circuit)!;
    assert.ok(circuit, `the example's circuit ${circuitNode.circuitName} exists on the simulated panel`);

    const grid = await n.waitForDelivery(
      find(flow, 'debug', 'grid power').id,
      () => true,
      'grid power message',
    );
    assert.equal(grid.msg.payload, p.state.mains.instantGridPowerW, 'grid power W, + = import');
    const power = await n.waitForDelivery(
      find(flow, 'debug', 'circuit power (W, + = consumption)').id,
      () => true,
      'circuit power message',
    );
    assert.equal(typeof power.msg.payload, 'number');
    assert.ok(Math.abs(power.msg.payload + circuit.instantPowerW) < 1e-6, 'consumption is positive');
    assert.equal(power.msg.topic, circuit.name);
    const health = await n.waitForDelivery(
      find(flow, 'debug', 'health').id,
      (d) => d.msg.payload?.state === 'online',
      'health "online"',
    );
    assert.equal(health.msg.topic, p.state.identity.serial);
    await commonChecks(flow, n);

    // The inject buttons, as a user clicks them in the editor.
    const relays: string[] = [];
    p.state.on('circuit', (c) => {
      if (c.id === circuit.id) relays.push(c.relayState);
    });
    assert.equal((await n.admin('POST', `/inject/${find(flow, 'inject', 'switch off').id}`)).status, 200);
    await waitFor('relay OPEN on the simulated panel', () => circuit.relayState === 'OPEN');
    assert.equal((await n.admin('POST', `/inject/${find(flow, 'inject', 'switch on').id}`)).status, 200);
    await waitFor('relay CLOSED on the simulated panel', () => circuit.relayState === 'CLOSED');
    assert.deepEqual(relays, ['OPEN', 'CLOSED']);
    assert.deepEqual(n.deliveredTo(find(flow, 'debug', 'command error').id), [], 'no refused command');
  });

  it('health-alerts.json: an outage raises the offline alert and recovery the "back" message', async () => {
    const flow = loadExample('health-alerts.json');
    // The shipped 5 s interval takes ~15 s to call a panel offline; 1 s keeps the test short.
    find(flow, 'span-panel').interval = '1';
    const { panel: p, nr: n } = await run(flow);
    const statusNode = find(flow, 'span-status');
    const notify = find(flow, 'debug', 'notify').id;
    await commonChecks(flow, n);
    assert.deepEqual(n.deliveredTo(notify), [], 'no alert while the panel is fine');

    const outageStart = n.deliveries.length;
    await p.faults.refuse();
    const alert = await n.waitForDelivery(
      notify,
      (d) => /is offline/.test(String(d.msg.payload)),
      'the offline alert',
      20_000,
      outageStart,
    );
    assert.match(alert.msg.payload, new RegExp(`^SPAN panel ${p.state.identity.serial} is offline \\(`));
    await n.waitForStatus(statusNode.id, (s) => s.fill === 'red', 'red status while offline');

    const recoveryStart = n.deliveries.length;
    await p.faults.clear();
    const back = await n.waitForDelivery(
      notify,
      (d) => /is back after/.test(String(d.msg.payload)),
      'the recovery message',
      30_000,
      recoveryStart,
    );
    assert.match(
      back.msg.payload,
      new RegExp(`^SPAN panel ${p.state.identity.serial} is back after [0-9.]+ min$`),
    );
    await n.waitForStatus(statusNode.id, (s) => s.fill === 'green', 'green status after recovery');
  });

  it('load-shedding.json: grid import above the limit opens the circuit relay, and below it closes it again', async () => {
    const flow = loadExample('load-shedding.json');
    const circuitNode = find(flow, 'span-circuit');
    const debug = find(flow, 'debug', 'shed / restore').id;
    const decider = find(flow, 'function');
    // No physics ticks, so the grid power the test sets stays until the panel recomputes it.
    const { panel: p, nr: n } = await run(flow, {
      panel: { tickMs: 0 },
      env: { SPAN_SHED_ABOVE_W: '3000' },
    });
    const circuit = p.state.circuit(circuitNode.circuit)!;
    assert.ok(circuit, `the example's circuit ${circuitNode.circuitName} exists`);
    assert.equal(circuit.relayState, 'CLOSED');
    await commonChecks(flow, n);
    assert.deepEqual(n.deliveredTo(debug), [], 'nothing shed while importing less than the limit');

    const relays: string[] = [];
    p.state.on('circuit', (c) => {
      if (c.id === circuit.id) relays.push(c.relayState);
    });
    // A big load comes on downstream of the panel: grid import 6.2 kW. (Grid power is derived, so the
    // load goes on the feed-through lugs; it stays there until the next physics tick.)
    const mains = p.state.mains;
    mains.feedthroughPowerW += 6200 - mains.instantGridPowerW;
    mains.instantGridPowerW = 6200;
    const shed = await n.waitForDelivery(debug, (d) => d.msg.payload === 'off', 'the shed decision', 15_000);
    assert.equal(shed.msg.topic, 'shed');
    assert.equal(shed.msg.gridW, 6200);
    await waitFor('the relay OPEN on the simulated panel', () => relays.includes('OPEN'));
    assert.equal(circuit.relayState, 'OPEN');
    const deciderTexts = () => n.statuses.filter((x) => x.id === decider.id).map((x) => x.status.text);
    assert.ok(deciderTexts().includes('6200 W / 3000 W'), `function status: ${deciderTexts().join(', ')}`);
    // Still above the restore level after shedding (the panel is read again after the command): stays off.
    await n.waitForStatus(
      decider.id,
      (x) => x.fill === 'red' && Number(/^(-?\d+) W/.exec(x.text ?? '')?.[1]) > 2400,
      'the function showing it is shedding, still above the restore level',
    );
    assert.equal(circuit.relayState, 'OPEN');

    p.state.tick(); // the load is gone: the grid import falls back to the panel's normal (exporting) level
    assert.ok(mains.instantGridPowerW < 2400, 'below the restore level (80 % of the limit)');
    const restore = await n.waitForDelivery(
      debug,
      (d) => d.msg.payload === 'on',
      'the restore decision',
      15_000,
    );
    assert.equal(restore.msg.topic, 'restore');
    await waitFor('the relay CLOSED again', () => circuit.relayState === 'CLOSED');
    assert.deepEqual(relays, ['OPEN', 'CLOSED']);
    assert.deepEqual(n.deliveredTo(find(flow, 'debug', 'shedding failed').id), [], 'no failed command');
  });

  it('home-assistant-sensors.json: loads with node-red-contrib-home-assistant-websocket, and its sensor nodes accept our messages', async () => {
    const flow = loadExample('home-assistant-sensors.json');
    const server = find(flow, 'server');
    // The user's Home Assistant server config (the example leaves it to them). Nothing listens there:
    // the sensor nodes validate each message, then fail only because there is no connection.
    const haCredentials = { [server.id]: { host: 'http://127.0.0.1:9', access_token: 'ha-token-unused' } };
    const sensors = flow.filter((x) => x.type === 'ha-sensor');
    assert.equal(sensors.length, 3);
    // A control: a message Home Assistant's sensor node must reject, so "accepted" below means something.
    const control: FlowNode = {
      id: 'e2e0000000000c01',
      type: 'inject',
      z: sensors[0].z,
      name: 'e2e invalid state',
      props: [{ p: 'payload' }],
      payload: '{"state":{"not":"a primitive"}}',
      payloadType: 'json',
      repeat: '',
      once: false,
      wires: [[sensors[0].id]],
    };
    const { nr: n } = await run([...flow, control], {
      nodeRed: { homeAssistant: true, credentials: haCredentials },
    });
    const loaded = await n.admin('GET', '/nodes');
    assert.ok(
      loaded.body.some(
        (s: any) => s.module === 'node-red-contrib-home-assistant-websocket' && s.enabled && !s.err,
      ),
      'the Home Assistant nodes are loaded',
    );

    const byId = new Map(flow.map((x) => [x.id, x]));
    for (const sensor of sensors) {
      const d: Delivery = await n.waitForDelivery(
        sensor.id,
        () => true,
        `a message at ha-sensor "${sensor.name}"`,
      );
      const { state, attributes } = d.msg.payload ?? {};
      assert.equal(typeof state, 'number', `${sensor.name}: payload.state is a number`);
      assert.ok(Number.isFinite(state));
      assert.equal(typeof attributes, 'object', `${sensor.name}: payload.attributes`);
      if (d.fromType === 'span-circuit') {
        // Our attributes agree with the entity the example configures for this sensor.
        const entity = byId.get(sensor.entityConfig)!;
        const want = Object.fromEntries(
          entity.haConfig
            .filter((c: { property: string }) =>
              ['unit_of_measurement', 'device_class', 'state_class'].includes(c.property),
            )
            .map((c: { property: string; value: string }) => [c.property, c.value]),
        );
        assert.equal(
          Object.keys(want).length,
          3,
          `${entity.name}: entity config has unit, device and state class`,
        );
        for (const [k, v] of Object.entries(want)) assert.equal(attributes[k], v, `${sensor.name}: ${k}`);
        // Attribute values the sensor node takes: string, number, boolean (no null, no arrays).
        for (const [k, v] of Object.entries(attributes)) {
          assert.ok(['string', 'number', 'boolean'].includes(typeof v), `${sensor.name}: attribute ${k}`);
        }
      }
    }
    // Home Assistant's own input validation passed: the only complaint is the missing connection.
    const noConnection = /NoConnectionError|no connection/i;
    await waitFor('every sensor reports the missing connection', () =>
      sensors.every((s) => noConnection.test(n.lastStatus(s.id)?.text ?? '')),
    );
    const sensorErrors = (id: string) => n.logs.filter((l) => l.level <= 20 && l.id === id).map((l) => l.msg);
    for (const s of sensors) {
      const errs = sensorErrors(s.id);
      assert.ok(errs.length > 0, `${s.name} processed a message`);
      assert.deepEqual(
        errs.filter((m) => !noConnection.test(m)),
        [],
        `${s.name} rejected our message`,
      );
    }

    // The control message is rejected by validation, before the connection is even looked at.
    const before = sensorErrors(sensors[0].id).length;
    assert.equal((await n.admin('POST', `/inject/${control.id}`)).status, 200);
    await waitFor('the control message rejected', () => sensorErrors(sensors[0].id).length > before);
    assert.doesNotMatch(sensorErrors(sensors[0].id)[before], noConnection);

    await commonChecks(flow, n, [noConnection, /^\[ha-sensor:/]);
  });

  it('solar-battery-ev.json: power flows in our signs, the EV charger, and the buttons set its charge-current ceiling', async () => {
    const flow = loadExample('solar-battery-ev.json');
    find(flow, 'span-panel').interval = '1';
    const v2 = createV2Plugin({ dataModel: 'parent-child', passphrase: PASSPHRASE });
    const cfgId = find(flow, 'span-panel').id;
    const { panel: p, nr: n } = await run(flow, {
      panel: { plugins: [v2] },
      // The simulated broker listens on an ephemeral port instead of 8883.
      prepare: (sim) => void (find(flow, 'span-panel').mqttPort = String(sim.ports.mqtt)),
      nodeRed: { credentials: { [cfgId]: { token: TOKEN, passphrase: PASSPHRASE } } },
    });
    const flows = await n.waitForDelivery(
      find(flow, 'debug', 'power flows (W)').id,
      (d) => d.msg.payload.solarW !== null && d.msg.payload.batteryMinutesLeft !== null,
      'power flows',
      30_000,
    );
    const f = flows.msg.payload;
    assert.ok(f.solarW > 0, 'solar producing is positive');
    assert.ok(Math.abs(f.gridW + f.solarW + f.batteryW - f.homeW) < 1e-6, 'grid + solar + battery = home');
    assert.equal(f.batterySocPercent, p.state.soePercent);
    const ev = await n.waitForDelivery(
      find(flow, 'debug', 'EV charger').id,
      (d) => d.msg.payload.ceilingA !== null,
      'EV charger',
      30_000,
    );
    assert.equal(ev.msg.payload.fedFromCircuit, find(flow, 'span-circuit').circuit);
    assert.equal(ev.msg.payload.ceilingA, 32);
    await commonChecks(flow, n);

    assert.equal((await n.admin('POST', `/inject/${find(flow, 'inject', 'charge at 16 A').id}`)).status, 200);
    await waitFor('the ceiling applied on the simulated panel', () =>
      v2.commandLog.some((r) => r.payload === '16' && r.outcome === 'applied'),
    );
    await n.waitForDelivery(
      find(flow, 'debug', 'EV charger').id,
      (d) => d.msg.payload.ceilingA === 16,
      'the new ceiling reported back',
      30_000,
    );
    assert.deepEqual(n.deliveredTo(find(flow, 'debug', 'command error').id), [], 'no refused command');
  });
});
