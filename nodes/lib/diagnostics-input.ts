/**
 * Gathers what the diagnostics file of a span-panel config node is built from: the hub's live state and
 * history, the settings, versions, and every secret value so the report can be scrubbed of them.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { NodeAPI } from 'node-red';
import type { DiagnosticsInput } from '../../src/diagnostics/report';
import type { PanelSupervisor } from '../../src/supervisor/supervisor';
import { storedCredentials } from './credential-store';
import type { ResolveResult } from './panel-config';
import type { PanelHub } from './panel-hub';
import type { SpanPanelCredentials } from './panel-types';

/** Credentials that are not secret (shown in node status anyway). */
const NOT_SECRET = new Set(['serial', 'registeredHost']);

let packageVersion: string | null = null;
function ownVersion(): string {
  if (packageVersion === null) {
    try {
      const file = path.join(__dirname, '..', '..', '..', 'package.json');
      packageVersion = String(JSON.parse(fs.readFileSync(file, 'utf8')).version ?? 'unknown');
    } catch {
      packageVersion = 'unknown';
    }
  }
  return packageVersion;
}

export function diagnosticsInput(
  RED: NodeAPI,
  nodeId: string,
  resolved: ResolveResult,
  configError: string | null,
  hub: PanelHub,
  live: SpanPanelCredentials | undefined,
): DiagnosticsInput {
  const stored = storedCredentials(RED, nodeId);
  const secrets: string[] = [];
  const set = new Set<string>();
  for (const creds of [stored, live ?? {}, resolved.ok ? resolved.config : {}]) {
    for (const [k, v] of Object.entries(creds)) {
      if (
        ![
          'token',
          'passphrase',
          'accessToken',
          'brokerUsername',
          'brokerPassword',
          'serial',
          'registeredHost',
        ].includes(k)
      )
        continue;
      if (typeof v !== 'string' || v === '') continue;
      set.add(k);
      if (!NOT_SECRET.has(k)) secrets.push(v);
    }
  }
  // On SPAN panels the broker user name is the serial, which is no secret (it is in every status line).
  const serials = new Set([stored.serial, live?.serial, hub.latest?.snapshot.panel.serial]);
  const secretValues = secrets.filter((v) => !serials.has(v));
  const supervisor = hub.activeSupervisor as Partial<PanelSupervisor> | null;
  return {
    versions: {
      package: ownVersion(),
      nodeRed: typeof RED.version === 'function' ? String(RED.version()) : 'unknown',
      node: process.version,
    },
    config: resolved.ok
      ? {
          host: resolved.config.host,
          api: resolved.config.api,
          intervalS: resolved.config.intervalS,
          mqttPort: resolved.config.mqttPort,
        }
      : { host: null, api: 'auto', intervalS: null, mqttPort: null },
    configError,
    health: hub.health,
    latest: hub.latest,
    timing: supervisor?.timingPolicy ?? null,
    supervisorCounters: supervisor?.counters ? { ...supervisor.counters } : null,
    history: hub.history,
    credentialsSet: [...set].sort(),
    secrets: secretValues,
  };
}
