/**
 * "Another host on the LAN" for the admin endpoint tests: an HTTP server on 127.0.0.1 that records every
 * request (method, path, headers, body) and answers like a panel would, far enough for a client to send
 * whatever secret it has: v2 status and schema (so detection picks v2 and registration is tried), 401 on
 * v1 (so a token is sent), 422 on register. `holdMs` delays every answer (concurrency tests); `banner`
 * answers /api/v1/status with a non-JSON body and an odd reason phrase (error texts must not quote them).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RecorderOptions {
  holdMs?: number;
  banner?: string;
}

export class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(private readonly opts: RecorderOptions) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(opts: RecorderOptions = {}): Promise<RecordingServer> {
    const r = new RecordingServer(opts);
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    return r;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Everything the server received, as one string (for "does it contain a secret" checks). */
  get everything(): string {
    return JSON.stringify(this.requests);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const answer = () => this.answer(req.method ?? 'GET', (req.url ?? '').split('?')[0], res);
      if (this.opts.holdMs) setTimeout(answer, this.opts.holdMs);
      else answer();
    });
  }

  private answer(method: string, path: string, res: http.ServerResponse): void {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', Connection: 'close' });
      res.end(JSON.stringify(body));
    };
    if (this.opts.banner && path === '/api/v1/status') {
      res.writeHead(200, `OK ${this.opts.banner}`, { 'Content-Type': 'text/plain', Connection: 'close' });
      res.end(`${this.opts.banner} service ready`);
      return;
    }
    if (this.opts.banner && path === '/api/v1/panel') {
      res.writeHead(500, `Oops ${this.opts.banner}`, { Connection: 'close' });
      res.end(this.opts.banner);
      return;
    }
    if (method === 'GET' && path === '/api/v2/status') {
      return json(200, { serialNumber: 'nj-2316-EVIL', firmwareVersion: 'spanos2/r202603/05' });
    }
    if (method === 'GET' && path === '/api/v2/homie/schema') {
      return json(200, { firmwareVersion: 'spanos2/r202603/05', homieDomain: 'ebus', types: {} });
    }
    if (method === 'POST' && path === '/api/v2/auth/register') return json(422, { detail: 'no' });
    if (path.startsWith('/api/v1/')) return json(401, { detail: 'Invalid authentication credentials' });
    json(404, { detail: 'Not Found' });
  }
}
