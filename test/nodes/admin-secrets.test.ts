/**
 * The editor's admin endpoints keep secrets with their panel (issue 12): a deployed span-panel with a
 * token, a passphrase and a v2 registration, and a second HTTP server on 127.0.0.1 that records every
 * request it gets ("another host on the LAN"). Real Node-RED runtime, real HTTP.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  containsSecret,
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
import { RecordingServer } from './recording-server';

/* eslint-disable @typescript-eslint/no-explicit-any */

const REGISTER = '/api/v2/auth/register';
const storedCreds = (id: string): Record<string, string> =>
  (helper as any)._redNodes.getCredentials(id) ?? {};

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('admin endpoints keep secrets with their panel (real runtime, recording second host)', function () {
  this.timeout(60000);
  useNodeRed();
  const panels = new Panels();
  const servers: RecordingServer[] = [];
  const startServer = async (opts = {}) => {
    const s = await RecordingServer.start(opts);
    servers.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await panels.closeAll();
    for (const k of ['SPAN_TEST_EVIL', 'SPAN_TEST_CLOSED_PORT', 'SPAN_TEST_CLOSED_HOST'])
      delete process.env[k];
  });

  /** A deployed v2 panel (auto) with token + passphrase, registered, online: every kind of stored secret. */
  async function deployedPanel() {
    const { sim, mqttPort } = await panels.startV2('flat');
    await helper.load(
      spanNodes,
      flow(panelConfig('cfg', hostOf(sim), { api: 'auto', interval: '0.5', mqttPort: String(mqttPort) }), {
        id: 'poll',
        type: 'span-poll',
        panel: 'cfg',
        wires: [[]],
      }),
      { cfg: { token: TOKEN, passphrase: PASSPHRASE } },
    );
    await waitFor('online', () => helper.getNode('cfg').health?.state === 'online', 20000);
    const creds = storedCreds('cfg');
    assert.ok(creds.brokerPassword && creds.accessToken, 'registered');
    const secrets = [TOKEN, PASSPHRASE, creds.brokerPassword, creds.accessToken];
    return { sim, mqttPort, secrets };
  }

  it('a second host named by any test/register call receives no secret', async () => {
    const { secrets, mqttPort } = await deployedPanel();
    const evil = await startServer();
    const answers: Array<{ path: string; api: string; form: string; status: number }> = [];
    for (const path of ['/span-panel/test', '/span-panel/register']) {
      for (const api of ['v1', 'v2', 'auto']) {
        for (const form of ['__PWRD__', 'absent', '']) {
          const body: Record<string, unknown> = { id: 'cfg', host: evil.host, api, mqttPort };
          if (form !== 'absent') Object.assign(body, { token: form, passphrase: form });
          const res = await helper.request().post(path).send(body);
          answers.push({ path, api, form, status: res.status });
          assert.equal(containsSecret(res.text, secrets), null, `${path} ${api} ${form}: answer`);
        }
      }
    }
    assert.equal(containsSecret(evil.everything, secrets), null, 'the other host got a secret');
    assert.ok(evil.requests.length > 0, 'calls without secrets did reach the other host');
    // Asking for the stored secrets for another host is refused before anything is sent.
    for (const a of answers.filter((x) => x.form === '__PWRD__'))
      assert.equal(a.status, 403, JSON.stringify(a));

    // A request's own ${VAR} is never expanded from process.env (it would name the other host here).
    process.env.SPAN_TEST_EVIL = evil.host;
    const before = evil.requests.length;
    for (const path of ['/span-panel/test', '/span-panel/register']) {
      const res = await helper
        .request()
        .post(path)
        .send({ id: 'cfg', host: '${SPAN_TEST_EVIL}', api: 'v1', token: '__PWRD__' });
      assert.equal(res.status, 400, res.text);
      assert.equal(res.text.includes(String(evil.port)), false, 'the answer does not show the value');
    }
    assert.equal(evil.requests.length, before, 'no request for an env reference in a request');
  });

  it('a form-urlencoded (or text/plain) post reaches no host at all', async () => {
    const { sim } = await deployedPanel();
    const evil = await startServer();
    const registrations = sim.stats.count('POST', REGISTER);
    const forms = [
      ['/span-panel/test', { id: 'cfg', host: evil.host, api: 'v1' }],
      ['/span-panel/test', { id: 'cfg', host: hostOf(sim), api: 'v1' }],
      ['/span-panel/register', { id: 'cfg', host: evil.host, api: 'v2' }],
      ['/span-panel/register', { id: 'cfg', host: hostOf(sim), api: 'v2' }],
      ['/span-panel/trust-ca', { id: 'cfg' }],
    ] as const;
    for (const [path, body] of forms) {
      const form = await helper.request().post(path).type('form').send(body);
      assert.equal(form.status, 415, `${path} form: ${form.text}`);
      const text = await helper
        .request()
        .post(path)
        .set('Content-Type', 'text/plain')
        .send(JSON.stringify(body));
      assert.equal(text.status, 415, `${path} text/plain: ${text.text}`);
    }
    assert.equal(evil.requests.length, 0, 'the other host got nothing');
    assert.equal(sim.stats.count('POST', REGISTER), registrations, 'no registration with the panel either');
  });

  it('testing the deployed host with the stored secrets still works (v1 token, v2 registration)', async () => {
    const { sim, mqttPort } = await deployedPanel();
    const registrations = sim.stats.count('POST', REGISTER);
    // api differs from the deployed node's (auto): a real probe, with the secrets the node lends.
    const v1 = await helper
      .request()
      .post('/span-panel/test')
      .send({ id: 'cfg', host: hostOf(sim), api: 'v1', token: '__PWRD__', passphrase: '__PWRD__' });
    assert.equal(v1.status, 200, v1.text);
    assert.equal(v1.body.source, 'probe');
    assert.equal(v1.body.serial, sim.state.identity.serial);
    const v2 = await helper
      .request()
      .post('/span-panel/test')
      .send({
        id: 'cfg',
        host: hostOf(sim),
        api: 'v2',
        mqttPort: String(mqttPort),
        token: '__PWRD__',
        passphrase: '__PWRD__',
      });
    assert.equal(v2.status, 200, v2.text);
    assert.equal(v2.body.api, 'v2');
    assert.equal(sim.stats.count('POST', REGISTER), registrations, 'the stored registration was used');
  });

  it('expands ${VAR} only from the saved node and never shows the value in an answer', async () => {
    const port = await closedPort();
    process.env.SPAN_TEST_CLOSED_PORT = String(port);
    await helper.load(
      spanNodes,
      flow(panelConfig('cfg', '127.0.0.1:${SPAN_TEST_CLOSED_PORT}', { api: 'v1', interval: '5' }), {
        id: 'poll',
        type: 'span-poll',
        panel: 'cfg',
        wires: [[]],
      }),
      { cfg: { token: TOKEN } },
    );
    assert.equal(helper.getNode('cfg').resolvedHost, `127.0.0.1:${port}`);
    // The dialog sends the field as saved: the node's own expansion is used, and hidden in the answer.
    const res = await helper
      .request()
      .post('/span-panel/test')
      .send({ id: 'cfg', host: '127.0.0.1:${SPAN_TEST_CLOSED_PORT}', api: 'v1', token: '__PWRD__' });
    assert.equal(res.status, 502, res.text);
    assert.equal(res.body.errorClass, 'refused');
    assert.equal(res.text.includes(String(port)), false, `no port in: ${res.text}`);
    assert.equal(containsSecret(res.text, [TOKEN]), null);

    // A whole-value reference (Node-RED itself substitutes those before the node sees them).
    process.env.SPAN_TEST_CLOSED_HOST = `127.0.0.1:${port}`;
    await helper.setFlows(
      flow(panelConfig('cfg', '${SPAN_TEST_CLOSED_HOST}', { api: 'v1', interval: '5' }), {
        id: 'poll',
        type: 'span-poll',
        panel: 'cfg',
        wires: [[]],
      }),
      'full',
      { cfg: { token: TOKEN } },
    );
    const whole = await helper
      .request()
      .post('/span-panel/test')
      .send({ id: 'cfg', host: '${SPAN_TEST_CLOSED_HOST}', api: 'v1', token: '__PWRD__' });
    assert.equal(whole.status, 502, whole.text);
    assert.equal(whole.body.errorClass, 'refused', 'the stored token was lent for the node own host');
    assert.equal(whole.text.includes(String(port)), false, `no port in: ${whole.text}`);
  });

  it('a failed call says why without quoting what the other end sent', async () => {
    const banner = 'BANNER-7f3a-from-the-port';
    const odd = await startServer({ banner });
    await helper.load(spanNodes, flow(), {});
    const res = await helper
      .request()
      .post('/span-panel/test')
      .send({ host: odd.host, api: 'v1', token: 'typed-token-for-this-host' });
    assert.equal(res.status, 502, res.text);
    assert.equal(res.body.errorClass, 'protocol');
    assert.match(res.body.error, /not what a SPAN panel sends/);
    assert.equal(res.text.includes('BANNER'), false, res.text);
  });

  it('answers 429 beyond two concurrent calls for one panel', async () => {
    const slow = await startServer({ holdMs: 1500 });
    await helper.load(spanNodes, flow(), {});
    const call = () =>
      helper.request().post('/span-panel/test').send({ host: slow.host, api: 'v1', token: 'typed-token' });
    const results = await Promise.all([call(), call(), call()]);
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [429, 502, 502], JSON.stringify(results.map((r) => r.body)));
    assert.match(results.find((r) => r.status === 429)!.body.error, /still running/);
    // Slots are released: the next call runs.
    assert.equal((await call()).status, 502);
  });
});
