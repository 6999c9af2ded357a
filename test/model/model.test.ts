import assert from 'node:assert/strict';
import { parseHost } from '../../src/connection/config';
import { EnergyGuard } from '../../src/model/energy-guard';
import type { EnergyRegression } from '../../src/model/panel';
import { parsePriority, shedToV1Priority, v1PriorityToShed } from '../../src/model/panel';

describe('EnergyGuard', () => {
  it('passes increasing counters through unchanged', () => {
    const g = new EnergyGuard();
    const out: EnergyRegression[] = [];
    assert.equal(g.check('c', 100, out), 100);
    assert.equal(g.check('c', 150.5, out), 150.5);
    assert.deepEqual(out, []);
  });

  it('holds a counter that reads lower after a reboot and flags it (SPAN #87)', () => {
    const g = new EnergyGuard(3);
    const out: EnergyRegression[] = [];
    g.check('main', 5_688_566, out);
    assert.equal(g.check('main', 5_213_928, out), 5_688_566, 'never emitted as a drop');
    assert.equal(out[0].action, 'held');
    assert.equal(out[0].reportedWh, 5_213_928);
    // The panel's counter comes back: emitted normally again.
    assert.equal(g.check('main', 5_688_600, out), 5_688_600);
  });

  it('rebases a reset that persists, so the emitted counter keeps increasing', () => {
    const g = new EnergyGuard(3);
    const out: EnergyRegression[] = [];
    g.check('c', 1000, out);
    g.check('c', 10, out);
    g.check('c', 11, out);
    assert.equal(g.check('c', 12, out), 1000);
    assert.equal(out[out.length - 1].action, 'rebased');
    assert.equal(g.check('c', 20, out), 1008, 'continues from the held value plus the new increase');
  });

  it('keeps unknown as unknown: null is never turned into a number', () => {
    const g = new EnergyGuard();
    const out: EnergyRegression[] = [];
    g.check('c', 500, out);
    assert.equal(g.check('c', null, out), null);
    assert.equal(g.check('c', Number.NaN, out), null);
    assert.equal(g.check('c', 501, out), 501);
  });
});

describe('priority vocabularies', () => {
  it('maps v1 ↔ v2 and accepts either from users', () => {
    assert.equal(v1PriorityToShed('MUST_HAVE'), 'NEVER');
    assert.equal(v1PriorityToShed('NICE_TO_HAVE'), 'SOC_THRESHOLD');
    assert.equal(v1PriorityToShed('NON_ESSENTIAL'), 'OFF_GRID');
    assert.equal(shedToV1Priority('OFF_GRID'), 'NON_ESSENTIAL');
    assert.equal(parsePriority('non-essential'), 'OFF_GRID');
    assert.equal(parsePriority('soc_threshold'), 'SOC_THRESHOLD');
    assert.equal(parsePriority('sometimes'), null);
    assert.equal(parsePriority(3), null);
    assert.equal(parsePriority('UNKNOWN'), null);
  });
});

describe('parseHost', () => {
  it('accepts names, IPv4, IPv6 and an optional port', () => {
    assert.deepEqual(parseHost('192.168.1.20'), { hostname: '192.168.1.20', port: null });
    assert.deepEqual(parseHost(' span-nj-2316.local:8080 '), { hostname: 'span-nj-2316.local', port: 8080 });
    assert.deepEqual(parseHost('[fe80::1]:80'), { hostname: 'fe80::1', port: 80 });
  });
  it('rejects URLs, paths and credentials with a clear message', () => {
    assert.throws(() => parseHost('http://panel'), /not a host/);
    assert.throws(() => parseHost('user@panel'), /not a host/);
    assert.throws(() => parseHost(''), /no panel host/);
    assert.throws(() => parseHost('panel:99999'), /out of range/);
  });
});
