/**
 * Writing responses. Every handler on the simulated panel's HTTP port (the v1 router and plugin handlers
 * such as the v2 REST face) should answer through `sendBody`/`sendJson`: they set Content-Length and, when a
 * fault (malformed JSON, truncated body) is armed for the request, hand the body to that fault instead.
 */
import type { ServerResponse } from 'node:http';

export type Headers = Record<string, string | number>;

/** Takes over writing one response (installed by the fault layer for one request). */
export type BodyInterceptor = (res: ServerResponse, status: number, headers: Headers, body: string) => void;

const interceptors = new WeakMap<ServerResponse, BodyInterceptor>();

export function interceptBody(res: ServerResponse, interceptor: BodyInterceptor): void {
  interceptors.set(res, interceptor);
}

export function sendBody(res: ServerResponse, status: number, body: string, headers: Headers = {}): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const interceptor = interceptors.get(res);
  if (interceptor) {
    interceptors.delete(res);
    interceptor(res, status, headers, body);
    return;
  }
  writeWhole(res, status, headers, body);
}

export function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Headers = {}): void {
  sendBody(res, status, JSON.stringify(payload), { 'Content-Type': 'application/json', ...headers });
}

/** Writes status, headers and the whole body with an exact Content-Length. */
export function writeWhole(res: ServerResponse, status: number, headers: Headers, body: string): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}
