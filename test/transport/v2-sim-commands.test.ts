import assert from 'node:assert/strict';
import type { SimCircuit } from '../../simulator/state-types';
import { deadline, reconnectAsSupervisorWould, rejectsWith, V2Harness, waitFor } from './v2-helpers';

/**
 * Relay and priority commands over MQTT against the simulated panel: sent once on the data model's `/set`
 * topic, confirmed by the panel republishing the value, refused before anything is published for unknown or
 * locked circuits and while disconnected — and never delivered later from a queue.
 */

describe('v2 commands on the simulated panel', function () {
  this.timeout(30_000);
  const h = new V2Harness();
  afterEach(async () => {
    h.assertNoViolations();
    h.assertNoSecrets();
    await h.cleanup();
  });

  const controllable = (cs: SimCircuit[]) =>
    cs.find((c) => c.isUserControllable && c.relayState === 'CLOSED' && !c.isNeverBackup) as SimCircuit;
  const locked = (cs: SimCircuit[]) => cs.find((c) => !c.isUserControllable) as SimCircuit;

  for (const model of ['flat', 'parent-child'] as const) {
    it(`${model}: relay round trip confirmed by the republished value`, async () => {
      const p = await h.panel(model);
      const t = h.transport(p);
      await t.readSnapshot(deadline(5000));
      const c = controllable(p.panel.state.circuits);
      const open = await t.setRelay(c.id, 'OPEN', deadline(5000));
      assert.deepEqual(open, { result: 'confirmed', circuitId: c.id, requested: 'OPEN', observed: 'OPEN' });
      assert.equal(p.panel.state.circuit(c.id)?.relayState, 'OPEN');
      const snap = await t.readSnapshot(deadline(2000));
      assert.equal(snap.circuits[c.id].relay, 'OPEN');
      const expectedTopic =
        model === 'flat'
          ? `ebus/5/${p.panel.state.identity.serial}/${c.id}/relay/set`
          : `ebus/5/${c.id}/switch/relay/set`;
      assert.deepEqual(
        p.v2.commandLog.map((r) => [r.topic, r.payload, r.outcome]),
        [[expectedTopic, 'OPEN', 'applied']],
      );
      const close = await t.setRelay(c.id, 'CLOSED', deadline(5000));
      assert.equal(close.result, 'confirmed');
      assert.equal(t.stats.publishes, 2);
    });

    it(`${model}: priority round trip on the data model's priority topic`, async () => {
      const p = await h.panel(model);
      const t = h.transport(p);
      await t.readSnapshot(deadline(5000));
      const c = controllable(p.panel.state.circuits);
      const target = c.priority === 'NON_ESSENTIAL' ? 'SOC_THRESHOLD' : 'OFF_GRID';
      const out = await t.setPriority(c.id, target, deadline(5000));
      assert.equal(out.result, 'confirmed');
      assert.equal(out.observed, target);
      const topic = p.v2.commandLog[0].topic;
      assert.ok(topic.endsWith(model === 'flat' ? '/shed-priority/set' : '/load-shed/priority/set'), topic);
      const snap = await t.readSnapshot(deadline(2000));
      assert.equal(snap.circuits[c.id].priority, target);
    });

    it(`${model}: a locked or unknown circuit is refused with 0 publishes`, async () => {
      const p = await h.panel(model);
      const t = h.transport(p);
      await t.readSnapshot(deadline(5000));
      const c = locked(p.panel.state.circuits);
      h.sawError(await rejectsWith(t.setRelay(c.id, 'OPEN', deadline(2000)), 'refused-command'));
      h.sawError(await rejectsWith(t.setPriority(c.id, 'OFF_GRID', deadline(2000)), 'refused-command'));
      h.sawError(
        await rejectsWith(
          t.setRelay('00000000000000000000000000000000', 'OPEN', deadline(2000)),
          'refused-command',
        ),
      );
      await rejectsWith(t.setRelay(c.id, 'UNKNOWN' as 'OPEN', deadline(2000)), 'refused-command');
      await p.v2.settled();
      assert.equal(t.stats.publishes, 0);
      assert.deepEqual(p.v2.commandLog, []);
      assert.equal(p.panel.state.circuit(c.id)?.relayState, 'CLOSED');
    });
  }

  it('a command already in force is confirmed by the broker acknowledgement (the panel republishes nothing)', async () => {
    const p = await h.panel('flat');
    const t = h.transport(p);
    await t.readSnapshot(deadline(5000));
    const c = controllable(p.panel.state.circuits);
    const out = await t.setRelay(c.id, 'CLOSED', deadline(5000));
    assert.equal(out.result, 'confirmed');
    assert.match(out.note ?? '', /already/);
    await waitFor(() => p.v2.commandLog.length === 1, 2000, 'the command to reach the panel');
    assert.equal(p.v2.commandLog[0].outcome, 'unchanged');
  });

  it('no confirmation within the timeout → unconfirmed (sent once, never repeated)', async () => {
    const p = await h.panel('parent-child');
    const t = h.transport(p, { commandTimeoutMs: 300 });
    await t.readSnapshot(deadline(5000));
    const c = controllable(p.panel.state.circuits);
    // The panel silently ignores the command: it was locked behind our back (no change published yet).
    (p.panel.state.circuit(c.id) as SimCircuit).isUserControllable = false;
    const out = await t.setRelay(c.id, 'OPEN', deadline(5000));
    assert.equal(out.result, 'unconfirmed');
    assert.match(out.note ?? '', /did not report OPEN within 300 ms/);
    assert.equal(t.stats.publishes, 1);
    await waitFor(() => p.v2.commandLog.length === 1, 2000, 'the command to reach the panel');
    assert.equal(p.v2.commandLog[0].outcome, 'ignored');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(p.v2.commandLog.length, 1, 'never repeated');
  });

  it('while disconnected a command is refused, and nothing is delivered after the reconnect', async () => {
    const p = await h.panel('flat');
    const t = h.transport(p);
    await t.readSnapshot(deadline(5000));
    const c = controllable(p.panel.state.circuits);
    await p.panel.faults.inject({ kind: 'broker-down' });
    await waitFor(() => !t.isConnected, 5000);
    h.sawError(await rejectsWith(t.setRelay(c.id, 'OPEN', deadline(2000)), 'refused-command'));
    await p.panel.faults.inject({ kind: 'broker-up' });
    await reconnectAsSupervisorWould(t);
    assert.ok(t.isConnected);
    await t.readSnapshot(deadline(5000));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(p.v2.commandLog, [], 'no queued command reached the panel');
    assert.equal(p.panel.state.circuit(c.id)?.relayState, 'CLOSED');
  });

  it('onData is coalesced: the retained burst of hundreds of messages is a handful of notifications', async () => {
    const p = await h.panel('parent-child');
    const t = h.transport(p);
    let calls = 0;
    t.onData(() => calls++);
    await t.readSnapshot(deadline(5000));
    const topics = p.v2.publisher.retainedTopics().length;
    assert.ok(topics > 200, `retained topics: ${topics}`);
    assert.ok(calls >= 1 && calls < topics / 4, `onData calls: ${calls} for ${topics} retained topics`);
    const before = calls;
    const c = controllable(p.panel.state.circuits);
    await t.setRelay(c.id, 'OPEN', deadline(5000));
    await waitFor(() => calls > before, 2000, 'a notification for the change');
  });
});
