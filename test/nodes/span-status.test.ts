import assert from 'node:assert/strict';
import {
  flow,
  helper,
  hostOf,
  panelConfig,
  Panels,
  Recorder,
  sleep,
  spanNodes,
  TOKEN,
  useNodeRed,
} from './support';

describe('span-status node (real Node-RED runtime, simulated panel)', function () {
  this.timeout(30000);
  useNodeRed();
  const panels = new Panels();
  afterEach(() => panels.closeAll());

  it('sends the initial state once flows start, then one message per transition', async () => {
    const sim = await panels.start();
    await helper.load(
      spanNodes,
      flow(
        panelConfig('cfg', hostOf(sim), { interval: '0.3' }),
        { id: 'st', type: 'span-status', panel: 'cfg', initial: true, wires: [['out']] },
        { id: 'out', type: 'helper' },
      ),
      { cfg: { token: TOKEN } },
    );
    const out = new Recorder('out');
    const initial = await out.next('initial state', () => true, 8000, 0);
    assert.equal(initial.initial, true);
    assert.ok(['connecting', 'online'].includes(initial.payload.state), initial.payload.state);

    const online = await out.next('online', (m) => m.payload.state === 'online' && !m.initial, 8000, 0);
    assert.equal(online.payload.previous, 'connecting');
    assert.equal(online.payload.api, 'v1');
    assert.equal(online.payload.legacyApi, true);
    assert.equal(online.topic, sim.state.identity.serial);
    assert.equal(online.payload.errorClass, null);
    assert.equal(online.payload.transition, true);

    await sim.faults.refuse();
    const offline = await out.next('offline', (m) => m.payload.state === 'offline', 10000);
    assert.equal(offline.payload.errorClass, 'refused');
    assert.ok(offline.payload.consecutiveFailures >= 3);
    assert.ok(offline.payload.lastSuccessAt, 'last success known');
    assert.ok(offline.payload.nextAttemptInMs > 0, 'next attempt scheduled');
    assert.ok(offline.payload.outageMs > 0);
    // Retry updates while offline are status-only: no further offline messages.
    await sleep(2500);
    assert.equal(out.messages.filter((m) => m.payload.state === 'offline').length, 1);

    await sim.faults.reopen();
    const back = await out.next(
      'recovered',
      (m) => m.payload.state === 'online' && m.payload.previous === 'offline',
      15000,
    );
    assert.ok(back.payload.outageMs >= 1000, `outage length reported (${back.payload.outageMs} ms)`);
    const transitions = out.messages
      .filter((m) => !m.initial)
      .map((m) => `${m.payload.previous}>${m.payload.state}`);
    for (const t of transitions)
      assert.notEqual(t.split('>')[0], t.split('>')[1], `only transitions: ${transitions}`);
    assert.ok(transitions.includes('offline>online'));
    out.stop();
  });

  it('without "initial" stays silent until something changes', async () => {
    const sim = await panels.start();
    await helper.load(
      spanNodes,
      flow(
        panelConfig('cfg', hostOf(sim), { interval: '0.3' }),
        { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [['data']] },
        { id: 'data', type: 'helper' },
      ),
      { cfg: { token: TOKEN } },
    );
    const data = new Recorder('data');
    await data.next('panel online');
    // Added while the panel is already online: nothing to report yet.
    await helper.setFlows(
      flow(
        panelConfig('cfg', hostOf(sim), { interval: '0.3' }),
        { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [['data']] },
        { id: 'data', type: 'helper' },
        { id: 'st', type: 'span-status', panel: 'cfg', initial: false, wires: [['out']] },
        { id: 'out', type: 'helper' },
      ),
      'nodes',
    );
    const out = new Recorder('out');
    await sleep(1000);
    assert.deepEqual(
      out.messages.map((m) => m.payload.state),
      [],
    );
    data.stop();
    out.stop();
  });

  it('reports auth-failed for a rejected token', async () => {
    const sim = await panels.start();
    await helper.load(
      spanNodes,
      flow(
        panelConfig('cfg', hostOf(sim), { interval: '0.3' }),
        { id: 'st', type: 'span-status', panel: 'cfg', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ),
      { cfg: { token: 'not-the-right-token' } },
    );
    const out = new Recorder('out');
    const failed = await out.next('auth failed', (m) => m.payload.state === 'auth-failed', 10000, 0);
    assert.equal(failed.payload.errorClass, 'auth');
    assert.ok(failed.payload.nextAttemptInMs > 0, 'still probing');
    assert.doesNotMatch(JSON.stringify(failed), /not-the-right-token/);
    out.stop();
  });
});
