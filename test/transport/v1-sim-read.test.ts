import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { PanelError } from '../../src/transport/errors';
import { Harness, live, rejectsWith, sleep, TOKEN, watchUnhandledRejections } from './v1-helpers';

const STATUS = '/api/v1/status';
const PANEL = '/api/v1/panel';
const CIRCUITS = '/api/v1/circuits';
const SOE = '/api/v1/storage/soe';

describe('v1 transport against the simulated panel: reading and error classes', function () {
  this.timeout(20000);
  const h = new Harness();
  afterEach(() => h.cleanup());
  watchUnhandledRejections();

  it('reads one snapshot with four parallel GETs and normalizes it', async () => {
    const panel = await h.panel();
    const t = h.transport(panel);
    assert.equal(t.dataModel, null);
    const snap = await t.readSnapshot(live());
    assert.equal(t.dataModel, 'v1-rest');
    assert.equal(snap.panel.serial, panel.state.identity.serial);
    assert.equal(Object.keys(snap.circuits).length, panel.state.circuits.length);
    for (const c of panel.state.circuits) {
      const n = snap.circuits[c.id];
      assert.equal(n.powerRawW, c.instantPowerW);
      assert.equal(n.powerW, c.instantPowerW === 0 ? 0 : -c.instantPowerW);
      assert.equal(n.controllable, c.isUserControllable);
      assert.equal(n.priorityRaw, c.priority);
    }
    assert.equal(snap.battery?.socPercent, Math.round(panel.state.soePercent ?? NaN));
    for (const p of [STATUS, PANEL, CIRCUITS, SOE]) assert.equal(panel.stats.count('GET', p), 1, p);
    assert.equal(panel.stats.total, 4);
  });

  it('treats a missing storage endpoint (404) as "no battery", not as a failure', async () => {
    const panel = await h.panel();
    panel.faults.status(404, { path: SOE });
    const snap = await h.transport(panel).readSnapshot(live());
    assert.equal(snap.battery, null);
  });

  it('holds an energy counter that dips after a reboot (SPAN #87) and reports it', async () => {
    const panel = await h.panel();
    const t = h.transport(panel);
    const before = await t.readSnapshot(live());
    await panel.faults.reboot({ counterDipWh: 50_000 });
    const after = await t.readSnapshot(live());
    assert.ok(after.energyRegressions.length > 0, 'regressions reported');
    for (const r of after.energyRegressions) {
      assert.equal(r.action, 'held');
      assert.ok(r.reportedWh < r.previousWh);
    }
    assert.ok(
      (after.panel.mainMeterEnergy.consumedEnergyWh ?? 0) >=
        (before.panel.mainMeterEnergy.consumedEnergyWh ?? 0),
      'emitted main counter never decreases',
    );
  });

  it('connection refused → refused', async () => {
    const panel = await h.panel();
    const t = h.transport(panel);
    await panel.faults.refuse();
    const err = await rejectsWith(t.readSnapshot(live()), 'refused');
    assert.equal(err.code, 'ECONNREFUSED');
  });

  it('hang → timeout after the request timeout, not retried', async () => {
    const panel = await h.panel();
    panel.faults.hang({ path: STATUS });
    const t = h.transport(panel, { requestTimeoutMs: 300 });
    const started = Date.now();
    const err = await rejectsWith(t.readSnapshot(live()), 'timeout');
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
    assert.match(err.message, /GET \/api\/v1\/status/);
    assert.equal(panel.stats.count('GET', STATUS), 1, 'a timeout is never retried');
  });

  it('the caller’s deadline (supervisor abort) → timeout; shutdown → canceled', async () => {
    const panel = await h.panel();
    panel.faults.hang();
    const t = h.transport(panel, { requestTimeoutMs: 5000 });
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(new PanelError('timeout', 'cycle deadline')), 200);
    const err = await rejectsWith(t.readSnapshot(deadline.signal), 'timeout');
    assert.match(err.message, /cycle deadline/);

    const pending = t.probe(live());
    await sleep(100);
    const settled = rejectsWith(pending, 'canceled');
    await t.close();
    await settled;
    assert.equal(panel.stats.count('GET', STATUS), 2, 'no retry of canceled or aborted requests');
  });

  for (const [status, cls] of [
    [502, 'gateway'],
    [503, 'gateway'],
    [504, 'gateway'],
    [500, 'server'],
    [429, 'rate-limited'],
    [404, 'client'],
  ] as const) {
    it(`HTTP ${status} → ${cls}`, async () => {
      const panel = await h.panel();
      panel.faults.status(status, { path: PANEL });
      const err = await rejectsWith(h.transport(panel).readSnapshot(live()), cls);
      assert.equal(err.status, status);
      assert.match(err.message, new RegExp(`GET /api/v1/panel: HTTP ${status}`));
    });
  }

  it('503 with Retry-After → rate-limited with the delay parsed', async () => {
    const panel = await h.panel();
    panel.faults.status(503, { path: STATUS, retryAfterS: 7 });
    const err = await rejectsWith(h.transport(panel).readSnapshot(live()), 'rate-limited');
    assert.equal(err.retryAfterMs, 7000);
  });

  it('401 (bad or revoked token) and 412 (no token) → auth; the token never appears', async () => {
    const panel = await h.panel();
    const wrong = await rejectsWith(
      h.transport(panel, { token: 'wrong-token' }).readSnapshot(live()),
      'auth',
    );
    assert.equal(wrong.status, 401);
    const none = await rejectsWith(h.transport(panel, { token: '' }).readSnapshot(live()), 'auth');
    assert.equal(none.status, 412);
    const t = h.transport(panel);
    await t.readSnapshot(live());
    await panel.faults.inject({ kind: 'token-revoked', token: TOKEN });
    const revoked = await rejectsWith(t.readSnapshot(live()), 'auth');
    assert.equal(revoked.status, 401);
    for (const e of [wrong, none, revoked]) {
      assert.ok(!inspect(e, { depth: 10 }).includes(TOKEN));
      assert.ok(!JSON.stringify(e).includes(TOKEN));
    }
  });

  it('5xx, timeouts and refused connections are never auth (SPAN #29)', async () => {
    const panel = await h.panel();
    const t = h.transport(panel, { requestTimeoutMs: 200 });
    const classes = new Set<string>();
    for (const inject of [
      () => panel.faults.status(502, { count: 8 }),
      () => panel.faults.status(500, { count: 8 }),
      () => panel.faults.hang({ count: 4 }),
    ]) {
      inject();
      classes.add((await rejectsWith(t.readSnapshot(live()))).errorClass);
      await panel.faults.clear();
    }
    await panel.faults.refuse();
    classes.add((await rejectsWith(t.readSnapshot(live()))).errorClass);
    assert.ok(!classes.has('auth'), [...classes].join());
  });

  for (const variant of ['invalid-json', 'json-string', 'missing-fields'] as const) {
    it(`malformed body (${variant}) → protocol, never data`, async () => {
      const panel = await h.panel();
      panel.faults.malformed(variant, { path: CIRCUITS });
      const err = await rejectsWith(h.transport(panel).readSnapshot(live()), 'protocol');
      assert.match(err.message, /GET \/api\/v1\/circuits/);
    });
  }

  it('a partial circuit object (a required field missing) → protocol naming the field', async () => {
    const panel = await h.panel();
    panel.faults.malformed('missing-fields', { path: CIRCUITS, omit: ['circuits.*.instantPowerW'] });
    const err = await rejectsWith(h.transport(panel).readSnapshot(live()), 'protocol');
    assert.match(err.message, /"instantPowerW" is missing/);
  });

  for (const closeWith of ['fin', 'rst'] as const) {
    it(`body truncated then ${closeWith.toUpperCase()} → protocol, no crash, not retried`, async () => {
      const panel = await h.panel();
      panel.faults.truncated(closeWith, { path: PANEL, count: 1 });
      const t = h.transport(panel);
      const err = await rejectsWith(t.readSnapshot(live()));
      assert.ok(['protocol', 'stale-socket'].includes(err.errorClass), err.errorClass);
      assert.equal(err.errorClass, 'protocol', 'a fresh socket: the answer was cut short');
      assert.equal(panel.stats.count('GET', PANEL), 1);
      // Works again right after.
      await t.readSnapshot(live());
    });

    it(`connection closed without a response (${closeWith.toUpperCase()}) on a fresh socket → protocol`, async () => {
      const panel = await h.panel();
      panel.faults.reset(closeWith, { path: STATUS, count: 1 });
      const err = await rejectsWith(h.transport(panel).readSnapshot(live()), 'protocol');
      assert.equal(err.code, 'ECONNRESET');
    });
  }

  it('probe() reads /status and validates it', async () => {
    const panel = await h.panel();
    const t = h.transport(panel, { token: '' });
    await t.probe(live());
    assert.equal(panel.stats.count('GET', STATUS), 1);
    panel.faults.malformed('json-string', { path: STATUS, count: 1 });
    await rejectsWith(t.probe(live()), 'protocol');
  });
});
