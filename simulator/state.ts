/**
 * The simulated panel's physical state (see state-types.ts for the contract shared with the v2 face).
 *
 * Seeded from a real MAIN 32 capture: 22 circuits, 32 breaker spaces, PV backfeeding on the unmapped
 * spaces 30/32. Physics, kept deliberately simple but always self-consistent:
 * - Each circuit's power wanders (seeded PRNG) around its seed level, keeping its sign; exactly 0 W while
 *   its relay is OPEN. A two-pole circuit's power is split evenly over its two spaces.
 * - Energy integrates the power held over each interval: a consuming space (< 0 W) adds to
 *   `exportedActiveEnergyWh` (panel → circuit), a backfeeding one to `importedActiveEnergyWh`. A circuit's
 *   counters are the sums of its spaces' counters, so circuit and branch always agree. Counters only ever
 *   grow, except through `reboot({ counterDipWh })`.
 * - Grid power = −Σ branch power + feed-through power (loads − PV + what the downstream lugs take); the main
 *   meter integrates it (import → consumed, export → produced).
 * - Times: `*TimeS` are epoch seconds from the `now()` clock; `*Ms` sample stamps are panel-monotonic
 *   milliseconds since boot, so they restart at a reboot like the uptime does.
 */
import { EventEmitter } from 'node:events';
import { type Random, seededRandom } from './prng';
import { seedCircuits, seedPanel, seedSoePercent, seedStatus } from './seed';
import type {
  SimBranch,
  SimCircuit,
  SimIdentity,
  SimMains,
  SimPanelState,
  SimRelay,
  SimV1Priority,
} from './state-types';

export interface PanelStateOptions {
  /** PRNG seed; the same seed and the same tick times give the same values. Default 1. */
  seed?: number;
  /** Epoch-ms clock, so tests can drive time. Default Date.now. */
  now?: () => number;
  /** Default: 'nj-2316-' followed by four characters derived from the seed. */
  serial?: string;
  /** Default 'spanos2/r202603/05' (the first firmware that speaks both v1 and v2). */
  firmwareVersion?: string;
  /** Whether a battery is commissioned (soePercent null otherwise). Default true. */
  battery?: boolean;
  /**
   * Ids for the first circuits, in seed order, instead of their seed UUIDs: untrusted-data tests give
   * circuits ids such as `__proto__` or `constructor`.
   */
  circuitIds?: string[];
}

export const DEFAULT_FIRMWARE = 'spanos2/r202603/05';

const MS_PER_HOUR = 3_600_000;
const RELAYS: readonly SimRelay[] = ['OPEN', 'CLOSED'];
const PRIORITIES: readonly SimV1Priority[] = ['MUST_HAVE', 'NICE_TO_HAVE', 'NON_ESSENTIAL'];

/** How a power value moves between ticks: a mean-reverting walk of a factor around 1. */
class Wander {
  factor = 1;
  constructor(private readonly random: Random) {}
  step(): number {
    this.factor += 0.3 * (1 - this.factor) + (this.random() - 0.5) * 0.2;
    this.factor = Math.min(1.5, Math.max(0.5, this.factor));
    return this.factor;
  }
}

/** What drives one breaker space: either its circuit or, for an unmapped space, its own seed level. */
interface SpaceDriver {
  branch: SimBranch;
  circuit: SimCircuit | null;
  /** Signed seed power of an unmapped space (W); unused for mapped spaces. */
  basePowerW: number;
  wander: Wander | null;
  measureOffsetMs: number;
}

export class PanelState extends EventEmitter implements SimPanelState {
  readonly identity: SimIdentity;
  readonly mains: SimMains;
  readonly circuits: SimCircuit[];
  readonly branches: SimBranch[];
  private soe: number | null;

  private readonly now: () => number;
  private readonly random: Random;
  /** Signed seed power (W) and walk per circuit id. */
  private readonly circuitBase = new Map<string, { basePowerW: number; wander: Wander }>();
  private readonly spaces: SpaceDriver[] = [];
  private readonly pvSpaces: SpaceDriver[] = [];
  private readonly feedthroughBaseW: number;
  private readonly feedthroughWander: Wander;
  private readonly voltageWander: [Wander, Wander];
  private bootEpochMs: number;
  private lastTickMs: number;

  constructor(opts: PanelStateOptions = {}) {
    super();
    this.now = opts.now ?? Date.now;
    this.random = seededRandom(opts.seed ?? 1);
    const nowMs = this.now();
    this.lastTickMs = nowMs;
    this.bootEpochMs = nowMs - seedStatus.system.uptime * 1000;

    this.identity = {
      serial: opts.serial ?? defaultSerial(this.random),
      firmwareVersion: opts.firmwareVersion ?? DEFAULT_FIRMWARE,
      model: seedStatus.system.model,
      doorState: seedStatus.system.doorState as SimIdentity['doorState'],
      proximityProven: false,
      uptimeS: seedStatus.system.uptime,
      eth0Link: seedStatus.network.eth0Link,
      wlanLink: seedStatus.network.wlanLink,
      wwanLink: seedStatus.network.wwanLink,
      wifiSsid: 'SimulatedHome',
    };
    this.soe = opts.battery === false ? null : seedSoePercent;

    const epochS = Math.floor(nowMs / 1000);
    this.circuits = seedCircuits.map((c, i) => {
      const id = opts.circuitIds?.[i] ?? c.id;
      this.circuitBase.set(id, { basePowerW: c.instantPowerW, wander: new Wander(this.random) });
      return {
        id,
        name: c.name,
        tabs: [...c.tabs],
        relayState: asRelay(c.relayState),
        priority: asPriority(c.priority),
        isUserControllable: c.isUserControllable,
        isSheddable: c.isSheddable,
        isNeverBackup: c.isNeverBackup,
        breakerRatingA: c.tabs.length === 2 ? 30 : 20,
        instantPowerW: 0,
        producedEnergyWh: c.producedEnergyWh,
        consumedEnergyWh: c.consumedEnergyWh,
        instantPowerUpdateTimeS: epochS,
        energyAccumUpdateTimeS: epochS,
      };
    });

    const circuitOfTab = new Map<number, SimCircuit>();
    for (const c of this.circuits) for (const t of c.tabs) circuitOfTab.set(t, c);
    const seedBranchById = new Map(seedPanel.branches.map((b) => [b.id, b]));

    this.branches = seedPanel.branches.map((b) => ({
      id: b.id,
      relayState: asRelay(b.relayState),
      instantPowerW: 0,
      importedActiveEnergyWh: b.importedActiveEnergyWh,
      exportedActiveEnergyWh: b.exportedActiveEnergyWh,
      measureStartTsMs: 0,
      measureDurationMs: b.measureDurationMs,
      isMeasureValid: b.isMeasureValid,
    }));
    for (const branch of this.branches) {
      const circuit = circuitOfTab.get(branch.id) ?? null;
      const seedBranch = seedBranchById.get(branch.id);
      const unmappedBase = circuit ? 0 : (seedBranch?.instantPowerW ?? 0);
      const driver: SpaceDriver = {
        branch,
        circuit,
        basePowerW: unmappedBase,
        wander: circuit ? null : new Wander(this.random),
        // The capture has a few spaces stamped after the grid sample; keep every stamp ≤ the sample end.
        measureOffsetMs: Math.max(
          0,
          seedPanel.gridSampleEndMs - (seedBranch?.measureStartTsMs ?? seedPanel.gridSampleEndMs),
        ),
      };
      this.spaces.push(driver);
      if (!circuit && unmappedBase > 0) this.pvSpaces.push(driver);
    }
    this.splitCircuitEnergyOverSpaces(seedBranchById);

    this.mains = {
      mainRelayState: asRelay(seedPanel.mainRelayState),
      instantGridPowerW: 0,
      feedthroughPowerW: seedPanel.feedthroughPowerW,
      mainMeterEnergy: { ...seedPanel.mainMeterEnergy },
      feedthroughEnergy: { ...seedPanel.feedthroughEnergy },
      gridSampleStartMs: 0,
      gridSampleEndMs: 0,
      dsmGridState: seedPanel.dsmGridState,
      dsmState: seedPanel.dsmState,
      currentRunConfig: seedPanel.currentRunConfig,
      l1VoltageV: 120.1,
      l2VoltageV: 120.3,
    };
    this.feedthroughBaseW = seedPanel.feedthroughPowerW;
    this.feedthroughWander = new Wander(this.random);
    this.voltageWander = [new Wander(this.random), new Wander(this.random)];

    for (const c of this.circuits) this.applyCircuitPower(c, c.relayState === 'OPEN' ? 0 : this.base(c));
    for (const s of this.spaces) if (!s.circuit) s.branch.instantPowerW = s.basePowerW;
    this.refreshAggregates(nowMs);
  }

  get soePercent(): number | null {
    return this.soe;
  }

  /** PV power flow (W, < 0 while generating): minus the backfeed of the unmapped solar spaces. */
  get pvPowerW(): number {
    let sum = 0;
    for (const s of this.pvSpaces) sum += s.branch.instantPowerW;
    return sum === 0 ? 0 : -sum;
  }

  /** Panel-monotonic milliseconds since the last (simulated) boot. */
  panelMs(nowMs: number = this.now()): number {
    return Math.max(0, Math.round(nowMs - this.bootEpochMs));
  }

  tick(nowMs: number = this.now()): void {
    this.integrate(nowMs);
    for (const c of this.circuits) {
      const entry = this.circuitBase.get(c.id);
      const factor = entry ? entry.wander.step() : 1;
      this.applyCircuitPower(c, c.relayState === 'OPEN' ? 0 : this.base(c) * factor);
    }
    for (const s of this.spaces) {
      if (!s.circuit && s.wander) s.branch.instantPowerW = s.basePowerW * s.wander.step();
    }
    this.mains.feedthroughPowerW = this.feedthroughBaseW * this.feedthroughWander.step();
    this.mains.l1VoltageV = round1(119.5 + this.voltageWander[0].step());
    this.mains.l2VoltageV = round1(119.5 + this.voltageWander[1].step());
    this.refreshAggregates(nowMs);
    this.emit('change');
  }

  circuit(id: string): SimCircuit | undefined {
    return this.circuits.find((c) => c.id === id);
  }

  setRelay(id: string, state: SimRelay): SimCircuit {
    if (!RELAYS.includes(state)) throw new Error('invalid relay state');
    const c = this.controllable(id);
    const nowMs = this.now();
    this.integrate(nowMs);
    const changed = c.relayState !== state;
    c.relayState = state;
    const entry = this.circuitBase.get(c.id);
    this.applyCircuitPower(c, state === 'OPEN' ? 0 : this.base(c) * (entry?.wander.factor ?? 1));
    this.refreshAggregates(nowMs);
    return this.afterCommand(c, changed);
  }

  setPriority(id: string, priority: SimV1Priority): SimCircuit {
    if (!PRIORITIES.includes(priority)) throw new Error('invalid priority');
    const c = this.controllable(id);
    const changed = c.priority !== priority;
    c.priority = priority;
    return this.afterCommand(c, changed);
  }

  reboot(opts: { counterDipWh?: number } = {}): void {
    const nowMs = this.now();
    this.integrate(nowMs);
    this.bootEpochMs = nowMs;
    const dip = Math.max(0, opts.counterDipWh ?? 0);
    if (dip > 0) {
      for (const s of this.spaces) {
        const share = s.circuit ? dip / s.circuit.tabs.length : dip;
        s.branch.importedActiveEnergyWh = Math.max(0, s.branch.importedActiveEnergyWh - share);
        s.branch.exportedActiveEnergyWh = Math.max(0, s.branch.exportedActiveEnergyWh - share);
      }
      const meter = this.mains.mainMeterEnergy;
      meter.consumedEnergyWh = Math.max(0, meter.consumedEnergyWh - dip);
      meter.producedEnergyWh = Math.max(0, meter.producedEnergyWh - dip);
    }
    this.refreshAggregates(nowMs);
    this.emit('reboot');
    this.emit('change');
  }

  /** Opens or closes the door-proximity window that allows token registration. */
  setProximity(proven: boolean): void {
    if (this.identity.proximityProven === proven) return;
    this.identity.proximityProven = proven;
    this.emit('change');
  }

  /** Battery state of energy in percent (null = no battery). */
  setSoePercent(percent: number | null): void {
    this.soe = percent === null ? null : Math.min(100, Math.max(0, percent));
    this.emit('change');
  }

  private controllable(id: string): SimCircuit {
    const c = this.circuit(id);
    if (!c) throw new Error('unknown circuit');
    if (!c.isUserControllable) throw new Error('not controllable');
    return c;
  }

  private afterCommand(c: SimCircuit, changed: boolean): SimCircuit {
    if (changed) this.emit('circuit', c);
    this.emit('change');
    return c;
  }

  private base(c: SimCircuit): number {
    return this.circuitBase.get(c.id)?.basePowerW ?? 0;
  }

  private applyCircuitPower(c: SimCircuit, powerW: number): void {
    c.instantPowerW = powerW;
    for (const tab of c.tabs) {
      const branch = this.branches[tab - 1];
      if (!branch) continue;
      branch.instantPowerW = powerW / c.tabs.length;
      branch.relayState = c.relayState;
    }
  }

  /** Adds the energy of the power held since the last integration (never negative). */
  private integrate(nowMs: number): void {
    const dtMs = nowMs - this.lastTickMs;
    if (dtMs <= 0) return;
    this.lastTickMs = nowMs;
    const hours = dtMs / MS_PER_HOUR;
    for (const { branch } of this.spaces) {
      const p = branch.instantPowerW;
      if (p < 0) branch.exportedActiveEnergyWh += -p * hours;
      else if (p > 0) branch.importedActiveEnergyWh += p * hours;
    }
    const grid = this.mains.instantGridPowerW;
    if (grid > 0) this.mains.mainMeterEnergy.consumedEnergyWh += grid * hours;
    else if (grid < 0) this.mains.mainMeterEnergy.producedEnergyWh += -grid * hours;
    const feed = this.mains.feedthroughPowerW;
    if (feed > 0) this.mains.feedthroughEnergy.consumedEnergyWh += feed * hours;
    else if (feed < 0) this.mains.feedthroughEnergy.producedEnergyWh += -feed * hours;
  }

  /** Recomputes everything derived: circuit energy sums, grid power, timestamps, uptime. */
  private refreshAggregates(nowMs: number): void {
    const epochS = Math.floor(nowMs / 1000);
    for (const c of this.circuits) {
      let produced = 0;
      let consumed = 0;
      for (const tab of c.tabs) {
        const branch = this.branches[tab - 1];
        if (!branch) continue;
        produced += branch.importedActiveEnergyWh;
        consumed += branch.exportedActiveEnergyWh;
      }
      c.producedEnergyWh = produced;
      c.consumedEnergyWh = consumed;
      c.instantPowerUpdateTimeS = epochS;
      c.energyAccumUpdateTimeS = epochS;
    }
    let branchSum = 0;
    for (const b of this.branches) branchSum += b.instantPowerW;
    this.mains.instantGridPowerW = -branchSum + this.mains.feedthroughPowerW;

    const panelMs = this.panelMs(nowMs);
    this.mains.gridSampleEndMs = panelMs;
    this.mains.gridSampleStartMs = Math.max(0, panelMs - 26);
    for (const s of this.spaces) s.branch.measureStartTsMs = Math.max(0, panelMs - s.measureOffsetMs);
    this.identity.uptimeS = Math.floor(panelMs / 1000);
  }

  /**
   * Gives each space of a circuit its share of the circuit's seed counters, in the proportion the capture's
   * branches had, so that from the start a circuit's counters are exactly the sum of its spaces'.
   */
  private splitCircuitEnergyOverSpaces(
    seedBranchById: Map<number, { importedActiveEnergyWh: number; exportedActiveEnergyWh: number }>,
  ): void {
    for (const c of this.circuits) {
      const seeds = c.tabs.map((t) => seedBranchById.get(t));
      const importedTotal = seeds.reduce((sum, b) => sum + (b?.importedActiveEnergyWh ?? 0), 0);
      const exportedTotal = seeds.reduce((sum, b) => sum + (b?.exportedActiveEnergyWh ?? 0), 0);
      c.tabs.forEach((tab, i) => {
        const branch = this.branches[tab - 1];
        if (!branch) return;
        const seed = seeds[i];
        const importedShare =
          importedTotal > 0 ? (seed?.importedActiveEnergyWh ?? 0) / importedTotal : 1 / c.tabs.length;
        const exportedShare =
          exportedTotal > 0 ? (seed?.exportedActiveEnergyWh ?? 0) / exportedTotal : 1 / c.tabs.length;
        branch.importedActiveEnergyWh = c.producedEnergyWh * importedShare;
        branch.exportedActiveEnergyWh = c.consumedEnergyWh * exportedShare;
      });
    }
  }
}

function asRelay(value: string): SimRelay {
  return value === 'OPEN' ? 'OPEN' : 'CLOSED';
}

function asPriority(value: string): SimV1Priority {
  return (PRIORITIES as readonly string[]).includes(value) ? (value as SimV1Priority) : 'NON_ESSENTIAL';
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

function defaultSerial(random: Random): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';
  let suffix = '';
  for (let i = 0; i < 4; i++) suffix += alphabet[Math.floor(random() * alphabet.length)];
  return `nj-2316-${suffix}`;
}
