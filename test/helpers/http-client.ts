/**
 * A raw node:http client for tests that need to see exactly what happened on the wire: status, headers,
 * body text, whether the request went out on a reused keep-alive socket, or the socket-level error.
 */
import http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
}

export interface RawError {
  error: NodeJS.ErrnoException;
  /** Set when the head arrived before the failure (e.g. a truncated body). */
  status?: number;
  reusedSocket: boolean;
}

export type RawResult = RawResponse | RawError;

export interface RawRequestOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: unknown;
  agent?: http.Agent | false;
  /** Abort after this many ms (error code 'ETIMEDOUT_TEST'). */
  timeoutMs?: number;
  host?: string;
}

export function rawRequest(port: number, path: string, opts: RawRequestOptions = {}): Promise<RawResult> {
  return new Promise((resolve) => {
    const payload =
      opts.body === undefined
        ? undefined
        : typeof opts.body === 'string'
          ? opts.body
          : JSON.stringify(opts.body);
    const headers: http.OutgoingHttpHeaders = { ...opts.headers };
    if (payload !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    let settled = false;
    let timer: NodeJS.Timeout | null = null;
    const done = (r: RawResult) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve(r);
    };
    const req = http.request(
      {
        host: opts.host ?? '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        headers,
        agent: opts.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          done({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            reusedSocket: req.reusedSocket,
          }),
        );
        const fail = (error: NodeJS.ErrnoException) =>
          done({ error, status: res.statusCode, reusedSocket: req.reusedSocket });
        res.on('error', fail);
        res.on('aborted', () => fail(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => done({ error, reusedSocket: req.reusedSocket }));
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        req.destroy(Object.assign(new Error('test timeout'), { code: 'ETIMEDOUT_TEST' }));
      }, opts.timeoutMs);
    }
    req.end(payload);
  });
}

export function isError(r: RawResult): r is RawError {
  return 'error' in r;
}

/** Asserts a response (not a socket error) and returns it. */
export function expectResponse(r: RawResult): RawResponse {
  if (isError(r)) throw new Error(`expected a response, got ${r.error.code ?? ''} ${r.error.message}`);
  return r;
}

export { sleep } from './wait';
