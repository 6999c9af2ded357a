/**
 * "Never stuck on a stale API decision": an `auto` connection follows the panel through the v1 sunset,
 * a firmware upgrade and a v2 service that starts late, without a redeploy. The done-when bounds run with the
 * timing as shipped (interval 1 s / 5 s, 10 s backoff cap); the other cases with the scaled FAST timing.
 */
import assert from 'node:assert/strict';
import type { V2Transport } from '../../src/transport/v2';
import { FAST, FAST_RECOVERY_BOUND_MS, TOKEN } from './helpers';
import {
  PASSPHRASE,
  startTransition,
  visibleTransitions,
  type TransitionHarness,
} from './transition-harness';

/** FAST, with the interval floor lifted for loopback and the /api/v2/status check due after 1 s. */
const SCALED = { ...FAST, apiCheck: { checkInitialMs: 1000, checkMaxMs: 4000 } };
/** Connecting to the broker and receiving the retained tree on loopback, on a loaded CI machine. */
const CONNECT_SLACK_MS = 2500;

describe('API transitions through the supervisor (auto, simulated panel, real MQTT over TLS)', function () {
  this.timeout(90_000);
  let h: TransitionHarness | null = null;
  afterEach(async () => {
    if (h) await h.close();
    h = null;
  });

  it('done when: 404 on /api/v2/status for 15 s after deploy (v1 off) → online over MQTT within 60 s', async () => {
    h = await startTransition({
      v2: { v1Disabled: true },
      config: { intervalS: 5, passphrase: PASSPHRASE },
      before: (panel) => {
        panel.faults.status(404, { path: '/api/v2/status', durationMs: 15_000 });
      },
    });
    const onlineAt = await h.until('online over v2', () => h!.onlineOver('v2'), 60_000);
    const took = onlineAt - h.startedAt;
    assert.ok(took <= 60_000 && took >= 15_000, `online over MQTT ${took} ms after deploy`);
    assert.ok(
      h.health.every((e) => e.api !== 'v1'),
      'a 404 on /api/v2/status was never taken for "v1"',
    );
    assert.ok((h.sup.activeTransport as V2Transport).stats.connections >= 1, 'connected to the broker');
    assert.equal(h.store.saves, 1, 'registered once');
  });

  for (const status of [502, 503, 404] as const) {
    it(`HTTP ${status} during detection at start-up: retried with backoff, online over v2 within the bound`, async () => {
      const faultMs = 1500;
      h = await startTransition({
        // 404: the v2 service is still starting and v1 is off; 502/503: the whole panel is busy.
        v2: { v1Disabled: status === 404 },
        config: { intervalS: 0.2, passphrase: PASSPHRASE },
        tuning: SCALED,
        before: (panel) => {
          panel.faults.status(status, {
            path: status === 404 ? '/api/v2/status' : undefined,
            durationMs: faultMs,
          });
        },
      });
      await h.until('detection failing', () => h!.sup.counters.failures >= 1, 3000);
      assert.equal(h.sup.health.state, 'connecting');
      const onlineAt = await h.until(
        'online over v2',
        () => h!.onlineOver('v2'),
        faultMs + FAST_RECOVERY_BOUND_MS + CONNECT_SLACK_MS,
      );
      assert.ok(onlineAt - h.startedAt >= faultMs - 100);
      assert.ok(h.health.every((e) => e.api !== 'v1'));
      assert.ok(h.sup.counters.failures >= 2, 'detection was retried, not decided once');
    });
  }

  it('a panel with both APIs whose v2 status answers 404 at first: v1, then v2 at the next check, logged once', async () => {
    h = await startTransition({
      config: { intervalS: 0.2, token: TOKEN, passphrase: PASSPHRASE },
      tuning: SCALED,
      before: (panel) => {
        panel.faults.status(404, { path: '/api/v2/status', count: 1 });
      },
    });
    await h.until('online over v1', () => h!.onlineOver('v1'), 5000);
    const onV2 = await h.until('online over v2', () => h!.onlineOver('v2'), 1000 + 1200 + CONNECT_SLACK_MS);
    assert.ok(onV2 - h.startedAt <= 1200 + 1200 + CONNECT_SLACK_MS);
    const changes = h.logger.lines.filter((l) => /API changed from v1 to v2/.test(l.msg));
    assert.equal(changes.length, 1, 'the switch is logged once');
    // span-status sees online (v1) → connecting (switching) → online (v2), with api and dataModel.
    const seen = visibleTransitions(h);
    assert.deepEqual(seen.slice(0, 2), ['connecting:-', 'online:v1']);
    assert.ok(seen.includes('online:v2'), seen.join(' '));
    assert.equal(h.sup.health.dataModel, 'v2-flat');
    assert.equal(h.sup.health.legacyApi, false);
  });

  it('v1 sunset at runtime (/api/v1/* answers 404, v2 on): re-detects after a few failed cycles, online over v2', async () => {
    h = await startTransition({
      v2: { v2Disabled: true },
      config: { intervalS: 0.2, token: TOKEN, passphrase: PASSPHRASE },
      tuning: SCALED,
    });
    await h.until('online over v1', () => h!.onlineOver('v1'), 5000);
    await h.panel.faults.inject({ kind: 'v2-enabled' });
    await h.panel.faults.inject({ kind: 'v1-disabled' });
    const sunsetAt = Date.now();
    // 3 failed cycles at P, then detection, registration and the MQTT connection.
    const onlineAt = await h.until(
      'online over v2',
      () => h!.onlineOver('v2'),
      3 * 200 + FAST_RECOVERY_BOUND_MS + CONNECT_SLACK_MS,
    );
    assert.ok(onlineAt - sunsetAt > 0);
    assert.equal(h.logger.lines.filter((l) => /API changed from v1 to v2/.test(l.msg)).length, 1);
    assert.ok(h.panel.stats.count('GET', '/api/v2/status') >= 1);
  });

  it('done when: v1 → v2 firmware upgrade at runtime with token and passphrase → online over MQTT within 45 s', async () => {
    h = await startTransition({
      v2: { v2Disabled: true },
      config: { intervalS: 5, token: TOKEN, passphrase: PASSPHRASE },
    });
    await h.until('online over v1', () => h!.onlineOver('v1'), 10_000);
    assert.equal(h.sup.health.legacyApi, true);
    const downMs = 8000;
    await h.panel.faults.inject({ kind: 'firmware-upgrade', downMs });
    const answersAgainAt = Date.now() + downMs;
    const onlineAt = await h.until('online over v2', () => h!.onlineOver('v2'), downMs + 45_000);
    const took = onlineAt - answersAgainAt;
    assert.ok(took <= 45_000, `online over MQTT ${took} ms after the panel answered again`);
    assert.equal(h.sup.health.dataModel, 'v2-flat');
    assert.ok((h.sup.activeTransport as V2Transport).stats.connections >= 1);
    assert.equal(h.store.saves, 1, 'one registration with the passphrase');
    assert.equal(h.logger.lines.filter((l) => /API changed from v1 to v2/.test(l.msg)).length, 1);
    console.log(`      upgrade: online over MQTT ${took} ms after the panel answered again`);
  });

  it('done when: the same upgrade with only the v1 token → within 45 s "needs registration"; registering brings it online', async () => {
    h = await startTransition({
      v2: { v2Disabled: true },
      config: { intervalS: 5, token: TOKEN },
    });
    await h.until('online over v1', () => h!.onlineOver('v1'), 10_000);
    const downMs = 5000;
    await h.panel.faults.inject({ kind: 'firmware-upgrade', downMs });
    const answersAgainAt = Date.now() + downMs;
    const saidAt = await h.until(
      'needs-registration',
      () => h!.sup.health.state === 'auth-failed' && h!.sup.health.errorClass === 'needs-registration',
      downMs + 45_000,
    );
    assert.ok(saidAt - answersAgainAt <= 45_000, `said so ${saidAt - answersAgainAt} ms after`);
    assert.match(h.sup.health.reason, /passphrase/);
    assert.match(h.sup.health.reason, /door/);
    assert.equal(h.sup.health.api, 'v2');
    assert.equal(h.panel.stats.count('POST', '/api/v2/auth/register'), 0, 'no blind registration');
    assert.equal(h.logger.lines.filter((l) => /registration needed/.test(l.msg)).length, 1);
    assert.equal(h.logger.lines.filter((l) => /API changed from v1 to v2/.test(l.msg)).length, 1);
    // The user registers from the editor (stored, then the connection is told): online without a redeploy.
    const creds = h.v2.issueBrokerCredentials();
    h.store.save({
      accessToken: 'editor-token',
      brokerUsername: creds.username,
      brokerPassword: creds.password,
      serial: creds.username,
    });
    const registeredAt = Date.now();
    h.sup.reconnect('credentials registered from the editor');
    const onlineAt = await h.until('online over v2', () => h!.onlineOver('v2'), 10_000);
    assert.ok(onlineAt - registeredAt <= 5000, `online ${onlineAt - registeredAt} ms after registering`);
    assert.equal(h.logger.lines.filter((l) => /API changed/.test(l.msg)).length, 1, 'logged once');
  });
});
