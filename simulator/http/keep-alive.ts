/**
 * Per-socket keep-alive behaviour of the simulated panel (docs/resilience.md §1).
 *
 * Node's own idle handling is switched off (server.keepAliveTimeout = 0) and replaced by one timer per socket
 * that runs while the socket has no request in flight:
 * - mode 'close': at K ms the panel closes the idle socket, with a FIN (default) or an RST (`closeWith:'rst'`).
 *   A client polling at ≈K races the close; one polling well above K sees the FIN and never reuses it.
 * - mode 'silent': at K ms the panel forgets the socket WITHOUT telling the client. The next request that
 *   arrives on it is dropped: the socket is destroyed (FIN, or RST with `closeWith:'rst'`) without a byte of
 *   response, so the client sees "socket hang up"/ECONNRESET on a reused socket (SPAN #156), every time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type KeepAliveMode = 'close' | 'silent';
export type CloseWith = 'fin' | 'rst';

export interface KeepAliveOptions {
  /** Idle timeout K in ms. */
  idleMs: number;
  mode: KeepAliveMode;
  closeWith: CloseWith;
  /** Whether responses carry `Keep-Alive: timeout=<K s>`. */
  hint: boolean;
}

export const DEFAULT_KEEP_ALIVE: KeepAliveOptions = {
  idleMs: 5000,
  mode: 'close',
  closeWith: 'fin',
  hint: true,
};

interface Connection {
  requests: number;
  inFlight: number;
  forgotten: boolean;
  timer: NodeJS.Timeout | null;
}

export interface RequestAdmission {
  dropped: boolean;
  /** The socket had already carried a request. */
  reused: boolean;
}

export class ConnectionTracker {
  private readonly connections = new Map<Socket, Connection>();
  /** TCP connections accepted since start (or the last stats reset). */
  accepted = 0;

  constructor(public options: KeepAliveOptions) {}

  get open(): number {
    return this.connections.size;
  }

  /** Sockets the panel has silently forgotten but the client may still hold. */
  get forgotten(): number {
    let n = 0;
    for (const c of this.connections.values()) if (c.forgotten) n++;
    return n;
  }

  attach(socket: Socket): void {
    const conn: Connection = { requests: 0, inFlight: 0, forgotten: false, timer: null };
    this.connections.set(socket, conn);
    this.accepted++;
    socket.once('close', () => {
      this.clearTimer(conn);
      this.connections.delete(socket);
    });
    this.armIdle(socket, conn);
  }

  /** Called first for every request; decides whether the panel still knows this socket. */
  admit(req: IncomingMessage, res: ServerResponse): RequestAdmission {
    const socket = req.socket;
    const conn = this.connections.get(socket);
    if (!conn) return { dropped: false, reused: false };
    this.clearTimer(conn);
    const reused = conn.requests > 0;
    if (conn.forgotten) {
      terminate(socket, this.options.closeWith);
      return { dropped: true, reused };
    }
    conn.requests++;
    conn.inFlight++;
    res.once('close', () => {
      conn.inFlight = Math.max(0, conn.inFlight - 1);
      if (conn.inFlight === 0) this.armIdle(socket, conn);
    });
    return { dropped: false, reused };
  }

  /** The keep-alive headers for a response to `req` (Connection: close if the client asked for it). */
  responseHeaders(req: IncomingMessage): Record<string, string> {
    const wantsClose = /\bclose\b/i.test(req.headers.connection ?? '') || req.httpVersion === '1.0';
    if (wantsClose) return { Connection: 'close' };
    const headers: Record<string, string> = { Connection: 'keep-alive' };
    if (this.options.hint) headers['Keep-Alive'] = `timeout=${Math.floor(this.options.idleMs / 1000)}`;
    return headers;
  }

  /** Destroys every socket (listener shutdown, refused-connection fault, close()). */
  destroyAll(): void {
    for (const [socket, conn] of this.connections) {
      this.clearTimer(conn);
      socket.destroy();
    }
    this.connections.clear();
  }

  private armIdle(socket: Socket, conn: Connection): void {
    this.clearTimer(conn);
    if (socket.destroyed || conn.forgotten) return;
    conn.timer = setTimeout(() => {
      conn.timer = null;
      if (conn.inFlight > 0 || socket.destroyed) return;
      if (this.options.mode === 'silent') conn.forgotten = true;
      else terminate(socket, this.options.closeWith);
    }, this.options.idleMs);
    conn.timer.unref();
  }

  private clearTimer(conn: Connection): void {
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = null;
  }
}

/** Ends a socket with a FIN (plain close) or an RST (reset). */
export function terminate(socket: Socket, how: CloseWith): void {
  if (socket.destroyed) return;
  if (how === 'rst') socket.resetAndDestroy();
  else socket.destroy();
}
