/**
 * Maps a panel's health (and its latest data) to the node status every node of that panel shows.
 * Pure and Node-RED-free: the config node translates `key` with RED._ and pushes the result to its users.
 *
 * Colours follow the usual Node-RED convention: green dot online, yellow ring connecting/degraded,
 * red ring offline/auth-failed, grey when stopped. A panel that only speaks the legacy v1 API shows a
 * green *ring* and "legacy API" instead of "online": it works, but stops answering on 2026-12-31.
 */
import type { DataEvent, HealthEvent } from '../../src/supervisor/types';

export type StatusFill = 'red' | 'green' | 'yellow' | 'blue' | 'grey';
export type StatusShape = 'ring' | 'dot';

export interface StatusSpec {
  fill: StatusFill;
  shape: StatusShape;
  /** Key under `span-panel.status.` in nodes/locales/<lang>/span-panel.json. */
  key: string;
  params?: Record<string, string | number>;
}

/** Status shown while the config itself is unusable (no host, unset environment variable…). */
export const CONFIG_ERROR_STATUS: StatusSpec = { fill: 'red', shape: 'ring', key: 'configError' };

/** Status while a v2 panel presents a CA certificate the `pinned` policy refuses. */
export const CA_CHANGED_STATUS: StatusSpec = { fill: 'red', shape: 'ring', key: 'caChanged' };

export function healthStatus(health: HealthEvent | null, latest: DataEvent | null): StatusSpec {
  if (!health) return { fill: 'grey', shape: 'ring', key: 'stopped' };
  switch (health.state) {
    case 'online': {
      const power = latest ? formatPower(latest.snapshot.panel.gridPowerW) : null;
      const base = health.legacyApi ? 'legacy' : 'online';
      const shape: StatusShape = health.legacyApi ? 'ring' : 'dot';
      return power === null
        ? { fill: 'green', shape, key: base }
        : { fill: 'green', shape, key: `${base}Power`, params: { power } };
    }
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', key: 'connecting' };
    case 'degraded':
      return { fill: 'yellow', shape: 'ring', key: 'degraded' };
    case 'offline': {
      if (health.nextAttemptInMs === null) return { fill: 'red', shape: 'ring', key: 'offline' };
      return {
        fill: 'red',
        shape: 'ring',
        key: 'offlineRetry',
        params: { retry: formatRetry(health.nextAttemptInMs) },
      };
    }
    case 'auth-failed':
      // Nothing was rejected: the panel needs a credential this Node-RED does not have yet.
      if (health.errorClass === 'needs-registration') return { fill: 'red', shape: 'ring', key: 'register' };
      return { fill: 'red', shape: 'ring', key: 'authFailed' };
    case 'stopped':
    default:
      return { fill: 'grey', shape: 'ring', key: 'stopped' };
  }
}

/** "850 W", "3.2 kW", "-1.4 kW", "12 kW" (negative = exporting); null when the panel did not report it. */
export function formatPower(watts: number | null | undefined): string | null {
  if (watts === null || watts === undefined || !Number.isFinite(watts)) return null;
  if (Math.abs(watts) < 1000) return `${Math.round(watts)} W`;
  // Whole kW from 10 kW on, so the status stays under 20 characters.
  return Math.abs(watts) < 9950 ? `${(watts / 1000).toFixed(1)} kW` : `${Math.round(watts / 1000)} kW`;
}

/** "8s", "45s", "2m": short enough for a node status. */
export function formatRetry(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 100) return `${s}s`;
  return `${Math.round(s / 60)}m`;
}

export function sameStatus(a: StatusSpec | null, b: StatusSpec | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return (
    a.fill === b.fill &&
    a.shape === b.shape &&
    a.key === b.key &&
    JSON.stringify(a.params ?? {}) === JSON.stringify(b.params ?? {})
  );
}
