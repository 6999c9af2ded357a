import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Harness, live, rejectsWith, TOKEN, watchUnhandledRejections } from './v1-helpers';

/** What the little local servers below saw: for behaviour the simulated panel has no switch for. */
interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function shut(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('v1 transport: wire details against a local HTTP server', function () {
  this.timeout(20000);
  const h = new Harness();
  const servers: Array<[net.Server, Set<net.Socket>]> = [];
  afterEach(async () => {
    await h.cleanup();
    await Promise.all(servers.splice(0).map(([s, socks]) => shut(s, socks)));
  });
  watchUnhandledRejections();

  async function httpServer(
    handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void,
  ) {
    const seen: Seen[] = [];
    const sockets = new Set<net.Socket>();
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          authorization: req.headers.authorization,
          body,
        });
        handler(req, res, body);
      });
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    servers.push([server, sockets]);
    return { port: await listen(server), seen };
  }

  const circuit = (relayState: string) => ({
    id: 'abc',
    name: 'Pump',
    relayState,
    instantPowerW: -10,
    instantPowerUpdateTimeS: 1,
    producedEnergyWh: 1,
    consumedEnergyWh: 2,
    energyAccumUpdateTimeS: 1,
    tabs: [1],
    priority: 'NICE_TO_HAVE',
    isUserControllable: true,
    isSheddable: true,
    isNeverBackup: false,
  });

  it('probe sends no token; commands send the Bearer token and exactly the documented bodies', async () => {
    let relay = 'CLOSED';
    const { port, seen } = await httpServer((req, res, body) => {
      if (req.method === 'POST') {
        const parsed = JSON.parse(body) as { relayStateIn?: { relayState: string } };
        if (parsed.relayStateIn) relay = parsed.relayStateIn.relayState;
      }
      const payload = req.url === '/api/v1/status' ? { system: { serial: 's1' } } : circuit(relay);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(payload));
    });
    const t = h.transport(port);
    await t.probe(live());
    const outcome = await t.setRelay('abc', 'OPEN', live());
    assert.equal(outcome.result, 'confirmed');
    await t.setPriority('abc', 'SOC_THRESHOLD', live());
    assert.deepEqual(
      seen.map((s) => [s.method, s.url, s.authorization, s.body]),
      [
        ['GET', '/api/v1/status', undefined, ''],
        ['GET', '/api/v1/circuits/abc', `Bearer ${TOKEN}`, ''],
        ['POST', '/api/v1/circuits/abc', `Bearer ${TOKEN}`, '{"relayStateIn":{"relayState":"OPEN"}}'],
        ['GET', '/api/v1/circuits/abc', `Bearer ${TOKEN}`, ''],
        ['GET', '/api/v1/circuits/abc', `Bearer ${TOKEN}`, ''],
        ['POST', '/api/v1/circuits/abc', `Bearer ${TOKEN}`, '{"priorityIn":{"priority":"NICE_TO_HAVE"}}'],
      ],
    );
  });

  it('register sends {name, description} without a token and returns only the access token', async () => {
    const { port, seen } = await httpServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ accessToken: 'eyJ.new.token', tokenType: 'bearer', iatMs: 1 }));
    });
    const result = await h.transport(port, { token: '' }).register('nr-1', live(), 'my flows');
    assert.deepEqual(result, { accessToken: 'eyJ.new.token' });
    assert.deepEqual(seen[0], {
      method: 'POST',
      url: '/api/v1/auth/register',
      authorization: undefined,
      body: '{"name":"nr-1","description":"my flows"}',
    });
  });

  it('a redirect is not followed (maxRedirects 0) and is a client error', async () => {
    const { port, seen } = await httpServer((_req, res) => {
      res.writeHead(301, { Location: '/elsewhere' });
      res.end();
    });
    await rejectsWith(h.transport(port).probe(live()), 'client');
    assert.equal(seen.length, 1);
  });

  it('JSON of the wrong shape (an array, a number) is protocol, never data', async () => {
    let body = '[1,2,3]';
    const { port } = await httpServer((_req, res) => res.end(body));
    const t = h.transport(port);
    await rejectsWith(t.probe(live()), 'protocol');
    body = '42';
    await rejectsWith(t.probe(live()), 'protocol');
    body = '<html>nginx</html>';
    await rejectsWith(t.probe(live()), 'protocol');
  });

  it('a body that trickles in forever is cut by the call deadline → timeout', async () => {
    const timers = new Set<NodeJS.Timeout>();
    const { port } = await httpServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"system":{');
      const tick = setInterval(() => res.write(' '), 50);
      timers.add(tick);
      res.on('close', () => clearInterval(tick));
    });
    const t = h.transport(port, { requestTimeoutMs: 300, callDeadlineMs: 700 });
    const started = Date.now();
    await rejectsWith(t.probe(live()), 'timeout');
    const took = Date.now() - started;
    assert.ok(took < 1500, `took ${took} ms`);
    for (const tick of timers) clearInterval(tick);
  });

  it('an oversized body is a protocol error', async () => {
    const { port } = await httpServer((_req, res) => res.end(`{"pad":"${'x'.repeat(5 * 1024 * 1024)}"}`));
    await rejectsWith(h.transport(port).probe(live()), 'protocol');
  });

  it('non-HTTP bytes (HPE_*) → protocol, no crash', async () => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
      s.once('data', () => s.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
    });
    servers.push([server, sockets]);
    const port = await listen(server);
    const err = await rejectsWith(h.transport(port).probe(live()), 'protocol');
    assert.match(err.code ?? '', /^HPE_/);
  });
});
