import assert from 'node:assert/strict';
import { PanelState } from '../../simulator/state';
import { loadFixture } from '../helpers/fixtures';

interface FixtureCircuits {
  circuits: Record<string, { id: string; tabs: number[]; relayState: string; isUserControllable: boolean }>;
}

const T0 = Date.UTC(2026, 6, 1, 12, 0, 0);
const HOUR = 3_600_000;

function clockedState(seed = 42) {
  const clock = { t: T0 };
  const state = new PanelState({ seed, now: () => clock.t });
  return { clock, state };
}

function tabSums(state: PanelState, tabs: number[]) {
  let imported = 0;
  let exported = 0;
  let power = 0;
  for (const t of tabs) {
    const b = state.branches[t - 1]!;
    imported += b.importedActiveEnergyWh;
    exported += b.exportedActiveEnergyWh;
    power += b.instantPowerW;
  }
  return { imported, exported, power };
}

const close = (a: number, b: number, eps = 1e-6) =>
  Math.abs(a - b) <= eps * Math.max(1, Math.abs(a), Math.abs(b));

describe('simulator PanelState (physics)', () => {
  it('is seeded from the MAIN 32 capture: 22 circuits in fixture order, 32 spaces, PV on unmapped 30/32', () => {
    const { state } = clockedState();
    const fixture = loadFixture<FixtureCircuits>('v1_circuits.json');
    assert.deepEqual(
      state.circuits.map((c) => c.id),
      Object.keys(fixture.circuits),
    );
    assert.deepEqual(
      state.branches.map((b) => b.id),
      Array.from({ length: 32 }, (_, i) => i + 1),
    );
    const mapped = new Set(state.circuits.flatMap((c) => c.tabs));
    const unmapped = state.branches.map((b) => b.id).filter((id) => !mapped.has(id));
    assert.deepEqual(unmapped, [27, 28, 30, 32]);
    assert.ok(state.branches[29]!.instantPowerW > 1000, 'space 30 backfeeds');
    assert.ok(state.branches[31]!.instantPowerW > 1000, 'space 32 backfeeds');
    assert.ok(
      close(state.pvPowerW, -(state.branches[29]!.instantPowerW + state.branches[31]!.instantPowerW)),
    );
    assert.ok(state.pvPowerW < 0, 'pv power flow is negative while generating');
    assert.equal(state.circuit('795e8eddb4f448af9625130332a41df8')?.relayState, 'OPEN');
    assert.equal(state.soePercent, 95);
    assert.match(state.identity.serial, /^nj-2316-[A-Z0-9]{4}$/);
    assert.equal(
      new PanelState({ serial: 'nj-2316-TEST', firmwareVersion: 'spanos2/r202609/01' }).identity.serial,
      'nj-2316-TEST',
    );
  });

  it('is reproducible: the same seed and clock give the same values, another seed differs', () => {
    const a = clockedState(7);
    const b = clockedState(7);
    const c = clockedState(8);
    for (let i = 0; i < 20; i++) {
      for (const s of [a, b, c]) {
        s.clock.t += 1000;
        s.state.tick();
      }
    }
    assert.deepEqual(
      a.state.circuits.map((x) => x.instantPowerW),
      b.state.circuits.map((x) => x.instantPowerW),
    );
    assert.equal(a.state.mains.instantGridPowerW, b.state.mains.instantGridPowerW);
    assert.notDeepEqual(
      a.state.circuits.map((x) => x.instantPowerW),
      c.state.circuits.map((x) => x.instantPowerW),
    );
  });

  it('keeps signs: loads ≤ 0 W, PV spaces > 0 W, and power wanders around the seed level', () => {
    const { clock, state } = clockedState();
    const seedPower = new Map(state.circuits.map((c) => [c.id, c.instantPowerW]));
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) {
      clock.t += 1000;
      state.tick();
      for (const c of state.circuits) {
        assert.ok(c.instantPowerW <= 0, `${c.name} consumes`);
        const base = seedPower.get(c.id)!;
        if (c.relayState === 'CLOSED' && base !== 0) {
          assert.ok(Math.abs(c.instantPowerW) >= Math.abs(base) * 0.5 - 1e-9);
          assert.ok(Math.abs(c.instantPowerW) <= Math.abs(base) * 1.5 + 1e-9);
        }
      }
      assert.ok(state.branches[29]!.instantPowerW > 0);
      seen.add(state.circuits[0]!.instantPowerW);
    }
    assert.ok(seen.size > 10, 'power actually wanders');
  });

  it('keeps circuits and branches consistent (two-pole split, energy sums) and grid = loads − PV + feed-through', () => {
    const { clock, state } = clockedState();
    for (let i = 0; i < 30; i++) {
      clock.t += 7000;
      state.tick();
      for (const c of state.circuits) {
        const sums = tabSums(state, c.tabs);
        assert.ok(close(c.consumedEnergyWh, sums.exported), `${c.name} consumed = branch exported`);
        assert.ok(close(c.producedEnergyWh, sums.imported), `${c.name} produced = branch imported`);
        assert.ok(close(c.instantPowerW, sums.power, 1e-9), `${c.name} power = sum of its spaces`);
        for (const t of c.tabs) {
          assert.equal(state.branches[t - 1]!.relayState, c.relayState);
          assert.ok(close(state.branches[t - 1]!.instantPowerW, c.instantPowerW / c.tabs.length, 1e-12));
        }
      }
      const loads = state.branches
        .filter((b) => b.instantPowerW < 0)
        .reduce((s, b) => s - b.instantPowerW, 0);
      const pv = state.branches.filter((b) => b.instantPowerW > 0).reduce((s, b) => s + b.instantPowerW, 0);
      assert.ok(close(state.mains.instantGridPowerW, loads - pv + state.mains.feedthroughPowerW, 1e-9));
    }
  });

  it('integrates energy: each counter grows by |power| × dt of the interval, never decreases', () => {
    const { clock, state } = clockedState();
    const bedroom = state.circuits.find((c) => c.name === 'Master bedroom')!;
    const before = { ...bedroom };
    const grid = state.mains.instantGridPowerW;
    const meter = { ...state.mains.mainMeterEnergy };
    clock.t += HOUR;
    state.tick();
    assert.ok(close(bedroom.consumedEnergyWh - before.consumedEnergyWh, -before.instantPowerW, 1e-9));
    assert.equal(bedroom.producedEnergyWh, before.producedEnergyWh);
    if (grid < 0)
      assert.ok(close(state.mains.mainMeterEnergy.producedEnergyWh - meter.producedEnergyWh, -grid, 1e-9));
    else assert.ok(close(state.mains.mainMeterEnergy.consumedEnergyWh - meter.consumedEnergyWh, grid, 1e-9));
    const pvBranch = state.branches[29]!;
    const pvImported = pvBranch.importedActiveEnergyWh;
    const pvPower = pvBranch.instantPowerW;
    clock.t += HOUR / 2;
    state.tick();
    assert.ok(
      close(pvBranch.importedActiveEnergyWh - pvImported, pvPower / 2, 1e-9),
      'backfeed counts as produced',
    );

    let last = state.circuits.map((c) => [c.consumedEnergyWh, c.producedEnergyWh]);
    for (let i = 0; i < 100; i++) {
      clock.t += 500 + i * 37;
      state.tick();
      const now = state.circuits.map((c) => [c.consumedEnergyWh, c.producedEnergyWh]);
      now.forEach(([cons, prod], k) => {
        assert.ok(cons! >= last[k]![0]! && prod! >= last[k]![1]!, 'counters never decrease');
      });
      last = now;
    }
  });

  it('keeps an OPEN circuit at exactly 0 W with no energy growth; closing it restores power', () => {
    const { clock, state } = clockedState();
    const c = state.circuits.find((x) => x.name === 'Master bedroom')!;
    const changes: string[] = [];
    state.on('circuit', (x: { id: string; relayState: string }) => changes.push(`${x.id}:${x.relayState}`));
    let changeEvents = 0;
    state.on('change', () => changeEvents++);
    state.setRelay(c.id, 'OPEN');
    assert.deepEqual(changes, [`${c.id}:OPEN`]);
    assert.equal(changeEvents, 1);
    assert.equal(c.instantPowerW, 0);
    for (const t of c.tabs) assert.equal(state.branches[t - 1]!.instantPowerW, 0);
    const consumed = c.consumedEnergyWh;
    for (let i = 0; i < 10; i++) {
      clock.t += 60_000;
      state.tick();
      assert.equal(c.instantPowerW, 0);
    }
    assert.equal(c.consumedEnergyWh, consumed);
    state.setRelay(c.id, 'CLOSED');
    assert.ok(c.instantPowerW < 0);
    clock.t += 60_000;
    state.tick();
    assert.ok(c.consumedEnergyWh > consumed);
    assert.equal(changeEvents, 13);
  });

  it('refuses commands to locked or unknown circuits, and emits no circuit event for a no-op', () => {
    const { state } = clockedState();
    const fridge = state.circuits.find((c) => !c.isUserControllable)!;
    assert.throws(() => state.setRelay(fridge.id, 'OPEN'), /not controllable/);
    assert.throws(() => state.setRelay('nope', 'OPEN'), /unknown circuit/);
    assert.throws(() => state.setPriority('nope', 'MUST_HAVE'), /unknown circuit/);
    const events: unknown[] = [];
    state.on('circuit', (c) => events.push(c));
    const c = state.circuits.find((x) => x.isUserControllable && x.relayState === 'CLOSED')!;
    state.setRelay(c.id, 'CLOSED');
    assert.equal(events.length, 0);
    state.setPriority(c.id, 'NICE_TO_HAVE');
    assert.equal(c.priority, 'NICE_TO_HAVE');
    assert.equal(events.length, 1);
  });

  it('tracks time: epoch-second update stamps, panel-monotonic ms samples, growing uptime', () => {
    const { clock, state } = clockedState();
    const uptime0 = state.identity.uptimeS;
    const end0 = state.mains.gridSampleEndMs;
    clock.t += 12_345;
    state.tick();
    assert.equal(state.circuits[0]!.instantPowerUpdateTimeS, Math.floor(clock.t / 1000));
    assert.equal(state.circuits[0]!.energyAccumUpdateTimeS, Math.floor(clock.t / 1000));
    assert.equal(state.mains.gridSampleEndMs - end0, 12_345);
    assert.ok(state.mains.gridSampleStartMs < state.mains.gridSampleEndMs);
    assert.ok(state.mains.gridSampleEndMs < 1e10, 'monotonic ms since boot, not epoch');
    assert.equal(state.identity.uptimeS - uptime0, 12);
    for (const b of state.branches) assert.ok(b.measureStartTsMs <= state.mains.gridSampleEndMs);
  });

  it('reboots: uptime restarts, and an optional counter dip lowers lifetime counters once', () => {
    const { clock, state } = clockedState();
    clock.t += 5000;
    state.tick();
    const c = state.circuits.find((x) => x.name === 'Refrigerator')!;
    const consumed = c.consumedEnergyWh;
    const meter = state.mains.mainMeterEnergy.consumedEnergyWh;
    let reboots = 0;
    state.on('reboot', () => reboots++);
    state.reboot({ counterDipWh: 1000 });
    assert.equal(reboots, 1);
    assert.equal(state.identity.uptimeS, 0);
    assert.ok(state.mains.gridSampleEndMs < 1000);
    assert.ok(close(c.consumedEnergyWh, consumed - 1000, 1e-9));
    assert.ok(close(state.mains.mainMeterEnergy.consumedEnergyWh, meter - 1000, 1e-9));
    const sums = tabSums(state, c.tabs);
    assert.ok(close(c.consumedEnergyWh, sums.exported));
    clock.t += 3000;
    state.tick();
    assert.equal(state.identity.uptimeS, 3);
    assert.ok(c.consumedEnergyWh >= consumed - 1000);
    state.reboot();
    assert.ok(c.consumedEnergyWh >= consumed - 1000, 'no dip unless asked');
  });
});
