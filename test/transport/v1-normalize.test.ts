import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EnergyGuard } from '../../src/model/energy-guard';
import { NO_IDENTITY } from '../../src/model/panel';
import { PanelError } from '../../src/transport/errors';
import { normalizeV1Snapshot, parseV1Status, type V1Bodies } from '../../src/transport/v1/normalize';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function fixture(name: string): Json {
  return JSON.parse(readFileSync(path.join(process.cwd(), 'test/fixtures', name), 'utf8')) as Json;
}

function bodies(): V1Bodies & { status: Json; panel: Json; circuits: Json } {
  return {
    status: fixture('v1_status.json'),
    panel: fixture('v1_panel.json'),
    circuits: fixture('v1_circuits.json'),
    soe: fixture('v1_soe.json'),
  };
}

const DINING = '0dad2f16cd514812ae1807b0457d473e';
const DRYER = '1ad73b0eb44e4022bb6270c76baed0c1';
const FRIDGE = '9941b417bfa046ef908d97c998c54c50';

function protocolError(re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof PanelError, String(e));
    assert.equal(e.errorClass, 'protocol');
    assert.match(e.message, re);
    return true;
  };
}

describe('v1 transport: normalization against the captured fixtures', () => {
  it('maps the whole panel: identity, door, network, meters, battery; v2-only fields null', () => {
    const snap = normalizeV1Snapshot(bodies(), new EnergyGuard(), 1_700_000_000_000);
    assert.equal(snap.api, 'v1');
    assert.equal(snap.dataModel, 'v1-rest');
    assert.equal(snap.receivedAt, 1_700_000_000_000);
    const p = snap.panel;
    assert.equal(p.serial, 'sim-serial-123');
    assert.equal(p.model, '00200');
    assert.equal(p.firmwareVersion, 'spanos2/r202518/04');
    assert.equal(p.doorState, 'CLOSED');
    assert.equal(p.proximityProven, false);
    assert.equal(p.uptimeS, 1666224);
    assert.deepEqual(p.network, {
      ethernet: true,
      wifi: true,
      cellular: false,
      vendorCloud: null,
      wifiSsid: null,
    });
    assert.equal(p.mainRelay, 'CLOSED');
    assert.equal(p.gridPowerW, -2688.32080078125);
    assert.equal(p.feedthroughPowerW, 12.151021841913462);
    assert.deepEqual(p.mainMeterEnergy, {
      consumedEnergyWh: 7080956.25,
      producedEnergyWh: 4314769.375,
      netEnergyWh: 7080956.25 - 4314769.375,
    });
    // Negative although cumulative (SPAN #11): passed through untouched.
    assert.equal(p.feedthroughEnergy.consumedEnergyWh, -540317.4090270996);
    assert.equal(p.dsmState, 'DSM_ON_GRID');
    assert.equal(p.dsmGridState, 'DSM_GRID_UP');
    assert.equal(p.currentRunConfig, 'PANEL_ON_GRID');
    assert.equal(p.l1VoltageV, null);
    assert.equal(p.l2VoltageV, null);
    assert.equal(p.powerFlows, null);
    assert.deepEqual(snap.battery, {
      socPercent: 95,
      soeKWh: null,
      connected: null,
      gridState: null,
      // v1 has no source for any battery detail: all null, never made up.
      powerW: null,
      nameplateCapacityKWh: null,
      relativePosition: null,
      feed: null,
      identity: NO_IDENTITY,
    });
    assert.deepEqual(snap.energyRegressions, []);
  });

  it('keeps every circuit, in panel order, keyed by id', () => {
    const b = bodies();
    const snap = normalizeV1Snapshot(b, new EnergyGuard(), 0);
    assert.deepEqual(Object.keys(snap.circuits), Object.keys(b.circuits.circuits));
    assert.equal(Object.keys(snap.circuits).length, 22);
  });

  it('turns the panel-perspective power sign around and keeps the raw value', () => {
    const snap = normalizeV1Snapshot(bodies(), new EnergyGuard(), 0);
    const dining = snap.circuits[DINING];
    assert.equal(dining.powerRawW, -5.789374828338623);
    assert.equal(dining.powerW, 5.789374828338623);
    assert.ok(Object.is(snap.circuits[DRYER].powerW, 0), 'an idle circuit is 0, not -0');
    // Backfeed (raw > 0) becomes negative.
    const b = bodies();
    b.circuits.circuits[DINING].instantPowerW = 1234.5;
    assert.equal(normalizeV1Snapshot(b, new EnergyGuard(), 0).circuits[DINING].powerW, -1234.5);
  });

  it('maps v1 priorities to the shed vocabulary and keeps the raw one', () => {
    const b = bodies();
    b.circuits.circuits[DINING].priority = 'NICE_TO_HAVE';
    b.circuits.circuits[FRIDGE].priority = 'UNKNOWN';
    const c = normalizeV1Snapshot(b, new EnergyGuard(), 0).circuits;
    assert.equal(c[DINING].priority, 'SOC_THRESHOLD');
    assert.equal(c[DINING].priorityRaw, 'NICE_TO_HAVE');
    assert.equal(c[DRYER].priority, 'OFF_GRID');
    assert.equal(c[DRYER].priorityRaw, 'NON_ESSENTIAL');
    assert.equal(c[FRIDGE].priority, 'UNKNOWN');
    const orig = normalizeV1Snapshot(bodies(), new EnergyGuard(), 0).circuits;
    assert.equal(orig[FRIDGE].priority, 'NEVER');
    assert.equal(orig[FRIDGE].priorityRaw, 'MUST_HAVE');
  });

  it('maps circuit flags, tabs, energy and epoch-second timestamps (→ ms)', () => {
    const c = normalizeV1Snapshot(bodies(), new EnergyGuard(), 0).circuits;
    assert.equal(c[FRIDGE].controllable, false);
    assert.equal(c[DINING].controllable, true);
    assert.equal(c[DINING].sheddable, false);
    assert.equal(c[DINING].neverBackup, false);
    assert.deepEqual(c[DRYER].tabs, [24, 26]);
    assert.equal(c[DINING].name, 'Lights Dining Room');
    assert.equal(c[DINING].relay, 'CLOSED');
    assert.equal(c[DINING].consumedEnergyWh, 20794.3828125);
    assert.equal(c[DINING].producedEnergyWh, 487.3195495605469);
    assert.equal(c[DINING].powerUpdatedAt, 1752430935_000);
    assert.equal(c[DINING].energyUpdatedAt, 1752430312_000);
    assert.equal(c[DINING].currentA, null);
    assert.equal(c[DINING].breakerRatingA, null);
  });

  it('reports a missing optional field as null, never 0', () => {
    const b = bodies();
    delete b.status.system.doorState;
    delete b.status.system.uptime;
    delete b.status.system.proximityProven;
    delete b.status.network;
    delete b.status.software;
    delete b.panel.feedthroughPowerW;
    delete b.panel.feedthroughEnergy;
    delete b.panel.dsmState;
    const dining = b.circuits.circuits[DINING];
    for (const k of [
      'name',
      'priority',
      'isUserControllable',
      'instantPowerUpdateTimeS',
      'energyAccumUpdateTimeS',
    ]) {
      delete dining[k];
    }
    dining.isSheddable = null;
    const snap = normalizeV1Snapshot({ ...b, soe: null }, new EnergyGuard(), 0);
    const p = snap.panel;
    for (const v of [
      p.doorState,
      p.uptimeS,
      p.proximityProven,
      p.firmwareVersion,
      p.feedthroughPowerW,
      p.dsmState,
    ]) {
      assert.equal(v, null);
    }
    assert.deepEqual(p.network, {
      ethernet: null,
      wifi: null,
      cellular: null,
      vendorCloud: null,
      wifiSsid: null,
    });
    assert.deepEqual(p.feedthroughEnergy, {
      consumedEnergyWh: null,
      producedEnergyWh: null,
      netEnergyWh: null,
    });
    const c = snap.circuits[DINING];
    for (const v of [
      c.name,
      c.priority,
      c.priorityRaw,
      c.controllable,
      c.sheddable,
      c.powerUpdatedAt,
      c.energyUpdatedAt,
    ]) {
      assert.equal(v, null);
    }
    assert.equal(snap.battery, null);
  });

  it('reads legacy firmware proximity (remainingAuthUnlockButtonPresses)', () => {
    const s = fixture('v1_status.json');
    delete s.system.proximityProven;
    s.system.remainingAuthUnlockButtonPresses = 2;
    assert.equal(parseV1Status(s).proximityProven, false);
    s.system.remainingAuthUnlockButtonPresses = 0;
    assert.equal(parseV1Status(s).proximityProven, true);
  });

  it('rejects empty data: main relay UNKNOWN or no circuits', () => {
    const a = bodies();
    a.panel.mainRelayState = 'UNKNOWN';
    assert.throws(
      () => normalizeV1Snapshot(a, new EnergyGuard(), 0),
      protocolError(/panel returned empty data/),
    );
    const b = bodies();
    b.circuits.circuits = {};
    assert.throws(
      () => normalizeV1Snapshot(b, new EnergyGuard(), 0),
      protocolError(/panel returned empty data/),
    );
  });

  it('rejects a body that is not the expected object (string, array, null, missing or mistyped fields)', () => {
    const cases: Array<[(b: ReturnType<typeof bodies>) => void, RegExp]> = [
      [(b) => (b.status = 'oops' as unknown as Json), /status: body is a string/],
      [(b) => (b.circuits = [] as unknown as Json), /circuits: body is an array/],
      [(b) => (b.panel = null as unknown as Json), /panel: body is null/],
      [(b) => (b.circuits.circuits = []), /"circuits" is array, expected an object/],
      [(b) => delete b.status.system.serial, /"serial" is missing/],
      [(b) => delete b.panel.mainMeterEnergy, /"mainMeterEnergy" is missing/],
      [(b) => delete b.panel.mainRelayState, /"mainRelayState" is missing/],
      [(b) => delete b.circuits.circuits[DINING].instantPowerW, /"instantPowerW" is missing/],
      [
        (b) => (b.circuits.circuits[DINING].consumedEnergyWh = '12.5'),
        /"consumedEnergyWh" is string, expected a number/,
      ],
      [(b) => (b.circuits.circuits[DINING] = 'x'), /is not an object/],
      [(b) => (b.soe = { soe: {} }), /"percentage" is missing/],
    ];
    for (const [mutate, re] of cases) {
      const b = bodies();
      mutate(b);
      assert.throws(() => normalizeV1Snapshot(b, new EnergyGuard(), 0), protocolError(re), String(re));
    }
  });

  it('holds a counter that went backwards and reports it; feed-through is not guarded', () => {
    const guard = new EnergyGuard();
    normalizeV1Snapshot(bodies(), guard, 0);
    const b = bodies();
    b.circuits.circuits[DINING].consumedEnergyWh = 20000; // was 20794.38
    b.panel.mainMeterEnergy.consumedEnergyWh = 5213928; // SPAN #87-style dip
    b.panel.feedthroughEnergy.consumedEnergyWh = -600000; // lower, but legitimately signed
    const snap = normalizeV1Snapshot(b, guard, 1);
    assert.equal(snap.circuits[DINING].consumedEnergyWh, 20794.3828125, 'held at the last good value');
    assert.equal(snap.panel.mainMeterEnergy.consumedEnergyWh, 7080956.25);
    assert.equal(snap.panel.feedthroughEnergy.consumedEnergyWh, -600000);
    assert.deepEqual(
      snap.energyRegressions.map((r) => [r.counter, r.previousWh, r.reportedWh, r.action]),
      [
        [`circuit.${DINING}.consumed`, 20794.3828125, 20000, 'held'],
        ['main.consumed', 7080956.25, 5213928, 'held'],
      ],
    );
    // Back to normal: increasing again, nothing to report.
    const c = bodies();
    c.circuits.circuits[DINING].consumedEnergyWh = 20800;
    const next = normalizeV1Snapshot(c, guard, 2);
    assert.equal(next.circuits[DINING].consumedEnergyWh, 20800);
    assert.deepEqual(next.energyRegressions, []);
  });

  it('does not let a rejected poll move the guard', () => {
    const guard = new EnergyGuard();
    normalizeV1Snapshot(bodies(), guard, 0);
    const bad = bodies();
    bad.panel.mainRelayState = 'UNKNOWN';
    bad.panel.mainMeterEnergy.consumedEnergyWh = 9e9;
    assert.throws(() => normalizeV1Snapshot(bad, guard, 1));
    const again = normalizeV1Snapshot(bodies(), guard, 2);
    assert.deepEqual(again.energyRegressions, []);
    assert.equal(again.panel.mainMeterEnergy.consumedEnergyWh, 7080956.25);
  });

  it('accepts the 4-circuit sample subset too', () => {
    const snap = normalizeV1Snapshot(
      {
        status: fixture('v1_status.json'),
        panel: fixture('v1_panel_sample.json'),
        circuits: fixture('v1_circuits_sample4.json'),
        soe: null,
      },
      new EnergyGuard(),
      0,
    );
    assert.equal(Object.keys(snap.circuits).length, 4);
    assert.equal(snap.circuits['795e8eddb4f448af9625130332a41df8'].relay, 'OPEN');
  });
});
