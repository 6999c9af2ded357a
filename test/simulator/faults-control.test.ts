import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson, SimulatedPanel, type SimPlugin, type SimPluginContext } from '../../simulator';
import { expectResponse, isError, rawRequest, sleep } from '../helpers/http-client';

const TOKEN = 'control-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('simulator control API (HTTP, separate port)', () => {
  let panel: SimulatedPanel;
  const control = async (method: string, path: string, body?: unknown) => {
    const r = expectResponse(await rawRequest(panel.ports.control!, path, { method, body, agent: false }));
    // Loose JSON access keeps these assertions readable; the shapes are asserted field by field.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return { status: r.status, json: JSON.parse(r.body) as Record<string, any> };
  };
  const api = (path: string, headers: Record<string, string> = auth) =>
    rawRequest(panel.ports.http, path, { headers, agent: false });

  beforeEach(async () => {
    panel = await SimulatedPanel.start({ tickMs: 0, token: TOKEN });
  });
  afterEach(async () => {
    await panel.close();
  });

  it('listens on its own port and reports health and state', async () => {
    assert.ok(panel.ports.control && panel.ports.control !== panel.ports.http);
    assert.deepEqual((await control('GET', '/health')).json, { ok: true });
    const state = (await control('GET', '/state')).json;
    assert.equal(state.identity.serial, panel.state.identity.serial);
    assert.equal(state.circuits.length, 22);
    assert.equal(state.branches.length, 32);
    assert.equal(typeof state.pvPowerW, 'number');
  });

  it('POST /faults injects a request fault; GET lists it; DELETE /faults/{id} and DELETE /faults clear', async () => {
    const created = await control('POST', '/faults', {
      kind: 'status',
      status: 503,
      path: '/api/v1/status',
      retryAfterS: 2,
    });
    assert.equal(created.status, 201);
    assert.equal(created.json.kind, 'status');
    const id = created.json.id as string;
    const hit = expectResponse(await api('/api/v1/status'));
    assert.equal(hit.status, 503);
    assert.equal(hit.headers['retry-after'], '2');

    const listed = (await control('GET', '/faults')).json;
    assert.equal(listed.faults.length, 1);
    assert.equal(listed.faults[0].id, id);
    assert.equal(listed.faults[0].hits, 1);
    assert.ok(listed.kinds.includes('truncated') && listed.kinds.includes('reboot'));

    assert.equal((await control('DELETE', `/faults/${id}`)).status, 200);
    assert.equal((await control('DELETE', `/faults/${id}`)).status, 404);
    assert.equal(expectResponse(await api('/api/v1/status')).status, 200);

    await control('POST', '/faults', { kind: 'hang' });
    await control('POST', '/faults', { kind: 'malformed', variant: 'json-string' });
    assert.equal((await control('DELETE', '/faults')).status, 200);
    assert.equal((await control('GET', '/faults')).json.faults.length, 0);
    assert.equal(expectResponse(await api('/api/v1/status')).status, 200);
  });

  it('answers 400 for invalid or unknown faults and non-JSON bodies', async () => {
    const unknown = await control('POST', '/faults', { kind: 'meteor-strike' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.json.error as string, /unknown fault kind/);
    assert.equal((await control('POST', '/faults', { kind: 'status', status: 9000 })).status, 400);
    const notJson = expectResponse(
      await rawRequest(panel.ports.control!, '/faults', { method: 'POST', body: '{oops', agent: false }),
    );
    assert.equal(notJson.status, 400);
    assert.equal((await control('GET', '/nope')).status, 404);
  });

  it('keeps answering while the API listener is refused; DELETE /faults reopens it on the same port', async () => {
    const port = panel.ports.http;
    assert.equal((await control('POST', '/faults', { kind: 'refused' })).status, 201);
    const r = await api('/api/v1/status');
    assert.ok(isError(r) && r.error.code === 'ECONNREFUSED');
    assert.equal((await control('GET', '/faults')).json.refused, true);
    await control('DELETE', '/faults');
    assert.equal(panel.ports.http, port);
    assert.equal(expectResponse(await api('/api/v1/status')).status, 200);
  });

  it('GET /stats counts what the panel received; DELETE /stats resets', async () => {
    for (let i = 0; i < 4; i++) await api('/api/v1/status');
    await api('/api/v1/panel');
    const stats = (await control('GET', '/stats')).json;
    assert.equal(stats.total, 5);
    assert.deepEqual(stats.byRoute['GET /api/v1/status'], { count: 4, reused: 0 });
    assert.equal(stats.connections, 5);
    assert.equal(typeof stats.openConnections, 'number');
    await control('DELETE', '/stats');
    assert.equal((await control('GET', '/stats')).json.total, 0);
  });

  it('POST /proximity, /tokens, /tokens/revoke, /reboot act on the panel', async () => {
    assert.equal(
      (await control('POST', '/proximity', { open: true, windowMs: 60_000 })).json.proximityProven,
      true,
    );
    const registered = expectResponse(
      await rawRequest(panel.ports.http, '/api/v1/auth/register', {
        method: 'POST',
        body: { name: 'via-control', description: 'x' },
        agent: false,
      }),
    );
    assert.equal(registered.status, 200);
    await control('POST', '/proximity', { open: false });
    assert.equal(panel.state.identity.proximityProven, false);

    const issued = await control('POST', '/tokens', { name: 'ctl' });
    assert.equal(issued.status, 201);
    const token = issued.json.accessToken as string;
    assert.equal(
      expectResponse(await api('/api/v1/panel', { authorization: `Bearer ${token}` })).status,
      200,
    );
    const revoked = await control('POST', '/tokens/revoke', { token });
    assert.equal(revoked.json.revoked, 1);
    assert.equal(
      expectResponse(await api('/api/v1/panel', { authorization: `Bearer ${token}` })).status,
      401,
    );
    assert.equal(expectResponse(await api('/api/v1/panel')).status, 200, 'other tokens unaffected');
    await control('POST', '/tokens/revoke', {});
    assert.equal(expectResponse(await api('/api/v1/panel')).status, 401, 'no token given = revoke all');

    const meter = panel.state.mains.mainMeterEnergy.producedEnergyWh;
    const rebooted = await control('POST', '/reboot', {
      counterDipWh: 100,
      unavailableMs: 300,
      unavailableStatus: 503,
    });
    assert.equal(rebooted.json.uptimeS, 0);
    assert.ok(panel.state.mains.mainMeterEnergy.producedEnergyWh < meter);
    assert.equal(expectResponse(await api('/api/v1/status')).status, 503);
    await sleep(350);
    assert.equal(expectResponse(await api('/api/v1/status')).status, 200);
  });
});

describe('simulator plugin hook (how the v2 face plugs in)', () => {
  it('starts plugins with the shared context, serves their routes, dispatches their fault kinds, closes them', async () => {
    const calls: string[] = [];
    let ctxSeen: SimPluginContext | null = null;
    const plugin: SimPlugin = {
      name: 'fake-v2',
      async start(ctx) {
        ctxSeen = ctx;
        calls.push(`start:${ctx.http.port}`);
        return { mqtt: 18830 };
      },
      async close() {
        calls.push('close');
      },
      httpHandler(req: IncomingMessage, res: ServerResponse) {
        if (req.url !== '/api/v2/status') return false;
        sendJson(res, 200, { serialNumber: ctxSeen!.state.identity.serial, firmwareVersion: 'x' });
        return true;
      },
      faultHandlers: {
        'broker-down': (args) => {
          calls.push(`broker-down:${String(args.durationMs)}`);
        },
      },
      clearFaults: () => {
        calls.push('clear');
      },
    };
    const panel = await SimulatedPanel.start({ tickMs: 0, plugins: [plugin] });
    try {
      assert.deepEqual(calls, [`start:${panel.ports.http}`]);
      assert.equal(panel.ports.mqtt, 18830);
      assert.equal(ctxSeen!.state, panel.state);
      assert.equal(ctxSeen!.faults, panel.faults);

      const v2 = expectResponse(await rawRequest(panel.ports.http, '/api/v2/status', { agent: false }));
      assert.equal(v2.status, 200);
      assert.equal(JSON.parse(v2.body).serialNumber, panel.state.identity.serial);
      assert.equal(v2.headers['deprecation'], undefined, 'only /api/v1/* is deprecated');
      assert.equal(panel.stats.count('GET', '/api/v2/status'), 1);

      // Built-in request faults apply to plugin routes too (they answer through sendJson).
      panel.faults.malformed('invalid-json', { path: '/api/v2/status', count: 1 });
      const broken = expectResponse(await rawRequest(panel.ports.http, '/api/v2/status', { agent: false }));
      assert.throws(() => JSON.parse(broken.body));

      await panel.faults.inject({ kind: 'broker-down', durationMs: 500 });
      const viaControl = expectResponse(
        await rawRequest(panel.ports.control!, '/faults', {
          method: 'POST',
          body: { kind: 'broker-down', durationMs: 7 },
          agent: false,
        }),
      );
      assert.equal(viaControl.status, 201);
      assert.ok(panel.faults.kinds().includes('broker-down'));
      await panel.faults.clear();
      assert.deepEqual(calls.slice(1), ['broker-down:500', 'broker-down:7', 'clear']);
    } finally {
      await panel.close();
    }
    assert.equal(calls.at(-1), 'close');
  });

  it('closes what it started when a plugin fails to start', async () => {
    let closed = false;
    const failing: SimPlugin = {
      name: 'broken',
      async start() {
        throw new Error('boom');
      },
      async close() {
        closed = true;
      },
    };
    await assert.rejects(SimulatedPanel.start({ tickMs: 0, plugins: [failing] }), /boom/);
    assert.equal(closed, true);
  });
});
