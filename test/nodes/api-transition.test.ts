/**
 * What a user sees when their panel is upgraded from v1 to v2 firmware under a running flow with only the
 * old v1 token: every node says what to do ("register: passphrase or door"), span-status says it with a
 * distinct error class, and registering from the editor brings the deployed nodes online over v2 — no
 * redeploy. Real Node-RED runtime, simulated panel, real MQTT over TLS.
 */
import assert from 'node:assert/strict';
import { createV2Plugin } from '../../simulator/v2';
import {
  flow,
  helper,
  hostOf,
  panelConfig,
  Panels,
  PASSPHRASE,
  Recorder,
  spanNodes,
  StatusLog,
  TOKEN,
  translate,
  useNodeRed,
} from './support';

describe('a v1 panel upgraded to v2 under a running flow (real Node-RED runtime)', function () {
  this.timeout(60_000);
  useNodeRed();
  const panels = new Panels();
  afterEach(() => panels.closeAll());

  it('says "register: passphrase or door", then the editor registration brings it online without a redeploy', async () => {
    const v2 = createV2Plugin({ dataModel: 'flat', passphrase: PASSPHRASE, keyBits: 1024, v2Disabled: true });
    const sim = await panels.start({ plugins: [v2] });
    await helper.load(
      spanNodes,
      flow(
        panelConfig('cfg', hostOf(sim), { api: 'auto', interval: '1', mqttPort: String(v2.mqttPort) }),
        { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [['out']] },
        { id: 'status', type: 'span-status', panel: 'cfg', wires: [['events']] },
        { id: 'out', type: 'helper' },
        { id: 'events', type: 'helper' },
      ),
      { cfg: { token: TOKEN } },
    );
    const out = new Recorder('out');
    const events = new Recorder('events');
    const statuses = new StatusLog(helper.getNode('poll'));
    const legacy = await out.next('v1 data');
    assert.equal(legacy.payload.api, 'v1');

    await sim.faults.inject({ kind: 'firmware-upgrade', downMs: 2000 });
    const answersAgainAt = Date.now() + 2000;
    const registerText = translate('span-panel.status.register');
    await statuses.waitFor('the register status', (s) => s.text === registerText, 45_000);
    assert.ok(Date.now() - answersAgainAt <= 45_000);
    assert.equal(statuses.last!.fill, 'red');
    const said = await events.next(
      'span-status',
      (m) => m.payload.errorClass === 'needs-registration',
      5000,
      0,
    );
    assert.equal(said.payload.state, 'auth-failed');
    assert.equal(said.payload.api, 'v2');
    assert.match(said.payload.reason, /passphrase/);
    assert.ok(
      !statuses.statuses.some((s) => /retry/.test(s.text ?? '')),
      'never a generic "offline · retry"',
    );

    // The user types the passphrase in the config dialog and presses "Register with panel".
    const reg = await helper
      .request()
      .post('/span-panel/register')
      .send({
        id: 'cfg',
        host: hostOf(sim),
        api: 'auto',
        mqttPort: String(v2.mqttPort),
        passphrase: PASSPHRASE,
      });
    assert.equal(reg.status, 200, reg.text);
    assert.equal(reg.body.api, 'v2');
    const registeredAt = Date.now();
    const eventsBefore = events.messages.length;
    const fresh = await out.next('v2 data', (m) => m.payload.api === 'v2' && m.stale === undefined, 15_000);
    assert.ok(
      Date.now() - registeredAt <= 10_000,
      `online ${Date.now() - registeredAt} ms after registering`,
    );
    assert.equal(fresh.payload.panel.serial, sim.state.identity.serial);
    const back = await events.next('online over v2', (m) => m.payload.state === 'online', 5000, eventsBefore);
    assert.equal(back.payload.api, 'v2');
    assert.equal(back.payload.dataModel, 'v2-flat');
    assert.equal(
      sim.stats.count('POST', '/api/v2/auth/register'),
      1,
      'only the registration the user asked for',
    );
    out.stop();
    events.stop();
    statuses.stop();
  });
});
