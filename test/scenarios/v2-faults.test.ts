/**
 * v2 (SPAN API: REST bootstrap + MQTT over TLS) through the whole connection: detection, one registration,
 * the supervisor, and the faults that broke other integrations (broker restarts, CA rotation after a
 * firmware upgrade, retained values wiped and replayed). Real broker, real TLS, loopback only.
 */
import assert from 'node:assert/strict';
import { createPanelSupervisor } from '../../src/connection';
import type {
  CredentialStore,
  PanelConnectionConfig,
  StoredV2Credentials,
} from '../../src/connection/config';
import { SimulatedPanel } from '../../simulator';
import { createV2Plugin, type V2Plugin } from '../../simulator/v2';
import type { PanelSupervisor } from '../../src/supervisor/supervisor';
import type { DataEvent, HealthEvent, HealthState } from '../../src/supervisor/types';
import { V2Transport, type V2TransportStats } from '../../src/transport/v2/v2-transport';
import { CapturingLogger } from '../helpers/scripted-transport';
import { FAST, FAST_RECOVERY_BOUND_MS, sleep } from './helpers';

const PASSPHRASE = 'scenario-hop-passphrase-7e3b1a';

class MemoryStore implements CredentialStore {
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

interface V2Harness {
  panel: SimulatedPanel;
  v2: V2Plugin;
  sup: PanelSupervisor;
  store: MemoryStore;
  logger: CapturingLogger;
  health: HealthEvent[];
  data: DataEvent[];
  waitFor(state: HealthState, timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

async function startV2(dataModel: 'flat' | 'parent-child'): Promise<V2Harness> {
  const v2 = createV2Plugin({ dataModel, passphrase: PASSPHRASE, keyBits: 1024, replayValuesDelayMs: 100 });
  const panel = await SimulatedPanel.start({ controlPort: null, tickMs: 200, plugins: [v2] });
  const store = new MemoryStore();
  const logger = new CapturingLogger();
  const config: PanelConnectionConfig = {
    host: `127.0.0.1:${panel.ports.http}`,
    api: 'auto',
    intervalS: 0.2,
    mqttPort: panel.ports.mqtt!,
    passphrase: PASSPHRASE,
    credentialStore: store,
  };
  const sup = createPanelSupervisor(config, logger, FAST);
  const health: HealthEvent[] = [];
  const data: DataEvent[] = [];
  sup.subscribe({ onHealth: (e) => health.push(e), onData: (d) => data.push(d) });
  sup.start();
  return {
    panel,
    v2,
    sup,
    store,
    logger,
    health,
    data,
    async waitFor(state, timeoutMs = 10_000) {
      const start = Date.now();
      while (sup.health.state !== state) {
        if (Date.now() - start > timeoutMs) throw new Error(`${state} not reached (now ${sup.health.state})`);
        await sleep(10);
      }
      return Date.now();
    },
    async close() {
      await sup.stop();
      await panel.close();
    },
  };
}

/** The MQTT transport's own counters (CA fetches, rebuilds, connections). */
function transportStats(h: V2Harness): V2TransportStats {
  const t = h.sup.activeTransport;
  assert.ok(t instanceof V2Transport, 'the supervisor runs the v2 transport');
  return t.stats;
}

/** Nothing a user can see may contain a secret. */
function assertNoSecrets(h: V2Harness): void {
  const secrets = [PASSPHRASE, h.store.saved?.brokerPassword, h.store.saved?.accessToken].filter(
    (s): s is string => !!s,
  );
  assert.ok(secrets.length >= 2, 'registration happened');
  const visible = JSON.stringify([h.logger.lines, h.health, h.data.slice(-3)]);
  for (const s of secrets) assert.ok(!visible.includes(s), 'a secret leaked into logs, health or data');
}

describe('v2 scenarios through the supervisor (real MQTT over TLS)', function () {
  this.timeout(60_000);
  let h: V2Harness | null = null;
  afterEach(async () => {
    if (h) await h.close();
    h = null;
  });

  for (const model of ['flat', 'parent-child'] as const) {
    it(`${model}: detects v2, registers once with the passphrase, goes online with no legacy warning`, async () => {
      h = await startV2(model);
      await h.waitFor('online');
      assert.equal(h.sup.health.api, 'v2');
      assert.equal(h.sup.health.dataModel, model === 'flat' ? 'v2-flat' : 'v2-parent-child');
      assert.equal(h.sup.health.legacyApi, false);
      assert.equal(h.store.saves, 1);
      assert.ok(!h.logger.lines.some((l) => /2026-12-31/.test(l.msg)));
      await sleep(500);
      const last = h.data[h.data.length - 1].snapshot;
      assert.equal(Object.keys(last.circuits).length, 22);
      assertNoSecrets(h);
    });
  }

  it('broker down, then up: offline, then online within the backoff cap plus connect time of the broker listening again, no redeploy', async () => {
    h = await startV2('flat');
    await h.waitFor('online');
    const connectionsBefore = transportStats(h).connections;
    await h.panel.faults.inject({ kind: 'broker-down' });
    await h.waitFor('offline', 5000);
    await sleep(1500);
    // Taken before the broker listens again: the measured recovery can only be longer than the real one.
    const upAt = Date.now();
    await h.panel.faults.inject({ kind: 'broker-up' });
    const onlineAt = await h.waitFor('online', 8000);
    assert.ok(transportStats(h).connections > connectionsBefore, 'a new MQTT connection after the restart');
    // Reconnect (≤ cap) + TLS/MQTT connect + retained burst; the supervisor probes within its own bound.
    assert.ok(
      onlineAt - upAt <= FAST_RECOVERY_BOUND_MS + 2000,
      `online ${onlineAt - upAt} ms after the broker came back`,
    );
    assert.equal(h.store.saves, 1, 'no new registration');
    assertNoSecrets(h);
  });

  it('CA rotated while running (firmware upgrade): the CA is fetched again and found changed, TLS rebuilt, fresh data within the bound, no redeploy', async () => {
    h = await startV2('parent-child');
    await h.waitFor('online');
    const before = transportStats(h);
    const oldCa = h.v2.caPem;
    const rotatedAt = Date.now();
    await h.panel.faults.inject({ kind: 'ca-rotation' });
    assert.notEqual(h.v2.caPem, oldCa, 'the simulator rotated its CA');
    // First fresh data on a connection built with the new CA (seen after the reconnection was observed, so
    // the measured time can only be longer than the real one).
    const reconnected = () => {
      const st = transportStats(h!);
      return st.caChanges > before.caChanges && st.connected && st.connections > before.connections;
    };
    while (!reconnected() && Date.now() - rotatedAt < 8000) await sleep(10);
    const seen = h.data.length;
    while (!h.data.slice(seen).some((d) => !d.stale) && Date.now() - rotatedAt < 8000) await sleep(10);
    const freshAt = h.data.slice(seen).find((d) => !d.stale)?.snapshot.receivedAt ?? 0;
    const after = transportStats(h);
    assert.ok(
      after.caFetches > before.caFetches,
      `CA fetched again (${before.caFetches} → ${after.caFetches})`,
    );
    assert.equal(after.caChanges - before.caChanges, 1, 'the new CA was recognised as changed');
    assert.ok(after.rebuilds > before.rebuilds, 'the TLS client was rebuilt');
    assert.ok(after.connections > before.connections, 'a new MQTT connection with the new CA');
    assert.ok(freshAt > 0, 'fresh data after the rotation');
    assert.ok(
      freshAt - rotatedAt <= FAST_RECOVERY_BOUND_MS + 2000,
      `fresh data ${freshAt - rotatedAt} ms after the rotation`,
    );
    await h.waitFor('online', 2000);
  });

  it('retained values wiped and replayed: no zero and no backwards energy reaches a subscriber', async () => {
    h = await startV2('flat');
    await h.waitFor('online');
    await sleep(600);
    const before = h.data.length;
    const retainedBefore = h.v2.publisher.retainedTopics().length;
    await h.panel.faults.inject({ kind: 'retained-wipe', replayAfterMs: 800, valuesDelayMs: 300 });
    const wiped = retainedBefore - h.v2.publisher.retainedTopics().length;
    assert.ok(wiped > 20, `the broker's retained values were wiped (${wiped} of ${retainedBefore} topics)`);
    await sleep(3000);
    assert.equal(h.v2.publisher.retainedTopics().length, retainedBefore, 'and replayed');
    await h.waitFor('online', 5000);
    const events = h.data.slice(Math.max(0, before - 1));
    assert.ok(events.length > 3);
    const lastEnergy = new Map<string, number>();
    const everNonZero = new Set<string>();
    for (const e of events) {
      for (const c of Object.values(e.snapshot.circuits)) {
        const key = c.id;
        if (c.consumedEnergyWh !== null) {
          const prev = lastEnergy.get(key);
          assert.ok(prev === undefined || c.consumedEnergyWh >= prev, `${c.name}: energy went backwards`);
          lastEnergy.set(key, c.consumedEnergyWh);
          if (c.consumedEnergyWh > 0) everNonZero.add(key);
          else assert.ok(!everNonZero.has(key), `${c.name}: a fabricated zero`);
        }
      }
      const main = e.snapshot.panel.mainMeterEnergy.consumedEnergyWh;
      assert.notEqual(main, 0, 'main meter never a fabricated zero');
    }
  });
});

describe('auto detection on a legacy panel', function () {
  this.timeout(20_000);
  it('falls back to v1 and says clearly that the panel is on the dying API', async () => {
    const panel = await SimulatedPanel.start({ controlPort: null, tickMs: 0, token: 'legacy-token' });
    const logger = new CapturingLogger();
    const sup = createPanelSupervisor(
      {
        host: `127.0.0.1:${panel.ports.http}`,
        api: 'auto',
        intervalS: 0.2,
        mqttPort: 8883,
        token: 'legacy-token',
      },
      logger,
      FAST,
    );
    try {
      sup.start();
      const start = Date.now();
      while (sup.health.state !== 'online' && Date.now() - start < 5000) await sleep(10);
      assert.equal(sup.health.state, 'online');
      assert.equal(sup.health.api, 'v1');
      assert.equal(sup.health.legacyApi, true);
      const warnings = logger.lines.filter(
        (l) => l.level === 'warn' && /legacy v1 REST API.*2026-12-31/.test(l.msg),
      );
      assert.equal(warnings.length, 1);
    } finally {
      await sup.stop();
      await panel.close();
    }
  });
});
