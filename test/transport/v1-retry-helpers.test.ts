import assert from 'node:assert/strict';
import { parseRetryAfter } from '../../src/transport/http/retry-after';
import { RetryBudget } from '../../src/transport/http/retry-budget';
import { buildBaseURL } from '../../src/transport/http/panel-http';

describe('v1 transport: Retry-After parsing', () => {
  const now = Date.parse('2026-03-01T00:00:00Z');
  const cases: Array<[unknown, number | undefined]> = [
    ['0', 0],
    ['5', 5000],
    [' 12 ', 12_000],
    ['1.5', 1500],
    ['3600', 3_600_000],
    [['7'], 7000],
    ['Sun, 01 Mar 2026 00:00:10 GMT', 10_000],
    ['Sat, 28 Feb 2026 23:59:00 GMT', 0], // in the past: no wait, never negative
    ['-5', undefined],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
    [null, undefined],
  ];
  for (const [value, expected] of cases) {
    it(`${JSON.stringify(value)} → ${String(expected)}`, () => {
      assert.equal(parseRetryAfter(value, now), expected);
    });
  }
});

describe('v1 transport: retry budget (token bucket)', () => {
  it('starts full at 5, each retry costs 1, each success earns 0.1', () => {
    let t = 0;
    const b = new RetryBudget({ now: () => t, floorMs: 10_000 });
    for (let i = 0; i < 5; i++) assert.equal(b.tryAcquire(), true, `retry ${i + 1}`);
    assert.equal(b.tryAcquire(), false, 'empty bucket, within the floor period');
    for (let i = 0; i < 10; i++) b.recordSuccess();
    assert.equal(b.tryAcquire(), true, 'ten successes buy one retry');
    assert.equal(b.tryAcquire(), false);
    t += 10_000;
    assert.equal(b.tryAcquire(), true, 'floor: one retry per 10 s even when empty');
    assert.equal(b.tryAcquire(), false);
  });

  it('never holds more than its capacity', () => {
    const b = new RetryBudget({ now: () => 0 });
    for (let i = 0; i < 1000; i++) b.recordSuccess();
    assert.equal(b.available, 5);
  });
});

describe('v1 transport: base URL', () => {
  it('accepts host, host:port, IPv6 and a stray scheme; rejects paths and credentials', () => {
    assert.equal(buildBaseURL('192.168.1.20'), 'http://192.168.1.20');
    assert.equal(buildBaseURL('span.local:8080'), 'http://span.local:8080');
    assert.equal(buildBaseURL('127.0.0.1', 4321), 'http://127.0.0.1:4321');
    assert.equal(buildBaseURL('[::1]:81'), 'http://[::1]:81');
    assert.equal(buildBaseURL('http://10.0.0.5/'), 'http://10.0.0.5');
    assert.throws(() => buildBaseURL('host/path'), /invalid panel host/);
    assert.throws(() => buildBaseURL('user:pw@host'), /invalid panel host/);
    assert.throws(() => buildBaseURL(''), /invalid panel host/);
  });
});
