/**
 * The diagnostics file of one panel connection: everything a maintainer needs to understand a problem
 * report (versions, detected API and data model, firmware, health and its history, errors by class,
 * timing, counters, the circuit list) and nothing secret. Built from plain inputs, then scrubbed: any key
 * that names a credential is dropped and any string containing a known secret is replaced, so a secret
 * that slipped into a reason text cannot leave either.
 */
import { circuitSummary } from '../model/circuit-map';
import type { DataEvent, HealthEvent } from '../supervisor/types';
import type { TimingPolicy } from '../supervisor/timing';
import type { ConnectionHistory } from './history';

export interface DiagnosticsInput {
  versions: { package: string; nodeRed: string; node: string };
  /** The panel settings as configured (no credentials). */
  config: { host: string | null; api: string; intervalS: number | null; mqttPort: number | null };
  configError: string | null;
  health: HealthEvent | null;
  latest: DataEvent | null;
  timing: TimingPolicy | null;
  supervisorCounters: Record<string, number> | null;
  history: ConnectionHistory | null;
  /** The names of the credentials that are set (never their values). */
  credentialsSet: string[];
  /** Every secret value known for this panel: credentials and values derived from the passphrase. */
  secrets: string[];
}

export const REDACTED = '[redacted]';
const SECRET_KEY = /token|passphrase|password|secret|username/i;

export function buildDiagnostics(input: DiagnosticsInput, now = new Date()): Record<string, unknown> {
  const s = input.latest?.snapshot ?? null;
  const report = {
    generatedAt: now.toISOString(),
    versions: input.versions,
    config: input.config,
    configError: input.configError,
    credentialsSet: input.credentialsSet,
    panel: s
      ? {
          serial: s.panel.serial,
          model: s.panel.model,
          firmwareVersion: s.panel.firmwareVersion,
          api: s.api,
          dataModel: s.dataModel,
          legacyApi: s.api === 'v1',
          dataAgeMs: input.latest!.dataAgeMs,
          stale: input.latest!.stale,
          receivedAt: new Date(s.receivedAt).toISOString(),
          gridPowerW: s.panel.gridPowerW,
          mainRelay: s.panel.mainRelay,
          network: s.panel.network,
          battery: s.battery,
          energyRegressions: s.energyRegressions,
        }
      : null,
    health: input.health,
    stateChanges: input.history?.stateChanges ?? [],
    errorsByClass: input.history?.errorsByClass ?? {},
    timing: input.timing,
    counters: { supervisor: input.supervisorCounters, events: input.history?.counters ?? null },
    circuits: s
      ? Object.values(s.circuits).map((c) => ({
          ...circuitSummary(c),
          relay: c.relay,
          priority: c.priority,
          powerW: c.powerW,
          consumedEnergyWh: c.consumedEnergyWh,
          producedEnergyWh: c.producedEnergyWh,
        }))
      : [],
  };
  return scrub(report, input.secrets) as Record<string, unknown>;
}

/** Drops credential-named keys and masks any string that contains one of `secrets` (≥ 4 characters). */
export function scrub(value: unknown, secrets: string[]): unknown {
  const known = secrets.filter((x) => typeof x === 'string' && x.length >= 4);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return known.some((x) => v.includes(x)) ? REDACTED : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (SECRET_KEY.test(k)) continue;
        out[k] = walk(x);
      }
      return out;
    }
    return v;
  };
  return walk(value);
}
