/**
 * Per-port counters of what this benchmark process sends, with timestamps; nothing of the code under test is
 * touched. HTTP requests come from Node's diagnostics channel (every ClientRequest, retries and refused
 * attempts included); TCP connection attempts (TLS included, refused ones too) from a wrapper on
 * net.Socket's connect.
 */
import dc from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import net from 'node:net';

export interface PortCounter {
  /** Events for `port` with from ≤ t ≤ to. */
  count(port: number, from?: number, to?: number): number;
  stop(): void;
}

function portLog() {
  const byPort = new Map<number, number[]>();
  return {
    record(port: number) {
      if (Number.isFinite(port)) byPort.set(port, [...(byPort.get(port) ?? []), Date.now()]);
    },
    count: (port: number, from = 0, to = Infinity) =>
      (byPort.get(port) ?? []).filter((t) => t >= from && t <= to).length,
  };
}

export function requestCounter(): PortCounter {
  const log = portLog();
  const onStart = (message: unknown) => {
    const host = String((message as { request?: ClientRequest }).request?.getHeader('host') ?? '');
    log.record(Number(host.slice(host.lastIndexOf(':') + 1)));
  };
  dc.subscribe('http.client.request.start', onStart);
  return { count: log.count, stop: () => dc.unsubscribe('http.client.request.start', onStart) };
}

export function connectCounter(): PortCounter {
  const log = portLog();
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    log.record(
      Number(typeof first === 'object' && first !== null ? (first as { port?: unknown }).port : first),
    );
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof original;
  return { count: log.count, stop: () => void (net.Socket.prototype.connect = original) };
}
