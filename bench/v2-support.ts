/**
 * The v2 (MQTT) pieces were finished in parallel with the benchmarks: they are loaded at run time, and a
 * build without them reports "not available in this build" instead of failing to compile or to run.
 */
import type { SimPlugin } from '../simulator';

/* eslint-disable @typescript-eslint/no-require-imports */

type PluginFactory = (opts: Record<string, unknown>) => SimPlugin;

/** Simulator options of a v2 panel in the benchmarks (1024-bit keys: certificates are made per panel). */
export const V2_SIM_OPTIONS = {
  dataModel: 'flat',
  passphrase: 'bench-passphrase-not-secret',
  keyBits: 1024,
} as const;

function tryRequire(path: string): Record<string, unknown> | null {
  try {
    return require(path) as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw err;
  }
}

/** The v2 simulator plugin factory, or null when this build has none. */
export function loadV2Plugin(): PluginFactory | null {
  const mod = tryRequire('../simulator/v2');
  if (!mod) return null;
  return typeof mod.createV2Plugin === 'function' ? (mod.createV2Plugin as PluginFactory) : null;
}

/** true, or why v2 cannot be benchmarked with this build. */
export function v2Available(): true | string {
  if (!loadV2Plugin()) return 'the v2 simulator plugin is not in this build';
  const conn = tryRequire('../src/connection/v2');
  const create = conn?.createV2ForConfig;
  if (typeof create !== 'function') return 'src/connection/v2 has no createV2ForConfig';
  // The interim glue (before the v2 transport was wired into the connection factory) refused v2 outright.
  if (String(create).includes('not available in this build')) {
    return 'the connection factory does not build v2 connections yet (src/connection/v2.ts is the interim stub)';
  }
  return true;
}
