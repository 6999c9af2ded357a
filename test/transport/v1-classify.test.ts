import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { PanelError, type ErrorClass } from '../../src/transport/errors';
import {
  classifyHttpError,
  type HttpFailureLike,
  type RequestContext,
} from '../../src/transport/http/classify';

const GET: RequestContext = { method: 'GET', path: '/api/v1/panel' };
const res = (status: number, headers: Record<string, string> = {}, statusText = '') => ({
  status,
  statusText,
  headers,
});

interface Row {
  name: string;
  error: HttpFailureLike;
  ctx?: Partial<RequestContext>;
  expect: ErrorClass;
}

// docs/resilience.md §3, one row per signature.
const ROWS: Row[] = [
  {
    name: 'socket hang up on a reused socket',
    error: { code: 'ECONNRESET', message: 'socket hang up', request: { reusedSocket: true } },
    expect: 'stale-socket',
  },
  {
    name: 'read ECONNRESET on a reused socket',
    error: { code: 'ECONNRESET', message: 'read ECONNRESET', request: { reusedSocket: true } },
    expect: 'stale-socket',
  },
  {
    name: 'EPIPE on a reused socket',
    error: { code: 'EPIPE', request: { reusedSocket: true } },
    expect: 'stale-socket',
  },
  {
    name: 'hang up without a code on a reused socket',
    error: { message: 'socket hang up', request: { reusedSocket: true } },
    expect: 'stale-socket',
  },
  {
    name: 'ECONNRESET on a fresh socket (connection dropped before any response)',
    error: { code: 'ECONNRESET', message: 'socket hang up', request: { reusedSocket: false } },
    expect: 'protocol',
  },
  {
    name: 'ECONNREFUSED',
    error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' },
    expect: 'refused',
  },
  { name: 'EHOSTUNREACH', error: { code: 'EHOSTUNREACH' }, expect: 'unreachable' },
  { name: 'ENETUNREACH', error: { code: 'ENETUNREACH' }, expect: 'unreachable' },
  {
    name: 'ENOTFOUND',
    error: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND span.local' },
    expect: 'unreachable',
  },
  { name: 'EAI_AGAIN', error: { code: 'EAI_AGAIN' }, expect: 'unreachable' },
  {
    name: 'OS connect timeout (ETIMEDOUT, syscall connect on the cause)',
    error: { code: 'ETIMEDOUT', cause: { code: 'ETIMEDOUT', syscall: 'connect' } },
    expect: 'unreachable',
  },
  {
    name: 'axios timeout',
    error: { code: 'ECONNABORTED', message: 'timeout of 1000ms exceeded' },
    expect: 'timeout',
  },
  {
    name: 'our deadline fired (PanelError timeout reason)',
    error: { code: 'ERR_CANCELED', message: 'canceled' },
    ctx: { abortReason: new PanelError('timeout', 'cycle deadline') },
    expect: 'timeout',
  },
  {
    name: 'AbortSignal.timeout() reason',
    error: { code: 'ERR_CANCELED' },
    ctx: { abortReason: new DOMException('The operation timed out', 'TimeoutError') },
    expect: 'timeout',
  },
  {
    name: 'shutdown abort',
    error: { code: 'ERR_CANCELED' },
    ctx: { abortReason: new PanelError('canceled', 'transport closed') },
    expect: 'canceled',
  },
  {
    name: 'our abort wins over the network error it caused',
    error: { code: 'ECONNRESET', request: { reusedSocket: true } },
    ctx: { abortReason: new PanelError('canceled', 'closed') },
    expect: 'canceled',
  },
  { name: 'ERR_CANCELED without a reason', error: { code: 'ERR_CANCELED' }, expect: 'canceled' },
  {
    name: '502',
    error: { code: 'ERR_BAD_RESPONSE', response: res(502, {}, 'Bad Gateway') },
    expect: 'gateway',
  },
  { name: '503 without Retry-After', error: { response: res(503) }, expect: 'gateway' },
  { name: '504', error: { response: res(504) }, expect: 'gateway' },
  {
    name: '503 with Retry-After',
    error: { response: res(503, { 'retry-after': '7' }) },
    expect: 'rate-limited',
  },
  { name: '429', error: { code: 'ERR_BAD_REQUEST', response: res(429) }, expect: 'rate-limited' },
  { name: '500', error: { response: res(500) }, expect: 'server' },
  { name: '501', error: { response: res(501) }, expect: 'server' },
  { name: '599', error: { response: res(599) }, expect: 'server' },
  { name: '401', error: { response: res(401) }, expect: 'auth' },
  { name: '403', error: { response: res(403) }, expect: 'auth' },
  { name: '412 (v1: no token)', error: { response: res(412) }, expect: 'auth' },
  { name: '400', error: { response: res(400) }, expect: 'client' },
  { name: '404', error: { response: res(404) }, expect: 'client' },
  { name: '409', error: { response: res(409) }, expect: 'client' },
  { name: '422', error: { response: res(422) }, expect: 'client' },
  { name: '301 (redirects are not followed)', error: { response: res(301) }, expect: 'client' },
  {
    name: 'body cut short then FIN (stream has been aborted, status 200)',
    error: { code: 'ERR_BAD_RESPONSE', message: 'stream has been aborted', response: res(200) },
    expect: 'protocol',
  },
  {
    name: 'maxContentLength exceeded (no response object)',
    error: { code: 'ERR_BAD_RESPONSE', message: 'maxContentLength size of 10 exceeded' },
    expect: 'protocol',
  },
  {
    name: 'HTTP parser error',
    error: { code: 'HPE_INVALID_CONSTANT', message: 'Parse Error' },
    expect: 'protocol',
  },
  { name: 'anything else', error: { code: 'EWHATEVER', message: 'odd' }, expect: 'unknown' },
];

describe('v1 transport: error classification (docs/resilience.md §3)', () => {
  for (const row of ROWS) {
    it(`${row.name} → ${row.expect}`, () => {
      const err = classifyHttpError(row.error, { ...GET, ...row.ctx });
      assert.ok(err instanceof PanelError);
      assert.equal(err.errorClass, row.expect);
      assert.match(err.message, /^GET \/api\/v1\/panel: /);
      if (row.error.response) {
        assert.equal(err.status, row.error.response.status);
        assert.match(err.message, new RegExp(`HTTP ${row.error.response.status}`));
      }
    });
  }

  it('is never auth for anything but 401/403/412', () => {
    const codes = [
      'ECONNRESET',
      'ECONNREFUSED',
      'ECONNABORTED',
      'ETIMEDOUT',
      'ENOTFOUND',
      'ERR_CANCELED',
      'HPE_X',
    ];
    for (const code of codes) {
      assert.notEqual(classifyHttpError({ code }, GET).errorClass, 'auth', code);
      assert.notEqual(
        classifyHttpError({ code }, { ...GET, abortReason: new PanelError('timeout', 'x') }).errorClass,
        'auth',
      );
    }
    for (let status = 100; status < 600; status++) {
      const cls = classifyHttpError({ response: res(status) }, GET).errorClass;
      assert.equal(
        cls === 'auth',
        status === 401 || status === 403 || status === 412,
        `HTTP ${status} → ${cls}`,
      );
    }
  });

  it('parses Retry-After into retryAfterMs, in seconds and as an HTTP date', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    const secs = classifyHttpError({ response: res(429, { 'retry-after': '120' }) }, { ...GET, nowMs: now });
    assert.equal(secs.retryAfterMs, 120_000);
    const date = classifyHttpError(
      { response: res(503, { 'retry-after': 'Thu, 01 Jan 2026 12:00:30 GMT' }) },
      { ...GET, nowMs: now },
    );
    assert.equal(date.errorClass, 'rate-limited');
    assert.equal(date.retryAfterMs, 30_000);
    // Not capped here: the supervisor clamps.
    assert.equal(
      classifyHttpError({ response: res(429, { 'retry-after': '3600' }) }, GET).retryAfterMs,
      3_600_000,
    );
    // Header objects with a get() accessor (AxiosHeaders) work too.
    const headers = { get: (n: string) => (n === 'retry-after' ? '2' : undefined) };
    assert.equal(classifyHttpError({ response: { status: 429, headers } }, GET).retryAfterMs, 2000);
  });

  it('never carries a secret from the raw error into the message or the cause', () => {
    const token = 'eyJ-super-secret-token';
    const raw = Object.assign(new Error('Request failed with status code 401'), {
      code: 'ERR_BAD_REQUEST',
      config: { headers: { Authorization: `Bearer ${token}` } },
      response: {
        status: 401,
        statusText: 'Unauthorized',
        headers: {},
        config: { headers: { Authorization: token } },
      },
    });
    const err = classifyHttpError(raw, GET);
    assert.equal(err.errorClass, 'auth');
    assert.ok(!inspect(err, { depth: 10 }).includes(token));
    assert.ok(!JSON.stringify(err).includes(token));
  });
});
