/**
 * The nodes against a v2 panel (REST bootstrap + MQTTS broker): API auto-detection, one registration with
 * the passphrase that is kept in the config node's credentials and reused after a redeploy or a restart,
 * online status (green dot), relay commands over MQTT, and the admin endpoints on v2.
 */
import assert from 'node:assert/strict';
import {
  containsSecret,
  flow,
  helper,
  hostOf,
  panelConfig,
  Panels,
  PASSPHRASE,
  Recorder,
  spanNodes,
  StatusLog,
  useNodeRed,
  waitFor,
} from './support';

/* eslint-disable @typescript-eslint/no-explicit-any */

const REGISTER = '/api/v2/auth/register';
const storedCreds = (id: string): Record<string, string> =>
  (helper as any)._redNodes.getCredentials(id) ?? {};

describe('nodes on a v2 panel (real Node-RED runtime, simulated v2 panel)', function () {
  this.timeout(40000);
  useNodeRed();
  const panels = new Panels();
  afterEach(() => panels.closeAll());

  const v2Flow = (host: string, mqttPort: number, circuit: string, extra: Record<string, unknown> = {}) =>
    flow(
      panelConfig('cfg', host, { api: 'auto', interval: '0.5', mqttPort: String(mqttPort), ...extra }),
      { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [['out']] },
      { id: 'circ', type: 'span-circuit', panel: 'cfg', circuit, wires: [['circOut']] },
      { id: 'out', type: 'helper' },
      { id: 'circOut', type: 'helper' },
      { id: 'catcher', type: 'catch', scope: ['circ'], uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
      { id: 'completer', type: 'complete', scope: ['circ'], uncaught: false, wires: [['completed']] },
      { id: 'completed', type: 'helper' },
    );

  it('detects v2, registers once with the passphrase, shows a green dot and keeps the registration secret', async () => {
    const { sim, mqttPort } = await panels.startV2('flat');
    const circuit = sim.state.circuits.find((c) => c.isUserControllable && c.instantPowerW < 0)!;
    await helper.load(spanNodes, v2Flow(hostOf(sim), mqttPort, circuit.id), {
      cfg: { passphrase: PASSPHRASE },
    });
    const out = new Recorder('out');
    const status = new StatusLog(helper.getNode('poll'));
    const msg = await out.next('v2 data', () => true, 20000);
    assert.equal(msg.payload.api, 'v2');
    assert.equal(msg.payload.dataModel, 'v2-flat');
    assert.equal(msg.topic, sim.state.identity.serial);
    assert.ok(msg.payload.circuits[circuit.id].powerW > 0, 'consumption positive over v2 too');
    const online = await status.waitFor('green dot', (s) => s.fill === 'green');
    assert.equal(online.shape, 'dot');
    assert.match(online.text ?? '', /^online · -?\d+(\.\d)? k?W$/);
    assert.equal(sim.stats.count('POST', REGISTER), 1, 'registered once');

    const creds = storedCreds('cfg');
    assert.equal(creds.passphrase, PASSPHRASE, 'the user passphrase is kept');
    assert.equal(creds.serial, sim.state.identity.serial);
    assert.equal(creds.registeredHost, hostOf(sim));
    assert.ok(creds.accessToken && creds.brokerPassword && creds.brokerUsername, 'registration stored');
    const secrets = [PASSPHRASE, creds.accessToken, creds.brokerPassword];
    assert.equal(containsSecret((helper as any)._redNodes.getFlows().flows, secrets), null, 'not in flows');
    assert.equal(containsSecret(out.messages, secrets), null, 'not in messages');
    const node = helper.getNode('cfg') as any;
    for (const m of ['log', 'warn', 'error', 'debug', 'status']) {
      assert.equal(
        containsSecret(
          node[m].getCalls().map((c: any) => c.args),
          secrets,
        ),
        null,
        `not in ${m}`,
      );
    }
    out.stop();
    status.stop();
  });

  it('reuses the stored registration after a full redeploy and after a restart', async () => {
    const { sim, mqttPort } = await panels.startV2('parent-child');
    const circuit = sim.state.circuits[0].id;
    const f = v2Flow(hostOf(sim), mqttPort, circuit);
    await helper.load(spanNodes, f, { cfg: { passphrase: PASSPHRASE } });
    let out = new Recorder('out');
    const first = await out.next('v2 data', () => true, 20000);
    assert.equal(first.payload.dataModel, 'v2-parent-child');
    assert.equal(sim.stats.count('POST', REGISTER), 1);
    out.stop();

    // A full deploy from the editor sends no unchanged credentials: the stored registration stays.
    await helper.setFlows(
      f.map((n) => ({ ...n, name: 'redeployed' })),
      'full',
    );
    out = new Recorder('out');
    await out.next('data after the redeploy', () => true, 20000);
    assert.equal(sim.stats.count('POST', REGISTER), 1, 'no new registration after a redeploy');
    out.stop();

    // A restart: the runtime loads flows_cred.json, i.e. what the credential store wrote.
    const saved = storedCreds('cfg');
    await helper.unload();
    await helper.load(spanNodes, f, { cfg: saved });
    out = new Recorder('out');
    await out.next('data after the restart', () => true, 20000);
    assert.equal(sim.stats.count('POST', REGISTER), 1, 'no new registration after a restart');
    out.stop();
  });

  it('switches a relay over MQTT and reports a locked circuit to a Catch node', async () => {
    const { sim, mqttPort } = await panels.startV2('flat');
    const circuit = sim.state.circuits.find((c) => c.isUserControllable && c.relayState === 'CLOSED')!;
    const locked = sim.state.circuits.find((c) => !c.isUserControllable)!;
    await helper.load(spanNodes, v2Flow(hostOf(sim), mqttPort, circuit.id), {
      cfg: { passphrase: PASSPHRASE },
    });
    const circOut = new Recorder('circOut');
    const completed = new Recorder('completed');
    await circOut.next('circuit data', () => true, 20000);
    helper.getNode('circ').receive({ payload: 'off', tag: 1 });
    const done = await completed.next('relay command done', (m) => m.tag === 1, 15000);
    assert.equal(done.command.relay.result, 'confirmed');
    assert.equal(sim.state.circuit(circuit.id)?.relayState, 'OPEN');
    await circOut.next('circuit off', (m) => m.circuit.relay === 'OPEN', 15000);
    helper.getNode('circ').receive({ payload: 'on', priority: 'OFF_GRID', tag: 2 });
    await waitFor('relay back on', () => sim.state.circuit(circuit.id)?.relayState === 'CLOSED', 15000);
    circOut.stop();
    completed.stop();

    // Same flow, pointed at an always-on circuit.
    await helper.setFlows(
      v2Flow(hostOf(sim), mqttPort, locked.id).map((n) => (n.id === 'circ' ? { ...n, name: 'locked' } : n)),
      'nodes',
    );
    const caught = new Recorder('caught');
    await waitFor('panel online', () => helper.getNode('cfg').health?.state === 'online', 20000);
    helper.getNode('circ').receive({ payload: 'off', tag: 3 });
    const err = await caught.next('refused', (m) => m.tag === 3, 15000);
    assert.match(String(err.error.message), /relay command OPEN refused/);
    assert.equal(sim.state.circuit(locked.id)?.relayState, locked.relayState);
    caught.stop();
  });

  it('admin: test and register on v2 keep the registration server-side and reuse it', async () => {
    const { sim, mqttPort, v2 } = await panels.startV2('flat');
    await helper.load(spanNodes, flow(), {});
    const body = { id: 'newcfg', host: hostOf(sim), api: 'auto', mqttPort: String(mqttPort) };
    const test1 = await helper
      .request()
      .post('/span-panel/test')
      .send({ ...body, passphrase: PASSPHRASE });
    assert.equal(test1.status, 200, test1.text);
    assert.equal(test1.body.api, 'v2');
    assert.equal(test1.body.legacyApi, false);
    assert.equal(test1.body.circuits.length, sim.state.circuits.length);
    assert.equal(sim.stats.count('POST', REGISTER), 1);
    assert.deepEqual(storedCreds('newcfg'), {}, 'nothing is written for an id that is not deployed');
    assert.equal(containsSecret(test1.text, [PASSPHRASE]), null);

    // Register needs a deployed node: deploy it first (no credentials yet), then register from the dialog.
    const regFlow = flow(
      panelConfig('regcfg', hostOf(sim), { api: 'v2', interval: '0.5', mqttPort: String(mqttPort) }),
      { id: 'poll', type: 'span-poll', panel: 'regcfg', wires: [['out']] },
      { id: 'out', type: 'helper' },
    );
    await helper.setFlows(regFlow, 'full');
    const reg = await helper
      .request()
      .post('/span-panel/register')
      .send({
        id: 'regcfg',
        host: hostOf(sim),
        api: 'v2',
        mqttPort: String(mqttPort),
        passphrase: PASSPHRASE,
      });
    assert.equal(reg.status, 200, reg.text);
    assert.deepEqual(reg.body, { ok: true, api: 'v2', serial: sim.state.identity.serial });
    const regCreds = storedCreds('regcfg');
    assert.equal(regCreds.passphrase, undefined, 'a typed passphrase is used, not stored');
    assert.equal(regCreds.caPem, v2.caPem, 'the CA is kept with the registration');
    assert.equal(containsSecret(reg.text, [PASSPHRASE, regCreds.brokerPassword, regCreds.accessToken]), null);
    const registrations = sim.stats.count('POST', REGISTER);

    // Now the deployed node lends its stored registration to a test of its own host: no new registration.
    const test2 = await helper
      .request()
      .post('/span-panel/test')
      .send({ id: 'regcfg', host: hostOf(sim), api: 'v2', mqttPort: String(mqttPort), passphrase: '' });
    assert.equal(test2.status, 200, test2.text);
    assert.equal(sim.stats.count('POST', REGISTER), registrations, 'no second registration');

    // Redeployed without any passphrase: the registration made from the dialog is what it uses.
    await helper.setFlows(
      regFlow.map((n) => (n.id === 'poll' ? { ...n, name: 'redeployed' } : n)),
      'full',
    );
    const out = new Recorder('out');
    const msg = await out.next('data with the dialog registration', () => true, 20000);
    assert.equal(msg.payload.api, 'v2');
    assert.equal(sim.stats.count('POST', REGISTER), registrations, 'only the explicit registration');
    out.stop();
  });
});
