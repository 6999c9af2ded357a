/**
 * The simulator's control API, on its own port so it keeps answering while the panel's API listener is
 * refused, hung or faulty. JSON in, JSON out:
 *
 *   GET    /health                 {"ok":true}
 *   GET    /state                  the physical state (identity, mains, circuits, branches, pvPowerW, soePercent)
 *   GET    /faults                 {"faults":[...active request rules], "kinds":[...], "refused":bool}
 *   POST   /faults   {kind,...}    inject any fault, built-in or plugin (201 {"kind","id"}; 400 {"error"})
 *   DELETE /faults                 clear everything (rules, refused listener, plugin faults)
 *   DELETE /faults/{id}            clear one request rule (404 if none)
 *   GET    /stats                  request counters (+ open connections)
 *   DELETE /stats                  reset the counters (also POST /stats/reset)
 *   POST   /proximity {open, windowMs?}                       open/close the registration window
 *   POST   /reboot {counterDipWh?, refusedMs?, unavailableMs?, unavailableStatus?}
 *   POST   /tokens {name?, description?}                      issue a token (no proximity needed) → AuthOut
 *   POST   /tokens/revoke {token?}                            revoke one or all tokens → {"revoked":n}
 *   POST   /tick {nowMs?}                                     advance the physics now
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { TokenRegistry } from '../auth/tokens';
import type { FaultController } from '../faults/controller';
import type { ConnectionTracker } from '../http/keep-alive';
import type { RequestStats } from '../http/request-stats';
import { readBody } from '../http/v1-router';
import type { PanelState } from '../state';

export interface ControlTarget {
  state: PanelState;
  faults: FaultController;
  stats: RequestStats;
  tokens: TokenRegistry;
  connections: ConnectionTracker;
}

type Reply = { status: number; body: unknown };

export class ControlServer {
  private readonly server: http.Server;
  private boundPort = 0;

  constructor(
    private readonly target: ControlTarget,
    private readonly host: string,
    private readonly port: number,
  ) {
    this.server = http.createServer((req, res) => this.onRequest(req, res));
  }

  get boundTo(): number {
    return this.boundPort;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        this.boundPort = address && typeof address === 'object' ? address.port : 0;
        resolve(this.boundPort);
      });
    });
  }

  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    return closed;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    readBody(req, (raw) => {
      let body: Record<string, unknown> = {};
      if (raw.trim().length > 0) {
        try {
          const parsed: unknown = JSON.parse(raw);
          if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
            throw new Error('not an object');
          body = parsed as Record<string, unknown>;
        } catch {
          return send(res, { status: 400, body: { error: 'body must be a JSON object' } });
        }
      }
      this.route(req.method ?? 'GET', (req.url ?? '/').split('?')[0] as string, body).then(
        (reply) => send(res, reply),
        (err: unknown) =>
          send(res, { status: 400, body: { error: err instanceof Error ? err.message : String(err) } }),
      );
    });
  }

  private async route(method: string, path: string, body: Record<string, unknown>): Promise<Reply> {
    const t = this.target;
    const ok = (payload: unknown, status = 200): Reply => ({ status, body: payload });
    const key = `${method} ${path}`;
    switch (key) {
      case 'GET /health':
        return ok({ ok: true });
      case 'GET /state':
        return ok(stateSnapshot(t.state));
      case 'GET /faults':
        return ok({ faults: t.faults.list(), kinds: t.faults.kinds(), refused: t.faults.refused });
      case 'POST /faults':
        return ok(await t.faults.inject(body as { kind: string }), 201);
      case 'DELETE /faults':
        await t.faults.clear();
        return ok({ cleared: true });
      case 'GET /stats':
        return ok({ ...t.stats.snapshot(), openConnections: t.connections.open });
      case 'DELETE /stats':
      case 'POST /stats/reset':
        t.stats.reset();
        return ok({ reset: true });
      case 'POST /proximity':
        t.faults.proximity(body.open !== false, numberOrUndefined(body.windowMs));
        return ok({ proximityProven: t.state.identity.proximityProven });
      case 'POST /reboot':
        await t.faults.reboot({
          counterDipWh: numberOrUndefined(body.counterDipWh),
          refusedMs: numberOrUndefined(body.refusedMs),
          unavailableMs: numberOrUndefined(body.unavailableMs),
          unavailableStatus: numberOrUndefined(body.unavailableStatus),
        });
        return ok({ rebooted: true, uptimeS: t.state.identity.uptimeS });
      case 'POST /tokens': {
        const name = typeof body.name === 'string' ? body.name : undefined;
        const description = typeof body.description === 'string' ? body.description : undefined;
        return ok(t.tokens.issueAuth(name, description), 201);
      }
      case 'POST /tokens/revoke':
        return ok({
          revoked: t.faults.revokeTokens(typeof body.token === 'string' ? body.token : undefined),
        });
      case 'POST /tick':
        t.state.tick(numberOrUndefined(body.nowMs));
        return ok({ ticked: true });
    }
    const faultId = /^\/faults\/([^/]+)$/.exec(path)?.[1];
    if (method === 'DELETE' && faultId) {
      return (await t.faults.clear(decodeURIComponent(faultId)))
        ? ok({ cleared: true })
        : { status: 404, body: { error: 'no such fault' } };
    }
    return { status: 404, body: { error: 'not found' } };
  }
}

function stateSnapshot(state: PanelState) {
  return {
    identity: state.identity,
    mains: state.mains,
    pvPowerW: state.pvPowerW,
    soePercent: state.soePercent,
    circuits: state.circuits,
    branches: state.branches,
  };
}

function numberOrUndefined(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function send(res: ServerResponse, reply: Reply): void {
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
