import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PanelError } from '../../src/transport/errors';
import { registerV2 } from '../../src/transport/v2/register';
import { loadFixture } from '../helpers/fixtures';

/** POST /api/v2/auth/register against a loopback server that answers as SPAN documents it (r202639). */

const PASSPHRASE = 'correct-horse-battery-staple-91';

interface Seen {
  body: Record<string, unknown>;
}

async function registerServer(
  answer: (body: Record<string, unknown>) => { status: number; body: unknown },
): Promise<{ host: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
      seen.push({ body });
      const a =
        req.url === '/api/v2/auth/register' && req.method === 'POST'
          ? answer(body)
          : { status: 404, body: { detail: 'Not Found' } };
      res.writeHead(a.status, { 'Content-Type': 'application/json', Connection: 'close' });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function deepText(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; cur && i < 5; i++) {
    if (cur instanceof Error) parts.push(cur.message, cur.stack ?? '', JSON.stringify(cur));
    else parts.push(String(cur));
    cur = (cur as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

describe('v2 registration (POST /api/v2/auth/register)', () => {
  const servers: Array<{ close: () => Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('returns the broker credentials and sends a unique name with the passphrase', async () => {
    const example = loadFixture<Record<string, unknown>>('v2_register_response_example.json');
    const s = await registerServer(() => ({ status: 200, body: { ...example, ebusBrokerMqttsPort: 18883 } }));
    servers.push(s);
    const creds = await registerV2(s.host, { name: 'node-red', passphrase: PASSPHRASE, timeoutMs: 2000 });
    assert.deepEqual(creds, {
      accessToken: 'REDACTED-TOKEN',
      brokerUsername: 'ab-1234-c5d67',
      brokerPassword: 'REDACTED-PASSPHRASE',
      serial: 'ab-1234-c5d67',
      mqttsPort: 18883,
    });
    await registerV2(s.host, { name: 'node-red', passphrase: PASSPHRASE, timeoutMs: 2000 });
    assert.equal(s.seen[0].body.hopPassphrase, PASSPHRASE);
    assert.match(String(s.seen[0].body.name), /^node-red-[0-9a-f]{8}$/);
    assert.notEqual(s.seen[0].body.name, s.seen[1].body.name, 'the panel requires unique client names');
  });

  it('omits hopPassphrase when none is given (door-proximity window)', async () => {
    const example = loadFixture<Record<string, unknown>>('v2_register_response_example.json');
    const s = await registerServer(() => ({ status: 200, body: example }));
    servers.push(s);
    await registerV2(s.host, { timeoutMs: 2000 });
    assert.equal('hopPassphrase' in s.seen[0].body, false);
  });

  it('422 → auth "passphrase not accepted", and the echoed passphrase appears nowhere in the error', async () => {
    // r202639 answers 422 and echoes the submitted credential back (LIB 3.1.0).
    const s = await registerServer((body) => ({
      status: 422,
      body: { detail: [{ loc: ['body', 'hopPassphrase'], msg: 'invalid', input: body.hopPassphrase }] },
    }));
    servers.push(s);
    const err = await registerV2(s.host, { passphrase: PASSPHRASE, timeoutMs: 2000 }).then(
      () => assert.fail('registration must fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof PanelError);
    assert.equal(err.errorClass, 'auth');
    assert.match(err.message, /passphrase not accepted/);
    assert.equal(err.status, 422);
    assert.ok(!deepText(err).includes(PASSPHRASE), 'no passphrase in message, stack, JSON or cause');
    assert.ok(!JSON.stringify(err.toJSON()).includes(PASSPHRASE));
  });

  it('503 → retryable "panel is not ready to register clients yet"', async () => {
    const s = await registerServer(() => ({ status: 503, body: { detail: 'not ready' } }));
    servers.push(s);
    await assert.rejects(registerV2(s.host, { passphrase: PASSPHRASE, timeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof PanelError);
      assert.equal(e.errorClass, 'gateway');
      assert.match(e.message, /not ready to register clients yet/);
      return true;
    });
  });

  for (const status of [401, 403]) {
    it(`${status} → auth`, async () => {
      const s = await registerServer(() => ({ status, body: { detail: 'no' } }));
      servers.push(s);
      await assert.rejects(registerV2(s.host, { timeoutMs: 2000 }), (e: unknown) => {
        assert.ok(e instanceof PanelError);
        assert.equal(e.errorClass, 'auth');
        return true;
      });
    });
  }

  it('a 200 without the broker password is a protocol error that names the field, not a value', async () => {
    const s = await registerServer(() => ({
      status: 200,
      body: { accessToken: 'tok-abc', serialNumber: 'x' },
    }));
    servers.push(s);
    await assert.rejects(registerV2(s.host, { timeoutMs: 2000 }), (e: unknown) => {
      assert.ok(e instanceof PanelError);
      assert.equal(e.errorClass, 'protocol');
      assert.match(e.message, /ebusBrokerPassword/);
      assert.ok(!e.message.includes('tok-abc'));
      return true;
    });
  });
});
