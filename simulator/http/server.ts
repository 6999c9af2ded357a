/**
 * The simulated panel's API listener (port 80 on a real panel): keep-alive behaviour, request counting,
 * request faults, then plugin handlers (the v2 REST face) and the v1 router.
 *
 * The listener can be closed and reopened on the same port (the 'refused' fault), and close() releases
 * everything, including sockets of requests a 'hang' fault never answers.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { applyRequestFault, type TimerSet } from '../faults/apply';
import type { FaultController } from '../faults/controller';
import { ConnectionTracker, type KeepAliveOptions } from './keep-alive';
import type { RequestStats } from './request-stats';
import { sendJson } from './respond';
import { handleV1, type V1Deps } from './v1-router';
import { listen, listenAgain } from '../listen';

/**
 * An extra request handler (a plugin's REST routes). Return true when it handles the request (it must then
 * answer, preferably through sendJson/sendBody so body faults apply), false to pass it on.
 */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface SimHttpServerOptions {
  host: string;
  /** 0 = ephemeral. */
  port: number;
  keepAlive: KeepAliveOptions;
  v1: V1Deps;
  stats: RequestStats;
}

export class SimHttpServer {
  readonly tracker: ConnectionTracker;
  private readonly server: http.Server;
  private readonly handlers: RequestHandler[] = [];
  private readonly faultTimers: TimerSet = new Set();
  private faults: FaultController | null = null;
  private boundPort = 0;

  constructor(private readonly opts: SimHttpServerOptions) {
    this.tracker = new ConnectionTracker({ ...opts.keepAlive });
    // Node's own keep-alive and request timers are off: the tracker owns idle handling, and a hung request
    // must stay hung until the client or close() ends it.
    this.server = http.createServer({ requestTimeout: 0, headersTimeout: 0 }, (req, res) =>
      this.onRequest(req, res),
    );
    this.server.keepAliveTimeout = 0;
    this.server.on('connection', (socket) => this.tracker.attach(socket));
  }

  get port(): number {
    return this.boundPort;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  setFaults(faults: FaultController): void {
    this.faults = faults;
  }

  addHandler(handler: RequestHandler): void {
    this.handlers.push(handler);
  }

  async listen(): Promise<number> {
    await listen(this.server, this.opts.port, this.opts.host);
    const address = this.server.address();
    if (address && typeof address === 'object') this.boundPort = address.port;
    return this.boundPort;
  }

  /** Stops accepting connections and drops the open ones (a rebooting panel). */
  async stopListening(): Promise<void> {
    const closed = this.server.listening
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : Promise.resolve();
    this.tracker.destroyAll();
    await closed;
  }

  /** Listens again on the port it had (retrying briefly should the port still be settling). */
  async reopen(): Promise<void> {
    if (this.server.listening) return;
    await listenAgain(this.server, this.boundPort, this.opts.host);
  }

  async close(): Promise<void> {
    for (const t of this.faultTimers) clearTimeout(t);
    this.faultTimers.clear();
    await this.stopListening();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const admission = this.tracker.admit(req, res);
    if (admission.dropped) {
      this.opts.stats.recordDropped(method, url, admission.reused);
      return;
    }
    this.opts.stats.record(method, url, admission.reused);
    for (const [name, value] of Object.entries(this.tracker.responseHeaders(req))) res.setHeader(name, value);

    const proceed = () => this.dispatch(req, res);
    const fault = this.faults?.match(method, url);
    if (fault) {
      this.opts.stats.recordFaulted();
      applyRequestFault(fault.spec, req, res, proceed, this.faultTimers);
      return;
    }
    proceed();
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    try {
      for (const handler of this.handlers) if (handler(req, res)) return;
      if (handleV1(req, res, this.opts.v1)) return;
      sendJson(res, 404, { detail: 'Not Found' });
    } catch {
      sendJson(res, 500, { detail: 'Internal Server Error' });
    }
  }
}
