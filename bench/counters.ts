/**
 * Per-port counters of what this benchmark process sends, with timestamps; nothing of the code under test is
 * touched. HTTP requests come from Node's diagnostics channel (every ClientRequest, retries and refused
 * attempts included); TCP connection attempts (TLS included, refused ones too) from a wrapper on
 * net.Socket's connect.
 */
import dc from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import net from 'node:net';

class PortLog {
  private readonly byPort = new Map<number, number[]>();

  protected record(port: number): void {
    if (!Number.isFinite(port)) return;
    const list = this.byPort.get(port) ?? [];
    list.push(Date.now());
    this.byPort.set(port, list);
  }

  /** Events for `port` with from ≤ t ≤ to. */
  count(port: number, from = 0, to = Number.MAX_SAFE_INTEGER): number {
    return (this.byPort.get(port) ?? []).filter((t) => t >= from && t <= to).length;
  }
}

const REQUEST_START = 'http.client.request.start';

export class RequestCounter extends PortLog {
  private readonly onStart = (message: unknown) => {
    const host = String((message as { request?: ClientRequest }).request?.getHeader('host') ?? '');
    this.record(Number(host.slice(host.lastIndexOf(':') + 1)));
  };

  constructor() {
    super();
    dc.subscribe(REQUEST_START, this.onStart);
  }

  stop(): void {
    dc.unsubscribe(REQUEST_START, this.onStart);
  }
}

export class ConnectCounter extends PortLog {
  private readonly original = net.Socket.prototype.connect;

  constructor() {
    super();
    const original = this.original;
    const record = (port: number) => this.record(port);
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
      record(
        typeof first === 'object' && first !== null
          ? Number((first as { port?: unknown }).port)
          : Number(first),
      );
      return (original as (...a: unknown[]) => net.Socket).apply(this, args);
    } as typeof net.Socket.prototype.connect;
  }

  stop(): void {
    net.Socket.prototype.connect = this.original;
  }
}
