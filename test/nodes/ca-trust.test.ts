/**
 * The v2 panel CA never changes silently (issue 12): it is kept with the registration in the config node's
 * credentials, a restart uses it without a plain-HTTP fetch, and when the simulated panel rotates its CA the
 * `follow` policy takes the new one (the broker certificate chains to it and names the panel) with a warn
 * line and a span-status event, while `pinned` refuses it (red "panel certificate changed") until the user
 * presses "Trust new certificate" — also across a restart.
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
  StatusLog,
  useNodeRed,
  waitFor,
} from './support';

/* eslint-disable @typescript-eslint/no-explicit-any */

const CA_PATH = '/api/v2/certificate/ca';
const storedCreds = (id: string): Record<string, string> =>
  (helper as any)._redNodes.getCredentials(id) ?? {};
/** "ab12…" (simulator) and "AB:12:…" (node:crypto) name the same fingerprint. */
const fp = (s: string): string => s.replace(/:/g, '').toLowerCase();
const warnings = (id: string): string[] =>
  helper
    .getNode(id)
    .warn.getCalls()
    .map((c: any) => String(c.args[0]));

describe('panel CA trust: follow and pinned (real runtime, simulated v2 panel rotating its CA)', function () {
  this.timeout(60000);
  useNodeRed();
  const panels = new Panels();
  afterEach(() => panels.closeAll());

  const caFlow = (host: string, mqttPort: number, caPolicy?: string) =>
    flow(
      panelConfig('cfg', host, {
        api: 'v2',
        interval: '0.5',
        mqttPort: String(mqttPort),
        ...(caPolicy ? { caPolicy } : {}),
      }),
      { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [[]] },
      { id: 'st', type: 'span-status', panel: 'cfg', wires: [['events']] },
      { id: 'events', type: 'helper' },
    );
  const online = () => waitFor('online', () => helper.getNode('cfg').health?.state === 'online', 20000);

  it('follow (default): takes the rotated CA with a warn line and a span-status event; a restart uses it unfetched', async () => {
    const { sim, mqttPort, v2 } = await panels.startV2('flat');
    const f = caFlow(hostOf(sim), mqttPort);
    await helper.load(spanNodes, f, { cfg: { passphrase: PASSPHRASE } });
    await online();
    const oldFp = v2.certificates.current.caFingerprint;
    await waitFor('CA stored', () => storedCreds('cfg').caPem === v2.caPem);
    const events = new Recorder('events');

    await v2.rotateCa();
    const newFp = v2.certificates.current.caFingerprint;
    const msg = await events.next('ca-changed event', (m) => m.payload.event === 'ca-changed', 30000);
    assert.equal(msg.payload.ca.accepted, true);
    assert.equal(msg.payload.ca.policy, 'follow');
    assert.equal(fp(msg.payload.ca.previousFingerprint), oldFp);
    assert.equal(fp(msg.payload.ca.newFingerprint), newFp);
    assert.match(msg.payload.reason, /panel CA certificate changed/);
    const warn = warnings('cfg').find((w) => /CA certificate changed/.test(w));
    assert.ok(warn, 'a warn line');
    assert.ok(fp(warn).includes(oldFp) && fp(warn).includes(newFp), `both fingerprints in: ${warn}`);
    assert.equal(storedCreds('cfg').caPem, v2.caPem, 'the new CA is kept');
    await online();
    events.stop();

    // Restart with the credentials as persisted: the stored CA is used, nothing fetched over plain HTTP.
    const saved = storedCreds('cfg');
    await helper.unload();
    const fetches = sim.stats.count('GET', CA_PATH);
    await helper.load(spanNodes, f, { cfg: saved });
    await online();
    assert.equal(sim.stats.count('GET', CA_PATH), fetches, 'no CA fetch after the restart');
  });

  it('pinned: refuses the rotated CA (red status, event), still after a restart, until "Trust new certificate"', async () => {
    const { sim, mqttPort, v2 } = await panels.startV2('flat');
    const f = caFlow(hostOf(sim), mqttPort, 'pinned');
    await helper.load(spanNodes, f, { cfg: { passphrase: PASSPHRASE } });
    await online();
    const oldPem = v2.caPem;
    await waitFor('CA stored', () => storedCreds('cfg').caPem === oldPem);
    let events = new Recorder('events');
    let status = new StatusLog(helper.getNode('poll'));

    await v2.rotateCa();
    const newFp = v2.certificates.current.caFingerprint;
    const refused = await events.next('refusal event', (m) => m.payload.event === 'ca-changed', 30000);
    assert.equal(refused.payload.ca.accepted, false);
    assert.equal(refused.payload.ca.policy, 'pinned');
    assert.equal(fp(refused.payload.ca.newFingerprint), newFp);
    const red = await status.waitFor('red', (s) => s.text === 'panel certificate changed', 30000);
    assert.deepEqual([red.fill, red.shape], ['red', 'ring']);
    assert.ok(warnings('cfg').some((w) => /refused by the "pinned" CA policy/.test(w)));
    assert.equal(storedCreds('cfg').caPem, oldPem, 'the trusted CA is unchanged');
    assert.notEqual(helper.getNode('cfg').health?.state, 'online');
    events.stop();
    status.stop();

    // A restart does not make the new CA trusted.
    const saved = storedCreds('cfg');
    await helper.unload();
    await helper.load(spanNodes, f, { cfg: saved });
    events = new Recorder('events');
    status = new StatusLog(helper.getNode('poll'));
    await status.waitFor('red after restart', (s) => s.text === 'panel certificate changed', 30000);
    assert.equal(storedCreds('cfg').caPem, oldPem);

    // The user trusts it from the editor.
    const trust = await helper.request().post('/span-panel/trust-ca').send({ id: 'cfg' });
    assert.equal(trust.status, 200, trust.text);
    assert.equal(fp(trust.body.fingerprint), newFp);
    await online();
    assert.equal(storedCreds('cfg').caPem, v2.caPem, 'the new CA is now the trusted one');
    const byUser = await events.next('trusted event', (m) => m.payload.ca?.by === 'user', 8000, 0);
    assert.equal(byUser.payload.ca.accepted, true);
    await status.waitFor('green', (s) => s.fill === 'green', 20000);
    // Nothing left to trust.
    assert.equal((await helper.request().post('/span-panel/trust-ca').send({ id: 'cfg' })).status, 409);
    events.stop();
    status.stop();
  });
});
