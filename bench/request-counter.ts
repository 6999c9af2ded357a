/**
 * Counts the HTTP requests this process sends, per destination port, with timestamps, through Node's
 * built-in diagnostics channel (every ClientRequest, including retries and attempts that are refused).
 * Nothing in the code under test is touched.
 */
import dc from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

const CHANNEL = 'http.client.request.start';

export class RequestCounter {
  private readonly byPort = new Map<number, number[]>();
  private readonly onStart = (message: unknown) => {
    const req = (message as { request?: ClientRequest }).request;
    const host = String(req?.getHeader('host') ?? '');
    const port = Number(host.slice(host.lastIndexOf(':') + 1));
    if (!Number.isFinite(port)) return;
    const list = this.byPort.get(port) ?? [];
    list.push(Date.now());
    this.byPort.set(port, list);
  };

  constructor() {
    dc.subscribe(CHANNEL, this.onStart);
  }

  /** Requests sent to `port` with from ≤ t ≤ to. */
  count(port: number, from = 0, to = Number.MAX_SAFE_INTEGER): number {
    return (this.byPort.get(port) ?? []).filter((t) => t >= from && t <= to).length;
  }

  stop(): void {
    dc.unsubscribe(CHANNEL, this.onStart);
  }
}
