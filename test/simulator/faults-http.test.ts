import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { SimulatedPanel } from '../../simulator/panel';
import { nginxErrorPage } from '../../simulator/faults/apply';
import { expectResponse, isError, rawRequest, sleep } from '../helpers/http-client';

const TOKEN = 'faults-token';
const auth = { authorization: `Bearer ${TOKEN}` };

/** What a raw TCP client saw for one request: the bytes, and how the connection ended. */
interface Wire {
  head: string;
  body: Buffer;
  declaredLength: number | null;
  ended: 'fin' | 'rst' | 'open';
}

/** Sends one GET over a raw socket and records everything until the server ends the connection (or waitMs). */
function rawExchange(port: number, path: string, waitMs = 1500): Promise<Wire> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let ended: Wire['ended'] = 'open';
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const head = split === -1 ? all.toString() : all.subarray(0, split).toString();
      const body = split === -1 ? Buffer.alloc(0) : all.subarray(split + 4);
      const cl = /content-length:\s*(\d+)/i.exec(head);
      resolve({ head, body, declaredLength: cl ? Number(cl[1]) : null, ended });
    };
    const timer = setTimeout(finish, waitMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => {
      ended = 'fin';
      finish();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      ended = err.code === 'ECONNRESET' ? 'rst' : 'open';
      finish();
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
  });
}

describe('simulator fault injection (programmatic)', () => {
  let panel: SimulatedPanel;
  let agent: http.Agent;
  const get = (path: string, opts: { timeoutMs?: number; headers?: Record<string, string> } = {}) =>
    rawRequest(panel.ports.http, path, { agent, headers: opts.headers ?? auth, timeoutMs: opts.timeoutMs });

  beforeEach(async () => {
    panel = await SimulatedPanel.start({ tickMs: 0, token: TOKEN, controlPort: null });
    agent = new http.Agent({ keepAlive: true });
  });
  afterEach(async () => {
    agent.destroy();
    await panel.close();
  });

  describe('status', () => {
    it('one-off 502 on one path: nginx HTML page once, then healthy; other paths untouched', async () => {
      panel.faults.status(502, { path: '/api/v1/status', count: 1 });
      const other = expectResponse(await get('/api/v1/panel'));
      assert.equal(other.status, 200);
      const bad = expectResponse(await get('/api/v1/status'));
      assert.equal(bad.status, 502);
      assert.match(bad.headers['content-type'] ?? '', /^text\/html/);
      assert.equal(bad.body, nginxErrorPage(502));
      assert.match(bad.body, /<center>nginx<\/center>/);
      assert.equal(expectResponse(await get('/api/v1/status')).status, 200);
      assert.equal(panel.stats.count('GET', '/api/v1/status'), 2);
      assert.equal(panel.stats.snapshot().faulted, 1);
      assert.deepEqual(panel.faults.list(), []);
    });

    it('sustained 503 for a duration on a path prefix, with Retry-After, then healthy', async () => {
      panel.faults.status(503, { path: '/api/v1/*', durationMs: 400, retryAfterS: 7 });
      const t0 = Date.now();
      let n503 = 0;
      for (const path of ['/api/v1/status', '/api/v1/panel', '/api/v1/circuits']) {
        const r = expectResponse(await get(path));
        assert.equal(r.status, 503);
        assert.equal(r.headers['retry-after'], '7');
        n503++;
      }
      assert.ok(Date.now() - t0 < 400);
      await sleep(450);
      assert.equal(expectResponse(await get('/api/v1/status')).status, 200);
      assert.equal(n503, 3);
    });

    it('500 with a JSON detail, limited to a method and a count', async () => {
      panel.faults.status(500, { method: 'GET', path: '/api/v1/circuits', count: 2 });
      const c = panel.state.circuits[0]!;
      const postOk = expectResponse(
        await rawRequest(panel.ports.http, `/api/v1/circuits/${c.id}`, {
          method: 'POST',
          agent,
          headers: auth,
          body: { relayStateIn: { relayState: 'CLOSED' } },
        }),
      );
      assert.equal(postOk.status, 200, 'POST is not matched by a GET fault');
      for (let i = 0; i < 2; i++) {
        const r = expectResponse(await get('/api/v1/circuits'));
        assert.equal(r.status, 500);
        assert.deepEqual(JSON.parse(r.body), { detail: 'Internal Server Error' });
      }
      assert.equal(expectResponse(await get('/api/v1/circuits')).status, 200);
    });
  });

  describe('hang and delay', () => {
    it('hang: accepts and never answers, while other paths keep working', async () => {
      panel.faults.hang({ path: '/api/v1/panel' });
      const hung = get('/api/v1/panel', { timeoutMs: 400 });
      const other = await rawRequest(panel.ports.http, '/api/v1/status', { agent: false });
      assert.equal(expectResponse(other).status, 200);
      const r = await hung;
      assert.ok(isError(r));
      assert.equal(r.error.code, 'ETIMEDOUT_TEST');
      assert.equal(r.status, undefined, 'not even a status line');
      assert.equal(panel.stats.count('GET', '/api/v1/panel'), 1);
    });

    it('hang is released on close(): the hung socket is destroyed and close() resolves', async () => {
      panel.faults.hang();
      const hung = rawRequest(panel.ports.http, '/api/v1/status', { agent: false });
      await sleep(100);
      assert.equal(panel.openConnections, 1);
      const t0 = Date.now();
      await panel.close();
      const r = await hung;
      assert.ok(isError(r));
      assert.equal(r.error.code, 'ECONNRESET');
      assert.ok(Date.now() - t0 < 1000);
    });

    it('delay: answers normally after N ms', async () => {
      panel.faults.delay(300, { path: '/api/v1/status', count: 1 });
      const t0 = Date.now();
      const r = expectResponse(await get('/api/v1/status'));
      const took = Date.now() - t0;
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).system.serial, panel.state.identity.serial);
      assert.ok(took >= 280, `took ${took} ms`);
      const t1 = Date.now();
      expectResponse(await get('/api/v1/status'));
      assert.ok(Date.now() - t1 < 250);
    });
  });

  describe('connection refused', () => {
    it('really closes the listener (ECONNREFUSED), then reopens on the same port', async () => {
      const port = panel.ports.http;
      expectResponse(await get('/api/v1/status'));
      await panel.faults.refuse();
      assert.equal(panel.faults.refused, true);
      assert.equal(panel.openConnections, 0, 'open connections dropped too');
      const r = await rawRequest(port, '/api/v1/status', { agent: false });
      assert.ok(isError(r));
      assert.equal(r.error.code, 'ECONNREFUSED');
      await panel.faults.reopen();
      assert.equal(panel.ports.http, port);
      assert.equal(expectResponse(await rawRequest(port, '/api/v1/status', { agent: false })).status, 200);
    });

    it('reopens by itself after durationMs', async () => {
      const port = panel.ports.http;
      await panel.faults.inject({ kind: 'refused', durationMs: 300 });
      const during = await rawRequest(port, '/api/v1/status', { agent: false });
      assert.ok(isError(during) && during.error.code === 'ECONNREFUSED');
      await sleep(500);
      assert.equal(panel.faults.refused, false);
      assert.equal(expectResponse(await rawRequest(port, '/api/v1/status', { agent: false })).status, 200);
    });
  });

  describe('malformed bodies', () => {
    it("'invalid-json': 200 with a body that is not JSON (exact Content-Length)", async () => {
      panel.faults.malformed('invalid-json', { path: '/api/v1/panel', count: 1 });
      const r = expectResponse(await get('/api/v1/panel'));
      assert.equal(r.status, 200);
      assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
      assert.throws(() => JSON.parse(r.body), SyntaxError);
      assert.ok(r.body.startsWith('{"mainRelayState"'));
      const next = expectResponse(await get('/api/v1/panel')).body;
      assert.doesNotThrow(() => JSON.parse(next));
    });

    it("'json-string': valid JSON, but a string instead of an object", async () => {
      panel.faults.malformed('json-string', { path: '/api/v1/status' });
      const r = expectResponse(await get('/api/v1/status'));
      assert.equal(r.status, 200);
      assert.equal(typeof JSON.parse(r.body), 'string');
    });

    it("'missing-fields': an object without required fields (default and explicit paths)", async () => {
      panel.faults.malformed('missing-fields', { path: '/api/v1/status', count: 1 });
      const status = JSON.parse(expectResponse(await get('/api/v1/status')).body);
      assert.deepEqual(Object.keys(status), ['software']);
      panel.faults.malformed('missing-fields', {
        path: '/api/v1/circuits',
        omit: ['circuits.*.instantPowerW'],
      });
      const circuits = JSON.parse(expectResponse(await get('/api/v1/circuits')).body).circuits;
      assert.equal(Object.keys(circuits).length, 22);
      for (const c of Object.values(circuits) as Record<string, unknown>[]) {
        assert.equal('instantPowerW' in c, false);
        assert.equal(typeof c.consumedEnergyWh, 'number');
      }
      panel.faults.malformed('missing-fields', { path: '/api/v1/storage/soe' });
      assert.deepEqual(JSON.parse(expectResponse(await get('/api/v1/storage/soe')).body), { soe: {} });
    });
  });

  describe('truncated bodies', () => {
    it('Content-Length larger than the bytes sent, then FIN', async () => {
      panel.faults.truncated('fin', { path: '/api/v1/panel', count: 1 });
      const wire = await rawExchange(panel.ports.http, '/api/v1/panel');
      assert.match(wire.head, /^HTTP\/1\.1 200/);
      assert.equal(wire.ended, 'fin');
      assert.ok(wire.declaredLength !== null && wire.declaredLength > 7000);
      assert.equal(wire.body.length, 20);
      const viaHttp = await get('/api/v1/panel');
      assert.equal(expectResponse(viaHttp).status, 200, 'count:1 — the next one is whole');
    });

    it('Content-Length larger than the bytes sent, then RST; a node client sees ECONNRESET', async () => {
      panel.faults.truncated('rst', { path: '/api/v1/panel', count: 1, sendBytes: 10 });
      const wire = await rawExchange(panel.ports.http, '/api/v1/panel');
      assert.equal(wire.ended, 'rst');
      assert.ok(wire.body.length <= 10);
      panel.faults.truncated('rst', { path: '/api/v1/panel', count: 1 });
      const r = await get('/api/v1/panel');
      assert.ok(isError(r));
      assert.equal(r.error.code, 'ECONNRESET');
    });

    it('a node client reading a FIN-truncated body gets an aborted response after the 200 head', async () => {
      panel.faults.truncated('fin', { path: '/api/v1/circuits', count: 1 });
      const r = await get('/api/v1/circuits');
      assert.ok(isError(r));
      assert.equal(r.status, 200);
      assert.equal(r.error.code, 'ECONNRESET');
    });
  });

  it("'reset': the connection is reset with no response at all", async () => {
    panel.faults.reset('rst', { count: 1 });
    const wire = await rawExchange(panel.ports.http, '/api/v1/status');
    assert.equal(wire.ended, 'rst');
    assert.equal(wire.head, '');
    panel.faults.reset('fin', { count: 1 });
    const finWire = await rawExchange(panel.ports.http, '/api/v1/status');
    assert.equal(finWire.ended, 'fin');
    assert.equal(finWire.head, '');
  });

  it('token revoked: the current token gets 401 from then on; a newly issued one works', async () => {
    assert.equal(expectResponse(await get('/api/v1/panel')).status, 200);
    await panel.faults.inject({ kind: 'token-revoked' });
    const r = expectResponse(await get('/api/v1/panel'));
    assert.equal(r.status, 401);
    assert.deepEqual(JSON.parse(r.body), { detail: 'Invalid authentication credentials' });
    const fresh = panel.tokens.issue();
    assert.equal(
      expectResponse(await get('/api/v1/panel', { headers: { authorization: `Bearer ${fresh}` } })).status,
      200,
    );
  });

  it('proximity: opens and closes the registration window', async () => {
    await panel.faults.inject({ kind: 'proximity', open: true });
    const body = { name: 'x', description: 'y' };
    const post = () =>
      rawRequest(panel.ports.http, '/api/v1/auth/register', { method: 'POST', body, agent: false });
    assert.equal(expectResponse(await post()).status, 200);
    await panel.faults.inject({ kind: 'proximity', open: false });
    assert.equal(panel.state.identity.proximityProven, false);
    assert.equal(expectResponse(await post()).status, 403);
  });

  it('reboot: counters dip, uptime restarts, refused then 502 then healthy', async () => {
    const port = panel.ports.http;
    const meter = panel.state.mains.mainMeterEnergy.consumedEnergyWh;
    await panel.faults.inject({ kind: 'reboot', counterDipWh: 500, refusedMs: 250, unavailableMs: 300 });
    assert.ok(Math.abs(panel.state.mains.mainMeterEnergy.consumedEnergyWh - (meter - 500)) < 1e-6);
    const refused = await rawRequest(port, '/api/v1/status', { agent: false });
    assert.ok(isError(refused) && refused.error.code === 'ECONNREFUSED');
    await sleep(400);
    assert.equal(expectResponse(await rawRequest(port, '/api/v1/status', { agent: false })).status, 502);
    await sleep(400);
    const back = expectResponse(await rawRequest(port, '/api/v1/status', { agent: false }));
    assert.equal(back.status, 200);
    assert.ok(JSON.parse(back.body).system.uptime < 5);
  });

  it('clear(id) removes one rule; clear() removes all and reopens a refused listener', async () => {
    const a = panel.faults.status(503, { path: '/api/v1/status' });
    panel.faults.status(500, { path: '/api/v1/panel' });
    assert.equal(panel.faults.list().length, 2);
    assert.equal(await panel.faults.clear(a), true);
    assert.equal(await panel.faults.clear('nope'), false);
    assert.equal(expectResponse(await get('/api/v1/status')).status, 200);
    assert.equal(expectResponse(await get('/api/v1/panel')).status, 500);
    await panel.faults.refuse();
    await panel.faults.clear();
    assert.equal(panel.faults.list().length, 0);
    // A fresh connection: the pooled one was dropped by the refusal (its FIN may not be processed yet).
    const after = await rawRequest(panel.ports.http, '/api/v1/panel', { agent: false, headers: auth });
    assert.equal(expectResponse(after).status, 200);
  });

  it('rejects invalid fault specifications and unknown kinds', async () => {
    assert.throws(() => panel.faults.status(42), /status must be/);
    assert.throws(() => panel.faults.status(503, { count: 0 }), /count/);
    await assert.rejects(panel.faults.inject({ kind: 'meteor-strike' }), /unknown fault kind/);
  });
});
