/**
 * The keep-alive race of SPAN #156 against the simulated panel in a CHILD PROCESS (test/helpers/sim-host.ts):
 * the panel's idle timer runs on its own event loop, so a stall of this process cannot hold it back and the
 * race is the same on every Node version. Each close model (FIN, RST, silent) is raced with the mitigation
 * and, as a control, without it: the control must fail, the mitigated client must not.
 *
 * Proving the tests can fail: `SPAN_TEST_MITIGATION=off` runs the mitigated tests without the mitigation;
 * every one of them must then fail (the controls always run without it).
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import type { StatsSnapshot } from '../../simulator';
import type { CloseWith, KeepAliveMode } from '../../simulator/http/keep-alive';
import { PanelError } from '../../src/transport/errors';
import { SimHost, type HostPanel } from '../helpers/sim-host';
import {
  Harness,
  live,
  rejectsWith,
  sleep,
  stallEventLoop,
  TOKEN,
  watchUnhandledRejections,
} from './v1-helpers';

const STATUS = '/api/v1/status';
/** The simulated panel's keep-alive K, short so the tests are quick; no hint, like many embedded servers. */
const K = 300;
/** Race cycles per test. */
const CYCLES = 6;
const MITIGATION = process.env.SPAN_TEST_MITIGATION !== 'off';

const MODELS: { name: string; mode: KeepAliveMode; closeWith: CloseWith }[] = [
  { name: 'FIN', mode: 'close', closeWith: 'fin' },
  { name: 'RST', mode: 'close', closeWith: 'rst' },
  { name: 'silent', mode: 'silent', closeWith: 'fin' },
];

const pooled = (agent: http.Agent): number =>
  Object.values(agent.sockets).flat().length + Object.values(agent.freeSockets).flat().length;

interface Prober {
  probe(s: AbortSignal): Promise<void>;
}

/**
 * One race: a request, then this process is blocked across K (as under a busy Node-RED flow) while the panel,
 * in its own process, closes or forgets the idle socket at K; the next request goes out on that socket before
 * this process can see the close. Returns the second request's error, or null when it succeeded.
 */
async function raceOnce(t: Prober): Promise<PanelError | null> {
  await t.probe(live());
  await sleep(K - 150);
  stallEventLoop(300);
  return t.probe(live()).then(
    () => null,
    (e: unknown) => {
      if (e instanceof PanelError) return e;
      throw e;
    },
  );
}

describe('v1 transport: keep-alive race with the panel’s idle close (SPAN #156), panel in a child process', function () {
  this.timeout(30_000);
  const h = new Harness();
  let host: SimHost;
  const opened: number[] = [];
  before(async () => {
    host = await SimHost.start();
  });
  after(async () => {
    await host?.stop();
  });
  afterEach(async () => {
    await h.cleanup();
    await Promise.all(opened.splice(0).map((i) => host.closePanel(i)));
  });
  watchUnhandledRejections();

  const panel = async (mode: KeepAliveMode, closeWith: CloseWith = 'fin', keepAliveMs = K) => {
    const [p] = await host.startPanels(1, {
      token: TOKEN,
      tickMs: 0,
      keepAliveMs,
      keepAliveMode: mode,
      keepAliveCloseWith: closeWith,
      keepAliveHint: false,
    });
    opened.push(p.index);
    return p;
  };
  const stats = (p: HostPanel): Promise<StatsSnapshot> => host.stats(p.index);
  const statusCount = async (p: HostPanel) => (await stats(p)).byRoute[`GET ${STATUS}`]?.count ?? 0;

  for (const m of MODELS) {
    it(`${m.name}: with the mitigation, 0 of ${CYCLES} race cycles fail; each stale reuse is retried once on a new connection`, async () => {
      const p = await panel(m.mode, m.closeWith);
      const t = h.transport(p.http, { mitigation: MITIGATION });
      const errors: string[] = [];
      for (let i = 0; i < CYCLES; i++) {
        const err = await raceOnce(t);
        if (err) errors.push(`${err.errorClass}/${err.code ?? '-'}`);
      }
      assert.deepEqual(errors, [], `${errors.length} of ${CYCLES} race cycles failed`);
      const retries = t.retryStats.staleSocketRetries;
      // The race was really hit (a clean cycle without a retry would prove nothing).
      assert.ok(retries >= CYCLES / 2, `the race hit only ${retries} of ${CYCLES} cycles`);
      const s = await stats(p);
      assert.ok(s.connections >= 1 + retries, 'every retry went out on a fresh connection');
      if (m.mode === 'silent')
        assert.equal(s.dropped, retries, 'the panel dropped each forgotten-socket request');
    });

    it(`${m.name}: without the mitigation, the same race cycles fail with stale-socket (control)`, async () => {
      const p = await panel(m.mode, m.closeWith);
      const t = h.transport(p.http, { mitigation: false });
      const errors: PanelError[] = [];
      for (let i = 0; i < CYCLES; i++) {
        const err = await raceOnce(t);
        if (err) errors.push(err);
      }
      assert.ok(errors.length >= CYCLES / 2, `only ${errors.length} of ${CYCLES} race cycles failed`);
      for (const e of errors) {
        assert.equal(e.errorClass, 'stale-socket', e.message);
        assert.match(e.message, /GET \/api\/v1\/status/);
      }
      assert.equal(t.retryStats.staleSocketRetries, 0);
      // Not retried: a request on a closed socket never reaches the panel; one on a forgotten socket is dropped.
      const expected = m.mode === 'silent' ? 2 * CYCLES : 2 * CYCLES - errors.length;
      assert.equal(await statusCount(p), expected, 'nothing was retried');
      if (m.mode === 'silent') assert.equal((await stats(p)).dropped, errors.length);
    });
  }

  describe("mode 'silent': the panel forgets idle sockets and drops the next request on them", () => {
    it('an idle timeout below K drops the socket first: no stale reuse at all', async () => {
      const p = await panel('silent');
      const t = h.transport(p.http, { idleSocketMs: K / 2, mitigation: MITIGATION });
      await t.probe(live());
      await sleep(K + 200);
      await t.probe(live());
      const s = await stats(p);
      assert.equal(s.dropped, 0);
      assert.equal(t.retryStats.staleSocketRetries, 0);
      assert.equal(s.connections, 2, 'the second request used a new connection');
    });

    it('a stale socket (idle timeout above K) is retried once, immediately, and the call succeeds', async () => {
      const p = await panel('silent');
      const lines: string[] = [];
      const t = h.transport(p.http, {
        idleSocketMs: 3000,
        mitigation: MITIGATION,
        logger: { debug: (msg) => lines.push(msg) },
      });
      await t.probe(live());
      await sleep(K + 200);
      await t.probe(live());
      assert.deepEqual(lines, ['GET /api/v1/status: retrying once in 0 ms after ECONNRESET']);
      assert.equal((await stats(p)).dropped, 1, 'the panel dropped the request on the forgotten socket');
      assert.equal(t.retryStats.staleSocketRetries, 1);
      assert.equal(await statusCount(p), 3);
    });

    it('the retry never lands on another stale pooled socket', async () => {
      const p = await panel('silent');
      const t = h.transport(p.http, { idleSocketMs: 3000, mitigation: MITIGATION });
      await t.readSnapshot(live()); // four pooled sockets
      assert.equal(pooled(t.agent), 4);
      await sleep(K + 200); // …all four forgotten by the panel
      await t.probe(live());
      assert.equal((await stats(p)).dropped, 1, 'one stale attempt, then a fresh connection');
      assert.equal(t.retryStats.staleSocketRetries, 1);
    });

    it('every poll slower than K fails without the mitigation, none with it', async () => {
      const run = async (mitigation: boolean) => {
        const p = await panel('silent');
        const t = h.transport(p.http, { mitigation, idleSocketMs: K / 2 });
        let failures = 0;
        for (let i = 0; i < 5; i++) {
          await t.probe(live()).catch(() => (failures += 1));
          await sleep(K + 100);
        }
        return failures;
      };
      assert.equal(await run(MITIGATION), 0);
      // The first poll opens the socket; each later one reuses a forgotten socket (or a fresh one after a fail).
      assert.ok((await run(false)) >= 2);
    });
  });

  describe("mode 'close': the panel closes idle sockets at K", () => {
    it('polling right at K (±5 ms) shows no failure with the mitigation', async () => {
      const p = await panel('close', 'fin', 200);
      const t = h.transport(p.http, { mitigation: MITIGATION });
      for (let i = 0; i < 12; i++) {
        await t.readSnapshot(live());
        await sleep(195 + (i % 3) * 5);
      }
      // Every poll succeeded (any failure would have thrown); the panel really closed sockets at K meanwhile.
      assert.ok((await stats(p)).connections > 4, 'the idle close was exercised');
    });

    it('a panel that sends its Keep-Alive hint is honoured with the mitigation on', async () => {
      const [p] = await host.startPanels(1, {
        token: TOKEN,
        tickMs: 0,
        keepAliveMs: 2000,
        keepAliveHint: true,
      });
      opened.push(p.index);
      const t = h.transport(p.http, { idleSocketMs: 1500, mitigation: MITIGATION }); // timeout=2 → agent keeps 1 s
      await t.probe(live());
      assert.equal(pooled(t.agent), 1);
      await sleep(1300);
      assert.equal(pooled(t.agent), 0, 'freed at hint − 1 s, before our own 1.5 s');
    });
  });
});

describe('v1 transport: keep-alive agent lifecycle', function () {
  this.timeout(20_000);
  const h = new Harness();
  afterEach(() => h.cleanup());

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
