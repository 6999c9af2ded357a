/**
 * A supervised `auto` connection against a simulated panel that can change its API under it (firmware
 * upgrade, v1 sunset, v2 service starting late) or its credentials (revoked token, forgotten broker login).
 * Real HTTP and MQTT over TLS on loopback; timing either as shipped or scaled down (FAST).
 */
import { createPanelSupervisor, type ConnectionTuning } from '../../src/connection';
import type {
  CredentialStore,
  PanelConnectionConfig,
  StoredV2Credentials,
} from '../../src/connection/config';
import { SimulatedPanel } from '../../simulator';
import { createV2Plugin, type V2Plugin, type V2PluginOptions } from '../../simulator/v2';
import type { PanelSupervisor } from '../../src/supervisor/supervisor';
import type { DataEvent, HealthEvent } from '../../src/supervisor/types';
import { CapturingLogger } from '../helpers/scripted-transport';
import { sleep, TOKEN } from './helpers';

export const PASSPHRASE = 'transition-hop-passphrase-51c9';

export class MemoryStore implements CredentialStore {
  saved: StoredV2Credentials | null = null;
  saves = 0;
  load() {
    return this.saved;
  }
  save(c: StoredV2Credentials) {
    this.saved = c;
    this.saves += 1;
  }
}

export interface TransitionHarness {
  panel: SimulatedPanel;
  v2: V2Plugin;
  sup: PanelSupervisor;
  store: MemoryStore;
  logger: CapturingLogger;
  health: HealthEvent[];
  data: DataEvent[];
  config: PanelConnectionConfig;
  startedAt: number;
  /** Resolves with the time `predicate` first held (polled every 20 ms); rejects after `timeoutMs`. */
  until(what: string, predicate: () => boolean, timeoutMs: number): Promise<number>;
  onlineOver(api: 'v1' | 'v2'): boolean;
  close(): Promise<void>;
}

export interface TransitionOptions {
  v2?: Partial<V2PluginOptions>;
  config?: Partial<PanelConnectionConfig>;
  tuning?: ConnectionTuning;
  /** Runs after the panel started and before the supervisor does (faults present at deploy time). */
  before?: (panel: SimulatedPanel, v2: V2Plugin) => Promise<void> | void;
}

export async function startTransition(opts: TransitionOptions = {}): Promise<TransitionHarness> {
  const v2 = createV2Plugin({
    dataModel: 'flat',
    passphrase: PASSPHRASE,
    keyBits: 1024,
    replayValuesDelayMs: 50,
    ...opts.v2,
  });
  const panel = await SimulatedPanel.start({ token: TOKEN, controlPort: null, tickMs: 500, plugins: [v2] });
  const store = new MemoryStore();
  const logger = new CapturingLogger();
  const config: PanelConnectionConfig = {
    host: `127.0.0.1:${panel.ports.http}`,
    api: 'auto',
    intervalS: 1,
    mqttPort: v2.mqttPort,
    credentialStore: store,
    ...opts.config,
  };
  await opts.before?.(panel, v2);
  const sup = createPanelSupervisor(config, logger, opts.tuning ?? {});
  const health: HealthEvent[] = [];
  const data: DataEvent[] = [];
  sup.subscribe({ onHealth: (e) => health.push(e), onData: (d) => data.push(d) });
  const startedAt = Date.now();
  sup.start();
  return {
    panel,
    v2,
    sup,
    store,
    logger,
    health,
    data,
    config,
    startedAt,
    async until(what, predicate, timeoutMs) {
      const end = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > end) {
          const h = sup.health;
          throw new Error(`${what}: not within ${timeoutMs} ms (now ${h.state}, ${h.api}, ${h.reason})`);
        }
        await sleep(20);
      }
      return Date.now();
    },
    onlineOver(api) {
      return sup.health.state === 'online' && sup.health.api === api;
    },
    async close() {
      await sup.stop();
      await panel.close();
    },
  };
}

/** Transitions as span-status sends them: [state, api]. */
export function visibleTransitions(h: TransitionHarness): string[] {
  return h.health.filter((e) => e.transition).map((e) => `${e.state}:${e.api ?? '-'}`);
}
