import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { SimulatedPanel } from '../../simulator/panel';
import { createV2Plugin, type V2Plugin, type V2PluginOptions } from '../../simulator/v2';
import { loadFixture } from '../helpers/fixtures';
import { expectResponse, rawRequest, type RawResponse } from '../helpers/http-client';

const PASSPHRASE = 'correct-horse-battery';
const json = <T = Record<string, unknown>>(r: RawResponse) => JSON.parse(r.body) as T;

describe('simulator v2 REST bootstrap', function () {
  this.timeout(20_000);
  let panel: SimulatedPanel | null = null;
  let v2: V2Plugin;

  async function start(opts: Partial<V2PluginOptions> = {}) {
    v2 = createV2Plugin({ dataModel: 'flat', passphrase: PASSPHRASE, ...opts });
    panel = await SimulatedPanel.start({ seed: 7, tickMs: 0, controlPort: null, plugins: [v2] });
    return panel;
  }
  const get = async (path: string) =>
    expectResponse(await rawRequest(panel!.ports.http, path, { agent: false }));
  const register = async (body: unknown) =>
    expectResponse(
      await rawRequest(panel!.ports.http, '/api/v2/auth/register', { method: 'POST', body, agent: false }),
    );

  afterEach(async () => {
    await panel?.close();
    panel = null;
  });

  describe('GET /api/v2/status', () => {
    it('answers without auth with the fixture fields plus proximityProven', async () => {
      await start();
      const r = await get('/api/v2/status');
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /application\/json/);
      const body = json(r);
      const fixture = loadFixture<Record<string, unknown>>('v2_status_r202603.json');
      for (const key of Object.keys(fixture)) assert.ok(key in body, `status has ${key}`);
      assert.deepEqual(body, {
        serialNumber: panel!.state.identity.serial,
        firmwareVersion: 'spanos2/r202603/05',
        proximityProven: false,
      });
      panel!.faults.proximity(true);
      assert.equal(json(await get('/api/v2/status')).proximityProven, true);
    });

    it('reports hardwareVersion from r202639 on, and the parent/child firmware on both faces', async () => {
      await start({ dataModel: 'parent-child', firmwareVersion: 'spanos2/r202639/02' });
      const body = json(await get('/api/v2/status'));
      assert.equal(body.firmwareVersion, 'spanos2/r202639/02');
      assert.equal(typeof body.hardwareVersion, 'string');
      const v1 = json<{ software: { firmwareVersion: string } }>(await get('/api/v1/status'));
      assert.equal(v1.software.firmwareVersion, 'spanos2/r202639/02', 'v1 and v2 describe one panel');
    });

    it('a parent/child plugin moves a flat-era panel to r202633 firmware', async () => {
      await start({ dataModel: 'parent-child' });
      assert.match(String(json(await get('/api/v2/status')).firmwareVersion), /^spanos2\/r202633\//);
      assert.equal('hardwareVersion' in json(await get('/api/v2/status')), false);
    });
  });

  describe('GET /api/v2/homie/schema', () => {
    it('flat firmware serves the captured r202603 schema, without dataModelVersion', async () => {
      await start();
      const body = json(await get('/api/v2/homie/schema'));
      const fixture = loadFixture<Record<string, unknown>>('v2_homie_schema_r202603.json');
      assert.deepEqual(Object.keys(body).sort(), Object.keys(fixture).sort());
      assert.deepEqual(body, fixture);
      assert.equal('dataModelVersion' in body, false);
    });

    it('parent/child firmware serves deviceClasses with dataModelVersion "1.0" and a hash', async () => {
      await start({ dataModel: 'parent-child' });
      const body = json<{
        firmwareVersion: string;
        homieDomain: string;
        homieVersion: number;
        dataModelVersion: string;
        deviceClasses: Record<
          string,
          Record<string, Record<string, { datatype: string; settable?: boolean }>>
        >;
        deviceClassesSchemaHash: string;
      }>(await get('/api/v2/homie/schema'));
      assert.deepEqual(Object.keys(body).sort(), [
        'dataModelVersion',
        'deviceClasses',
        'deviceClassesSchemaHash',
        'firmwareVersion',
        'homieDomain',
        'homieVersion',
      ]);
      assert.equal(body.dataModelVersion, '1.0');
      assert.equal(body.homieDomain, 'ebus');
      assert.equal(body.homieVersion, 5);
      assert.match(body.firmwareVersion, /r202633/);
      assert.match(body.deviceClassesSchemaHash, /^sha256:[0-9a-f]{16}$/);
      assert.deepEqual(Object.keys(body.deviceClasses).sort(), [
        'bess',
        'circuit',
        'distribution-enclosure',
        'evse',
        'lugs',
        'mid',
        'pv',
      ]);
      const circuit = body.deviceClasses.circuit!;
      assert.equal(circuit.switch!.relay!.settable, true);
      assert.equal(circuit['load-shed']!.priority!.settable, true);
      assert.equal(circuit.info!.spaces!.datatype, 'string');
      assert.equal(
        body.deviceClasses['distribution-enclosure']!.info!['data-model-version']!.datatype,
        'string',
      );
    });
  });

  describe('GET /api/v2/certificate/ca', () => {
    it('serves the CA PEM that signed the broker certificate', async () => {
      await start();
      const r = await get('/api/v2/certificate/ca');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/x-pem-file');
      assert.equal(r.headers['cache-control'], 'public, max-age=3600');
      const ca = new X509Certificate(r.body);
      assert.equal(ca.ca, true);
      assert.equal(r.body, v2.caPem);

      // The broker's certificate chains to it and names 127.0.0.1, localhost and span-<serial>.local.
      const socket = tls.connect({ host: '127.0.0.1', port: v2.mqttPort, ca: r.body });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('secureConnect', resolve);
          socket.once('error', reject);
        });
        const peer = socket.getPeerX509Certificate()!;
        assert.ok(peer.verify(ca.publicKey));
        const san = peer.subjectAltName ?? '';
        const serial = panel!.state.identity.serial;
        for (const name of ['IP Address:127.0.0.1', 'DNS:localhost', `DNS:span-${serial}.local`])
          assert.ok(san.includes(name), `SAN has ${name}: ${san}`);
      } finally {
        socket.destroy();
      }
    });

    it('rate-limits downloads per client when asked to (429)', async () => {
      await start({ caRateLimitPerMin: 2 });
      assert.equal((await get('/api/v2/certificate/ca')).status, 200);
      assert.equal((await get('/api/v2/certificate/ca')).status, 200);
      const limited = await get('/api/v2/certificate/ca');
      assert.equal(limited.status, 429);
      assert.equal(limited.headers['retry-after'], '60');
    });
  });

  describe('POST /api/v2/auth/register', () => {
    it('with the passphrase answers AuthOut with the fixture fields and the real MQTTS port', async () => {
      await start();
      const r = await register({ name: 'node-red-test', hopPassphrase: PASSPHRASE });
      assert.equal(r.status, 200);
      const body = json(r);
      const fixture = loadFixture<Record<string, unknown>>('v2_register_response_example.json');
      assert.deepEqual(Object.keys(body), Object.keys(fixture));
      for (const [key, value] of Object.entries(fixture))
        assert.equal(typeof body[key], typeof value, `${key} has the fixture's type`);
      const serial = panel!.state.identity.serial;
      assert.equal(String(body.tokenType).toLowerCase(), 'bearer');
      assert.equal(body.serialNumber, serial);
      assert.equal(body.ebusBrokerUsername, serial);
      assert.equal(body.hostname, `span-${serial}.local`);
      assert.equal(body.hopPassphrase, PASSPHRASE);
      assert.equal(
        body.ebusBrokerPassword,
        PASSPHRASE,
        'the broker password equals the passphrase, as on r202603',
      );
      assert.equal(body.ebusBrokerHost, '127.0.0.1');
      assert.equal(body.ebusBrokerMqttsPort, v2.mqttPort);
      assert.equal(body.ebusBrokerMqttsPort, panel!.ports.mqtt);
      // The access token is a real panel token: it opens the v1 API too.
      const v1 = expectResponse(
        await rawRequest(panel!.ports.http, '/api/v1/panel', {
          headers: { authorization: `Bearer ${String(body.accessToken)}` },
          agent: false,
        }),
      );
      assert.equal(v1.status, 200);
      assert.equal((await register({ name: 'node-red-test', hopPassphrase: PASSPHRASE })).status, 409);
    });

    it('without a passphrase only while the proximity window is open', async () => {
      await start();
      const closed = await register({ name: 'door-client' });
      assert.equal(closed.status, 422);
      assert.deepEqual(json(closed), { detail: 'request invalid or credential not accepted' });
      panel!.faults.proximity(true);
      const open = await register({ name: 'door-client' });
      assert.equal(open.status, 200);
      assert.equal(json(open).ebusBrokerUsername, panel!.state.identity.serial);
    });

    it('a wrong passphrase is refused with 422 and the body echoes it, as the real panel does', async () => {
      await start();
      const wrong = 'not-the-passphrase-42';
      const r = await register({ name: 'bad', hopPassphrase: wrong });
      assert.equal(r.status, 422);
      assert.ok(r.body.includes(wrong), 'the rejected passphrase is echoed');
      assert.equal(r.body.includes(PASSPHRASE), false, 'the real passphrase is not');
      const detail = json<{ detail: Array<{ loc: string[]; input: string }> }>(r).detail[0]!;
      assert.deepEqual(detail.loc, ['body', 'hopPassphrase']);
      assert.equal(detail.input, wrong);
    });

    it('rejects a body without a name or with invalid JSON (422) and other methods (405)', async () => {
      await start();
      assert.equal((await register({ hopPassphrase: PASSPHRASE })).status, 422);
      assert.equal((await register('{not json')).status, 422);
      const r = expectResponse(
        await rawRequest(panel!.ports.http, '/api/v2/auth/register', { agent: false }),
      );
      assert.equal(r.status, 405);
      assert.equal((await get('/api/v2/nope')).status, 404);
    });

    it('the register-not-ready fault answers 503 until cleared', async () => {
      await start();
      await panel!.faults.inject({ kind: 'register-not-ready' });
      const r = await register({ name: 'early', hopPassphrase: PASSPHRASE });
      assert.equal(r.status, 503);
      assert.deepEqual(json(r), { detail: 'panel is not ready to register clients yet' });
      assert.equal((await get('/api/v2/status')).status, 200, 'only register is affected');
      await panel!.faults.clear();
      assert.equal((await register({ name: 'early', hopPassphrase: PASSPHRASE })).status, 200);
    });

    it('register-not-ready with durationMs expires by itself', async () => {
      await start();
      await panel!.faults.inject({ kind: 'register-not-ready', durationMs: 150 });
      assert.equal((await register({ name: 'a', hopPassphrase: PASSPHRASE })).status, 503);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await register({ name: 'a', hopPassphrase: PASSPHRASE })).status, 200);
    });

    it('request faults of the panel apply to v2 routes too (answers go through sendJson)', async () => {
      await start();
      panel!.faults.status(502, { path: '/api/v2/status', count: 1 });
      assert.equal((await get('/api/v2/status')).status, 502);
      assert.equal((await get('/api/v2/status')).status, 200);
    });
  });

  it('the facade option v2Api starts the face; panel.v2 reaches it', async () => {
    panel = await SimulatedPanel.start({
      tickMs: 0,
      controlPort: null,
      v2Api: { dataModel: 'parent-child', passphrase: PASSPHRASE },
    });
    assert.ok(panel.v2);
    assert.equal(panel.v2.dataModel, 'parent-child');
    assert.equal(panel.ports.mqtt, panel.v2.mqttPort);
    assert.equal(json(await get('/api/v2/homie/schema')).dataModelVersion, '1.0');
    const plain = await SimulatedPanel.start({ tickMs: 0, controlPort: null });
    try {
      assert.equal(plain.v2, null);
      assert.equal(plain.ports.mqtt, null);
    } finally {
      await plain.close();
    }
  });

  it('a v2-only panel (v1Disabled) answers /api/v1/* with 404', async () => {
    await start({ v1Disabled: true });
    assert.equal((await get('/api/v1/status')).status, 404);
    assert.equal((await get('/api/v2/status')).status, 200);
    await panel!.faults.inject({ kind: 'v1-enabled' });
    assert.equal((await get('/api/v1/status')).status, 200);
  });
});
