import assert from 'node:assert/strict';
import type http from 'node:http';
import { Harness, live, rejectsWith, sleep, stallEventLoop, watchUnhandledRejections } from './v1-helpers';

const STATUS = '/api/v1/status';
/** The simulated panel's keep-alive K, short so the tests are quick; no hint, like many embedded servers. */
const K = 300;

const pooled = (agent: http.Agent): number =>
  Object.values(agent.sockets).flat().length + Object.values(agent.freeSockets).flat().length;

describe('v1 transport: keep-alive race with the panel’s idle close (SPAN #156)', function () {
  this.timeout(20000);
  const h = new Harness();
  afterEach(() => h.cleanup());
  watchUnhandledRejections();

  describe("mode 'silent': the panel forgets idle sockets and drops the next request on them", () => {
    it('an idle timeout below K drops the socket first: no stale reuse at all', async () => {
      const panel = await h.panel({ keepAliveMs: K, keepAliveMode: 'silent', keepAliveHint: false });
      const t = h.transport(panel, { idleSocketMs: K / 2 });
      await t.probe(live());
      await sleep(K + 200);
      await t.probe(live());
      assert.equal(panel.stats.dropped, 0);
      assert.equal(t.retryStats.staleSocketRetries, 0);
      assert.equal(panel.stats.snapshot().connections, 2, 'the second request used a new connection');
    });

    it('a stale socket (idle timeout above K) is retried once, immediately, and the call succeeds', async () => {
      const panel = await h.panel({ keepAliveMs: K, keepAliveMode: 'silent', keepAliveHint: false });
      const lines: string[] = [];
      const t = h.transport(panel, { idleSocketMs: 3000, logger: { debug: (m) => lines.push(m) } });
      await t.probe(live());
      await sleep(K + 200);
      await t.probe(live());
      assert.deepEqual(lines, ['GET /api/v1/status: retrying once in 0 ms after ECONNRESET']);
      assert.equal(panel.stats.dropped, 1, 'the panel dropped the request on the forgotten socket');
      assert.equal(t.retryStats.staleSocketRetries, 1);
      assert.equal(panel.stats.count('GET', STATUS), 3);
    });

    it('the retry never lands on another stale pooled socket', async () => {
      const panel = await h.panel({ keepAliveMs: K, keepAliveMode: 'silent', keepAliveHint: false });
      const t = h.transport(panel, { idleSocketMs: 3000 });
      await t.readSnapshot(live()); // four pooled sockets
      assert.equal(pooled(t.agent), 4);
      await sleep(K + 200); // …all four forgotten by the panel
      await t.probe(live());
      assert.equal(panel.stats.dropped, 1, 'one stale attempt, then a fresh connection');
      assert.equal(t.retryStats.staleSocketRetries, 1);
    });

    it('the same scenario without the mitigation fails with stale-socket', async () => {
      const panel = await h.panel({ keepAliveMs: K, keepAliveMode: 'silent', keepAliveHint: false });
      const t = h.transport(panel, { mitigation: false });
      await t.probe(live());
      await sleep(K + 200);
      const err = await rejectsWith(t.probe(live()), 'stale-socket');
      assert.match(err.message, /GET \/api\/v1\/status/);
      assert.equal(panel.stats.dropped, 1);
      assert.equal(panel.stats.count('GET', STATUS), 2, 'not retried');
    });

    it('every poll slower than K fails without the mitigation, none with it', async () => {
      const run = async (mitigation: boolean) => {
        const panel = await h.panel({ keepAliveMs: K, keepAliveMode: 'silent', keepAliveHint: false });
        const t = h.transport(panel, { mitigation, idleSocketMs: K / 2 });
        let failures = 0;
        for (let i = 0; i < 5; i++) {
          await t.probe(live()).catch(() => (failures += 1));
          await sleep(K + 100);
        }
        return failures;
      };
      assert.equal(await run(true), 0);
      // The first poll opens the socket; each later one reuses a forgotten socket (or a fresh one after a fail).
      assert.ok((await run(false)) >= 2);
    });
  });

  describe("mode 'close': the panel closes idle sockets at K", () => {
    // The event loop is blocked across K, as under a busy Node-RED flow: the panel's close and the client's
    // reuse of the pooled socket then race deterministically (resilience.md §6.9 #1 and #17).
    const raceTheClose = async (t: { probe(s: AbortSignal): Promise<void> }) => {
      await t.probe(live());
      await sleep(K - 100);
      stallEventLoop(200);
      return t.probe(live());
    };

    // The panel runs in this process, so the stall holds its idle timer too. On Node 20 the timer fires first
    // after the stall and the client writes its request onto the socket being closed: the race of SPAN #156.
    // On Node 22 the request reaches the panel before its idle timer runs, so the panel simply serves it on
    // the same connection: no race can be provoked this way, and the check there is only "no failure".
    // (The silent-close tests above fail without the mitigation on every Node version.)
    const raceReproduces = Number(process.versions.node.split('.')[0]) < 22;

    for (const closeWith of ['fin', 'rst'] as const) {
      it(`a socket reused while the panel closes it (${closeWith}) is retried once and succeeds`, async () => {
        const panel = await h.panel({ keepAliveMs: K, keepAliveCloseWith: closeWith, keepAliveHint: false });
        const t = h.transport(panel);
        await raceTheClose(t);
        assert.equal(t.retryStats.staleSocketRetries, raceReproduces ? 1 : 0);
        if (raceReproduces) assert.equal(panel.stats.snapshot().connections, 2);
      });
    }

    it('the same race without the mitigation fails with stale-socket (Node 20)', async function () {
      const panel = await h.panel({ keepAliveMs: K, keepAliveHint: false });
      const t = h.transport(panel, { mitigation: false });
      if (!raceReproduces) {
        await raceTheClose(t); // Node 22: no race (see above), so no failure either
        return;
      }
      const err = await rejectsWith(raceTheClose(t), 'stale-socket');
      assert.equal(err.code, 'ECONNRESET');
    });

    it('polling right at K (±5 ms) shows no failure with the mitigation', async () => {
      const panel = await h.panel({ keepAliveMs: 200, keepAliveHint: false });
      const t = h.transport(panel);
      for (let i = 0; i < 12; i++) {
        await t.readSnapshot(live());
        await sleep(195 + (i % 3) * 5);
      }
      // Every poll succeeded (any failure would have thrown); the panel really closed sockets at K meanwhile.
      assert.ok(panel.stats.snapshot().connections > 4, 'the idle close was exercised');
    });

    it('a panel that sends its Keep-Alive hint is honoured with the mitigation on', async () => {
      const panel = await h.panel({ keepAliveMs: 2000, keepAliveHint: true }); // timeout=2 → agent keeps 1 s
      const t = h.transport(panel, { idleSocketMs: 1500 });
      await t.probe(live());
      assert.equal(pooled(t.agent), 1);
      await sleep(1300);
      assert.equal(pooled(t.agent), 0, 'freed at hint − 1 s, before our own 1.5 s');
    });
  });

  describe('agent lifecycle', () => {
    it('uses one keep-alive agent with bounded pools; reset() replaces it and drops its sockets', async () => {
      const panel = await h.panel();
      const t = h.transport(panel);
      const first = t.agent;
      const { options } = first as unknown as { options: http.AgentOptions };
      assert.equal(options.keepAlive, true);
      assert.equal(options.timeout, 3000);
      assert.equal(options.scheduling, 'lifo');
      assert.equal(first.maxSockets, 4);
      assert.equal(first.maxFreeSockets, 4);
      await t.readSnapshot(live());
      await t.readSnapshot(live());
      assert.ok(panel.stats.snapshot().reused > 0, 'sockets are reused within the idle time');
      assert.ok(pooled(first) > 0);
      t.reset();
      assert.notEqual(t.agent, first);
      await sleep(50);
      assert.equal(pooled(first), 0, 'the old agent’s sockets are gone');
      const before = panel.stats.snapshot().connections;
      await t.readSnapshot(live());
      assert.equal(panel.stats.snapshot().connections, before + 4, 'the new agent opened new connections');
    });

    it('after close() no socket remains, even with a hung request; close is idempotent', async () => {
      const panel = await h.panel();
      const t = h.transport(panel, { requestTimeoutMs: 5000 });
      await t.readSnapshot(live());
      panel.faults.hang({ path: STATUS });
      const pending = t.probe(live());
      await sleep(100);
      assert.ok(pooled(t.agent) > 0);
      const settled = rejectsWith(pending, 'canceled');
      await t.close();
      await settled;
      assert.deepEqual(Object.values(t.agent.sockets).flat(), []);
      assert.deepEqual(Object.values(t.agent.freeSockets).flat(), []);
      await t.close();
      await rejectsWith(t.readSnapshot(live()), 'canceled');
      await sleep(50);
      assert.equal(panel.openConnections, 0, 'the panel sees every connection closed');
    });
  });
});
