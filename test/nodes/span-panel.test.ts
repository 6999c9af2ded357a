import assert from 'node:assert/strict';
import type { PanelSupervisor } from '../../src/supervisor/supervisor';
import {
  containsSecret,
  flow,
  helper,
  hostOf,
  panelConfig,
  Panels,
  PASSPHRASE,
  Recorder,
  sleep,
  spanNodes,
  StatusLog,
  TOKEN,
  useNodeRed,
  waitFor,
} from './support';

/* eslint-disable @typescript-eslint/no-explicit-any */

const pollFlow = (host: string, extra: Record<string, unknown> = {}) =>
  flow(
    panelConfig('cfg', host, extra),
    { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [['out']] },
    { id: 'out', type: 'helper' },
  );

const hubOf = (id: string): any => helper.getNode(id).hub;

describe('span-panel config node (real Node-RED runtime, simulated panel)', function () {
  this.timeout(40000);
  useNodeRed();
  const panels = new Panels();
  afterEach(() => panels.closeAll());
  afterEach(() => {
    for (const k of ['SPAN_TEST_HOST', 'SPAN_TEST_PORT', 'SPAN_TEST_TOKEN', 'SPAN_TEST_INTERVAL'])
      delete process.env[k];
  });

  describe('health as node status', () => {
    it('shows online (legacy v1 marker) with grid power, red while offline, then recovers', async () => {
      const sim = await panels.start();
      await helper.load(spanNodes, pollFlow(hostOf(sim)), { cfg: { token: TOKEN } });
      const status = new StatusLog(helper.getNode('poll'));
      const online = await status.waitFor('online', (s) => s.fill === 'green');
      // The simulator speaks v1 only: online, but marked as the legacy API (ring).
      assert.equal(online.shape, 'ring');
      assert.match(online.text ?? '', /^legacy API · -?\d+(\.\d)? k?W$/);
      assert.ok((online.text ?? '').length <= 20, `short status: "${online.text}"`);

      await sim.faults.refuse();
      const offline = await status.waitFor('offline', (s) => s.fill === 'red', 10000);
      assert.equal(offline.shape, 'ring');
      assert.match(offline.text ?? '', /^offline · retry \d+s$/);
      assert.ok(
        status.statuses.some((s) => s.fill === 'yellow'),
        'degraded before offline',
      );

      await sim.faults.reopen();
      await status.waitFor('recovered', (s) => s.fill === 'green', 15000);
      status.stop();
    });

    it('pushes the same health to every node of the panel', async () => {
      const sim = await panels.start();
      const circuit = sim.state.circuits[0].id;
      await helper.load(
        spanNodes,
        flow(
          panelConfig('cfg', hostOf(sim)),
          { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [[]] },
          { id: 'circ', type: 'span-circuit', panel: 'cfg', circuit, wires: [[]] },
          { id: 'st', type: 'span-status', panel: 'cfg', wires: [[]] },
        ),
        { cfg: { token: TOKEN } },
      );
      const logs = ['poll', 'circ', 'st'].map((id) => new StatusLog(helper.getNode(id)));
      for (const log of logs) await log.waitFor('green', (s) => s.fill === 'green');
      await sim.faults.refuse();
      for (const log of logs) await log.waitFor('red', (s) => s.fill === 'red', 10000);
      for (const log of logs) log.stop();
    });

    it('shows auth failed for a wrong token, and a config error for an unset environment variable', async () => {
      const sim = await panels.start();
      await helper.load(
        spanNodes,
        flow(
          panelConfig('bad', hostOf(sim)),
          panelConfig('unset', '${SPAN_TEST_NOT_SET}'),
          { id: 'p1', type: 'span-poll', panel: 'bad', wires: [[]] },
          { id: 'p2', type: 'span-poll', panel: 'unset', wires: [[]] },
          { id: 'p3', type: 'span-poll', panel: '', wires: [[]] },
        ),
        { bad: { token: 'wrong-token-value' } },
      );
      const auth = await new StatusLog(helper.getNode('p1')).waitFor(
        'auth failed',
        (s) => s.text === 'auth failed',
      );
      assert.deepEqual([auth.fill, auth.shape], ['red', 'ring']);
      assert.equal(helper.getNode('unset').configError, 'environment variable SPAN_TEST_NOT_SET is not set');
      assert.equal(helper.getNode('unset').hub.subscriptions, 0, 'no connection attempted');
      // The config error status is set during construction, before a StatusLog can attach.
      const p2 = helper.getNode('p2').status as any;
      const p2Calls = p2.getCalls().filter((c: any) => c.thisValue.id === 'p2');
      assert.deepEqual(p2Calls.at(-1).args[0], { fill: 'red', shape: 'ring', text: 'config error' });
      const p3Calls = p2.getCalls().filter((c: any) => c.thisValue.id === 'p3');
      assert.equal(p3Calls.at(-1).args[0].text, 'no panel config');
    });
  });

  describe('environment variables', () => {
    it('resolves ${VAR} in the host (whole and embedded) and in credentials', async () => {
      const sim = await panels.start();
      process.env.SPAN_TEST_HOST = hostOf(sim);
      process.env.SPAN_TEST_PORT = String(sim.ports.http);
      process.env.SPAN_TEST_TOKEN = TOKEN;
      process.env.SPAN_TEST_INTERVAL = '1.5';
      await helper.load(
        spanNodes,
        flow(
          panelConfig('whole', '${SPAN_TEST_HOST}', { interval: '${SPAN_TEST_INTERVAL}' }),
          panelConfig('embedded', '127.0.0.1:${SPAN_TEST_PORT}'),
          { id: 'a', type: 'span-poll', panel: 'whole', wires: [['out']] },
          { id: 'b', type: 'span-poll', panel: 'embedded', wires: [['out']] },
          { id: 'out', type: 'helper' },
        ),
        { whole: { token: '${SPAN_TEST_TOKEN}' }, embedded: { token: '${SPAN_TEST_TOKEN}' } },
      );
      const out = new Recorder('out');
      await waitFor('data from both', () => {
        const serials = out.messages.map((m) => m.payload.panel.serial);
        return serials.length >= 2 && serials.every((s) => s === sim.state.identity.serial);
      });
      assert.equal(helper.getNode('whole').resolvedHost, hostOf(sim));
      assert.equal(
        hubOf('whole').activeSupervisor.timingPolicy.intervalMs,
        1500,
        'interval from the environment',
      );
      assert.equal(helper.getNode('embedded').resolvedHost, hostOf(sim));
      // The stored credential keeps the reference, not the value.
      assert.equal((helper as any)._redNodes.getCredentials('whole').token, '${SPAN_TEST_TOKEN}');
      out.stop();
    });
  });

  describe('secrets', () => {
    it('never puts token or passphrase into flows, messages, status or logs', async () => {
      const sim = await panels.start();
      await helper.load(
        spanNodes,
        flow(
          panelConfig('cfg', hostOf(sim)),
          { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [['out']] },
          { id: 'st', type: 'span-status', panel: 'cfg', initial: true, wires: [['out']] },
          { id: 'out', type: 'helper' },
        ),
        { cfg: { token: TOKEN, passphrase: PASSPHRASE } },
      );
      const out = new Recorder('out');
      await out.next('data', (m) => m.payload.panel);
      await sim.faults.refuse();
      await out.next('offline', (m) => m.payload.state === 'offline', 10000);
      const secrets = [TOKEN, PASSPHRASE];
      const exported = (helper as any)._redNodes.getFlows().flows;
      assert.equal(containsSecret(exported, secrets), null, 'flows');
      assert.equal(containsSecret(out.messages, secrets), null, 'messages');
      const node = helper.getNode('cfg') as any;
      const statusCalls = node.status.getCalls().map((c: any) => c.args);
      assert.equal(containsSecret(statusCalls, secrets), null, 'status');
      for (const m of ['log', 'warn', 'error', 'debug', 'trace']) {
        const calls = node[m].getCalls().map((c: any) => c.args);
        assert.equal(containsSecret(calls, secrets), null, `node.${m}`);
      }
      const def = (helper as any)._redNodes.getCredentialDefinition('span-panel');
      for (const [name, d] of Object.entries<any>(def))
        assert.equal(d.type, 'password', `${name} is a password`);
      out.stop();
    });
  });

  describe('admin endpoints', () => {
    it('test: lists circuits for an undeployed config with a typed token, never echoing it', async () => {
      const sim = await panels.start();
      await helper.load(spanNodes, flow(), {});
      const res = await helper
        .request()
        .post('/span-panel/test')
        .send({ id: 'new-cfg', host: hostOf(sim), api: 'v1', token: TOKEN });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.ok, true);
      assert.equal(res.body.source, 'probe');
      assert.equal(res.body.serial, sim.state.identity.serial);
      assert.equal(res.body.legacyApi, true);
      assert.equal(res.body.circuits.length, sim.state.circuits.length);
      assert.deepEqual(Object.keys(res.body.circuits[0]).sort(), ['controllable', 'id', 'name', 'tabs']);
      assert.equal(containsSecret(res.text, [TOKEN]), null);

      const bad = await helper
        .request()
        .post('/span-panel/test')
        .send({ host: hostOf(sim), api: 'v1', token: 'wrong-token-12345' });
      assert.equal(bad.status, 502);
      assert.equal(bad.body.ok, false);
      assert.equal(bad.body.errorClass, 'auth');
      assert.equal(containsSecret(bad.text, ['wrong-token-12345']), null);

      const noHost = await helper.request().post('/span-panel/test').send({ api: 'v1' });
      assert.equal(noHost.status, 400);
      // A request's own ${VAR} is never looked up in process.env (only a deployed node's saved fields are).
      const unset = await helper.request().post('/span-panel/test').send({ host: '${SPAN_TEST_NOT_SET}' });
      assert.equal(unset.status, 400);
      assert.match(unset.body.error, /only read from the deployed configuration/);
    });

    it('test: a deployed config answers from live data with its stored token (__PWRD__)', async () => {
      const sim = await panels.start();
      await helper.load(spanNodes, pollFlow(hostOf(sim)), { cfg: { token: TOKEN } });
      const out = new Recorder('out');
      await out.next('online');
      const requests = sim.stats.total;
      const res = await helper
        .request()
        .post('/span-panel/test')
        .send({ id: 'cfg', host: hostOf(sim), api: 'v1', token: '__PWRD__' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.source, 'live');
      assert.equal(res.body.circuits.length, sim.state.circuits.length);
      assert.ok(sim.stats.total - requests <= 8, 'no extra connection beyond regular polling');
      // Same config, but a different host typed in the dialog: the stored token stays with its panel…
      const other = await panels.start({ serial: 'nj-2316-OTHR' });
      const otherRequests = other.stats.total;
      const res2 = await helper
        .request()
        .post('/span-panel/test')
        .send({ id: 'cfg', host: hostOf(other), api: 'v1', token: '__PWRD__' });
      assert.equal(res2.status, 403, res2.text);
      assert.match(res2.body.error, /only sent to the panel it belongs to/);
      assert.equal(other.stats.total, otherRequests, 'the other host was not contacted');
      // … and a token typed for that host is a real probe.
      const res3 = await helper
        .request()
        .post('/span-panel/test')
        .send({ id: 'cfg', host: hostOf(other), api: 'v1', token: TOKEN });
      assert.equal(res3.status, 200, res3.text);
      assert.equal(res3.body.source, 'probe');
      assert.equal(res3.body.serial, 'nj-2316-OTHR');
      const health = await helper.request().get('/span-panel/cfg/health');
      assert.equal(health.status, 200);
      assert.equal(health.body.health.state, 'online');
      assert.equal(health.body.serial, sim.state.identity.serial);
      assert.equal((await helper.request().get('/span-panel/nope/health')).status, 404);
      out.stop();
    });

    it('register: stores the issued v1 token server-side; a deployed node then uses it', async () => {
      const sim = await panels.start();
      // Registration writes credentials only for a deployed span-panel.
      await helper.load(spanNodes, flow(), {});
      const undeployed = await helper
        .request()
        .post('/span-panel/register')
        .send({ id: 'cfg2', host: hostOf(sim), api: 'v1' });
      assert.equal(undeployed.status, 404);
      assert.match(undeployed.body.error, /deploy this panel configuration first/);
      assert.deepEqual((helper as any)._redNodes.getCredentials('cfg2') ?? {}, {});
      await helper.setFlows(flow(panelConfig('cfg2', hostOf(sim))), 'full');
      const closed = await helper
        .request()
        .post('/span-panel/register')
        .send({ id: 'cfg2', host: hostOf(sim), api: 'v1' });
      assert.equal(closed.status, 502, 'needs the proximity window');
      await sim.faults.inject({ kind: 'proximity', open: true });
      const res = await helper
        .request()
        .post('/span-panel/register')
        .send({ id: 'cfg2', host: hostOf(sim), api: 'v1' });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { ok: true, api: 'v1', serial: null });
      const stored = (helper as any)._redNodes.getCredentials('cfg2');
      assert.ok(stored.token && stored.token.length > 10, 'token stored');
      assert.equal(res.text.includes(stored.token), false, 'token not in the response');

      await helper.setFlows(
        flow(
          panelConfig('cfg2', hostOf(sim)),
          { id: 'poll', type: 'span-poll', panel: 'cfg2', wires: [['out']] },
          { id: 'out', type: 'helper' },
        ),
        'full',
      );
      const out = new Recorder('out');
      const msg = await out.next('data with the registered token');
      assert.equal(msg.payload.panel.serial, sim.state.identity.serial);
      out.stop();
    });
  });

  describe('lifecycle', () => {
    it('starts one connection for all users and stops it with the last one', async () => {
      const sim = await panels.start();
      const circuit = sim.state.circuits[0].id;
      const twoUsers = flow(
        panelConfig('cfg', hostOf(sim)),
        { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [['out']] },
        { id: 'circ', type: 'span-circuit', panel: 'cfg', circuit, wires: [['out']] },
        { id: 'out', type: 'helper' },
      );
      await helper.load(spanNodes, twoUsers, { cfg: { token: TOKEN } });
      const out = new Recorder('out');
      await out.next('data');
      const hub = hubOf('cfg');
      assert.equal(hub.userCount, 2);
      assert.equal(hub.subscriptions, 1);
      const supervisor: PanelSupervisor = hub.activeSupervisor;
      assert.equal((supervisor as any).listeners.size, 1, 'one listener for all users');
      // One read per interval for both nodes (4 GETs per v1 cycle).
      // The configured 0.3 s runs at the 1 s minimum.
      assert.equal(supervisor.timingPolicy.intervalMs, 1000);
      const before = sim.stats.count('GET', '/api/v1/panel');
      await sleep(2000);
      const cycles = sim.stats.count('GET', '/api/v1/panel') - before;
      assert.ok(cycles >= 1 && cycles <= 3, `one poll loop (${cycles} cycles in 2 s at 1 s)`);
      out.stop();

      // Remove both users (modified-nodes deploy): the config node stays, the connection stops.
      await helper.setFlows(flow(panelConfig('cfg', hostOf(sim))), 'nodes');
      assert.equal(hub.userCount, 0);
      assert.equal(hub.activeSupervisor, null);
      assert.equal(supervisor.health.state, 'stopped');
      assert.equal((supervisor as any).listeners.size, 0);
      const after = sim.stats.total;
      await sleep(800);
      assert.equal(sim.stats.total, after, 'no requests without users');
    });

    it('survives 20+ redeploys without leaking supervisors, listeners, timers or sockets', async function () {
      this.timeout(90000);
      const sim = await panels.start();
      const circuit = sim.state.circuits[0].id;
      const build = (n: number) =>
        flow(
          panelConfig('cfg', hostOf(sim), { name: `panel ${n}` }),
          { id: 'poll', type: 'span-poll', panel: 'cfg', name: `poll ${n}`, wires: [['out']] },
          { id: 'circ', type: 'span-circuit', panel: 'cfg', circuit, name: `c ${n}`, wires: [['out']] },
          { id: 'st', type: 'span-status', panel: 'cfg', initial: true, wires: [['out']] },
          { id: 'out', type: 'helper' },
        );
      await helper.load(spanNodes, build(0), { cfg: { token: TOKEN } });
      await waitFor('online', () => hubOf('cfg').health?.state === 'online');
      await sleep(500);
      const resources = () => {
        const counts: Record<string, number> = {};
        for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
        return counts;
      };
      const baseline = resources();
      const supervisors = new Set<PanelSupervisor>([hubOf('cfg').activeSupervisor]);
      const REDEPLOYS = 24;
      let fullDeploys = 0;
      for (let i = 1; i <= REDEPLOYS; i++) {
        // Full deploys, and modified-node deploys that restart two of the three users (the status node
        // keeps running, so the connection must survive them).
        const type = i % 3 === 0 ? 'nodes' : 'full';
        if (type === 'full') fullDeploys += 1;
        const next = build(i);
        if (type === 'nodes') (next[1] as any).name = `panel ${i - 1}`; // keep the config node unchanged
        await helper.setFlows(next, type, type === 'full' ? { cfg: { token: TOKEN } } : undefined);
        supervisors.add(hubOf('cfg').activeSupervisor);
        if (i % 6 === 0) await waitFor('online again', () => hubOf('cfg').health?.state === 'online');
      }
      await waitFor('online at the end', () => hubOf('cfg').health?.state === 'online');
      await sleep(800);
      const current: PanelSupervisor = hubOf('cfg').activeSupervisor;
      assert.equal(supervisors.size, fullDeploys + 1, 'a new connection per config restart, kept otherwise');
      for (const s of supervisors) {
        if (s === current) continue;
        assert.equal(s.health.state, 'stopped');
        assert.equal((s as any).listeners.size, 0, 'no listener left on a stopped supervisor');
        assert.equal((s as any).timer, null);
        assert.equal((s as any).watchdog.timer, null, 'the watchdog (src/supervisor/watchdog.ts) is stopped');
      }
      assert.equal((current as any).listeners.size, 1);
      assert.equal(hubOf('cfg').userCount, 3);
      const now = resources();
      for (const kind of ['Timeout', 'TCPSocketWrap', 'TCPServerWrap']) {
        const grew = (now[kind] ?? 0) - (baseline[kind] ?? 0);
        assert.ok(grew <= 3, `${kind}: ${baseline[kind] ?? 0} → ${now[kind] ?? 0}`);
      }
      assert.ok(sim.openConnections <= 8, `open connections on the panel: ${sim.openConnections}`);

      // Deploying an empty flow stops everything: the panel must see no request afterwards.
      await helper.setFlows(flow(), 'full');
      const requests = sim.stats.total;
      await sleep(1000);
      assert.equal(sim.stats.total, requests, 'nothing polls after the flows stopped');
      assert.equal(current.health.state, 'stopped');
      assert.equal((current as any).listeners.size, 0);
    });

    it('runs two panels side by side without cross-talk', async () => {
      const simA = await panels.start({ serial: 'nj-2316-AAAA', seed: 1 });
      const simB = await panels.start({ serial: 'nj-2316-BBBB', seed: 2 });
      const circuitA = simA.state.circuits.find((c) => c.isUserControllable && c.relayState === 'CLOSED')!;
      const circuitB = simB.state.circuits.find((c) => c.id === circuitA.id);
      await helper.load(
        spanNodes,
        flow(
          panelConfig('cfgA', hostOf(simA)),
          panelConfig('cfgB', hostOf(simB)),
          { id: 'pollA', type: 'span-poll', panel: 'cfgA', wires: [['outA']] },
          { id: 'pollB', type: 'span-poll', panel: 'cfgB', wires: [['outB']] },
          { id: 'circA', type: 'span-circuit', panel: 'cfgA', circuit: circuitA.id, wires: [[]] },
          { id: 'outA', type: 'helper' },
          { id: 'outB', type: 'helper' },
        ),
        { cfgA: { token: TOKEN }, cfgB: { token: TOKEN } },
      );
      const outA = new Recorder('outA');
      const outB = new Recorder('outB');
      await outA.next('A');
      await outB.next('B');
      const statusB = new StatusLog(helper.getNode('pollB'));

      await simA.faults.refuse();
      await waitFor('A offline', () => hubOf('cfgA').health?.state === 'offline', 10000);
      assert.equal(hubOf('cfgB').health?.state, 'online', 'B unaffected');
      assert.ok(
        statusB.statuses.every((s) => s.fill === 'green'),
        'B stayed green',
      );
      await simA.faults.reopen();
      await waitFor('A online', () => hubOf('cfgA').health?.state === 'online', 15000);

      helper.getNode('circA').receive({ payload: 'off' });
      await waitFor('A switched', () => simA.state.circuit(circuitA.id)?.relayState === 'OPEN');
      if (circuitB)
        assert.equal(simB.state.circuit(circuitB.id)?.relayState, circuitB.relayState, 'B untouched');
      assert.ok(outA.messages.every((m) => m.topic === 'nj-2316-AAAA'));
      assert.ok(outB.messages.every((m) => m.topic === 'nj-2316-BBBB'));
      outA.stop();
      outB.stop();
      statusB.stop();
    });
  });
});
