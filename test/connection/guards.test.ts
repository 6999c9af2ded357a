/**
 * The small guards of the connection layer on their own: the runtime interval floor, per-key command order
 * and the registration gate's join / hold-off rules. (Each is also exercised end to end against the
 * simulated panel in test/scenarios/.)
 */
import assert from 'node:assert/strict';
import { runtimeIntervalMs } from '../../src/connection';
import { RegistrationGate } from '../../src/connection/registration-gate';
import { KeyedQueue } from '../../src/supervisor/keyed-queue';
import { PanelError } from '../../src/transport/errors';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('connection guards', () => {
  it('the poll interval is at least 1 s at runtime; 0 (v2 push) and nonsense mean "no interval"', () => {
    assert.equal(runtimeIntervalMs(0.3), 1000);
    assert.equal(runtimeIntervalMs(0.001), 1000);
    assert.equal(runtimeIntervalMs(1), 1000);
    assert.equal(runtimeIntervalMs(2.5), 2500);
    assert.equal(runtimeIntervalMs(0), 0);
    assert.equal(runtimeIntervalMs(-5), 0);
    assert.equal(runtimeIntervalMs(Number.NaN), 0);
    assert.equal(runtimeIntervalMs(0.2, 0), 200, 'tests may lift the floor in code, never from a config');
  });

  it('tasks with one key run one at a time in arrival order; other keys do not wait; a failure does not block', async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    const task =
      (name: string, ms: number, fail = false) =>
      async () => {
        log.push(`start ${name}`);
        await sleep(ms);
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const a = q.run('c1', task('a', 40, true));
    const b = q.run('c1', task('b', 5));
    const other = q.run('c2', task('x', 5));
    await assert.rejects(a, /a/);
    assert.equal(await b, 'b');
    assert.equal(await other, 'x');
    assert.ok(log.indexOf('end a') < log.indexOf('start b'), log.join(', '));
    assert.ok(log.indexOf('start x') < log.indexOf('end a'), 'another circuit is not held up');
    await sleep(0);
    assert.equal(q.busyKeys, 0, 'nothing kept once idle');
  });

  it('registration gate: a caller that gives up leaves the registration running; the next caller joins it', async () => {
    const gate = new RegistrationGate({ timeoutMs: 1000 });
    const kept: string[] = [];
    let resolveIt: (v: string) => void = () => {};
    const register = () => new Promise<string>((r) => (resolveIt = r));
    const impatient = AbortSignal.timeout(20);
    await assert.rejects(gate.run(impatient, register, (v) => kept.push(v)));
    const second = gate.run(new AbortController().signal, register, (v) => kept.push(v));
    resolveIt('creds');
    assert.equal(await second, 'creds');
    assert.equal(gate.started, 1, 'one registration for both callers');
    assert.deepEqual(kept, ['creds'], 'stored once, before anyone saw it');
  });

  it('registration gate: no answer → no new registration during the hold-off; a clear refusal → retry allowed', async () => {
    let now = 0;
    const gate = new RegistrationGate({ timeoutMs: 30, holdOffMs: 60_000, now: () => now });
    const never = (signal: AbortSignal) =>
      new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    await assert.rejects(
      gate.run(new AbortController().signal, never, () => {}),
      /no answer/,
    );
    await assert.rejects(
      gate.run(new AbortController().signal, never, () => {}),
      /may have registered this Node-RED anyway/,
    );
    assert.equal(gate.started, 1);
    now += 60_001;
    const refused = () => Promise.reject(new PanelError('auth', 'HTTP 422', { status: 422 }));
    await assert.rejects(
      gate.run(new AbortController().signal, refused, () => {}),
      /422/,
    );
    await assert.rejects(
      gate.run(new AbortController().signal, refused, () => {}),
      /422/,
    );
    assert.equal(gate.started, 3, 'a definite answer does not hold the next attempt back');
  });
});
