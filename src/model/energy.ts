import { circuitCounterKeys, newCircuitMap, type CircuitMap } from './circuit-map';
import type { EnergyGuard } from './energy-guard';
import { netEnergy, type Circuit, type EnergyPair, type EnergyRegression, type UnmappedTab } from './panel';

/**
 * The last step of every API's normalization: cumulative counters pass through the panel's EnergyGuard
 * (the same counter keys whatever API the panel speaks, so switching API never looks like a reset), and the
 * net energies (consumed − produced) are computed from the guarded values.
 */

export interface UnguardedEnergy {
  serial: string;
  circuits: Circuit[];
  mainMeterEnergy: EnergyPair;
  feedthroughEnergy: EnergyPair;
  unmappedTabs: UnmappedTab[] | null;
}

export interface GuardedEnergy {
  circuits: CircuitMap;
  mainMeterEnergy: EnergyPair;
  feedthroughEnergy: EnergyPair;
  unmappedTabs: UnmappedTab[] | null;
  energyRegressions: EnergyRegression[];
}

function guardPair(
  guard: EnergyGuard,
  key: string,
  consumed: number | null,
  produced: number | null,
  out: EnergyRegression[],
): { consumedEnergyWh: number | null; producedEnergyWh: number | null; netEnergyWh: number | null } {
  const c = guard.check(`${key}.consumed`, consumed, out);
  const p = guard.check(`${key}.produced`, produced, out);
  return { consumedEnergyWh: c, producedEnergyWh: p, netEnergyWh: netEnergy(c, p) };
}

export function guardEnergy(u: UnguardedEnergy, guard: EnergyGuard): GuardedEnergy {
  guard.bindPanel(u.serial);
  const regressions: EnergyRegression[] = [];
  // Ids are panel data: a null-prototype map, so `__proto__` or `constructor` is an ordinary circuit.
  const circuits = newCircuitMap();
  const counters = new Set<string>();
  for (const c of u.circuits) {
    const [consumed, produced] = circuitCounterKeys(c.id);
    counters.add(consumed).add(produced);
    circuits[c.id] = {
      ...c,
      ...guardPair(guard, `circuit.${c.id}`, c.consumedEnergyWh, c.producedEnergyWh, regressions),
    };
  }
  // A circuit the panel no longer lists is forgotten (an empty list is a gap, not a panel without circuits).
  if (u.circuits.length > 0) guard.retainCircuitCounters(counters);
  const main = u.mainMeterEnergy;
  const feed = u.feedthroughEnergy;
  const result: GuardedEnergy = {
    circuits,
    mainMeterEnergy: guardPair(guard, 'main', main.consumedEnergyWh, main.producedEnergyWh, regressions),
    // Feed-through energy can legitimately be negative (SPAN #11): passed through, not guarded.
    feedthroughEnergy: { ...feed, netEnergyWh: netEnergy(feed.consumedEnergyWh, feed.producedEnergyWh) },
    unmappedTabs:
      u.unmappedTabs?.map((t) => ({
        ...t,
        ...guardPair(guard, `tab.${t.tab}`, t.consumedEnergyWh, t.producedEnergyWh, regressions),
      })) ?? null,
    energyRegressions: regressions,
  };
  guard.persist();
  return result;
}
