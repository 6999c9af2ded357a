import type { Server } from 'node:net';

/** Starts listening; rejects with the listen error (EADDRINUSE…) instead of emitting it. */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Listens again on the port a listener had before a refused/broker-down fault, retrying briefly while the
 * port is still settling: a real panel comes back on the same port.
 */
export async function listenAgain(server: Server, port: number, host: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await listen(server, port, host);
      return;
    } catch (err) {
      if (attempt >= 20 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
