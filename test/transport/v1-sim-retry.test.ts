import assert from 'node:assert/strict';
import { PanelError } from '../../src/transport/errors';
import { Harness, live, rejectsWith, sleep, TOKEN, watchUnhandledRejections } from './v1-helpers';

const STATUS = '/api/v1/status';
const CIRCUIT_ID = '0dad2f16cd514812ae1807b0457d473e';

describe('v1 transport against the simulated panel: in-request retries', function () {
  this.timeout(20000);
  const h = new Harness();
  afterEach(() => h.cleanup());
  watchUnhandledRejections();

  it('one 502 is retried once after a 250–1000 ms jittered delay: the panel counts 2 requests', async () => {
    const panel = await h.panel();
    panel.faults.status(502, { path: STATUS, count: 1 });
    const lines: string[] = [];
    const logger = { debug: (m: string) => lines.push(m) };
    const t = h.transport(panel, { random: () => 0, logger }); // lowest jitter: 250 ms
    const started = Date.now();
    await t.probe(live());
    const took = Date.now() - started;
    assert.equal(panel.stats.count('GET', STATUS), 2);
    assert.deepEqual(lines, ['GET /api/v1/status: retrying once in 250 ms after HTTP 502']);
    assert.ok(!lines.join().includes(TOKEN));
    assert.equal(t.retryStats.gatewayRetries, 1);
    assert.ok(took >= 240 && took < 1500, `took ${took} ms`);
  });

  it('a persistent 502/503/504 is retried exactly once, then reported as gateway', async () => {
    for (const status of [502, 503, 504]) {
      const panel = await h.panel();
      panel.faults.status(status, { path: STATUS });
      const t = h.transport(panel, { random: () => 0 });
      const err = await rejectsWith(t.probe(live()), 'gateway');
      assert.equal(err.status, status);
      assert.equal(panel.stats.count('GET', STATUS), 2, `HTTP ${status}`);
    }
  });

  it('500, 429, 4xx and Retry-After answers are not retried', async () => {
    for (const [status, retryAfterS] of [[500], [429], [401], [404], [503, 3600]] as Array<
      [number, number?]
    >) {
      const panel = await h.panel();
      panel.faults.status(status, { path: STATUS, retryAfterS });
      const t = h.transport(panel);
      const started = Date.now();
      const err = await rejectsWith(t.probe(live()));
      assert.equal(panel.stats.count('GET', STATUS), 1, `HTTP ${status}`);
      // Retry-After: 3600 must not make us wait (a generic retry library would honour it without a cap).
      assert.ok(Date.now() - started < 1000);
      if (retryAfterS) assert.equal(err.retryAfterMs, retryAfterS * 1000);
    }
  });

  it('a timeout is not retried: the panel counts 1', async () => {
    const panel = await h.panel();
    panel.faults.hang({ path: STATUS });
    const t = h.transport(panel, { requestTimeoutMs: 250 });
    await rejectsWith(t.probe(live()), 'timeout');
    await sleep(100);
    assert.equal(panel.stats.count('GET', STATUS), 1);
  });

  it('no gateway retry when the call deadline leaves no room for it', async () => {
    const panel = await h.panel();
    panel.faults.status(502, { path: STATUS });
    const t = h.transport(panel, { requestTimeoutMs: 1000, callDeadlineMs: 1100 });
    await rejectsWith(t.probe(live()), 'gateway');
    assert.equal(panel.stats.count('GET', STATUS), 1);
    assert.equal(t.retryStats.gatewayRetriesDenied, 1);
  });

  it('the retry budget runs dry after 5 retries (successes refill it by 0.1 each)', async () => {
    const panel = await h.panel();
    panel.faults.status(502, { path: STATUS });
    const t = h.transport(panel, { random: () => 0 });
    for (let i = 0; i < 6; i++) await rejectsWith(t.probe(live()), 'gateway');
    assert.equal(t.retryStats.gatewayRetries, 5);
    assert.equal(t.retryStats.gatewayRetriesDenied, 1);
    assert.equal(panel.stats.count('GET', STATUS), 5 * 2 + 1);
  });

  it('aborting during the retry delay settles at once as canceled/timeout and sends nothing more', async () => {
    const panel = await h.panel();
    panel.faults.status(502, { path: STATUS });
    const t = h.transport(panel, { random: () => 1 }); // 1000 ms delay
    const ctrl = new AbortController();
    const pending = t.probe(ctrl.signal);
    await sleep(150);
    const abortedAt = Date.now();
    ctrl.abort(new PanelError('timeout', 'cycle deadline'));
    await rejectsWith(pending, 'timeout');
    assert.ok(Date.now() - abortedAt < 500, 'well before the 1 s retry delay');
    await sleep(1100);
    assert.equal(panel.stats.count('GET', STATUS), 1, 'the pending retry was not sent');
  });

  it('a command POST is never retried, not on 502 and not on a reset connection', async () => {
    const panel = await h.panel();
    const t = h.transport(panel);
    await t.readSnapshot(live());
    const path = `/api/v1/circuits/${CIRCUIT_ID}`;
    panel.faults.status(502, { path, method: 'POST' });
    await rejectsWith(t.setRelay(CIRCUIT_ID, 'OPEN', live()), 'gateway');
    assert.equal(panel.stats.count('POST', path), 1);
    await panel.faults.clear();
    panel.faults.status(503, { path, method: 'POST' });
    await rejectsWith(t.setPriority(CIRCUIT_ID, 'OFF_GRID', live()), 'gateway');
    assert.equal(panel.stats.count('POST', path), 2);
    await panel.faults.clear();
    // Dropped on a reused keep-alive socket: a GET would be retried; the POST's outcome is unknown instead.
    panel.faults.reset('rst', { path, method: 'POST', count: 1 });
    const outcome = await t.setRelay(CIRCUIT_ID, 'OPEN', live());
    assert.equal(panel.stats.count('POST', path), 3);
    assert.equal(outcome.result, 'unconfirmed');
    assert.equal(outcome.observed, 'CLOSED');
    assert.match(outcome.note ?? '', /reply to the command was lost/);
  });
});
