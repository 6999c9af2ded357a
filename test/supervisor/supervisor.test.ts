import assert from 'node:assert/strict';
import * as FakeTimers from '@sinonjs/fake-timers';

type InstalledClock = ReturnType<typeof FakeTimers.install>;
import { Backoff } from '../../src/supervisor/backoff';
import { PanelSupervisor, type SupervisorOptions } from '../../src/supervisor/supervisor';
import { timingFor } from '../../src/supervisor/timing';
import type { HealthEvent, HealthState } from '../../src/supervisor/types';
import { CapturingLogger, fail, ScriptedTransport, type Outcome } from '../helpers/scripted-transport';

/** A seeded PRNG so the randomized tests are reproducible (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('supervisor timing policy and backoff', () => {
  it('derives request timeout, backoff cap and recovery bound from the interval (resilience §6.4)', () => {
    const t5 = timingFor(5000);
    assert.equal(t5.requestTimeoutMs, 3000);
    assert.equal(t5.backoffCapMs, 10_000);
    assert.equal(t5.recoveryBoundMs, 15_000);
    const t15 = timingFor(15_000);
    assert.equal(t15.backoffCapMs, 30_000);
    assert.equal(t15.requestTimeoutMs, 5000);
    assert.equal(timingFor(120_000).backoffCapMs, 60_000, 'cap never exceeds 60 s');
    assert.equal(timingFor(1000).requestTimeoutMs, 1000);
  });

  it('grows ×1.6 from 1 s, stays within cap ± 20 % jitter, and resets', () => {
    const b = new Backoff({ initialMs: 1000, factor: 1.6, jitter: 0.2, capMs: 10_000, random: prng(1) });
    const delays = Array.from({ length: 30 }, () => b.next());
    assert.ok(delays[0] >= 800 && delays[0] <= 1200, `first ${delays[0]}`);
    assert.ok(delays.every((d) => d <= 12_000 && d >= 800));
    assert.ok(
      delays.slice(10).every((d) => d >= 8000),
      'reaches the cap',
    );
    const distinct = new Set(delays.slice(10));
    assert.ok(distinct.size > 5, 'jitter spreads the capped delays');
    b.reset();
    assert.ok(b.next() <= 1200);
  });
});

describe('PanelSupervisor state machine (fake timers)', () => {
  let clock: InstalledClock;
  let sup: PanelSupervisor | null = null;

  beforeEach(() => {
    clock = FakeTimers.install({
      now: Date.parse('2026-11-23T12:00:00Z'),
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
  });
  afterEach(async () => {
    if (sup) await sup.stop();
    sup = null;
    clock.uninstall();
  });

  function start(
    transport: ScriptedTransport,
    extra: Partial<SupervisorOptions> = {},
  ): { events: HealthEvent[]; data: number[]; logger: CapturingLogger; transports: ScriptedTransport[] } {
    const events: HealthEvent[] = [];
    const data: number[] = [];
    const logger = new CapturingLogger();
    const transports: ScriptedTransport[] = [];
    sup = new PanelSupervisor({
      createTransport: async () => {
        transports.push(transport);
        return transport;
      },
      intervalMs: 5000,
      label: 'test panel',
      logger,
      random: prng(7),
      ...extra,
    });
    sup.subscribe({
      onHealth: (e) => events.push(e),
      onData: (d) => data.push(d.stale ? -1 : 1),
    });
    sup.start();
    return { events, data, logger, transports };
  }

  const states = (events: HealthEvent[]): HealthState[] =>
    events.filter((e) => e.transition).map((e) => e.state);

  it('goes connecting → online and polls every interval without overlap', async () => {
    const t = new ScriptedTransport();
    const { events, data } = start(t);
    await clock.tickAsync(0);
    assert.deepEqual(states(events), ['connecting', 'online']);
    await clock.tickAsync(5000 * 10);
    assert.equal(t.reads, 11);
    assert.equal(data.length, 11);
    assert.ok(data.every((d) => d === 1));
  });

  it('a single failed cycle is at most one cycle degraded, with one transition back and no warn log', async () => {
    const t = new ScriptedTransport().push('ok', fail('gateway', 502));
    const { events, logger } = start(t);
    await clock.tickAsync(5000 * 4);
    assert.deepEqual(states(events), ['connecting', 'online', 'degraded', 'online']);
    assert.equal(logger.count('warn'), 0);
    assert.equal(logger.count('info'), 0);
  });

  it('sustained 503 for 60 s: offline once, backoff probes, one warn and one info line, bounded recovery', async () => {
    const t = new ScriptedTransport().push('ok');
    t.fallback = fail('gateway', 503);
    const { events, logger } = start(t);
    await clock.tickAsync(0);
    const outageStart = Date.now();
    await clock.tickAsync(60_000);
    const attemptsDuringOutage = t.reads + t.probes - 1;
    assert.ok(states(events).includes('offline'));
    const offline = events.find((e) => e.state === 'offline' && e.transition)!;
    assert.ok(offline.consecutiveFailures >= 3);
    assert.ok(Date.parse(offline.since) - outageStart >= 10_000, 'offline only after ≥ 3 cycles and 15 s');
    // ~3 cycles at P before offline, then ⌈60 s / backoff⌉ probes.
    assert.ok(attemptsDuringOutage <= 20, `attempts during outage: ${attemptsDuringOutage}`);
    t.fallback = 'ok';
    const healthyAt = Date.now();
    while (sup!.health.state !== 'online') await clock.tickAsync(100);
    const recovery = Date.now() - healthyAt;
    assert.ok(recovery <= timingFor(5000).recoveryBoundMs, `recovered in ${recovery} ms`);
    assert.equal(logger.count('warn'), 1, 'exactly one offline warning');
    assert.equal(logger.count('info'), 1, 'exactly one recovery line');
    assert.match(logger.lines.find((l) => l.level === 'info')!.msg, /back online after \d+ s/);
    const back = events[events.length - 1];
    assert.equal(back.state, 'online');
    assert.ok(back.outageMs! >= 55_000, `outage ${back.outageMs}`);
    assert.ok(t.resets >= 1, 'agent recreated on the way offline');
  });

  it('401 → re-reads credentials once, then auth-failed with a ramped probe; never a tight loop', async () => {
    const t = new ScriptedTransport().push('ok');
    t.fallback = fail('auth', 401);
    const { events, transports, logger } = start(t);
    await clock.tickAsync(0);
    const before = t.reads;
    await clock.tickAsync(5100);
    assert.equal(sup!.health.state, 'auth-failed');
    assert.equal(t.reads - before, 2, 'one re-read-and-retry, then auth-failed');
    assert.equal(transports.length, 2, 'transport recreated once to pick up a changed token');
    assert.ok(t.closed, 'a rejected transport is not kept');
    assert.equal(logger.count('warn'), 1);
    // Probes after ~10 s, 20 s, 40 s, … (±20 %), at most one per 5 min once the ramp reaches its cap.
    const failedAt = Date.now();
    const probeTimes: number[] = [];
    let reads = t.reads;
    for (let i = 0; i < 70 * 60; i++) {
      await clock.tickAsync(1000);
      if (t.reads !== reads) probeTimes.push(Date.now() - failedAt);
      reads = t.reads;
    }
    assert.ok(probeTimes[0] >= 8000 && probeTimes[0] <= 12_000, `first probe after ${probeTimes[0]} ms`);
    const gaps = probeTimes.slice(1).map((p, i) => p - probeTimes[i]);
    assert.ok(gaps[0] >= 16_000 && gaps[0] <= 24_000, `second gap ${gaps[0]} ms`);
    const late = probeTimes.filter((p) => p >= 10 * 60_000 && p < 70 * 60_000);
    assert.ok(late.length <= 13, `probes in the hour after 10 min: ${late.length}`);
    assert.ok(
      gaps.slice(5).every((g) => g >= 240_000 && g <= 360_000),
      `capped gaps: ${gaps.slice(5).join(', ')}`,
    );
    assert.ok(sup!.health.nextAttemptInMs! > 0, 'a probe is always scheduled');
    assert.ok(states(events).every((s) => s !== 'offline'));
  });

  it('a huge Retry-After (3600 s) is clamped to 60 s', async () => {
    const t = new ScriptedTransport().push('ok', fail('rate-limited', 429, 3_600_000));
    start(t);
    await clock.tickAsync(5000);
    assert.ok(sup!.health.nextAttemptInMs! <= 60_000);
    assert.ok(sup!.health.nextAttemptInMs! >= 5000);
    await clock.tickAsync(60_000);
    assert.equal(sup!.health.state, 'online');
  });

  it('a throwing subscriber cannot break the loop', async () => {
    const t = new ScriptedTransport();
    start(t);
    sup!.subscribe({
      onData: () => {
        throw new Error('boom');
      },
      onHealth: () => {
        throw new Error('boom');
      },
    });
    await clock.tickAsync(5000 * 5);
    assert.equal(t.reads, 6);
    assert.equal(sup!.health.state, 'online');
  });

  it('single flight: 20 concurrent refreshes cost one read', async () => {
    const t = new ScriptedTransport();
    start(t);
    await clock.tickAsync(0);
    await clock.tickAsync(4000); // cached data is now older than P/2
    const readsBefore = t.reads;
    const results = await Promise.all(Array.from({ length: 20 }, () => sup!.refresh()));
    assert.equal(t.reads - readsBefore, 1);
    assert.ok(results.every((r) => !r.stale));
  });

  it('refresh while offline does not bypass the backoff: it answers with the last snapshot, marked stale', async () => {
    const t = new ScriptedTransport().push('ok');
    t.fallback = fail('refused');
    start(t);
    await clock.tickAsync(30_000);
    assert.equal(sup!.health.state, 'offline');
    const before = t.reads + t.probes;
    const answers = await Promise.all(Array.from({ length: 10 }, () => sup!.refresh()));
    assert.equal(t.reads + t.probes, before, 'no request on behalf of an input message');
    assert.ok(answers.every((a) => a.stale && a.snapshot.panel.serial === answers[0].snapshot.panel.serial));
    assert.ok(answers[0].dataAgeMs >= 29_000, `data age ${answers[0].dataAgeMs}`);
  });

  it('refresh while degraded does not start extra cycles either; with no data at all it rejects', async () => {
    const t = new ScriptedTransport().push('ok', fail('gateway', 502));
    start(t);
    await clock.tickAsync(5000);
    assert.equal(sup!.health.state, 'degraded');
    const reads = t.reads;
    const a = await sup!.refresh();
    assert.equal(a.stale, true);
    assert.equal(t.reads, reads);
    await sup!.stop();
    const never = new ScriptedTransport();
    never.fallback = fail('refused');
    start(never);
    await clock.tickAsync(1000);
    await assert.rejects(sup!.refresh(), /refused/);
  });

  it('a hung read is cut by the cycle deadline; cycles never overlap', async () => {
    const t = new ScriptedTransport().push('ok', 'hang', 'ok');
    start(t);
    await clock.tickAsync(0);
    await clock.tickAsync(5000);
    assert.equal(t.reads, 2);
    await clock.tickAsync(timingFor(5000).cycleDeadlineMs);
    assert.notEqual(sup!.health.state, 'online');
    await clock.tickAsync(5000);
    assert.equal(sup!.health.state, 'online');
  });

  it('the watchdog re-arms a lost schedule', async () => {
    const t = new ScriptedTransport();
    const { logger } = start(t, { watchdogMs: 20_000 });
    await clock.tickAsync(0);
    // Simulate the bug class behind SPAN #242: the next run is never scheduled.
    const internals = sup as unknown as { timer: NodeJS.Timeout | null };
    clearTimeout(internals.timer!);
    internals.timer = null;
    const reads = t.reads;
    await clock.tickAsync(25_000);
    assert.ok(t.reads > reads, 'polling resumed');
    assert.equal(sup!.counters.watchdogRescues, 1);
    assert.equal(logger.count('warn'), 1);
  });

  it('stop() leaves no timer behind and is the only terminal state', async () => {
    const t = new ScriptedTransport();
    start(t);
    await clock.tickAsync(12_000);
    await sup!.stop();
    assert.equal(clock.countTimers(), 0);
    assert.equal(sup!.health.state, 'stopped');
    assert.ok(t.closed);
    sup = null;
  });

  it('reports the legacy v1 API once in the log and in every health event', async () => {
    const t = new ScriptedTransport('v1');
    const { events, logger } = start(t);
    await clock.tickAsync(20_000);
    assert.equal(logger.lines.filter((l) => /2026-12-31/.test(l.msg)).length, 1);
    assert.ok(events.filter((e) => e.state === 'online').every((e) => e.legacyApi));
  });

  it('never enters auth-failed under any mix of 5xx, timeouts and refusals', async () => {
    const t = new ScriptedTransport();
    const rnd = prng(42);
    const kinds = [
      fail('gateway', 502),
      fail('server', 500),
      fail('timeout'),
      fail('refused'),
      fail('stale-socket'),
      fail('protocol'),
      'ok',
    ] as Outcome[];
    for (let i = 0; i < 400; i++) t.push(kinds[Math.floor(rnd() * kinds.length)]);
    const { events } = start(t);
    await clock.tickAsync(3_600_000);
    assert.ok(events.every((e) => e.state !== 'auth-failed'));
  });
});

describe('PanelSupervisor property test: never permanently unavailable (fake timers)', () => {
  it('after random fault sequences over simulated hours, always online within the recovery bound', async function () {
    this.timeout(60_000);
    const clock = FakeTimers.install({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
    try {
      for (let seed = 1; seed <= 25; seed++) {
        const rnd = prng(seed);
        const interval = [1000, 5000, 15_000][seed % 3];
        const bound = timingFor(interval).recoveryBoundMs;
        const t = new ScriptedTransport();
        const faults: Outcome[] = [
          fail('gateway', 502),
          fail('rate-limited', 503, Math.floor(rnd() * 7_200_000)),
          fail('refused'),
          fail('timeout'),
          fail('stale-socket'),
          fail('protocol'),
          'hang',
        ];
        // Hours of alternating healthy and faulty stretches; every attempt consumes one scripted outcome.
        for (let stretch = 0; stretch < 40; stretch++) {
          const faulty = rnd() < 0.5;
          const n = 1 + Math.floor(rnd() * 30);
          for (let i = 0; i < n; i++) t.push(faulty ? faults[Math.floor(rnd() * faults.length)] : 'ok');
        }
        const sup = new PanelSupervisor({
          createTransport: async () => t,
          intervalMs: interval,
          label: `seed ${seed}`,
          random: rnd,
        });
        sup.start();
        // Run until the script is consumed (a few simulated hours at most).
        for (let i = 0; i < 100_000 && t.script.length > 0; i++) await clock.tickAsync(1000);
        // The panel is healthy from here on; an attempt already hanging is cut by its deadline first.
        while ((sup as unknown as { inFlight: unknown }).inFlight !== null) await clock.tickAsync(10);
        const healthyAt = Date.now();
        while (sup.health.state !== 'online' && Date.now() - healthyAt <= bound + 1000)
          await clock.tickAsync(100);
        const took = Date.now() - healthyAt;
        assert.equal(
          sup.health.state,
          'online',
          `seed ${seed}: not online ${took} ms after the panel became healthy`,
        );
        assert.ok(took <= bound, `seed ${seed}: recovery ${took} ms > bound ${bound} ms`);
        assert.equal(sup.counters.watchdogRescues, 0, `seed ${seed}: the watchdog found a missing schedule`);
        await sup.stop();
        assert.equal(clock.countTimers(), 0);
      }
    } finally {
      clock.uninstall();
    }
  });
});
