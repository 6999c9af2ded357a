import http from 'node:http';
import type { LookupFunction, Socket } from 'node:net';
import axios, { type AxiosInstance } from 'axios';
import { PanelError } from '../errors';
import { classifyHttpError } from './classify';
import { pause, retryDelay, type RetryPolicyOptions, type RetryStats } from './in-request-retry';
import { RetryBudget } from './retry-budget';
import type { DebugLogger } from '../../util/logger';
import { settleBy } from '../../util/settle-by';
import { parseHost } from '../host';

export type { DebugLogger } from '../../util/logger';

export interface PanelHttpOptions {
  /** Host name or IP, optionally with ":port" ("192.168.1.20", "span.local:8080", "[::1]:8080"). */
  host: string;
  /** Overrides a port given in `host`. */
  port?: number;
  /** Per-attempt timeout (axios `timeout`), default 5000 ms. */
  requestTimeoutMs?: number;
  /**
   * Hard bound for one call including its in-request retry, default 2 × requestTimeoutMs + 500 ms (the
   * supervisor's smallest cycle deadline). A gateway retry is only started when it still fits.
   */
  callDeadlineMs?: number;
  /** Idle time after which a pooled socket is dropped; must stay below the panel's 5 s keep-alive. */
  idleSocketMs?: number;
  /**
   * Keep-alive race mitigation (default on): idle-socket timeout in the agent plus one immediate retry on a
   * stale socket. Off = a plain keep-alive agent without timeout and no stale-socket retry (control tests).
   */
  mitigation?: boolean;
  /** Response bodies above this size are a protocol error (default 4 MiB; the largest v1 body is ~9 KB). */
  maxBodyBytes?: number;
  logger?: DebugLogger;
  /** Source of jitter for gateway retry delays (tests). */
  random?: () => number;
  retryBudget?: RetryBudget;
  /** Name resolution override (tests stub DNS failures with it; default: the OS resolver). */
  lookup?: LookupFunction;
}

export interface HttpCall {
  method: 'GET' | 'POST';
  path: string;
  signal: AbortSignal;
  /** Bearer token; omitted for unauthenticated endpoints. Never logged. */
  token?: string;
  body?: unknown;
}

export interface HttpResult {
  status: number;
  text: string;
}

export type { RetryStats } from './in-request-retry';

const MAX_IDLE_SOCKET_MS = 4000;

/**
 * One per panel: a keep-alive agent tuned against the panel's 5 s idle close, one axios instance, the
 * in-request retry policy (in-request-retry.ts) and a deadline on every call. Every failure leaves as a classified
 * PanelError; every success is a 2xx with its raw body text (callers parse and validate it).
 */
export class PanelHttpClient {
  readonly baseURL: string;
  readonly requestTimeoutMs: number;
  readonly callDeadlineMs: number;
  readonly idleSocketMs: number;
  readonly mitigation: boolean;
  private readonly lookup: LookupFunction | undefined;
  readonly retryStats: RetryStats = { staleSocketRetries: 0, gatewayRetries: 0, gatewayRetriesDenied: 0 };
  readonly retryBudget: RetryBudget;

  private currentAgent: http.Agent;
  private readonly instance: AxiosInstance;
  private readonly logger: DebugLogger | undefined;
  private readonly retryPolicy: RetryPolicyOptions;
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  constructor(opts: PanelHttpOptions) {
    this.baseURL = buildBaseURL(opts.host, opts.port);
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5000;
    this.callDeadlineMs = opts.callDeadlineMs ?? 2 * this.requestTimeoutMs + 500;
    // Never at or above the panel's 5 s keep-alive (less 1 s for latency and timer lag).
    this.idleSocketMs = Math.min(opts.idleSocketMs ?? 3000, MAX_IDLE_SOCKET_MS);
    this.mitigation = opts.mitigation ?? true;
    this.logger = opts.logger;
    this.retryBudget = opts.retryBudget ?? new RetryBudget();
    this.lookup = opts.lookup;
    this.currentAgent = this.makeAgent();

    this.instance = axios.create({
      baseURL: this.baseURL,
      // The real ClientRequest (not follow-redirects' wrapper) ends up in error.request: reusedSocket readable.
      maxRedirects: 0,
      timeout: this.requestTimeoutMs,
      // Bodies come back as text and are parsed by us: axios' silent JSON parsing would hand a string on to
      // the caller as if it were data.
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      maxContentLength: opts.maxBodyBytes ?? 4 * 1024 * 1024,
      proxy: false,
      headers: { Accept: 'application/json', 'User-Agent': 'node-red-span-panel' },
    });
    this.retryPolicy = {
      mitigation: this.mitigation,
      requestTimeoutMs: this.requestTimeoutMs,
      budget: this.retryBudget,
      random: opts.random ?? Math.random,
      dropIdleSockets: () => {
        for (const socket of socketsOf(this.currentAgent.freeSockets)) socket.destroy();
      },
      stats: this.retryStats,
    };
  }

  /** The agent currently in use (tests check pooling, reset and close through it). */
  get agent(): http.Agent {
    return this.currentAgent;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private makeAgent(): http.Agent {
    const base = {
      keepAlive: true,
      maxSockets: 4,
      maxFreeSockets: 4,
      scheduling: 'lifo' as const,
      ...(this.lookup ? { lookup: this.lookup } : {}),
    };
    // `timeout` drops idle sockets before the panel does, and makes Node honour Keep-Alive hints.
    return new http.Agent(this.mitigation ? { ...base, timeout: this.idleSocketMs } : base);
  }

  /** Sends one call (GET: at most one in-request retry; POST: exactly once). Throws a classified PanelError. */
  async request(call: HttpCall): Promise<HttpResult> {
    const ctx = { method: call.method, path: call.path };
    if (this.closed) throw new PanelError('canceled', `${call.method} ${call.path}: transport closed`);
    if (call.signal.aborted)
      throw classifyHttpError(new Error('aborted'), { ...ctx, abortReason: call.signal.reason });

    const ctrl = new AbortController();
    const onCallerAbort = () =>
      ctrl.abort(call.signal.reason ?? new PanelError('canceled', 'aborted by caller'));
    call.signal.addEventListener('abort', onCallerAbort, { once: true });
    const deadline = setTimeout(
      () => ctrl.abort(new PanelError('timeout', `no complete answer within ${this.callDeadlineMs} ms`)),
      this.callDeadlineMs,
    );
    const deadlineAt = Date.now() + this.callDeadlineMs;
    this.inFlight.add(ctrl);
    const send = () =>
      settleBy(
        this.instance.request<string>({
          method: call.method,
          url: call.path,
          signal: ctrl.signal,
          // The current agent, also for the retry after a reset().
          httpAgent: this.currentAgent,
          headers: call.token ? { Authorization: `Bearer ${call.token}` } : {},
          data: call.body,
        }),
        ctrl.signal,
      );
    try {
      let res;
      try {
        res = await send();
      } catch (e) {
        const canceled = ctrl.signal.aborted || this.closed;
        const delay = retryDelay(e, { method: call.method, deadlineAt, canceled }, this.retryPolicy);
        if (delay === null) throw e;
        this.logger?.debug(
          `${call.method} ${call.path}: retrying once in ${Math.round(delay)} ms after ${why(e)}`,
        );
        await pause(delay, ctrl.signal);
        res = await send();
      }
      this.retryBudget.recordSuccess();
      return { status: res.status, text: typeof res.data === 'string' ? res.data : String(res.data ?? '') };
    } catch (e) {
      throw classifyHttpError(e, {
        ...ctx,
        abortReason: ctrl.signal.aborted ? (ctrl.signal.reason ?? 'aborted') : undefined,
      });
    } finally {
      clearTimeout(deadline);
      call.signal.removeEventListener('abort', onCallerAbort);
      this.inFlight.delete(ctrl);
    }
  }

  /** Drops every pooled socket and starts over with a fresh agent (after an outage, an IP change…). */
  reset(): void {
    if (this.closed) return;
    const old = this.currentAgent;
    this.currentAgent = this.makeAgent();
    old.destroy();
  }

  /** Aborts calls in flight, destroys the agent and waits until its pools are empty. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ctrl of this.inFlight) ctrl.abort(new PanelError('canceled', 'transport closed'));
    const agent = this.currentAgent;
    agent.destroy();
    // The agent forgets a socket on its 'close' event, a tick or two after destroy(); bounded wait for that.
    const giveUpAt = Date.now() + 1000;
    while (pooledSockets(agent) > 0 && Date.now() < giveUpAt) {
      for (const s of [...socketsOf(agent.sockets), ...socketsOf(agent.freeSockets)]) s.destroy();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

function why(e: unknown): string {
  const err = e as { response?: { status: number }; code?: string; message?: string };
  return err.response ? `HTTP ${err.response.status}` : (err.code ?? err.message ?? String(e));
}

function socketsOf(pool: NodeJS.ReadOnlyDict<Socket[]>): Socket[] {
  return Object.values(pool).flatMap((list) => list ?? []);
}

export function pooledSockets(agent: http.Agent): number {
  return socketsOf(agent.sockets).length + socketsOf(agent.freeSockets).length;
}

/** The axios base URL of a host as configured; a leading `http://` and trailing slashes are tolerated. */
export function buildBaseURL(host: string, port?: number): string {
  let parsed: { hostname: string; port: number | null };
  try {
    parsed = parseHost(
      host
        .trim()
        .replace(/^https?:\/\//i, '')
        .replace(/\/+$/, ''),
    );
  } catch {
    throw new PanelError('client', `invalid panel host "${host}"`);
  }
  const p = port ?? parsed.port;
  const name = parsed.hostname.includes(':') ? `[${parsed.hostname}]` : parsed.hostname;
  return `http://${name}${p === null || p === 80 ? '' : `:${p}`}`;
}
