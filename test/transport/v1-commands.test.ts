import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { Harness, live, rejectsWith, sleep, TOKEN, watchUnhandledRejections } from './v1-helpers';

const DINING = '0dad2f16cd514812ae1807b0457d473e'; // controllable, CLOSED
const FRIDGE = '9941b417bfa046ef908d97c998c54c50'; // not user-controllable
const circuitPath = (id: string) => `/api/v1/circuits/${id}`;

describe('v1 transport against the simulated panel: commands and registration', function () {
  this.timeout(20000);
  const h = new Harness();
  afterEach(() => h.cleanup());
  watchUnhandledRejections();

  it('setRelay POSTs exactly once and confirms by reading the circuit back', async () => {
    const panel = await h.panel();
    const t = h.transport(panel);
    await t.readSnapshot(live());
    const outcome = await t.setRelay(DINING, 'OPEN', live());
    assert.deepEqual(outcome, {
      result: 'confirmed',
      circuitId: DINING,
      requested: 'OPEN',
      observed: 'OPEN',
    });
    assert.equal(panel.stats.count('POST', circuitPath(DINING)), 1);
    assert.equal(panel.stats.count('GET', circuitPath(DINING)), 1, 'one confirmation read');
    assert.equal(panel.state.circuit(DINING)?.relayState, 'OPEN');
    const back = await t.setRelay(DINING, 'CLOSED', live());
    assert.equal(back.result, 'confirmed');
    assert.equal(panel.state.circuit(DINING)?.relayState, 'CLOSED');
  });

  it('without a snapshot yet, it reads the circuit first to check it can be switched', async () => {
    const panel = await h.panel();
    const t = h.transport(panel);
    const outcome = await t.setRelay(DINING, 'OPEN', live());
    assert.equal(outcome.result, 'confirmed');
    assert.equal(panel.stats.count('POST', circuitPath(DINING)), 1);
    assert.equal(panel.stats.count('GET', circuitPath(DINING)), 2, 'check + confirmation');
  });

  it('refuses a locked circuit before sending anything (0 POSTs), with or without a snapshot', async () => {
    const panel = await h.panel();
    const fresh = h.transport(panel);
    const e1 = await rejectsWith(fresh.setRelay(FRIDGE, 'OPEN', live()), 'refused-command');
    assert.match(e1.message, /not user-controllable/);
    const t = h.transport(panel);
    await t.readSnapshot(live());
    await rejectsWith(t.setRelay(FRIDGE, 'OPEN', live()), 'refused-command');
    await rejectsWith(t.setPriority(FRIDGE, 'OFF_GRID', live()), 'refused-command');
    assert.equal(panel.stats.count('POST'), 0);
    assert.equal(panel.state.circuit(FRIDGE)?.relayState, 'CLOSED');
  });

  it('refuses an unknown circuit before sending anything (0 POSTs)', async () => {
    const panel = await h.panel();
    const t = h.transport(panel);
    const e = await rejectsWith(
      t.setRelay('ffffffffffffffffffffffffffffffff', 'OPEN', live()),
      'refused-command',
    );
    assert.match(e.message, /unknown circuit/);
    await t.readSnapshot(live());
    await rejectsWith(t.setRelay('nope', 'CLOSED', live()), 'refused-command');
    await rejectsWith(t.setRelay('', 'CLOSED', live()), 'refused-command');
    await rejectsWith(t.setRelay(DINING, 'UNKNOWN' as 'OPEN', live()), 'refused-command');
    assert.equal(panel.stats.count('POST'), 0);
  });

  it('a POST that times out is not repeated: outcome unknown, re-read, unconfirmed', async () => {
    const panel = await h.panel();
    const t = h.transport(panel, { requestTimeoutMs: 300 });
    await t.readSnapshot(live());
    panel.faults.hang({ path: circuitPath(DINING), method: 'POST' });
    const outcome = await t.setRelay(DINING, 'OPEN', live());
    assert.equal(outcome.result, 'unconfirmed');
    assert.equal(outcome.observed, 'CLOSED');
    assert.match(outcome.note ?? '', /reply to the command was lost .*timed out/);
    await sleep(400);
    assert.equal(panel.stats.count('POST', circuitPath(DINING)), 1);
  });

  it('a POST the panel rejects is reported, not retried', async () => {
    const panel = await h.panel();
    const t = h.transport(panel);
    await t.readSnapshot(live());
    panel.faults.status(500, { path: circuitPath(DINING), method: 'POST' });
    await rejectsWith(t.setRelay(DINING, 'OPEN', live()), 'server');
    assert.equal(panel.stats.count('POST', circuitPath(DINING)), 1);
  });

  it('the confirmation read failing leaves the outcome unconfirmed', async () => {
    const panel = await h.panel();
    const t = h.transport(panel);
    await t.readSnapshot(live());
    panel.faults.status(500, { path: circuitPath(DINING), method: 'GET' });
    const outcome = await t.setRelay(DINING, 'OPEN', live());
    assert.equal(outcome.result, 'unconfirmed');
    assert.equal(outcome.observed, null);
    assert.match(outcome.note ?? '', /confirmation read failed/);
    assert.equal(panel.state.circuit(DINING)?.relayState, 'OPEN');
  });

  it('setPriority POSTs once and is unconfirmed: v1 does not persist priority changes', async () => {
    const panel = await h.panel();
    const t = h.transport(panel);
    await t.readSnapshot(live());
    const outcome = await t.setPriority(DINING, 'OFF_GRID', live());
    assert.equal(outcome.result, 'unconfirmed');
    assert.equal(outcome.requested, 'OFF_GRID');
    assert.equal(outcome.observed, 'NEVER', 'the panel kept MUST_HAVE');
    assert.equal(outcome.note, 'v1 does not persist priority changes');
    assert.equal(panel.stats.count('POST', circuitPath(DINING)), 1);
  });

  it('register() outside the proximity window → auth with instructions', async () => {
    const panel = await h.panel();
    const t = h.transport(panel, { token: '' });
    const err = await rejectsWith(t.register('node-red-test', live()), 'auth');
    assert.equal(err.status, 403);
    assert.match(err.message, /press the door switch 3 times, then retry within 15 minutes/);
    assert.equal(panel.stats.count('POST', '/api/v1/auth/register'), 1);
  });

  it('register() inside the window returns a working token that never shows up in errors', async () => {
    const panel = await h.panel();
    await panel.faults.inject({ kind: 'proximity', open: true });
    const t = h.transport(panel, { token: '' });
    const { accessToken } = await t.register('node-red-test', live());
    assert.ok(accessToken.length > 20);
    const withToken = h.transport(panel, { token: accessToken });
    await withToken.readSnapshot(live());
    // Same name again: a client error, not auth.
    const dup = await rejectsWith(t.register('node-red-test', live()), 'client');
    assert.equal(dup.status, 409);
    // A revoked token: auth, and neither token appears anywhere in the error.
    await panel.faults.inject({ kind: 'token-revoked', token: accessToken });
    const err = await rejectsWith(withToken.readSnapshot(live()), 'auth');
    for (const secret of [accessToken, TOKEN]) assert.ok(!inspect(err, { depth: 10 }).includes(secret));
  });

  it('register() maps 401/412/422 to auth as well', async () => {
    for (const status of [401, 412, 422]) {
      const panel = await h.panel();
      panel.faults.status(status, { path: '/api/v1/auth/register' });
      const err = await rejectsWith(h.transport(panel, { token: '' }).register('x', live()), 'auth');
      assert.equal(err.status, status);
    }
  });
});
