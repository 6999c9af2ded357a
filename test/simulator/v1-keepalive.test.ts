import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net, { type Socket } from 'node:net';
import { SimulatedPanel, type SimulatedPanelOptions } from '../../simulator/panel';
import { expectResponse, isError, rawRequest, sleep } from '../helpers/http-client';

/** Idle timeout K used here: short, but far from the 50 ms margins a loaded 2-core machine can blur. */
const K = 250;

/**
 * Watches one client socket for the server's FIN, an RST, and closure. Node 22's agent consumes the events
 * of a pooled socket itself (no 'end' or 'error' reaches other listeners, 'close' says hadError false even
 * for an RST), so a clean close counts as the FIN there, and the RST checks use a raw TCP socket.
 */
function watch(socket: Socket) {
  const seen = { fin: false, errorCode: '' as string, closed: false, finAt: 0 };
  const fin = () => {
    if (seen.fin) return;
    seen.fin = true;
    seen.finAt = Date.now();
  };
  socket.on('end', fin);
  socket.on('error', (err: NodeJS.ErrnoException) => (seen.errorCode = err.code ?? 'error'));
  socket.on('close', (hadError: boolean) => {
    seen.closed = true;
    if (!hadError && !seen.errorCode) fin();
  });
  return seen;
}

/** A raw keep-alive connection that has carried one complete request, for exact FIN/RST observation. */
async function rawIdleConnection(port: number): Promise<{ socket: Socket; seen: ReturnType<typeof watch> }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const seen = watch(socket);
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.write('GET /api/v1/status HTTP/1.1\r\nHost: panel\r\nConnection: keep-alive\r\n\r\n');
  const complete = () => {
    const head = received.indexOf('\r\n\r\n');
    const len = /content-length:\s*(\d+)/i.exec(received);
    return head >= 0 && len !== null && received.length >= head + 4 + Number(len[1]);
  };
  for (let i = 0; i < 200 && !complete(); i++) await sleep(5);
  assert.ok(complete(), 'a complete response on the raw connection');
  return { socket, seen };
}

function onlyFreeSocket(agent: http.Agent): Socket {
  const lists = Object.values(agent.freeSockets);
  assert.equal(lists.length, 1, 'one pooled socket');
  const socket = lists[0]![0];
  assert.ok(socket);
  return socket as Socket;
}

describe('simulator keep-alive behaviour (docs/resilience.md §1)', () => {
  let panel: SimulatedPanel;
  let agent: http.Agent;

  async function start(opts: SimulatedPanelOptions) {
    panel = await SimulatedPanel.start({
      tickMs: 0,
      controlPort: null,
      keepAliveMs: K,
      keepAliveHint: false,
      ...opts,
    });
    // A plain keep-alive agent with no free-socket timeout: it keeps sockets until the server closes them.
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }
  const status = () => rawRequest(panel.ports.http, '/api/v1/status', { agent });

  afterEach(async () => {
    agent?.destroy();
    await panel?.close();
  });

  it('announces Keep-Alive: timeout=<K s> by default (5 s like the real panel) and can omit it', async () => {
    panel = await SimulatedPanel.start({ tickMs: 0, controlPort: null });
    agent = new http.Agent({ keepAlive: true });
    assert.equal(expectResponse(await status()).headers['keep-alive'], 'timeout=5');
    assert.equal(panel.keepAlive.idleMs, 5000);
    panel.setKeepAlive({ hint: false });
    assert.equal(expectResponse(await status()).headers['keep-alive'], undefined);
  });

  describe("mode 'close'", () => {
    it('reuses a socket within K, then closes it with a FIN at K; the next request opens a fresh socket', async () => {
      await start({ keepAliveMode: 'close' });
      const first = expectResponse(await status());
      assert.equal(first.reusedSocket, false);
      const second = expectResponse(await status());
      assert.equal(second.reusedSocket, true, 'reused within K');
      const idleSince = Date.now();
      const seen = watch(onlyFreeSocket(agent));
      await sleep(K / 2);
      assert.equal(seen.fin, false, 'not closed before K');
      await sleep(K / 2 + 250);
      assert.equal(seen.fin, true, 'FIN at K');
      assert.equal(seen.errorCode, '');
      assert.ok(seen.finAt - idleSince >= K - 30, `FIN after ${seen.finAt - idleSince} ms`);
      assert.equal(panel.openConnections, 0);
      const third = expectResponse(await status());
      assert.equal(third.status, 200);
      assert.equal(third.reusedSocket, false);
      assert.deepEqual(
        {
          total: panel.stats.snapshot().total,
          reused: panel.stats.snapshot().reused,
          connections: panel.stats.snapshot().connections,
        },
        { total: 3, reused: 1, connections: 2 },
      );
    });

    it("closes idle sockets with an RST when configured ('rst')", async () => {
      await start({ keepAliveMode: 'close', keepAliveCloseWith: 'rst' });
      const { socket, seen } = await rawIdleConnection(panel.ports.http);
      await sleep(K + 250);
      assert.equal(seen.errorCode, 'ECONNRESET');
      assert.equal(seen.closed, true);
      socket.destroy();
      assert.equal(expectResponse(await status()).status, 200);
    });

    it('closes idle sockets with a FIN by default (raw connection)', async () => {
      await start({ keepAliveMode: 'close' });
      const { socket, seen } = await rawIdleConnection(panel.ports.http);
      await sleep(K / 2);
      assert.equal(seen.fin, false);
      await sleep(K / 2 + 250);
      assert.equal(seen.fin, true);
      assert.equal(seen.errorCode, '');
      socket.destroy();
    });
  });

  describe("mode 'silent'", () => {
    it('forgets the idle socket at K without a FIN and drops the next request on it; a fresh socket works', async () => {
      await start({ keepAliveMode: 'silent' });
      expectResponse(await status());
      assert.equal(expectResponse(await status()).reusedSocket, true, 'reuse within K still works');
      const seen = watch(onlyFreeSocket(agent));
      await sleep(K + 250);
      assert.equal(seen.fin, false, 'no FIN reached the client');
      assert.equal(seen.closed, false);
      assert.equal(panel.openConnections, 1);

      const stale = await status();
      assert.ok(isError(stale), 'the request on the forgotten socket gets no response');
      assert.equal(stale.reusedSocket, true);
      assert.equal(stale.error.code, 'ECONNRESET');
      assert.match(stale.error.message, /socket hang up/);
      assert.equal(panel.stats.snapshot().dropped, 1);
      assert.equal(panel.stats.count('GET', '/api/v1/status'), 3, 'the dropped request did reach the panel');

      const fresh = expectResponse(await status());
      assert.equal(fresh.status, 200);
      assert.equal(fresh.reusedSocket, false);
    });

    it('fails every reuse after K, not just a race near K (poll interval 2×K)', async () => {
      await start({ keepAliveMode: 'silent' });
      let failures = 0;
      for (let i = 0; i < 4; i++) {
        const r = await status();
        if (isError(r)) {
          failures++;
          assert.equal(r.reusedSocket, true);
          expectResponse(await status());
        }
        await sleep(2 * K);
      }
      assert.equal(failures, 3, 'every poll after the first hit a forgotten socket');
    });

    it("drops with an RST when configured ('rst')", async () => {
      await start({ keepAliveMode: 'silent', keepAliveCloseWith: 'rst' });
      expectResponse(await status());
      await sleep(K + 200);
      const stale = await status();
      assert.ok(isError(stale));
      assert.equal(stale.error.code, 'ECONNRESET');
      assert.equal(stale.reusedSocket, true);
    });
  });
});
