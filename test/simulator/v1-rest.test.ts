import assert from 'node:assert/strict';
import http from 'node:http';
import { SimulatedPanel } from '../../simulator/panel';
import { loadFixture, loadFixtureText } from '../helpers/fixtures';
import { expectResponse, rawRequest, sleep, type RawResponse } from '../helpers/http-client';
import { shapeDiff } from '../helpers/shape';

const TOKEN = 'test-token-v1-rest';
const auth = { authorization: `Bearer ${TOKEN}` };

interface WireCircuit {
  id: string;
  relayState: string;
  instantPowerW: number;
  consumedEnergyWh: number;
  producedEnergyWh: number;
  tabs: number[];
  priority: string;
  isUserControllable: boolean;
  instantPowerUpdateTimeS: number;
  energyAccumUpdateTimeS: number;
}
interface WireBranch {
  id: number;
  instantPowerW: number;
  importedActiveEnergyWh: number;
  exportedActiveEnergyWh: number;
  measureStartTsMs: number;
  measureDurationMs: number;
}
interface WirePanel {
  instantGridPowerW: number;
  feedthroughPowerW: number;
  mainMeterEnergy: { consumedEnergyWh: number; producedEnergyWh: number };
  gridSampleStartMs: number;
  gridSampleEndMs: number;
  branches: WireBranch[];
}

const json = <T>(r: RawResponse) => JSON.parse(r.body) as T;

describe('simulator v1 REST face', () => {
  let panel: SimulatedPanel;
  const clock = { t: Date.UTC(2026, 5, 1, 8, 0, 0) };
  // A keep-alive agent, as real clients use (agent:false would send Connection: close).
  let agent: http.Agent;
  const get = async (path: string, headers: Record<string, string> = auth) =>
    expectResponse(await rawRequest(panel.ports.http, path, { headers, agent }));
  const post = async (path: string, body: unknown, headers: Record<string, string> = auth) =>
    expectResponse(await rawRequest(panel.ports.http, path, { method: 'POST', headers, body, agent }));

  beforeEach(async () => {
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    panel = await SimulatedPanel.start({
      seed: 3,
      tickMs: 0,
      now: () => clock.t,
      token: TOKEN,
      controlPort: null,
    });
  });
  afterEach(async () => {
    agent.destroy();
    await panel.close();
  });

  describe('payload shapes (same keys and value types as the captured MAIN 32 responses)', () => {
    for (const [path, fixture] of [
      ['/api/v1/status', 'v1_status.json'],
      ['/api/v1/panel', 'v1_panel.json'],
      ['/api/v1/circuits', 'v1_circuits.json'],
      ['/api/v1/storage/soe', 'v1_soe.json'],
    ] as const) {
      it(`GET ${path} matches ${fixture}`, async () => {
        const r = await get(path);
        assert.equal(r.status, 200);
        assert.deepEqual(shapeDiff(json(r), loadFixture(fixture)), []);
      });
    }

    it('GET /api/v1/circuits/{id} answers one Circuit with the fixture shape', async () => {
      const fixture = loadFixture<{ circuits: Record<string, WireCircuit> }>('v1_circuits.json');
      const [id, expected] = Object.entries(fixture.circuits)[0]!;
      const r = await get(`/api/v1/circuits/${id}`);
      assert.equal(r.status, 200);
      assert.deepEqual(shapeDiff(json(r), expected), []);
      assert.equal(json<WireCircuit>(r).id, id);
    });

    it('keeps integer fields integers (epoch seconds, monotonic ms, uptime, soe percentage)', async () => {
      clock.t += 1234;
      panel.state.tick();
      const status = json<{ system: { uptime: number } }>(await get('/api/v1/status'));
      const p = json<WirePanel>(await get('/api/v1/panel'));
      const c = json<{ circuits: Record<string, WireCircuit> }>(await get('/api/v1/circuits'));
      const soe = json<{ soe: { percentage: number } }>(await get('/api/v1/storage/soe'));
      assert.ok(Number.isInteger(status.system.uptime));
      assert.ok(Number.isInteger(p.gridSampleStartMs) && Number.isInteger(p.gridSampleEndMs));
      for (const b of p.branches)
        assert.ok(Number.isInteger(b.measureStartTsMs) && Number.isInteger(b.measureDurationMs));
      for (const x of Object.values(c.circuits)) {
        assert.ok(Number.isInteger(x.instantPowerUpdateTimeS) && Number.isInteger(x.energyAccumUpdateTimeS));
        assert.equal(x.instantPowerUpdateTimeS, Math.floor(clock.t / 1000));
      }
      assert.ok(Number.isInteger(soe.soe.percentage));
    });
  });

  describe('headers', () => {
    it('every /api/v1/* response (success and error) carries Deprecation, Sunset, keep-alive and an exact Content-Length', async () => {
      const responses = [
        await get('/api/v1/status', {}),
        await get('/api/v1/panel'),
        await get('/api/v1/panel', {}),
        await get('/api/v1/panel', { authorization: 'Bearer wrong' }),
        await get('/api/v1/nope'),
        await post('/api/v1/circuits/nope', { relayStateIn: { relayState: 'OPEN' } }),
      ];
      for (const r of responses) {
        assert.equal(r.headers['deprecation'], 'true');
        assert.equal(r.headers['sunset'], '2026-12-31');
        assert.equal(r.headers['connection'], 'keep-alive');
        assert.equal(r.headers['keep-alive'], 'timeout=5');
        assert.match(r.headers['content-type'] ?? '', /^application\/json/);
        assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
      }
    });

    it('can switch the Keep-Alive hint off', async () => {
      panel.setKeepAlive({ hint: false });
      const r = await get('/api/v1/status', {});
      assert.equal(r.headers['keep-alive'], undefined);
      assert.equal(r.headers['connection'], 'keep-alive');
    });
  });

  describe('authentication', () => {
    it('serves /status without a token', async () => {
      const r = await get('/api/v1/status', {});
      assert.equal(r.status, 200);
      assert.equal(json<{ system: { serial: string } }>(r).system.serial, panel.state.identity.serial);
    });

    it('answers 412 with exactly the captured body when a protected endpoint gets no token', async () => {
      const expected = loadFixtureText('v1_error_412_missing_token.json').trim();
      for (const path of ['/api/v1/panel', '/api/v1/circuits', '/api/v1/storage/soe']) {
        const r = await get(path, {});
        assert.equal(r.status, 412);
        assert.equal(r.body, expected);
      }
      const notBearer = await get('/api/v1/panel', { authorization: 'Basic abc' });
      assert.equal(notBearer.status, 412);
    });

    it('answers 401 {"detail":"Invalid authentication credentials"} for a wrong or revoked token', async () => {
      const wrong = await get('/api/v1/panel', { authorization: 'Bearer not-a-token' });
      assert.equal(wrong.status, 401);
      assert.deepEqual(json(wrong), { detail: 'Invalid authentication credentials' });
      assert.equal((await get('/api/v1/panel', { authorization: `bearer ${TOKEN}` })).status, 200);
      panel.tokens.revoke(TOKEN);
      const revoked = await get('/api/v1/panel');
      assert.equal(revoked.status, 401);
      assert.deepEqual(json(revoked), { detail: 'Invalid authentication credentials' });
    });

    it('registers a client only inside the proximity window; duplicate names fail', async () => {
      const body = { name: 'node-red-test', description: 'Node-RED SPAN test' };
      const outside = await post('/api/v1/auth/register', body, {});
      assert.equal(outside.status, 403);
      assert.match(json<{ detail: string }>(outside).detail, /Proximity not proven/);

      panel.faults.proximity(true);
      assert.equal(
        json<{ system: { proximityProven: boolean } }>(await get('/api/v1/status', {})).system
          .proximityProven,
        true,
      );
      const inside = await post('/api/v1/auth/register', body, {});
      assert.equal(inside.status, 200);
      const out = json<{ accessToken: string; tokenType: string; iatMs: number }>(inside);
      assert.deepEqual(Object.keys(out).sort(), ['accessToken', 'iatMs', 'tokenType']);
      assert.equal(typeof out.accessToken, 'string');
      assert.equal(out.tokenType.toLowerCase(), 'bearer');
      assert.equal(out.iatMs, clock.t);
      assert.equal((await get('/api/v1/panel', { authorization: `Bearer ${out.accessToken}` })).status, 200);

      const duplicate = await post('/api/v1/auth/register', body, {});
      assert.equal(duplicate.status, 409);
      assert.equal(typeof json<{ detail: string }>(duplicate).detail, 'string');
      const missingName = await post('/api/v1/auth/register', { description: 'x' }, {});
      assert.equal(missingName.status, 422);
    });

    it('closes the proximity window by itself', async () => {
      await panel.close();
      panel = await SimulatedPanel.start({ tickMs: 0, proximityWindowMs: 150, controlPort: null });
      panel.faults.proximity(true);
      assert.equal((await post('/api/v1/auth/register', { name: 'a' }, {})).status, 200);
      await sleep(300);
      assert.equal(panel.state.identity.proximityProven, false);
      assert.equal((await post('/api/v1/auth/register', { name: 'b' }, {})).status, 403);
    });
  });

  describe('circuit control', () => {
    it('opens a relay: the returned circuit, GET and /panel all show it OPEN at 0 W', async () => {
      const c = panel.state.circuits.find((x) => x.name === 'Master bedroom')!;
      assert.ok(c.instantPowerW < 0);
      const r = await post(`/api/v1/circuits/${c.id}`, { relayStateIn: { relayState: 'OPEN' } });
      assert.equal(r.status, 200);
      const returned = json<WireCircuit>(r);
      assert.equal(returned.relayState, 'OPEN');
      assert.equal(returned.instantPowerW, 0);
      assert.equal(json<WireCircuit>(await get(`/api/v1/circuits/${c.id}`)).relayState, 'OPEN');
      const p = json<WirePanel & { branches: { id: number; relayState: string; instantPowerW: number }[] }>(
        await get('/api/v1/panel'),
      );
      for (const t of c.tabs) {
        assert.equal(p.branches[t - 1]!.relayState, 'OPEN');
        assert.equal(p.branches[t - 1]!.instantPowerW, 0);
      }
      const closed = json<WireCircuit>(
        await post(`/api/v1/circuits/${c.id}`, { relayStateIn: { relayState: 'CLOSED' } }),
      );
      assert.equal(closed.relayState, 'CLOSED');
      assert.ok(closed.instantPowerW < 0);
    });

    it('refuses a locked circuit with 4xx {"detail"} and leaves it unchanged; unknown id → 404; bad value → 422', async () => {
      const fridge = panel.state.circuits.find((x) => !x.isUserControllable)!;
      const r = await post(`/api/v1/circuits/${fridge.id}`, { relayStateIn: { relayState: 'OPEN' } });
      assert.equal(r.status, 400);
      assert.equal(typeof json<{ detail: string }>(r).detail, 'string');
      assert.equal(fridge.relayState, 'CLOSED');
      const unknown = await post('/api/v1/circuits/0000', { relayStateIn: { relayState: 'OPEN' } });
      assert.equal(unknown.status, 404);
      const bad = await post(`/api/v1/circuits/${panel.state.circuits[0]!.id}`, {
        relayStateIn: { relayState: 'AJAR' },
      });
      assert.equal(bad.status, 422);
      const noToken = await post(
        `/api/v1/circuits/${fridge.id}`,
        { relayStateIn: { relayState: 'OPEN' } },
        {},
      );
      assert.equal(noToken.status, 412);
    });

    it('accepts a priority write but does not persist it (like real v1)', async () => {
      const c = panel.state.circuits[0]!;
      const before = c.priority;
      const target = before === 'MUST_HAVE' ? 'NON_ESSENTIAL' : 'MUST_HAVE';
      const r = await post(`/api/v1/circuits/${c.id}`, { priorityIn: { priority: target } });
      assert.equal(r.status, 200);
      assert.equal(json<WireCircuit>(await get(`/api/v1/circuits/${c.id}`)).priority, before);
    });
  });

  describe('signs and units over the wire', () => {
    it('circuit energy equals its spaces’ branch energy, grid = loads − PV + feed-through, energy grows with time', async () => {
      const first = json<{ circuits: Record<string, WireCircuit> }>(await get('/api/v1/circuits'));
      for (let i = 0; i < 5; i++) {
        clock.t += 60_000;
        panel.state.tick();
      }
      const circuits = json<{ circuits: Record<string, WireCircuit> }>(
        await get('/api/v1/circuits'),
      ).circuits;
      const p = json<WirePanel>(await get('/api/v1/panel'));
      for (const c of Object.values(circuits)) {
        const exported = c.tabs.reduce((s, t) => s + p.branches[t - 1]!.exportedActiveEnergyWh, 0);
        const imported = c.tabs.reduce((s, t) => s + p.branches[t - 1]!.importedActiveEnergyWh, 0);
        assert.ok(Math.abs(exported - c.consumedEnergyWh) < 1e-6, `${c.id} consumed vs branch export`);
        assert.ok(Math.abs(imported - c.producedEnergyWh) < 1e-6, `${c.id} produced vs branch import`);
        assert.ok(c.instantPowerW <= 0, 'loads are negative');
        assert.ok(c.consumedEnergyWh >= first.circuits[c.id]!.consumedEnergyWh);
        if (c.relayState === 'CLOSED' && first.circuits[c.id]!.instantPowerW < 0) {
          assert.ok(
            c.consumedEnergyWh > first.circuits[c.id]!.consumedEnergyWh,
            'a consuming circuit accumulates',
          );
        }
      }
      const sum = p.branches.reduce((s, b) => s + b.instantPowerW, 0);
      assert.ok(Math.abs(p.instantGridPowerW - (-sum + p.feedthroughPowerW)) < 1e-6);
      assert.ok(
        p.branches[29]!.instantPowerW > 0 && p.branches[31]!.instantPowerW > 0,
        'PV backfeed positive',
      );
    });
  });

  describe('routing and counting', () => {
    it('answers unknown paths 404 and wrong methods 405 with {"detail"}', async () => {
      const notFound = await get('/api/v1/nope');
      assert.equal(notFound.status, 404);
      assert.deepEqual(json(notFound), { detail: 'Not Found' });
      const wrongMethod = await post('/api/v1/panel', {});
      assert.equal(wrongMethod.status, 405);
    });

    it('counts requests per method and path, and resets', async () => {
      for (let i = 0; i < 3; i++) await get('/api/v1/status', {});
      await get('/api/v1/panel');
      await get('/api/v1/panel?x=1');
      assert.equal(panel.stats.count('GET', '/api/v1/status'), 3);
      assert.equal(panel.stats.count('GET', '/api/v1/panel'), 2);
      assert.equal(panel.stats.count(), 5);
      const snap = panel.stats.snapshot();
      assert.deepEqual(snap.byRoute['GET /api/v1/status'], { count: 3, reused: 2 });
      assert.equal(snap.reused, 4, 'one keep-alive connection carried all five');
      assert.equal(snap.connections, 1);
      panel.stats.reset();
      assert.equal(panel.stats.count(), 0);
      assert.equal(panel.stats.snapshot().connections, 0);
    });
  });
});
