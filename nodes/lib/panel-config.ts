/**
 * Validates a span-panel config node's fields (after Node-RED's environment-variable substitution) into
 * what the connection needs. Errors name the field or variable, never a secret value.
 */
import { parseHost } from '../../src/connection/config';
import type { ApiChoice } from '../../src/model/panel';
import { CA_POLICIES, type CaPolicy } from '../../src/transport/v2/ca-trust';
import { expandEnv, unresolvedEnv } from './env';
import type { SpanPanelCredentials, SpanPanelDef } from './panel-types';

export const DEFAULT_INTERVAL_S = 5;
export const DEFAULT_MQTT_PORT = 8883;

export interface ResolvedPanelConfig {
  host: string;
  api: ApiChoice;
  intervalS: number;
  mqttPort: number;
  /** What to do when a v2 panel presents a different CA (see src/transport/v2/ca-trust.ts). */
  caPolicy: CaPolicy;
  token?: string;
  passphrase?: string;
}

export type ResolveResult = { ok: true; config: ResolvedPanelConfig } | { ok: false; error: string };

export function resolvePanelConfig(
  def: SpanPanelDef,
  creds: SpanPanelCredentials | undefined,
  lookupEnv: (name: string) => unknown,
): ResolveResult {
  const host = expandEnv(String(def.host ?? '').trim(), lookupEnv);
  if (!host) return { ok: false, error: 'no panel host configured' };
  const missingHost = unresolvedEnv(host);
  if (missingHost.length) return { ok: false, error: `environment variable ${missingHost[0]} is not set` };
  const hostError = hostProblem(host);
  if (hostError) return { ok: false, error: hostError };

  const api = apiChoice(def.api);
  if (api === null) {
    return { ok: false, error: `invalid API "${String(def.api).trim().slice(0, 20)}": use auto, v2 or v1` };
  }

  const intervalS = numberField(def.interval, DEFAULT_INTERVAL_S);
  if (intervalS === null || intervalS < 0 || intervalS > 3600) {
    return {
      ok: false,
      error: 'invalid interval: use a number of seconds between 1 and 3600 (v2: 0 = on change)',
    };
  }
  const mqttPort = numberField(def.mqttPort, DEFAULT_MQTT_PORT);
  if (!validPort(mqttPort)) {
    return { ok: false, error: 'invalid MQTT port: use 1-65535' };
  }

  const caPolicy = String(def.caPolicy ?? '').trim() || 'follow';
  if (!CA_POLICIES.includes(caPolicy as CaPolicy)) {
    return { ok: false, error: `invalid CA change setting "${caPolicy.slice(0, 20)}": use follow or pinned` };
  }

  const config: ResolvedPanelConfig = { host, api, intervalS, mqttPort, caPolicy: caPolicy as CaPolicy };
  for (const field of ['token', 'passphrase'] as const) {
    const v = creds?.[field];
    if (typeof v !== 'string' || v.trim() === '') continue;
    const missing = unresolvedEnv(v.trim());
    // Only a whole-value reference can be an unset variable; a secret may legitimately contain "${".
    if (missing.length && /^\$\{\S+\}$/.test(v.trim())) {
      return { ok: false, error: `environment variable ${missing[0]} (${field}) is not set` };
    }
    config[field] = v;
  }
  return { ok: true, config };
}

/*
 * Field rules shared by the runtime (resolvePanelConfig) and the editor endpoints (admin-request.ts), so
 * "Test connection" accepts exactly what a deploy accepts.
 */

/** Why `host` cannot be used, or null when it can. */
export function hostProblem(host: string): string | null {
  try {
    parseHost(host);
    return null;
  } catch (e) {
    return `invalid host: ${(e as Error).message}`;
  }
}

/** The API setting (empty = auto), or null when it is not one. */
export function apiChoice(raw: unknown): ApiChoice | null {
  const api = (raw === undefined || raw === null ? '' : String(raw).trim()) || 'auto';
  return api === 'auto' || api === 'v1' || api === 'v2' ? api : null;
}

export function validPort(port: number | null): port is number {
  return port !== null && Number.isInteger(port) && port >= 1 && port <= 65535;
}

function numberField(v: unknown, fallback: number): number | null {
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return fallback;
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  return Number.isFinite(n) ? n : null;
}
