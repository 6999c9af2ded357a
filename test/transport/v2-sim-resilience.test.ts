import assert from 'node:assert/strict';
import type { PanelSnapshot } from '../../src/model/panel';
import { PanelError } from '../../src/transport/errors';
import {
  deadline,
  reconnectAsSupervisorWould,
  rejectsWith,
  V2Harness,
  waitFor,
  type V2Panel,
} from './v2-helpers';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Connection resilience against the simulated panel (docs/resilience.md §6 and §7 #16): broker outages, CA rotation, CA downloads failing
 * mid-outage, retained wipe and replay, Homie $state, stale data, login refusal. The transport never tries
 * again on its own (the supervisor owns retry timing, see src/transport/transport.ts): where a test needs
 * reconnects, `h.keepTrying(t)` plays the supervisor's cycles with a probe every 50 ms.
 */

async function connected(t: { isConnected: boolean }, ms = 8000): Promise<void> {
  await waitFor(() => t.isConnected, ms, 'the transport to connect');
}

async function disconnected(t: { isConnected: boolean }, ms = 8000): Promise<void> {
  await waitFor(() => !t.isConnected, ms, 'the transport to notice the disconnect');
}

describe('v2 transport resilience on the simulated panel', function () {
  this.timeout(30_000);
  const h = new V2Harness();
  afterEach(async () => {
    h.assertNoViolations(); // never a publish outside …/set, never a will, never a retained command
    h.assertNoSecrets();
    await h.cleanup();
  });

  for (const model of ['flat', 'parent-child'] as const) {
    it(`${model}: broker down for a while, then up → reconnects on the attempts asked for and reports both changes`, async () => {
      const p = await h.panel(model);
      const t = h.transport(p);
      const changes: boolean[] = [];
      t.onConnectionChange((up) => changes.push(up));
      await t.readSnapshot(deadline(5000));
      h.keepTrying(t);
      await p.panel.faults.inject({ kind: 'broker-down' });
      await disconnected(t);
      const down = await rejectsWith(t.readSnapshot(deadline(2000)));
      h.sawError(down);
      assert.ok(['refused', 'broker', 'timeout'].includes(down.errorClass), down.errorClass);
      await new Promise((r) => setTimeout(r, 700)); // several failed attempts, one per probe
      assert.ok(t.stats.connectAttempts >= 4, `attempts while down: ${t.stats.connectAttempts}`);
      assert.ok(t.stats.rebuilds >= 2, 'three consecutive failures rebuild the client (CA fetched again)');
      assert.ok(t.stats.caFetches >= 2);
      await p.panel.faults.inject({ kind: 'broker-up' });
      await connected(t);
      const snap = await t.readSnapshot(deadline(5000));
      assert.equal(Object.keys(snap.circuits).length, p.panel.state.circuits.length);
      assert.deepEqual(changes, [true, false, true]);
    });
  }

  it('CA rotated while running → the next attempts re-fetch the CA, rebuild and are connected again', async () => {
    const p = await h.panel('flat');
    const t = h.transport(p);
    await t.readSnapshot(deadline(5000));
    h.keepTrying(t);
    const oldCa = p.v2.caPem;
    await p.panel.faults.inject({ kind: 'ca-rotation' });
    assert.notEqual(p.v2.caPem, oldCa);
    await waitFor(() => t.stats.caChanges >= 1 && t.isConnected, 10_000, 'reconnect with the new CA');
    assert.ok(t.stats.rebuilds >= 2);
    assert.ok(p.v2.broker.tlsFailures >= 1, 'the old pinned CA was refused at least once');
    await t.readSnapshot(deadline(5000));
  });

  it('a CA download answering 502 during an outage does not stop the attempts', async () => {
    const p = await h.panel('parent-child');
    const t = h.transport(p);
    await t.readSnapshot(deadline(5000));
    h.keepTrying(t);
    await p.panel.faults.inject({ kind: 'broker-down' });
    const fault = p.panel.faults.status(502, { path: '/api/v2/certificate/ca' });
    // The CA changes while the panel is down (a firmware upgrade): the old one cannot work any more.
    await p.panel.faults.inject({ kind: 'ca-rotation' });
    await waitFor(() => t.stats.caFetchFailures >= 2, 10_000, 'CA fetches failing with 502');
    const attempts = t.stats.connectAttempts;
    await waitFor(() => t.stats.connectAttempts > attempts, 5000, 'the attempts to go on with the old CA');
    assert.ok(
      h.logs.some((l) => l.startsWith('debug') && /CA failed .*502/.test(l)),
      'CA failure logged at debug',
    );
    assert.ok(!h.logs.some((l) => l.startsWith('warn')), 'the supervisor above owns warnings');
    await p.panel.faults.clear(fault);
    await p.panel.faults.inject({ kind: 'broker-up' });
    await connected(t, 10_000);
    assert.ok(t.stats.caChanges >= 1);
    await t.readSnapshot(deadline(5000));
  });

  it('retained values wiped and replayed: no null turned into 0, no energy going backwards', async () => {
    const p = await h.panel('flat', { tickMs: 100 });
    const t = h.transport(p);
    await waitFor(async () => {
      const s = await t.readSnapshot(deadline(3000));
      return Object.values(s.circuits).every((c) => c.consumedEnergyWh !== null) ? s : null;
    });
    const seen: PanelSnapshot[] = [];
    const wipe = p.panel.faults.inject({ kind: 'retained-wipe', replayAfterMs: 400, valuesDelayMs: 100 });
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      try {
        seen.push(await t.readSnapshot(deadline(1000)));
      } catch (e) {
        assert.ok(e instanceof PanelError, String(e)); // `$state init` during the replay is a clean failure
      }
      await new Promise((r) => setTimeout(r, 15));
    }
    await wipe;
    seen.push(await t.readSnapshot(deadline(3000)));

    const counters = (s: PanelSnapshot): Record<string, number | null> => {
      const out: Record<string, number | null> = {
        'main.consumed': s.panel.mainMeterEnergy.consumedEnergyWh,
        'main.produced': s.panel.mainMeterEnergy.producedEnergyWh,
      };
      for (const c of Object.values(s.circuits)) {
        out[`circuit.${c.id}.consumed`] = c.consumedEnergyWh;
        out[`circuit.${c.id}.produced`] = c.producedEnergyWh;
      }
      return out;
    };
    const last = new Map<string, number>();
    let sawUnknown = false;
    for (const s of seen) {
      assert.deepEqual(s.energyRegressions, []);
      assert.notEqual(s.panel.gridPowerW, 0, 'grid power is never fabricated as 0');
      for (const [k, v] of Object.entries(counters(s))) {
        if (v === null) {
          sawUnknown = true;
          continue;
        }
        assert.notEqual(v, 0, `${k} read 0`);
        assert.ok(v >= (last.get(k) ?? -Infinity), `${k} went backwards: ${last.get(k)} → ${v}`);
        last.set(k, v);
      }
    }
    assert.ok(sawUnknown, 'a snapshot taken during the wipe reported values as unknown (null)');
    const final = seen[seen.length - 1];
    assert.ok(
      Object.values(counters(final)).every((v) => v !== null && v > 0),
      'all values back after replay',
    );
  });

  it('Homie $state not ready → readSnapshot throws with the state; a lost root takes the children with it', async () => {
    const p = await h.panel('parent-child');
    const t = h.transport(p);
    await t.readSnapshot(deadline(5000));
    await p.panel.faults.inject({ kind: 'homie-state', state: 'init' });
    const e1 = await waitFor(() =>
      t.readSnapshot(deadline(1000)).then(
        () => null,
        (e: PanelError) => e,
      ),
    );
    assert.equal(e1.errorClass, 'server');
    assert.match(e1.message, /"init"/);
    await p.panel.faults.inject({ kind: 'homie-state', state: 'lost' });
    await waitFor(() =>
      t.readSnapshot(deadline(1000)).then(
        () => null,
        (e: PanelError) => /"lost"/.test(e.message),
      ),
    );
    const circuit = p.panel.state.circuits.find((c) => c.isUserControllable) as { id: string };
    await rejectsWith(t.setRelay(circuit.id, 'OPEN', deadline(2000)), 'refused-command');
    assert.equal(p.v2.commandLog.length, 0);
    await p.panel.faults.inject({ kind: 'homie-state', state: 'ready' });
    await waitFor(() =>
      t.readSnapshot(deadline(1000)).then(
        () => true,
        () => false,
      ),
    );
  });

  it('no update for staleAfterMs while connected → stale-data', async () => {
    const p = await h.panel('flat'); // tickMs 0: nothing changes, so nothing is published after the replay
    const t = h.transport(p, { staleAfterMs: 400 });
    await t.readSnapshot(deadline(5000));
    await new Promise((r) => setTimeout(r, 600));
    const e = await rejectsWith(t.readSnapshot(deadline(1000)), 'stale-data');
    h.sawError(e);
    p.panel.state.tick(Date.now() + 1000); // the panel publishes again
    await waitFor(() =>
      t.readSnapshot(deadline(1000)).then(
        () => true,
        () => false,
      ),
    );
  });

  it('a refused broker login is classified auth; no login again until reset() (the supervisor owns that retry)', async () => {
    const p = await h.panel('flat');
    const t = h.transport(p, {
      credentials: { brokerPassword: 'not-the-password', serial: p.panel.state.identity.serial },
    });
    const e = await rejectsWith(t.readSnapshot(deadline(5000)), 'auth');
    h.sawError(e);
    const refused = p.v2.broker.authFailures;
    await sleep(2500);
    assert.equal(p.v2.broker.authFailures, refused, 'no reconnect loop of its own after a refused login');
    await rejectsWith(t.readSnapshot(deadline(1000)), 'auth');
    assert.equal(p.v2.broker.authFailures, refused, 'a read after the refusal does not log in again');
    t.reset();
    await waitFor(() => p.v2.broker.authFailures > refused, 5000, 'another login after reset()');
    h.assertNoSecrets(['not-the-password']);
  });

  it('a lost connection is reported once and not retried by the transport: the next attempt is asked for', async () => {
    const p = await h.panel('flat');
    const t = h.transport(p);
    const changes: Array<[boolean, string | undefined]> = [];
    t.onConnectionChange((up, e) => changes.push([up, e && (e as PanelError).errorClass]));
    await t.readSnapshot(deadline(5000));
    await p.panel.faults.inject({ kind: 'broker-down' });
    await disconnected(t);
    const attempts = t.stats.connectAttempts;
    await sleep(1000);
    assert.equal(t.stats.connectAttempts, attempts, 'no reconnect loop of its own while the broker is down');
    await p.panel.faults.inject({ kind: 'broker-up' });
    await sleep(500);
    assert.equal(t.isConnected, false, 'not reconnected behind the caller');
    assert.equal(t.stats.connectAttempts, attempts);
    await reconnectAsSupervisorWould(t);
    assert.equal(t.stats.connectAttempts, attempts + 1, 'one attempt, when asked');
    assert.deepEqual(changes, [
      [true, undefined],
      [false, changes[1]?.[1]],
      [true, undefined],
    ]);
    assert.ok(['refused', 'broker'].includes(String(changes[1][1])), `lost: ${String(changes[1][1])}`);
  });

  it('a refused TLS handshake is reported through the connection change, and the next attempt re-fetches the CA', async () => {
    const p = await h.panel('flat');
    const t = h.transport(p);
    const changes: Array<[boolean, string | undefined]> = [];
    t.onConnectionChange((up, e) => changes.push([up, e && (e as PanelError).errorClass]));
    await t.readSnapshot(deadline(5000));
    const fetches = t.stats.caFetches;
    await p.panel.faults.inject({ kind: 'ca-rotation' });
    await disconnected(t);
    // The first attempt still pins the old CA: TLS refuses it.
    const e = await rejectsWith(t.probe(deadline(5000)), 'tls');
    h.sawError(e);
    assert.equal(t.stats.caFetches, fetches, 'that attempt used the CA it had');
    await reconnectAsSupervisorWould(t);
    assert.equal(t.stats.caFetches, fetches + 1, 'the attempt after a TLS failure fetched the CA again');
    assert.equal(t.stats.caChanges, 1);
    assert.deepEqual(
      changes.map(([up]) => up),
      [true, false, true],
    );
  });

  it('reset() drops the connection and rebuilds at once; close() ends everything', async () => {
    const p: V2Panel = await h.panel('flat');
    const t = h.transport(p);
    await t.readSnapshot(deadline(5000));
    const rebuilds = t.stats.rebuilds;
    t.reset();
    await waitFor(() => t.stats.rebuilds > rebuilds && t.isConnected, 5000, 'rebuilt and connected');
    await t.readSnapshot(deadline(5000));
    await t.close();
    await t.close(); // idempotent
    await rejectsWith(t.readSnapshot(deadline(1000)), 'canceled');
    await rejectsWith(t.setRelay('x', 'OPEN', deadline(1000)), 'refused-command');
  });
});
