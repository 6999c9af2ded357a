import type { EnergyRegression } from './panel';

/** One counter as persisted: the last value emitted and the offset absorbed from confirmed resets, Wh. */
export interface PersistedCounter {
  emittedWh: number;
  offsetWh: number;
}

/** Counter key (`main.consumed`, `circuit.<id>.produced`, `tab.<n>.consumed`) → state. */
export type PersistedGuard = Record<string, PersistedCounter>;

/**
 * Where a guard keeps its counters across restarts, per panel serial (the span-panel config node backs it
 * with its Node-RED context). Synchronous: the config node loads everything before the connection starts.
 */
export interface EnergyGuardStore {
  load(serial: string): PersistedGuard | null;
  save(serial: string, state: PersistedGuard): void;
}

/**
 * Keeps cumulative energy counters monotonic for consumers such as Home Assistant `total_increasing` sensors.
 *
 * Real panels report lower lifetime counters for a cycle or two after a reboot (SPAN #87), and a replayed
 * or missing retained value must never look like a reset (SPAN #259). A reading below the last emitted value
 * is therefore held (the last good value is emitted) and flagged. If the lower reading persists for
 * `confirmSamples` consecutive samples the counter really was reset (panel replaced, firmware reset): the
 * difference is absorbed into an offset so the emitted counter continues upwards from where it was.
 */
export class EnergyGuard {
  private readonly last = new Map<string, { emitted: number; offset: number; lowStreak: number }>();
  /** The panel the counters belong to (set by bindPanel). */
  private serial: string | null = null;

  constructor(
    private readonly confirmSamples = 3,
    /** Float noise tolerated before a reading counts as a regression, in Wh. */
    private readonly toleranceWh = 0.01,
    private readonly store: EnergyGuardStore | null = null,
  ) {}

  /**
   * Ties the counters to one panel before a snapshot is guarded: the first time (and whenever the serial
   * changes) the persisted counters of that panel are restored, so a counter that dropped while Node-RED
   * was down is still held. A different serial never inherits another panel's counters.
   */
  bindPanel(serial: string): void {
    if (serial === this.serial) return;
    this.last.clear();
    this.serial = serial;
    const saved = this.store?.load(serial);
    if (!saved) return;
    for (const [key, c] of Object.entries(saved)) {
      if (c && Number.isFinite(c.emittedWh) && Number.isFinite(c.offsetWh)) {
        this.last.set(key, { emitted: c.emittedWh, offset: c.offsetWh, lowStreak: 0 });
      }
    }
  }

  /** Hands the counters of the bound panel to the store (after each guarded snapshot). */
  persist(): void {
    if (!this.store || this.serial === null) return;
    this.store.save(this.serial, this.exportState());
  }

  exportState(): PersistedGuard {
    const out: PersistedGuard = Object.create(null) as PersistedGuard;
    for (const [key, c] of this.last) out[key] = { emittedWh: c.emitted, offsetWh: c.offset };
    return out;
  }

  /**
   * Returns the value to emit for `counter` (null stays null: unknown is never turned into a number).
   * Regressions are appended to `out`.
   */
  check(counter: string, reportedWh: number | null, out: EnergyRegression[]): number | null {
    if (reportedWh === null || !Number.isFinite(reportedWh)) return null;
    const prev = this.last.get(counter);
    if (!prev) {
      this.last.set(counter, { emitted: reportedWh, offset: 0, lowStreak: 0 });
      return reportedWh;
    }
    const candidate = reportedWh + prev.offset;
    if (candidate >= prev.emitted - this.toleranceWh) {
      prev.emitted = Math.max(candidate, prev.emitted);
      prev.lowStreak = 0;
      return prev.emitted;
    }
    prev.lowStreak += 1;
    if (prev.lowStreak >= this.confirmSamples) {
      prev.offset = prev.emitted - reportedWh;
      prev.lowStreak = 0;
      out.push({ counter, previousWh: prev.emitted, reportedWh, action: 'rebased' });
      return prev.emitted;
    }
    out.push({ counter, previousWh: prev.emitted, reportedWh, action: 'held' });
    return prev.emitted;
  }

  /**
   * Forget the circuit counters not in `keep` (the panel dropped those circuits), so the guard stays as
   * big as the panel. Panel-level counters are kept.
   */
  retainCircuitCounters(keep: ReadonlySet<string>): void {
    for (const counter of this.last.keys()) {
      if (counter.startsWith('circuit.') && !keep.has(counter)) this.last.delete(counter);
    }
  }

  /** Number of counters held (tests). */
  get size(): number {
    return this.last.size;
  }

  /** Forget everything (a different panel was configured). */
  reset(): void {
    this.last.clear();
    this.serial = null;
  }
}
