/**
 * Credentials that change under a running connection: a v1 token revoked and restored, one revoked for
 * good, a broker login refused once (broker restart) or for good (the panel forgot us), a registration cut
 * short by the cycle deadline — plus per-circuit command ordering. Through the supervisor, against the
 * simulated panel. (The 5-minute probe ramp itself is checked under fake timers in supervisor.test.ts.)
 */
import assert from 'node:assert/strict';
import { FAST, sleep, TOKEN } from './helpers';
import { PASSPHRASE, startTransition, type TransitionHarness } from './transition-harness';

const CONNECT_SLACK_MS = 2500;

describe('credential changes through the supervisor (simulated panel)', function () {
  this.timeout(90_000);
  let h: TransitionHarness | null = null;
  afterEach(async () => {
    if (h) await h.close();
    h = null;
  });

  it('done when: v1 token revoked 20 s, then restored → online within 30 s of the restore', async () => {
    h = await startTransition({
      v2: { v2Disabled: true },
      config: { api: 'v1', token: TOKEN, intervalS: 1 },
    });
    await h.until('online', () => h!.onlineOver('v1'), 10_000);
    h.panel.faults.revokeTokens(TOKEN);
    await h.until('auth-failed', () => h!.sup.health.state === 'auth-failed', 5000);
    assert.equal(h.sup.health.errorClass, 'auth');
    await sleep(20_000 - 1000);
    h.panel.tokens.registerToken(TOKEN);
    const restoredAt = Date.now();
    const onlineAt = await h.until('online again', () => h!.onlineOver('v1'), 31_000);
    const took = onlineAt - restoredAt;
    assert.ok(took <= 30_000, `online ${took} ms after the restore`);
    console.log(`      token restored: online ${took} ms later`);
  });

  it('revoked for good: each probe while auth-failed is one request, and the probes ramp', async () => {
    h = await startTransition({
      v2: { v2Disabled: true },
      config: { api: 'auto', token: TOKEN, intervalS: 0.2 },
      tuning: { ...FAST, authProbeInitialMs: 250, authProbeMs: 1000 },
    });
    await h.until('online', () => h!.onlineOver('v1'), 5000);
    h.panel.faults.revokeTokens(TOKEN);
    await h.until('auth-failed', () => h!.sup.health.state === 'auth-failed', 3000);
    await sleep(50);
    h.panel.stats.reset();
    const cyclesBefore = h.sup.counters.cycles;
    await sleep(4000);
    const probes = h.sup.counters.cycles - cyclesBefore;
    const requests = h.panel.stats.total;
    // 250, 500, 1000, 1000… ms (±20 %): about 5 in 4 s, never a tight loop.
    assert.ok(probes >= 3 && probes <= 7, `${probes} probes in 4 s`);
    assert.ok(requests <= probes + 1, `${requests} requests for ${probes} probes`);
    assert.equal(requests, h.panel.stats.count('GET', '/api/v1/panel'), 'only the authenticated probe');
    assert.equal(h.sup.health.state, 'auth-failed');
  });

  it('a broker login refused once (broker restarting) is retried with the same login: no new registration', async () => {
    h = await startTransition({ config: { passphrase: PASSPHRASE, intervalS: 0.2 }, tuning: FAST });
    await h.until('online', () => h!.onlineOver('v2'), 5000);
    assert.equal(h.panel.stats.count('POST', '/api/v2/auth/register'), 1);
    await h.panel.faults.inject({ kind: 'login-refused', count: 1 });
    await h.until('refused', () => h!.v2.broker.authFailures >= 1, 5000);
    await h.until('online again', () => h!.onlineOver('v2'), 2000 + CONNECT_SLACK_MS);
    assert.equal(h.panel.stats.count('POST', '/api/v2/auth/register'), 1, 'still the one registration');
    assert.equal(h.store.saves, 1);
  });

  it('a broker login refused for good (the panel forgot us): exactly one new registration, then online', async () => {
    h = await startTransition({ config: { passphrase: PASSPHRASE, intervalS: 0.2 }, tuning: FAST });
    await h.until('online', () => h!.onlineOver('v2'), 5000);
    // Same passphrase, every broker password handed out so far stops working.
    await h.panel.faults.inject({ kind: 'passphrase-rotation', passphrase: PASSPHRASE });
    await h.panel.faults.inject({ kind: 'broker-down', durationMs: 100 });
    await h.until('online again', () => h!.store.saves === 2 && h!.onlineOver('v2'), 8000);
    await sleep(1000);
    assert.equal(h.panel.stats.count('POST', '/api/v2/auth/register'), 2, 'one new registration');
    assert.equal(h.sup.health.state, 'online');
  });

  it('auth-failed on v2: no reconnect loop runs behind the supervisor (one owner of retry timing)', async () => {
    h = await startTransition({
      config: { passphrase: PASSPHRASE, intervalS: 0.2 },
      tuning: { ...FAST, authProbeInitialMs: 2000, authProbeMs: 2000 },
    });
    await h.until('online', () => h!.onlineOver('v2'), 5000);
    // A new passphrase on the panel: the stored login and the configured passphrase both stop working.
    await h.panel.faults.inject({ kind: 'passphrase-rotation', passphrase: 'a-new-passphrase-4411' });
    await h.panel.faults.inject({ kind: 'broker-down', durationMs: 100 });
    await h.until('auth-failed', () => h!.sup.health.state === 'auth-failed', 8000);
    const refusals = h.v2.broker.authFailures;
    const cycles = h.sup.counters.cycles;
    await sleep(4500);
    const probes = h.sup.counters.cycles - cycles;
    const more = h.v2.broker.authFailures - refusals;
    assert.ok(probes <= 3, `${probes} probes in 4.5 s`);
    assert.ok(more <= probes, `${more} broker logins for ${probes} supervisor probes`);
    assert.equal(h.sup.health.state, 'auth-failed');
  });

  it('a registration cut short by the cycle deadline is joined, not repeated: one POST, then online', async () => {
    h = await startTransition({
      config: { passphrase: PASSPHRASE, intervalS: 0.2 },
      tuning: FAST, // cycle deadline 2 s
      before: (panel) => {
        panel.faults.delay(3000, { path: '/api/v2/auth/register', method: 'POST', count: 1 });
      },
    });
    await h.until('online', () => h!.onlineOver('v2'), 3000 + 2000 + CONNECT_SLACK_MS);
    assert.ok(h.sup.counters.failures >= 1, 'the first cycle gave up waiting');
    assert.equal(h.panel.stats.count('POST', '/api/v2/auth/register'), 1, 'one registration on the panel');
    assert.equal(h.store.saves, 1);
  });

  it('relay commands to one circuit run one at a time, in arrival order', async () => {
    h = await startTransition({
      v2: { v2Disabled: true },
      config: { api: 'v1', token: TOKEN, intervalS: 0.2 },
      tuning: FAST,
    });
    await h.until('online', () => h!.onlineOver('v1'), 5000);
    const circuit = h.panel.state.circuits.find((c) => c.isUserControllable)!;
    // The first command is slow to reach the panel; the second must not overtake it.
    h.panel.faults.delay(300, { path: `/api/v1/circuits/${circuit.id}`, method: 'POST', count: 1 });
    const first = h.sup.setRelay(circuit.id, 'OPEN');
    const second = h.sup.setRelay(circuit.id, 'CLOSED');
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.requested, 'OPEN');
    assert.equal(b.result, 'confirmed');
    assert.equal(h.panel.state.circuits.find((c) => c.id === circuit.id)!.relayState, 'CLOSED');
  });
});
