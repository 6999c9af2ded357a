import type http from 'node:http';
import type { LookupFunction } from 'node:net';
import { circuitById } from '../../model/circuit-map';
import { EnergyGuard } from '../../model/energy-guard';
import {
  shedToV1Priority,
  v1PriorityToShed,
  type DataModel,
  type PanelSnapshot,
  type SettableRelay,
  type SettablePriority,
} from '../../model/panel';
import { asPanelError, PanelError, refuseUnsettableRelay } from '../errors';
import { PanelHttpClient, type DebugLogger, type RetryStats } from '../http/panel-http';
import type { CommandOutcome, PanelTransport } from '../transport';
import { normalizeV1Snapshot, parseV1Circuit, parseV1Status, V1_PATHS, type V1Circuit } from './normalize';
import { parseJson, readerFor } from './validate';

export interface V1TransportOptions {
  /** Panel host or IP, optionally "host:port". */
  host: string;
  port?: number;
  /** v1 Bearer token; may be empty for probe() and register(). Never logged. */
  token?: string;
  /** Per-request timeout, default 5000 ms (the supervisor passes min(5 s, max(1 s, 0.6 × interval))). */
  requestTimeoutMs?: number;
  /** Hard bound for one call including its retry, default 2 × requestTimeoutMs + 500 ms. */
  callDeadlineMs?: number;
  /** Pooled sockets idle longer than this are dropped; default 3000 ms (panel closes at 5 s). */
  idleSocketMs?: number;
  /** Keep-alive race mitigation, default true. false only for control tests. */
  mitigation?: boolean;
  logger?: DebugLogger;
  /** Jitter source for gateway retry delays. */
  random?: () => number;
  /** Clock for snapshot timestamps. */
  now?: () => number;
  /** Name resolution override, for tests of an unreachable panel. */
  lookup?: LookupFunction;
  /** The panel's energy guard, shared across transport rebuilds (and persisted by the caller). */
  energyGuard?: EnergyGuard;
}

/** What a command's POST failure says about whether the panel may have applied it. */
function outcomeUnknown(err: PanelError): boolean {
  if (err.status !== undefined) return err.status >= 200 && err.status < 300; // a 2xx whose body was cut
  return ['timeout', 'stale-socket', 'protocol', 'unknown'].includes(err.errorClass);
}

const REGISTER_HELP = 'open the panel door and press the door switch 3 times, then retry within 15 minutes';

/**
 * The legacy v1 REST client (MAIN 32 panels; SPAN switches it off on 2026-12-31). Polls four endpoints in
 * parallel, validates and normalizes them, and sends relay/priority commands exactly once.
 */
export class V1Transport implements PanelTransport {
  readonly api = 'v1' as const;
  private model: DataModel | null = null;
  private readonly http: PanelHttpClient;
  private readonly guard: EnergyGuard;
  private readonly token: string;
  private readonly now: () => number;
  private lastSnapshot: PanelSnapshot | null = null;

  constructor(opts: V1TransportOptions) {
    this.token = opts.token ?? '';
    this.guard = opts.energyGuard ?? new EnergyGuard();
    this.now = opts.now ?? Date.now;
    this.http = new PanelHttpClient({
      host: opts.host,
      port: opts.port,
      requestTimeoutMs: opts.requestTimeoutMs,
      callDeadlineMs: opts.callDeadlineMs,
      idleSocketMs: opts.idleSocketMs,
      mitigation: opts.mitigation,
      logger: opts.logger,
      random: opts.random,
      lookup: opts.lookup,
    });
  }

  get dataModel(): DataModel | null {
    return this.model;
  }

  /** The HTTP agent in use (tests: pooling, reset, close). */
  get agent(): http.Agent {
    return this.http.agent;
  }

  get retryStats(): Readonly<RetryStats> {
    return this.http.retryStats;
  }

  get baseURL(): string {
    return this.http.baseURL;
  }

  private async getJson(path: string, signal: AbortSignal, auth = true): Promise<unknown> {
    const res = await this.http.request({
      method: 'GET',
      path,
      signal,
      token: auth ? this.token : undefined,
    });
    this.model = 'v1-rest';
    return parseJson(res.text, `GET ${path}`);
  }

  async readSnapshot(signal: AbortSignal): Promise<PanelSnapshot> {
    const bodies = await allOrAbort(signal, (cycle) => [
      this.getJson(V1_PATHS.status, cycle),
      this.getJson(V1_PATHS.panel, cycle),
      this.getJson(V1_PATHS.circuits, cycle),
      // Storage is optional: a panel without it answers 404.
      this.getJson(V1_PATHS.soe, cycle).catch((e: unknown) => {
        if (e instanceof PanelError && e.status === 404) return null;
        throw e;
      }),
    ]).catch((e: unknown) => {
      const err = asPanelError(e);
      // A stale socket even after the retry, or a mangled exchange: start the next cycle on fresh sockets.
      if (err.errorClass === 'stale-socket' || (err.errorClass === 'protocol' && err.code !== undefined)) {
        this.http.reset();
      }
      throw err;
    });
    const [status, panel, circuits, soe] = bodies;
    const snapshot = normalizeV1Snapshot({ status, panel, circuits, soe }, this.guard, this.now());
    this.lastSnapshot = snapshot;
    return snapshot;
  }

  async probe(signal: AbortSignal): Promise<void> {
    // /api/v1/status answers without a token: a cheap liveness check that works while auth is failing.
    parseV1Status(await this.getJson(V1_PATHS.status, signal, false));
  }

  async checkAuth(signal: AbortSignal): Promise<void> {
    // /api/v1/panel needs the token: one request says whether the panel accepts it again.
    await this.getJson(V1_PATHS.panel, signal);
  }

  reset(): void {
    this.http.reset();
  }

  /** The circuit as the panel last described it; refuses unknown and locked circuits before anything is sent. */
  private async commandableCircuit(circuitId: string, signal: AbortSignal): Promise<V1Circuit> {
    if (typeof circuitId !== 'string' || circuitId.trim() === '') {
      throw new PanelError('refused-command', 'no circuit id given: command not sent');
    }
    let circuit: V1Circuit | undefined = this.lastSnapshot
      ? circuitById(this.lastSnapshot.circuits, circuitId)
      : undefined;
    if (!circuit) {
      const path = V1_PATHS.circuit(circuitId);
      try {
        circuit = parseV1Circuit(await this.getJson(path, signal), `GET ${path}`);
      } catch (e) {
        if (e instanceof PanelError && (e.status === 404 || e.status === 422)) {
          throw new PanelError('refused-command', `unknown circuit ${circuitId}: command not sent`, {
            status: e.status,
          });
        }
        throw e;
      }
    }
    if (circuit.controllable !== true) {
      throw new PanelError(
        'refused-command',
        `circuit ${circuitId} (${circuit.name ?? 'unnamed'}) is not user-controllable: command not sent`,
      );
    }
    return circuit;
  }

  /** POSTs one command body exactly once. Returns the failure when the panel may have applied it anyway. */
  private async postOnce(
    circuitId: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<{ text: string | null; lost: PanelError | null }> {
    try {
      const res = await this.http.request({
        method: 'POST',
        path: V1_PATHS.circuit(circuitId),
        signal,
        token: this.token,
        body,
      });
      return { text: res.text, lost: null };
    } catch (e) {
      const err = asPanelError(e);
      if (!outcomeUnknown(err) || signal.aborted) throw err;
      return { text: null, lost: err };
    }
  }

  async setRelay(circuitId: string, state: SettableRelay, signal: AbortSignal): Promise<CommandOutcome> {
    refuseUnsettableRelay(state);
    await this.commandableCircuit(circuitId, signal);
    const { lost } = await this.postOnce(circuitId, { relayStateIn: { relayState: state } }, signal);
    const lostNote = lost ? `reply to the command was lost (${lost.message})` : undefined;

    // Confirm by reading the circuit back (a GET: safe to retry; the POST is never repeated).
    const path = V1_PATHS.circuit(circuitId);
    let observed: string | null = null;
    try {
      observed = parseV1Circuit(await this.getJson(path, signal), `GET ${path}`).relay;
    } catch (e) {
      if (signal.aborted) throw asPanelError(e);
      const note = `confirmation read failed (${asPanelError(e).message})`;
      return {
        result: 'unconfirmed',
        circuitId,
        requested: state,
        observed: null,
        note: joinNotes(lostNote, note),
      };
    }
    const confirmed = observed === state;
    return {
      result: confirmed ? 'confirmed' : 'unconfirmed',
      circuitId,
      requested: state,
      observed,
      ...(lostNote || !confirmed
        ? { note: joinNotes(lostNote, confirmed ? undefined : `panel reports ${observed ?? 'nothing'}`) }
        : {}),
    };
  }

  async setPriority(
    circuitId: string,
    priority: SettablePriority,
    signal: AbortSignal,
  ): Promise<CommandOutcome> {
    const v1 = shedToV1Priority(priority);
    if (v1 === 'UNKNOWN') {
      throw new PanelError('refused-command', `invalid priority ${String(priority)}: command not sent`);
    }
    await this.commandableCircuit(circuitId, signal);
    const { text, lost } = await this.postOnce(circuitId, { priorityIn: { priority: v1 } }, signal);
    let observed: string | null = null;
    if (text !== null) {
      try {
        observed = v1PriorityToShed(parseV1Circuit(parseJson(text, 'POST'), 'POST').priorityRaw);
      } catch {
        observed = null; // the command went through; an odd reply body does not change that
      }
    }
    return {
      result: 'unconfirmed',
      circuitId,
      requested: priority,
      observed,
      // Documented SPAN behaviour (HA v1-legacy.md "Circuit Priority"): accepted, then not kept.
      note: joinNotes(
        lost ? `reply to the command was lost (${lost.message})` : undefined,
        'v1 does not persist priority changes',
      ),
    };
  }

  /**
   * Registers a new API client during the door-proximity window and returns its token (to the caller only:
   * it is never logged or put in an error).
   */
  async register(
    name: string,
    signal: AbortSignal,
    description = 'Node-RED SPAN panel nodes',
  ): Promise<{ accessToken: string }> {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new PanelError('client', 'register: a client name is required');
    }
    const path = V1_PATHS.register;
    let text: string;
    try {
      text = (await this.http.request({ method: 'POST', path, signal, body: { name, description } })).text;
    } catch (e) {
      const err = asPanelError(e);
      if (err.status === 401 || err.status === 403 || err.status === 412 || err.status === 422) {
        throw new PanelError(
          'auth',
          `POST ${path}: HTTP ${err.status}: the panel refused registration; ${REGISTER_HELP}`,
          {
            status: err.status,
          },
        );
      }
      throw err;
    }
    const reader = readerFor(parseJson(text, `POST ${path}`), `POST ${path}`);
    return { accessToken: reader.string('accessToken') };
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

function joinNotes(...notes: Array<string | undefined>): string {
  return notes.filter((n): n is string => !!n).join('; ');
}

/**
 * Runs sibling requests under one AbortController tied to `signal`: the first failure aborts the others (no
 * request is left running), and the call settles only once all of them have.
 */
async function allOrAbort<T extends readonly unknown[]>(
  signal: AbortSignal,
  start: (cycle: AbortSignal) => { [K in keyof T]: Promise<T[K]> },
): Promise<T> {
  const cycle = new AbortController();
  const onAbort = () => cycle.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  let firstError: unknown = undefined;
  let failed = false;
  try {
    const tasks = start(cycle.signal).map((p: Promise<unknown>) =>
      p.catch((e: unknown) => {
        if (!failed) {
          failed = true;
          firstError = e;
          cycle.abort(new PanelError('canceled', 'a sibling request failed'));
        }
        throw e;
      }),
    );
    const settled = await Promise.allSettled(tasks);
    if (failed) throw firstError;
    return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

export function createV1Transport(opts: V1TransportOptions): V1Transport {
  return new V1Transport(opts);
}
