import assert from 'node:assert/strict';
import { SimulatedPanel } from '../../simulator/panel';
import { createV2Plugin, type V2Plugin } from '../../simulator/v2';
import { HomieProbe } from '../../simulator/v2/probe';
import { expectResponse, rawRequest } from '../helpers/http-client';

const PASSPHRASE = 'faults-test-passphrase';

describe('simulator v2 faults', function () {
  this.timeout(20_000);
  let panel: SimulatedPanel | null = null;
  let v2: V2Plugin;
  let probes: HomieProbe[] = [];
  let creds: { username: string; password: string };

  async function start(dataModel: 'flat' | 'parent-child' = 'flat') {
    v2 = createV2Plugin({ dataModel, passphrase: PASSPHRASE, replayValuesDelayMs: 100 });
    panel = await SimulatedPanel.start({ seed: 5, tickMs: 0, plugins: [v2] });
    const reg = expectResponse(
      await rawRequest(panel.ports.http, '/api/v2/auth/register', {
        method: 'POST',
        body: { name: 'faults-client', hopPassphrase: PASSPHRASE },
        agent: false,
      }),
    );
    const body = JSON.parse(reg.body) as { ebusBrokerUsername: string; ebusBrokerPassword: string };
    creds = { username: body.ebusBrokerUsername, password: body.ebusBrokerPassword };
    return panel;
  }
  const fetchCa = async () =>
    expectResponse(await rawRequest(panel!.ports.http, '/api/v2/certificate/ca', { agent: false })).body;
  async function connect(ca: string, extra: Partial<typeof creds> = {}) {
    const probe = await HomieProbe.connect({
      port: panel!.ports.mqtt!,
      ca,
      ...creds,
      ...extra,
      timeoutMs: 3000,
    });
    probes.push(probe);
    return probe;
  }
  const serial = () => panel!.state.identity.serial;

  afterEach(async () => {
    for (const p of probes) await p.close();
    probes = [];
    await panel?.close();
    panel = null;
  });

  it('broker-down disconnects every client and refuses connections; broker-up listens on the same port', async () => {
    await start();
    const ca = await fetchCa();
    const port = panel!.ports.mqtt!;
    const a = await connect(ca);
    const b = await connect(ca);
    const closed = Promise.all([a.waitForClose(), b.waitForClose()]);
    await panel!.faults.inject({ kind: 'broker-down' });
    await closed;
    assert.equal(v2.broker.listening, false);
    await assert.rejects(connect(ca), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');

    await panel!.faults.inject({ kind: 'broker-up' });
    assert.equal(v2.mqttPort, port, 'same port');
    const again = await connect(ca);
    const stateTopic = `ebus/5/${serial()}/$state`;
    await again.subscribe(stateTopic);
    await again.waitFor(() => again.latest.get(stateTopic) === 'ready', 3000, 'retained tree still there');
  });

  it('broker-down with durationMs comes back by itself on the same port', async () => {
    await start();
    const ca = await fetchCa();
    const port = v2.mqttPort;
    await panel!.faults.inject({ kind: 'broker-down', durationMs: 200 });
    await assert.rejects(connect(ca));
    await new Promise((resolve) => setTimeout(resolve, 400));
    const probe = await connect(ca);
    assert.ok(probe.connected);
    assert.equal(v2.mqttPort, port);
  });

  it('ca-rotation: clients pinned to the old CA fail verification, the new CA from REST works, same port', async () => {
    await start();
    const oldCa = await fetchCa();
    const port = v2.mqttPort;
    const before = await connect(oldCa);
    const dropped = before.waitForClose();
    await panel!.faults.inject({ kind: 'ca-rotation' });
    await dropped;

    await assert.rejects(connect(oldCa), (err: NodeJS.ErrnoException) => {
      assert.match(
        String(err.code),
        /CERT|SIGNATURE|VERIFY|SELF_SIGNED/,
        `TLS verification error: ${err.code}`,
      );
      return true;
    });
    const newCa = await fetchCa();
    assert.notEqual(newCa, oldCa);
    assert.equal(v2.certificates.generation, 2);
    const after = await connect(newCa);
    assert.ok(after.connected);
    assert.equal(v2.mqttPort, port, 'same port');
  });

  it('retained-wipe clears the values (r202603 service restart); replay sends $state init, descriptions, values, ready', async () => {
    await start('parent-child');
    const ca = await fetchCa();
    const watcher = await connect(ca);
    await watcher.subscribe('ebus/5/#');
    const rootState = `ebus/5/${serial()}/$state`;
    const power = `ebus/5/${serial()}-lugs-up/meter/active-power`;
    const holdsEverything = () =>
      v2.publisher.retainedTopics().every((t) => watcher.latest.get(t) === v2.publisher.retainedPayload(t));
    await watcher.waitFor(holdsEverything, 3000, 'the full retained tree');

    const mark = watcher.messages.length;
    await panel!.faults.inject({ kind: 'retained-wipe', replayAfterMs: null });
    const isValue = (t: string) => !/\/\$(state|description)$/.test(t);
    await watcher.waitFor(() => ![...watcher.latest.keys()].some(isValue), 3000, 'every value cleared');
    const wiped = watcher.messages.slice(mark);
    assert.ok(wiped.length > 300, `${wiped.length} values cleared`);
    assert.ok(
      wiped.every((m) => m.payload === ''),
      'by empty payloads',
    );
    assert.ok(wiped.every((m) => !m.topic.endsWith('/$state') && !m.topic.endsWith('/$description')));

    // A client connecting now finds descriptions and $state but no values: it must treat them as unknown.
    const late = await connect(ca);
    await late.subscribe(['ebus/5/#']);
    await late.waitFor(() => late.latest.get(rootState) === 'ready');
    assert.equal([...late.latest.keys()].filter(isValue).length, 0);
    // Physics keeps running, but nothing is published while wiped.
    const quiet = watcher.messages.length;
    panel!.state.tick(Date.now() + 1000);
    await v2.settled();
    assert.equal(watcher.messages.length, quiet);

    const replayMark = watcher.messages.length;
    await panel!.faults.inject({ kind: 'retained-replay', valuesDelayMs: 100 });
    await watcher.waitFor(() => watcher.latest.has(power) && watcher.latest.get(rootState) === 'ready');
    const replay = watcher.messages.slice(replayMark);
    const firstIndex = (pred: (t: string, p: string) => boolean) =>
      replay.findIndex((m) => pred(m.topic, m.payload));
    const lastIndex = (pred: (t: string, p: string) => boolean) =>
      replay.length - 1 - [...replay].reverse().findIndex((m) => pred(m.topic, m.payload));
    assert.equal(replay[0]!.topic, rootState);
    assert.equal(replay[0]!.payload, 'init');
    assert.ok(
      lastIndex((t, p) => t.endsWith('/$state') && p === 'init') <
        firstIndex((t) => t.endsWith('/$description')),
    );
    assert.ok(
      lastIndex((t) => t.endsWith('/$description')) < firstIndex(isValue),
      'descriptions before values',
    );
    assert.ok(
      lastIndex(isValue) < firstIndex((t, p) => t.endsWith('/$state') && p === 'ready'),
      'ready last',
    );
    const fresh = await connect(ca);
    await fresh.subscribe(power);
    await fresh.waitFor(() => fresh.latest.has(power), 3000, 'values retained again');
  });

  it('retained-wipe with the default schedule replays by itself', async () => {
    await start();
    const ca = await fetchCa();
    const watcher = await connect(ca);
    const topic = `ebus/5/${serial()}/core/relay`;
    await watcher.subscribe(topic);
    await watcher.waitFor(() => watcher.latest.get(topic) === 'CLOSED');
    await panel!.faults.inject({ kind: 'retained-wipe' });
    await watcher.waitFor(
      () => watcher.history(topic).join(',') === 'CLOSED,,CLOSED',
      5000,
      'wipe then replay',
    );
  });

  it('homie-state publishes disconnected / lost / ready on the root; clear restores ready', async () => {
    await start('parent-child');
    const ca = await fetchCa();
    const watcher = await connect(ca);
    const rootState = `ebus/5/${serial()}/$state`;
    const circuit = panel!.state.circuits[0]!.id;
    const circuitState = `ebus/5/${circuit}/$state`;
    await watcher.subscribe([rootState, circuitState]);
    await watcher.waitFor(() => watcher.latest.get(rootState) === 'ready');
    await panel!.faults.inject({ kind: 'homie-state', state: 'disconnected' });
    await watcher.waitFor(() => watcher.latest.get(rootState) === 'disconnected');
    await panel!.faults.inject({ kind: 'homie-state', state: 'lost' });
    await watcher.waitFor(() => watcher.latest.get(rootState) === 'lost');
    assert.equal(watcher.latest.get(circuitState), 'ready', 'only the root (as the LWT would)');
    await panel!.faults.inject({ kind: 'homie-state', state: 'lost', device: circuit });
    await watcher.waitFor(() => watcher.latest.get(circuitState) === 'lost');
    await panel!.faults.clear();
    await watcher.waitFor(() => watcher.latest.get(rootState) === 'ready');
    assert.deepEqual(watcher.history(rootState), ['ready', 'disconnected', 'lost', 'ready']);
    await assert.rejects(
      panel!.faults.inject({ kind: 'homie-state', state: 'sleepy' }),
      /invalid Homie \$state/,
    );
  });

  it('register-not-ready: register answers 503 "not ready" until the fault is cleared', async () => {
    await start();
    await panel!.faults.inject({ kind: 'register-not-ready' });
    const r = expectResponse(
      await rawRequest(panel!.ports.http, '/api/v2/auth/register', {
        method: 'POST',
        body: { name: 'too-early', hopPassphrase: PASSPHRASE },
        agent: false,
      }),
    );
    assert.equal(r.status, 503);
    assert.equal(
      (JSON.parse(r.body) as { detail: string }).detail,
      'panel is not ready to register clients yet',
    );
    await panel!.faults.clear();
    const ok = expectResponse(
      await rawRequest(panel!.ports.http, '/api/v2/auth/register', {
        method: 'POST',
        body: { name: 'too-early', hopPassphrase: PASSPHRASE },
        agent: false,
      }),
    );
    assert.equal(ok.status, 200);
  });

  it('passphrase-rotation: broker passwords handed out before stop working', async () => {
    await start();
    const ca = await fetchCa();
    await panel!.faults.inject({ kind: 'passphrase-rotation', passphrase: 'rotated-passphrase' });
    await assert.rejects(connect(ca), (err: Error & { code?: number }) => err.code === 5);
    const reg = expectResponse(
      await rawRequest(panel!.ports.http, '/api/v2/auth/register', {
        method: 'POST',
        body: { name: 'after-rotation', hopPassphrase: 'rotated-passphrase' },
        agent: false,
      }),
    );
    assert.equal(reg.status, 200);
    const probe = await connect(ca, {
      password: (JSON.parse(reg.body) as { ebusBrokerPassword: string }).ebusBrokerPassword,
    });
    assert.ok(probe.connected);
  });

  it('faults are reachable through the control API (POST /faults, DELETE /faults)', async () => {
    await start();
    const ca = await fetchCa();
    const control = panel!.ports.control!;
    const post = expectResponse(
      await rawRequest(control, '/faults', { method: 'POST', body: { kind: 'broker-down' }, agent: false }),
    );
    assert.ok(post.status >= 200 && post.status < 300, `POST /faults: ${post.status} ${post.body}`);
    assert.equal(v2.broker.listening, false);
    await assert.rejects(connect(ca));
    const del = expectResponse(await rawRequest(control, '/faults', { method: 'DELETE', agent: false }));
    assert.ok(del.status >= 200 && del.status < 300);
    assert.equal(v2.broker.listening, true);
    assert.ok((await connect(ca)).connected);
  });
});
