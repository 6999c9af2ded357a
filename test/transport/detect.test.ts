import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { detectApi } from '../../src/transport/detect';
import { PanelError } from '../../src/transport/errors';
import { loadFixture } from '../helpers/fixtures';

/**
 * Detection against small loopback servers standing in for the three kinds of panel. (The simulated-panel
 * versions of these cases live in v2-sim-*.test.ts.)
 */

type Routes = Record<string, { status: number; body: unknown }>;

async function serve(routes: Routes): Promise<{ host: string; close: () => Promise<void>; hits: string[] }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    const r = routes[req.url ?? ''] ?? { status: 404, body: { detail: 'Not Found' } };
    const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    res.writeHead(r.status, { 'Content-Type': 'application/json', Connection: 'close' });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on loopback with nothing listening: bind, note the port, close. */
async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const V2_STATUS = loadFixture('v2_status_r202603.json');
const FLAT_SCHEMA = loadFixture<Record<string, unknown>>('v2_homie_schema_r202603.json');
const PC_SCHEMA = {
  firmwareVersion: 'spanos2/r202633/01',
  homieDomain: 'ebus',
  homieVersion: 5,
  dataModelVersion: '1.0',
  deviceClasses: {},
  deviceClassesSchemaHash: 'sha256:0000000000000000',
};

describe('detectApi', () => {
  const servers: Array<{ close: () => Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  async function panel(routes: Routes) {
    const s = await serve(routes);
    servers.push(s);
    return s;
  }

  it('a v1-only panel (404 on /api/v2/status, a v1 status body on /api/v1/status) is v1', async () => {
    const s = await panel({ '/api/v1/status': { status: 200, body: loadFixture('v1_status.json') } });
    assert.deepEqual(await detectApi(s.host, { timeoutMs: 2000 }), { api: 'v1' });
    assert.deepEqual(s.hits, ['GET /api/v2/status', 'GET /api/v1/status']);
  });

  it('a 404 from both APIs (v2 service still starting, v1 off) is a failed detection, not "v1"', async () => {
    const s = await panel({});
    await assert.rejects(detectApi(s.host, { timeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof PanelError);
      assert.equal(e.errorClass, 'client');
      assert.equal(e.status, 404);
      assert.match(e.message, /detected again/);
      return true;
    });
  });

  it('a 503 on /api/v2/status and something that is not a v1 status on /api/v1/status is not "v1"', async () => {
    const s = await panel({
      '/api/v2/status': { status: 503, body: { detail: 'starting' } },
      '/api/v1/status': { status: 200, body: '<html>maintenance</html>' },
    });
    await assert.rejects(detectApi(s.host, { timeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof PanelError);
      assert.equal(e.errorClass, 'gateway');
      return true;
    });
  });

  it('an unparseable 200 on /api/v2/status is a failed detection (protocol), not "v1"', async () => {
    const s = await panel({
      '/api/v2/status': { status: 200, body: '<html>captive portal</html>' },
      '/api/v1/status': { status: 200, body: loadFixture('v1_status.json') },
    });
    await assert.rejects(detectApi(s.host, { timeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof PanelError);
      assert.equal(e.errorClass, 'protocol');
      return true;
    });
  });

  it('a flat-model v2 panel: schema without dataModelVersion', async () => {
    const s = await panel({
      '/api/v2/status': { status: 200, body: V2_STATUS },
      '/api/v2/homie/schema': { status: 200, body: FLAT_SCHEMA },
    });
    const r = await detectApi(s.host, { timeoutMs: 2000 });
    assert.equal(r.api, 'v2');
    assert.ok(r.api === 'v2');
    assert.equal(r.dataModel, 'v2-flat');
    assert.equal(r.status.serialNumber, 'nj-2316-XXXX');
    assert.equal(r.status.firmwareVersion, 'spanos2/r202603/05');
    assert.equal(r.schema.typesSchemaHash, FLAT_SCHEMA.typesSchemaHash);
  });

  it('a parent/child v2 panel: dataModelVersion "1.0"', async () => {
    const s = await panel({
      '/api/v2/status': { status: 200, body: { ...(V2_STATUS as object), proximityProven: false } },
      '/api/v2/homie/schema': { status: 200, body: PC_SCHEMA },
    });
    const r = await detectApi(s.host, { timeoutMs: 2000 });
    assert.ok(r.api === 'v2');
    assert.equal(r.dataModel, 'v2-parent-child');
    assert.equal(r.status.proximityProven, false);
  });

  it('a 502 on /api/v2/status with a working v1 API is v1', async () => {
    const s = await panel({
      '/api/v2/status': { status: 502, body: '<html>502 Bad Gateway</html>' },
      '/api/v1/status': { status: 200, body: loadFixture('v1_status.json') },
    });
    assert.deepEqual(await detectApi(s.host, { timeoutMs: 2000 }), { api: 'v1' });
  });

  it('a 502 from both APIs (a v2 panel rebooting) is a classified error, not "v1"', async () => {
    const s = await panel({
      '/api/v2/status': { status: 502, body: '<html>502 Bad Gateway</html>' },
      '/api/v1/status': { status: 502, body: '<html>502 Bad Gateway</html>' },
    });
    await assert.rejects(detectApi(s.host, { timeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof PanelError);
      assert.equal(e.errorClass, 'gateway');
      return true;
    });
  });

  it('a refused connection throws a classified PanelError (it is NOT v1)', async () => {
    const port = await deadPort();
    await assert.rejects(detectApi(`127.0.0.1:${port}`, { timeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof PanelError, String(e));
      assert.equal(e.errorClass, 'refused');
      return true;
    });
  });

  it('a schema that cannot be read throws instead of guessing the data model', async () => {
    const s = await panel({
      '/api/v2/status': { status: 200, body: V2_STATUS },
      '/api/v2/homie/schema': { status: 503, body: { detail: 'busy' } },
    });
    await assert.rejects(detectApi(s.host, { timeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof PanelError);
      assert.equal(e.errorClass, 'gateway');
      return true;
    });
  });

  it('honours the abort signal', async () => {
    const port = await deadPort();
    const ac = new AbortController();
    ac.abort(new PanelError('timeout', 'deadline'));
    await assert.rejects(detectApi(`127.0.0.1:${port}`, { signal: ac.signal }), (e: unknown) => {
      assert.ok(e instanceof PanelError);
      assert.ok(['timeout', 'canceled'].includes(e.errorClass), e.errorClass);
      return true;
    });
  });
});
