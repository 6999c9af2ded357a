/**
 * Scenario #1, the seed failure (SPAN #156): the panel expires idle keep-alive sockets, and a client that
 * reuses one gets "Server disconnected without sending a response" on every poll. Scaled: the panel's
 * keep-alive K = 100 ms (5 s on a real panel) and the poll interval P = K, exactly on the boundary; the
 * client's idle-socket timeout is 0.6 K (3 s of 5 s in production).
 */
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './helpers';

const K_MS = 100;
const POLLS = 200;

async function pollUntil(h: Harness, cycles: number): Promise<void> {
  const deadline = Date.now() + cycles * K_MS * 4 + 10_000;
  while (h.sup.counters.cycles < cycles && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

describe('scenario #1: keep-alive race against a panel closing idle sockets at the poll interval', function () {
  this.timeout(120_000);
  let h: Harness | null = null;
  afterEach(async () => {
    if (h) await h.close();
    h = null;
  });

  for (const mode of ['close', 'silent'] as const) {
    it(`mitigated client, panel ${mode === 'close' ? 'closing idle sockets with FIN' : 'forgetting idle sockets silently'}: 0 failed cycles in ${POLLS} polls`, async () => {
      h = await startHarness({
        sim: { keepAliveMs: K_MS, keepAliveMode: mode, keepAliveHint: false },
        intervalS: K_MS / 1000,
        tuning: { v1: { idleSocketMs: 0.6 * K_MS } },
      });
      await h.waitFor('online');
      await pollUntil(h, POLLS);
      assert.ok(h.sup.counters.cycles >= POLLS, `${h.sup.counters.cycles} polls`);
      assert.equal(h.sup.counters.failures, 0, 'no failed cycle');
      assert.deepEqual(h.transitions(), ['connecting', 'online'], 'never left online');
      assert.ok(h.data.every((d) => !d.stale));
    });
  }

  it('the same poll without the mitigation fails often (the test can fail)', async () => {
    h = await startHarness({
      sim: { keepAliveMs: K_MS, keepAliveMode: 'silent', keepAliveHint: false },
      intervalS: K_MS / 1000,
      tuning: { v1: { mitigation: false } },
    });
    await pollUntil(h, 40);
    const { cycles, failures } = h.sup.counters;
    assert.ok(failures / cycles >= 0.25, `${failures} of ${cycles} cycles failed`);
    assert.ok(h.panel.stats.snapshot().dropped > 0, 'requests were dropped on forgotten sockets');
  });
});
