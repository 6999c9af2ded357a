/**
 * Carries out one request fault on one request/response pair (see types.ts for what each kind means).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { terminate } from '../http/keep-alive';
import { type Headers, interceptBody, writeWhole } from '../http/respond';
import type { MalformedFault, RequestFault, StatusFault, TruncatedFault } from './types';

/** Pending delays, so the panel can cancel them when it closes. */
export type TimerSet = Set<NodeJS.Timeout>;

/**
 * Applies `fault`; `proceed` produces the normal response (called at once for body faults, after the wait for
 * 'delay', never for the others).
 */
export function applyRequestFault(
  fault: RequestFault,
  req: IncomingMessage,
  res: ServerResponse,
  proceed: () => void,
  timers: TimerSet,
): void {
  switch (fault.kind) {
    case 'status':
      writeStatus(res, fault);
      return;
    case 'hang':
      // Deliberately nothing: the request stays unanswered until the client gives up or the panel closes.
      return;
    case 'delay': {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed && !res.writableEnded) proceed();
      }, fault.delayMs);
      timers.add(timer);
      res.once('close', () => {
        clearTimeout(timer);
        timers.delete(timer);
      });
      return;
    }
    case 'malformed':
      interceptBody(res, (r, status, headers, body) =>
        writeWhole(r, status, headers, malformBody(body, fault)),
      );
      proceed();
      return;
    case 'truncated':
      interceptBody(res, (r, status, headers, body) =>
        writeTruncated(r, status, headers, body, fault, timers),
      );
      proceed();
      return;
    case 'reset':
      terminate(req.socket, fault.closeWith ?? 'rst');
      return;
  }
}

const REASONS: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
};

/** The page nginx serves when its upstream (the panel's API process) is down or restarting. */
export function nginxErrorPage(status: number): string {
  const title = `${status} ${REASONS[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

function writeStatus(res: ServerResponse, fault: StatusFault): void {
  const fromNginx = fault.status === 502 || fault.status === 503 || fault.status === 504;
  const body =
    fault.body ??
    (fromNginx ? nginxErrorPage(fault.status) : JSON.stringify({ detail: REASONS[fault.status] ?? 'Error' }));
  const headers: Headers = {
    'Content-Type':
      fault.contentType ?? (fault.body !== undefined || !fromNginx ? 'application/json' : 'text/html'),
  };
  if (fault.retryAfterS !== undefined)
    headers['Retry-After'] = String(Math.max(0, Math.round(fault.retryAfterS)));
  writeWhole(res, fault.status, headers, body);
}

export function malformBody(body: string, fault: MalformedFault): string {
  switch (fault.variant) {
    case 'invalid-json':
      return body.slice(0, Math.max(1, Math.floor(body.length / 2)));
    case 'json-string':
      // A double-encoded payload: valid JSON, but a string where an object was expected.
      return JSON.stringify(body);
    case 'missing-fields': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return body;
      }
      if (!isObject(parsed)) return body;
      if (fault.omit && fault.omit.length > 0) for (const p of fault.omit) omitPath(parsed, p.split('.'));
      else stripToFirstField(parsed);
      return JSON.stringify(parsed);
    }
  }
}

function writeTruncated(
  res: ServerResponse,
  status: number,
  headers: Headers,
  body: string,
  fault: TruncatedFault,
  timers: TimerSet,
): void {
  const bytes = Buffer.from(body);
  const declared = Math.max(fault.declaredLength ?? bytes.length, 1);
  const send = Math.min(fault.sendBytes ?? Math.min(20, Math.floor(bytes.length / 2)), declared - 1);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Length', declared);
  const socket = res.socket;
  res.write(bytes.subarray(0, Math.max(0, send)), () => {
    if (!socket || socket.destroyed) return;
    if ((fault.closeWith ?? 'fin') === 'fin') {
      socket.end(() => socket.destroy());
      return;
    }
    // Give the client a moment to read the head and partial body before the reset.
    const timer = setTimeout(() => {
      timers.delete(timer);
      terminate(socket, 'rst');
    }, 20);
    timers.add(timer);
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function omitPath(target: unknown, parts: string[]): void {
  if (!isObject(target) || parts.length === 0) return;
  const [head, ...rest] = parts as [string, ...string[]];
  const keys = head === '*' ? Object.keys(target) : [head];
  for (const key of keys) {
    if (rest.length === 0) delete target[key];
    else omitPath(target[key], rest);
  }
}

/**
 * Default 'missing-fields': keep only the first field of the payload. A payload with a single wrapper key
 * ({"circuits": {...}}, {"soe": {...}}) is stripped one level down instead, so it stays recognisable.
 */
function stripToFirstField(o: Record<string, unknown>): void {
  const keys = Object.keys(o);
  if (keys.length > 1) {
    for (const k of keys.slice(1)) delete o[k];
    return;
  }
  const only = keys[0];
  if (only === undefined) return;
  const inner = o[only];
  if (!isObject(inner) || Object.keys(inner).length === 0) {
    delete o[only];
    return;
  }
  const children = Object.values(inner);
  if (children.length > 1 && children.every(isObject))
    children.forEach((c) => stripToFirstField(c as Record<string, unknown>));
  else stripToFirstField(inner);
}
