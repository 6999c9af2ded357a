/**
 * Keeps the energy guard's counters in the span-panel config node's context, so a counter that dropped
 * while Node-RED was stopped (or during a redeploy) is still held afterwards. Survives a restart when the
 * default context store is persistent (settings.js: contextStorage: { default: { module:
 * 'localfilesystem' } }); with the in-memory store it survives redeploys of other nodes only.
 *
 * Layout: context key `energyGuard` = { <panel serial>: { <counter>: { emittedWh, offsetWh } } }, where a
 * counter is `main.consumed`, `circuit.<circuit id>.produced`, `tab.<space>.consumed`, …
 * Everything is read once, asynchronously (any store works), before the connection starts.
 */
import type { EnergyGuardStore, PersistedGuard } from '../../src/model/energy-guard';

export const ENERGY_CONTEXT_KEY = 'energyGuard';

/** The part of a Node-RED context this needs (callback forms work with every store). */
export interface ContextLike {
  get(key: string, callback: (err: Error | null | undefined, value: unknown) => void): void;
  set(key: string, value: unknown, callback: (err?: Error | null) => void): void;
}

export interface ContextEnergyStore {
  store: EnergyGuardStore;
  /** Resolves once the saved counters are loaded (never rejects: a broken store means starting fresh). */
  ready: Promise<void>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function contextEnergyStore(context: ContextLike, warn: (m: string) => void): ContextEnergyStore {
  const panels = new Map<string, PersistedGuard>();
  const ready = new Promise<void>((resolve) => {
    try {
      context.get(ENERGY_CONTEXT_KEY, (err, value) => {
        if (err) warn(`energy counters could not be restored from the context store: ${err.message}`);
        else if (isRecord(value)) {
          for (const [serial, counters] of Object.entries(value)) {
            if (isRecord(counters)) panels.set(serial, counters as PersistedGuard);
          }
        }
        resolve();
      });
    } catch (e) {
      warn(`energy counters could not be restored from the context store: ${(e as Error).message}`);
      resolve();
    }
  });
  let warned = false;
  const store: EnergyGuardStore = {
    load: (serial) => panels.get(serial) ?? null,
    save: (serial, state) => {
      panels.set(serial, state);
      const all: Record<string, PersistedGuard> = Object.create(null) as Record<string, PersistedGuard>;
      for (const [s, counters] of panels) all[s] = counters;
      context.set(ENERGY_CONTEXT_KEY, all, (err) => {
        if (err && !warned) {
          warned = true;
          warn(`energy counters could not be saved to the context store: ${err.message}`);
        }
      });
    },
  };
  return { store, ready };
}
