/**
 * The diagnostics file (GET span-panel/:id/diagnostics, the editor's "Download diagnostics"): after a
 * fault sequence it tells the story (states with reasons, errors by class) and contains no secret, neither
 * the configured ones nor the values the panel issued for the passphrase.
 */
import assert from 'node:assert/strict';
import { ConnectionHistory } from '../../src/diagnostics/history';
import { buildDiagnostics, REDACTED, scrub } from '../../src/diagnostics/report';
import {
  flow,
  helper,
  hostOf,
  panelConfig,
  Panels,
  PASSPHRASE,
  spanNodes,
  TOKEN,
  useNodeRed,
  waitFor,
} from './support';

/* eslint-disable @typescript-eslint/no-explicit-any */

describe('diagnostics file', function () {
  this.timeout(60_000);
  useNodeRed();
  const panels = new Panels();
  afterEach(() => panels.closeAll());

  it('after an outage: versions, API, data model, firmware, states with reasons, errors by class, timing, counters, circuits; no secret', async () => {
    const { sim, mqttPort } = await panels.startV2('flat');
    await helper.load(
      spanNodes,
      flow(panelConfig('cfg', hostOf(sim), { api: 'auto', interval: '0.5', mqttPort: String(mqttPort) }), {
        id: 'poll',
        type: 'span-poll',
        panel: 'cfg',
        wires: [[]],
      }),
      { cfg: { passphrase: PASSPHRASE, token: TOKEN } },
    );
    const cfg = helper.getNode('cfg');
    await waitFor('online', () => cfg.health?.state === 'online', 20_000);
    // The panel issued a login for the passphrase: those values are secrets too.
    const creds: Record<string, string> = (helper as any)._redNodes.getCredentials('cfg') ?? {};
    const issued = [creds.accessToken, creds.brokerPassword, creds.brokerUsername].filter(
      (v) => v && v !== sim.state.identity.serial, // the broker user name is the serial: no secret
    );
    assert.ok(issued.length >= 2, 'the registration result is in the credentials');

    await sim.faults.inject({ kind: 'broker-down', durationMs: 6000 });
    await waitFor('offline', () => cfg.health?.state === 'offline', 20_000);
    await waitFor('online again', () => cfg.health?.state === 'online', 30_000);

    const res = await helper.request().get('/span-panel/cfg/diagnostics');
    assert.equal(res.status, 200);
    assert.match(
      String(res.headers['content-disposition']),
      /attachment; filename="span-diagnostics-.+\.json"/,
    );
    const d = res.body;
    assert.equal(d.versions.node, process.version);
    assert.match(d.versions.package, /^\d+\.\d+\.\d+/);
    assert.ok(d.versions.nodeRed);
    assert.equal(d.panel.api, 'v2');
    assert.equal(d.panel.dataModel, 'v2-flat');
    assert.equal(d.panel.serial, sim.state.identity.serial);
    assert.equal(d.panel.firmwareVersion, sim.state.identity.firmwareVersion);
    assert.equal(d.health.state, 'online');
    const states = d.stateChanges.map((c: any) => c.state);
    for (const s of ['connecting', 'online', 'offline']) assert.ok(states.includes(s), `${s} in ${states}`);
    assert.equal(states[states.length - 1], 'online');
    const offline = d.stateChanges.find((c: any) => c.state === 'offline');
    assert.ok(offline.reason && offline.errorClass, 'the outage has a reason and an error class');
    assert.ok(d.errorsByClass[offline.errorClass]?.count >= 1, 'errors counted by class');
    assert.equal(d.timing.intervalMs, 1000, 'the runtime floor of 1 s applies to the configured 0.5 s');
    assert.ok(d.counters.supervisor.cycles > 0 && d.counters.events.dataEvents > 0);
    assert.equal(d.circuits.length, sim.state.circuits.length);
    assert.deepEqual(d.config, { host: hostOf(sim), api: 'auto', intervalS: 0.5, mqttPort });
    assert.deepEqual(d.credentialsSet, [
      'accessToken',
      'brokerPassword',
      'brokerUsername',
      'passphrase',
      'registeredHost',
      'serial',
      'token',
    ]);

    const text = JSON.stringify(d);
    for (const secret of [PASSPHRASE, TOKEN, ...issued]) {
      assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 3)}…) is in the diagnostics`);
    }
    assert.equal((await helper.request().get('/span-panel/nope/diagnostics')).status, 404);
  });

  it('keeps the last 50 state changes, and masks a secret that slipped into a reason', () => {
    const history = new ConnectionHistory(50);
    let listener: any = null;
    history.attach({ subscribe: (l: any) => ((listener = l), () => undefined) } as any);
    for (let i = 0; i < 60; i++) {
      listener.onHealth({
        state: i % 2 ? 'online' : 'offline',
        previous: i % 2 ? 'offline' : 'online',
        reason: i === 59 ? 'recovered' : `refused #${i} with ${PASSPHRASE}`,
        errorClass: i % 2 ? null : 'refused',
        consecutiveFailures: i % 2 ? 0 : 3,
        since: new Date(i * 1000).toISOString(),
        transition: true,
      });
    }
    assert.equal(history.stateChanges.length, 50);
    assert.match(history.stateChanges[0].reason, /#10 /);
    assert.equal(history.errorsByClass.refused.count, 30);
    const d = buildDiagnostics({
      versions: { package: '0', nodeRed: '4', node: process.version },
      config: { host: 'h', api: 'auto', intervalS: 5, mqttPort: 8883 },
      configError: null,
      health: null,
      latest: null,
      timing: null,
      supervisorCounters: null,
      history,
      credentialsSet: ['passphrase'],
      secrets: [PASSPHRASE],
    });
    assert.ok(!JSON.stringify(d).includes(PASSPHRASE));
    assert.equal((d.stateChanges as any[])[0].reason, REDACTED);
    assert.deepEqual(scrub({ accessToken: 'x', nested: { brokerPassword: 'y', ok: 1 } }, []), {
      nested: { ok: 1 },
    });
  });
});
