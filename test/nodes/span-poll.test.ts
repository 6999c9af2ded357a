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

describe('span-poll node (real Node-RED runtime, simulated panel)', function () {
  this.timeout(20000);
  useNodeRed();
  const panels = new Panels();
  afterEach(() => panels.closeAll());

  it('sends the panel snapshot every interval with consumption-positive signs', async () => {
    const sim = await panels.start();
    await helper.load(
      spanNodes,
      flow(
        panelConfig('cfg', hostOf(sim)),
        { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [['out']] },
        {
          id: 'out',
          type: 'helper',
        },
      ),
      { cfg: { token: TOKEN } },
    );
    const out = new Recorder('out');
    const first = await out.next('first snapshot');
    const second = await out.next('second snapshot', () => true, 3000, out.messages.indexOf(first) + 1);
    assert.ok(second.payload.receivedAt > first.payload.receivedAt, 'a new read each interval');

    const p = first.payload;
    assert.equal(first.topic, sim.state.identity.serial);
    assert.equal(p.api, 'v1');
    assert.equal(p.dataModel, 'v1-rest');
    assert.equal(p.panel.serial, sim.state.identity.serial);
    assert.equal(p.panel.gridPowerW, sim.state.mains.instantGridPowerW, 'grid: + = importing');
    assert.equal(Object.keys(p.circuits).length, sim.state.circuits.length);
    let consuming = 0;
    for (const c of sim.state.circuits) {
      const n = p.circuits[c.id];
      assert.equal(n.powerRawW, c.instantPowerW, `${c.name} raw`);
      assert.equal(n.powerW, c.instantPowerW === 0 ? 0 : -c.instantPowerW, `${c.name}: + = consumption`);
      if (c.instantPowerW < 0) {
        consuming += 1;
        assert.ok(n.powerW > 0);
      }
    }
    assert.ok(consuming > 0, 'the seed has consuming loads');
    assert.equal(p.battery.socPercent, Math.round(sim.state.soePercent ?? NaN));
    assert.equal(first.stale, undefined, 'no stale marker while online');
    assert.equal(first.dataAgeMs, undefined);
    out.stop();
  });

  it('answers an input with fresh data on the same message, honours include options and topic', async () => {
    const sim = await panels.start();
    await helper.load(
      spanNodes,
      flow(
        panelConfig('cfg', hostOf(sim), { interval: '1' }),
        {
          id: 'poll',
          type: 'span-poll',
          panel: 'cfg',
          topic: 'my/panel',
          includePanel: true,
          includeCircuits: false,
          includeBattery: false,
          wires: [['out']],
        },
        { id: 'out', type: 'helper' },
      ),
      { cfg: { token: TOKEN } },
    );
    const out = new Recorder('out');
    await out.next('initial snapshot');
    // Older than half the interval: the supervisor reads again instead of answering from its cache.
    await sleep(600);
    sim.state.tick(Date.now() + 1000);
    const requestsBefore = sim.stats.total;
    helper.getNode('poll').receive({ payload: 'go', _keep: 'me' });
    const reply = await out.next('reply', (m) => m._keep === 'me');
    assert.equal(reply.topic, 'my/panel');
    assert.equal(reply.payload.panel.gridPowerW, sim.state.mains.instantGridPowerW, 'fresh after the tick');
    assert.equal(reply.payload.circuits, undefined);
    assert.equal(reply.payload.battery, undefined);
    assert.ok(sim.stats.total > requestsBefore, 'input read the panel');
    out.stop();
  });

  it('with "only on change" stays quiet while the panel does not change', async () => {
    const sim = await panels.start();
    await helper.load(
      spanNodes,
      flow(
        panelConfig('cfg', hostOf(sim), { interval: '1' }),
        { id: 'poll', type: 'span-poll', panel: 'cfg', onlyOnChange: true, wires: [['out']] },
        { id: 'out', type: 'helper' },
      ),
      { cfg: { token: TOKEN } },
    );
    const out = new Recorder('out');
    await out.next('first snapshot');
    const reads = sim.stats.count('GET', '/api/v1/panel');
    await sleep(2300);
    assert.ok(sim.stats.count('GET', '/api/v1/panel') >= reads + 2, 'polling went on');
    assert.equal(out.messages.length, 1, 'no message for identical data');
    sim.state.tick(Date.now() + 5000);
    const changed = await out.next('changed snapshot', () => true, 3000, 1);
    assert.equal(changed.payload.panel.gridPowerW, sim.state.mains.instantGridPowerW);
    out.stop();
  });

  it('marks data stale while the panel is unreachable; input then gets the last snapshot, marked stale, without a request', async () => {
    const sim = await panels.start();
    await helper.load(
      spanNodes,
      flow(
        panelConfig('cfg', hostOf(sim), { interval: '0.3' }),
        { id: 'poll', type: 'span-poll', panel: 'cfg', wires: [['out']] },
        { id: 'out', type: 'helper' },
        { id: 'catcher', type: 'catch', scope: ['poll'], uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ),
      { cfg: { token: TOKEN } },
    );
    const out = new Recorder('out');
    const caught = new Recorder('caught');
    await out.next('first snapshot');
    await sim.faults.refuse();
    const stale = await out.next('stale data', (m) => m.stale === true);
    assert.equal(typeof stale.dataAgeMs, 'number');
    assert.equal(stale.payload.panel.serial, sim.state.identity.serial, 'last good data');
    await out.next('offline', () => helper.getNode('cfg').health?.state === 'offline', 8000);
    // Input messages must not bypass the backoff: the answer is what we know, marked stale.
    const requests = sim.stats.total;
    const from = out.messages.length;
    helper.getNode('poll').receive({ payload: 1, _id: 'input-1' });
    const reply = await out.next('reply to the input', (m) => m._id === 'input-1', 3000, from);
    assert.equal(reply.stale, true);
    assert.equal(reply.payload.panel.serial, sim.state.identity.serial);
    assert.ok(reply.dataAgeMs > 0);
    assert.equal(sim.stats.total, requests, 'no request on behalf of the input');
    assert.equal(caught.messages.length, 0, 'nothing for a Catch node: the flow got data');
    await sim.faults.reopen();
    const fresh = await out.next('fresh data', (m) => m.stale === undefined, 15000, out.messages.length);
    assert.equal(fresh.payload.panel.serial, sim.state.identity.serial);
    out.stop();
    caught.stop();
  });
});
