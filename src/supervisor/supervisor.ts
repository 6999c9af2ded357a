import type { PanelSnapshot } from '../model/panel';
import { asPanelError, PanelError } from '../transport/errors';
import type { CommandOutcome, PanelTransport } from '../transport/transport';
import { Backoff } from './backoff';
import { FailureLog } from './failure-log';
import { KeyedQueue } from './keyed-queue';
import { clamp, timingFor, type TimingPolicy } from './timing';
import type {
  ApiWatch,
  DataEvent,
  HealthEvent,
  HealthState,
  Logger,
  PanelHealthSupervisor,
  SupervisorListener,
} from './types';
import { settleBy } from '../util/settle-by';

export interface SupervisorOptions {
  /**
   * Creates the transport (and detects the API on `auto`). Called at start, after every authentication
   * rejection (so credentials changed meanwhile are re-read; `authRejections` counts the rejections in a
   * row), after the API watch dropped a transport, and after restart(). May throw a PanelError.
   */
  createTransport: (
    signal: AbortSignal,
    cause: TransportCause,
    authRejections: number,
  ) => Promise<PanelTransport>;
  /** Re-tests the API decision (`auto` only); absent = the API detected first is kept. */
  apiWatch?: ApiWatch;
  /** Called once by stop(), after the transport is closed (releases what createTransport shares). */
  dispose?: () => void;
  /** Poll / snapshot interval P in ms. 0 = push every change (v2 only); health is then checked every 5 s. */
  intervalMs: number;
  /** Names the panel in log lines, e.g. "SPAN panel 192.168.1.20". Never a secret. */
  label: string;
  logger?: Logger;
  timing?: Partial<Omit<TimingPolicy, 'intervalMs' | 'recoveryBoundMs'>>;
  /** `offline` after this many consecutive failed cycles… */
  offlineAfterFailures?: number;
  /** …and at least this long since the first failure (default min(15 s, 3·P)). */
  offlineAfterMs?: number;
  /** First probe after an authentication rejection (default 10 s); doubles per probe… */
  authProbeInitialMs?: number;
  /** …up to this period (default 5 min); ±20 % jitter. */
  authProbeMs?: number;
  backoffInitialMs?: number;
  /** Watchdog period (default max(2·P, 2·cap)). */
  watchdogMs?: number;
  random?: () => number;
}

/** Why a transport is being (re)created: 'auth' means the previous attempt was rejected by the panel. */
export type TransportCause = 'start' | 'auth';

/** Interval used for health checks when data is pushed on every change (intervalMs = 0). */
const PUSH_HEALTH_INTERVAL_MS = 5000;
const MAX_RETRY_AFTER_MS = 60_000;
const LEGACY_SUNSET = '2026-12-31';

interface Decision {
  state: HealthState;
  reason: string;
  delayMs: number;
}

/**
 * One per panel, shared by every node of that panel. A single self-rescheduling loop (never overlapping,
 * the next run always scheduled in `finally`) reads the panel, classifies failures, backs off while
 * offline, and fans data and health out to subscribers. The only terminal state is `stopped`.
 */
export class PanelSupervisor implements PanelHealthSupervisor {
  private readonly opts: SupervisorOptions;
  private readonly timing: TimingPolicy;
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly backoff: Backoff;
  private readonly listeners = new Set<SupervisorListener>();
  private readonly failureLog: FailureLog;

  private state: HealthState = 'stopped';
  private current: HealthEvent;
  private transport: PanelTransport | null = null;
  /** Bumped by stop()/restart(): completions of older cycles are ignored. */
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private watchdogTimer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private inFlightAbort: AbortController | null = null;
  private pendingKick = false;
  private nextAttemptAt: number | null = null;
  private lastAttemptStartedAt = 0;
  private consecutiveFailures = 0;
  private firstFailureAt: number | null = null;
  private lastSuccessAt: number | null = null;
  /** Length of the outage that the last success ended (reported once, with the recovery). */
  private lastOutageMs: number | null = null;
  private lastError: PanelError | null = null;
  /** Authentication rejections in a row (reset by any success). */
  private authRejections = 0;
  private readonly authBackoff: Backoff;
  private legacyWarned = false;
  /** API and data model of the last transport, shown while none is connected (re-detection, auth probes). */
  private lastApi: { api: 'v1' | 'v2'; dataModel: PanelTransport['dataModel'] } | null = null;
  private readonly commands = new KeyedQueue();
  private latestData: DataEvent | null = null;
  private readonly recentDurations: number[] = [];
  /** Counts for tests and benchmarks. */
  readonly counters = { cycles: 0, failures: 0, watchdogRescues: 0, transportsCreated: 0 };

  constructor(opts: SupervisorOptions) {
    this.opts = opts;
    const loopMs = opts.intervalMs > 0 ? opts.intervalMs : PUSH_HEALTH_INTERVAL_MS;
    this.timing = timingFor(loopMs, opts.timing);
    this.logger = opts.logger ?? silentLogger;
    this.random = opts.random ?? Math.random;
    this.backoff = new Backoff({
      initialMs: opts.backoffInitialMs ?? 1000,
      factor: 1.6,
      jitter: 0.2,
      capMs: this.timing.backoffCapMs,
      random: this.random,
    });
    // Rejections ramp: a credential restored after a reboot or firmware update is back within a probe or two,
    // one revoked for good costs one request per cap period.
    const authCapMs = opts.authProbeMs ?? 300_000;
    this.authBackoff = new Backoff({
      initialMs: Math.min(opts.authProbeInitialMs ?? 10_000, authCapMs),
      factor: 2,
      jitter: 0.2,
      capMs: authCapMs,
      random: this.random,
    });
    this.failureLog = new FailureLog(this.logger, opts.label);
    this.current = this.buildHealth('stopped', null, 'not started');
  }

  get health(): HealthEvent {
    return this.current;
  }

  get latest(): DataEvent | null {
    return this.latestData ? this.withAge(this.latestData) : null;
  }

  get timingPolicy(): TimingPolicy {
    return this.timing;
  }

  /** The transport in use (for tests and admin endpoints); null before detection. */
  get activeTransport(): PanelTransport | null {
    return this.transport;
  }

  subscribe(listener: SupervisorListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  start(): void {
    if (this.state !== 'stopped') return;
    this.generation += 1;
    this.resetCounters();
    this.applyState({ state: 'connecting', reason: 'starting', delayMs: 0 }, true);
    this.schedule(0);
    this.armWatchdog();
  }

  /** Config changed (host, token…): drop everything and start over immediately, with backoff reset. */
  async restart(): Promise<void> {
    await this.teardown();
    this.state = 'stopped';
    this.start();
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped' && !this.transport && !this.timer) return;
    await this.teardown();
    this.opts.dispose?.();
    this.applyState({ state: 'stopped', reason: 'stopped', delayMs: 0 }, false);
  }

  reconnect(why: string): void {
    if (this.state === 'stopped') return;
    this.logger.info(`${this.opts.label}: ${why}: connecting again now`);
    void this.restart().catch((e: unknown) =>
      this.logger.error(`${this.opts.label}: reconnecting failed: ${(e as Error).message}`),
    );
  }

  async refresh(): Promise<DataEvent> {
    if (this.state === 'stopped') throw new PanelError('canceled', 'the panel connection is stopped');
    const fresh = this.latestData;
    if (fresh && !fresh.stale && Date.now() - fresh.snapshot.receivedAt < this.timing.intervalMs / 2) {
      return this.withAge(fresh);
    }
    // While the panel is failing an input message must not bypass the interval or the backoff: answer with
    // the last snapshot (marked stale) and leave the next attempt to the schedule.
    if (this.consecutiveFailures > 0 || this.state === 'offline' || this.state === 'auth-failed') {
      if (this.latestData) return this.withAge({ ...this.latestData, stale: true });
      throw this.lastError ?? new PanelError('unknown', `panel is ${this.state}`);
    }
    const requestedAt = Date.now();
    if (!this.inFlight) this.runNow();
    await this.inFlight;
    const data = this.latestData;
    if (data && !data.stale && data.snapshot.receivedAt >= requestedAt) return this.withAge(data);
    throw this.lastError ?? new PanelError('unknown', 'no data from the panel');
  }

  async setRelay(circuitId: string, state: 'OPEN' | 'CLOSED'): Promise<CommandOutcome> {
    return this.command(circuitId, (t, signal) => t.setRelay(circuitId, state, signal));
  }

  async setPriority(
    circuitId: string,
    priority: 'NEVER' | 'SOC_THRESHOLD' | 'OFF_GRID',
  ): Promise<CommandOutcome> {
    return this.command(circuitId, (t, signal) => t.setPriority(circuitId, priority, signal));
  }

  async setChargeCurrent(circuitId: string, amps: number): Promise<CommandOutcome> {
    return this.command(circuitId, (t, signal) => {
      if (!t.setChargeCurrent) {
        throw new PanelError('refused-command', 'this panel API has no EV charger control: command not sent');
      }
      return t.setChargeCurrent(circuitId, amps, signal);
    });
  }

  // ---- the loop ------------------------------------------------------------------------------------------

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.nextAttemptAt = Date.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.runNow();
    }, delayMs);
  }

  /** Starts a cycle now unless one is in flight (single flight: callers join `inFlight`). */
  private runNow(): void {
    if (this.inFlight || this.state === 'stopped') return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const gen = this.generation;
    this.inFlight = this.runCycle(gen).finally(() => {
      if (gen === this.generation) this.inFlight = null;
    });
  }

  private async runCycle(gen: number): Promise<void> {
    const abort = new AbortController();
    this.inFlightAbort = abort;
    this.lastAttemptStartedAt = Date.now();
    this.nextAttemptAt = null;
    this.counters.cycles += 1;
    const deadline = setTimeout(
      () =>
        abort.abort(new PanelError('timeout', `no complete answer within ${this.timing.cycleDeadlineMs} ms`)),
      this.timing.cycleDeadlineMs,
    );
    const startedAt = Date.now();
    let decision: Decision;
    try {
      const recovered = this.consecutiveFailures > 0;
      const snapshot = await settleBy(this.readOnce(abort.signal), abort.signal);
      if (gen !== this.generation) return;
      const duration = Date.now() - startedAt;
      const upgrade = await this.betterApiAvailable(recovered, abort.signal);
      if (gen !== this.generation) return;
      decision = this.onSuccess(snapshot, duration);
      if (upgrade) decision = this.switchApi();
    } catch (e) {
      if (gen !== this.generation) return;
      decision = this.onFailure(asPanelError(e));
    } finally {
      clearTimeout(deadline);
      if (this.inFlightAbort === abort) this.inFlightAbort = null;
    }
    // Scheduling first, then notifying: a throwing or slow subscriber can never cost us the next cycle.
    if (this.pendingKick && decision.state !== 'offline' && decision.state !== 'auth-failed') {
      decision.delayMs = 0;
    }
    this.pendingKick = false;
    this.schedule(decision.delayMs);
    this.applyState(decision, false);
    if (decision.state !== 'auth-failed' && this.latestData) this.emitData(this.latestData);
  }

  private async readOnce(signal: AbortSignal): Promise<PanelSnapshot> {
    const transport = this.transport ?? (await this.createTransport(signal));
    // A cheap probe first while offline: a down panel costs one tiny request per backoff step. While
    // auth-failed, one authenticated request tells whether the credential works again.
    if (this.state === 'offline') await transport.probe(signal);
    else if (this.state === 'auth-failed') await transport.checkAuth?.(signal);
    return transport.readSnapshot(signal);
  }

  /** Asks the API watch (auto only) whether the panel now offers a better API; bounded by the cycle. */
  private async betterApiAvailable(recovered: boolean, signal: AbortSignal): Promise<boolean> {
    const watch = this.opts.apiWatch;
    const t = this.transport;
    if (!watch || !t) return false;
    return settleBy(watch.betterApiAvailable(t, recovered, signal), signal).catch(() => false);
  }

  /** The panel was upgraded under us: rebuild on the next cycle (detection picks the new API). */
  private switchApi(): Decision {
    const from = this.transport?.api ?? 'v1';
    this.dropTransport();
    return {
      state: 'connecting',
      reason: `the panel now offers the SPAN API (v2): switching from ${from}`,
      delayMs: 0,
    };
  }

  private async createTransport(signal: AbortSignal): Promise<PanelTransport> {
    const cause: TransportCause = this.authRejections > 0 ? 'auth' : 'start';
    const t = await this.opts.createTransport(signal, cause, this.authRejections);
    this.counters.transportsCreated += 1;
    if (signal.aborted) {
      await t.close().catch(() => undefined);
      throw signal.reason ?? new PanelError('timeout', 'aborted while connecting');
    }
    this.transport = t;
    this.noteApi(t.api, t.dataModel);
    t.onData?.(() => {
      if (t === this.transport && this.opts.intervalMs === 0) this.kick();
    });
    t.onConnectionChange?.((connected) => {
      // Re-check at once so health follows the broker connection without waiting for the interval; while
      // offline only a reconnect is news (a repeated disconnect must not bypass the backoff).
      if (t === this.transport && (connected || this.state !== 'offline')) this.kick();
    });
    if (t.api === 'v1' && !this.legacyWarned) {
      this.legacyWarned = true;
      this.logger.warn(
        `${this.opts.label}: this panel is on the legacy v1 REST API, which SPAN switches off on ${LEGACY_SUNSET}. ` +
          'Update the panel firmware (spanos2/r202603 or later) and set the API to "auto" or "v2".',
      );
    }
    return t;
  }

  /** Remembers the panel's API; a change (a firmware upgrade, the v1 sunset) is logged once, never per cycle. */
  private noteApi(api: 'v1' | 'v2', dataModel: PanelTransport['dataModel']): void {
    if (this.lastApi && this.lastApi.api !== api) {
      this.logger.info(`${this.opts.label}: the panel's API changed from ${this.lastApi.api} to ${api}`);
    }
    this.lastApi = {
      api,
      dataModel: dataModel ?? (this.lastApi?.api === api ? this.lastApi.dataModel : null),
    };
  }

  /** Asks for a cycle as soon as possible, coalescing bursts of pushes into one cycle. */
  private kick(): void {
    if (this.state === 'stopped') return;
    if (this.inFlight) {
      this.pendingKick = true;
      return;
    }
    // Also while offline: a push means the broker is back, so one attempt now beats waiting out the backoff.
    this.schedule(0);
  }

  private onSuccess(snapshot: PanelSnapshot, durationMs: number): Decision {
    const wasUnhealthy = this.state === 'offline' || this.state === 'auth-failed';
    const outageMs = this.firstFailureAt === null ? null : Date.now() - this.firstFailureAt;
    if (wasUnhealthy) {
      this.logger.info(`${this.opts.label}: back online after ${formatDuration(outageMs ?? 0)}`);
    }
    this.clearFailures();
    this.lastSuccessAt = Date.now();
    this.latestData = { snapshot, stale: false, dataAgeMs: 0 };
    this.lastOutageMs = outageMs;
    const slow = this.recordDuration(durationMs);
    return {
      state: slow ? 'degraded' : 'online',
      reason: slow ? 'slow responses' : wasUnhealthy || this.state !== 'online' ? 'recovered' : 'ok',
      delayMs: this.timing.intervalMs,
    };
  }

  private onFailure(err: PanelError): Decision {
    this.counters.failures += 1;
    this.consecutiveFailures += 1;
    this.lastError = err;
    if (err.detected && !this.transport) this.noteApi(err.detected.api, err.detected.dataModel);
    if (this.firstFailureAt === null) this.firstFailureAt = Date.now();
    this.failureLog.debug(err);
    if (this.latestData && !this.latestData.stale) this.latestData = { ...this.latestData, stale: true };

    if (err.errorClass === 'auth' || err.errorClass === 'needs-registration') return this.onAuthFailure(err);
    this.maybeRedetect();

    const offlineAfterMs = this.opts.offlineAfterMs ?? Math.min(15_000, 3 * this.timing.intervalMs);
    const goesOffline =
      this.state === 'offline' ||
      (this.consecutiveFailures >= (this.opts.offlineAfterFailures ?? 3) &&
        Date.now() - this.firstFailureAt >= offlineAfterMs);

    // Honour Retry-After, but never beyond the backoff cap (≤ 60 s): a huge value must not break the
    // recovery bound max(P, 1.2·cap) + request timeout that users rely on.
    const retryAfter =
      err.retryAfterMs !== undefined
        ? clamp(
            err.retryAfterMs,
            this.timing.intervalMs,
            Math.min(MAX_RETRY_AFTER_MS, this.timing.backoffCapMs),
          )
        : 0;

    if (!goesOffline) {
      const state: HealthState = this.state === 'connecting' ? 'connecting' : 'degraded';
      return { state, reason: describe(err), delayMs: Math.max(this.timing.intervalMs, retryAfter) };
    }
    if (this.state !== 'offline') {
      this.logger.warn(
        `${this.opts.label}: panel offline (${describe(err)}); retrying with backoff up to ` +
          `${Math.round(this.timing.backoffCapMs / 1000)} s`,
      );
      // Half-open sockets survive reboots and IP changes without a FIN: start the next attempt on fresh ones.
      if (this.transport) this.transport.reset();
    }
    return { state: 'offline', reason: describe(err), delayMs: Math.max(this.backoff.next(), retryAfter) };
  }

  /** `auto` on v1: after a few failed cycles of any class, detect the API again (the v1 sunset, an upgrade). */
  private maybeRedetect(): void {
    const t = this.transport;
    if (!t || !this.opts.apiWatch?.redetectAfterFailure(t, this.consecutiveFailures)) return;
    this.logger.debug(
      `${this.opts.label}: ${this.consecutiveFailures} failed cycles on ${t.api}: detecting the API again`,
    );
    this.dropTransport();
  }

  private onAuthFailure(err: PanelError): Decision {
    this.authRejections += 1;
    // A rejected transport is never kept: the next attempt re-reads the credentials, and a v2 transport's
    // reconnect loop must not keep knocking while the supervisor owns the retry timing.
    this.dropTransport();
    if (err.errorClass === 'auth' && this.authRejections === 1) {
      // Retry at once (a credential just changed in the config, a broker restarting).
      const state: HealthState = this.state === 'online' ? 'degraded' : this.state;
      return { state, reason: describe(err), delayMs: 0 };
    }
    if (this.state !== 'auth-failed') {
      this.logger.warn(
        err.errorClass === 'needs-registration'
          ? `${this.opts.label}: registration needed: ${err.message}`
          : `${this.opts.label}: authentication failed (${describe(err)}). Polling is paused; the panel is ` +
              'probed after 10 s, then less and less often (every 5 min at most). Update the access token or ' +
              'passphrase in the panel configuration, or press "Register with panel".',
      );
    }
    return { state: 'auth-failed', reason: describe(err), delayMs: this.authBackoff.next() };
  }

  /**
   * True when the panel is slow: at least 3 of the last 10 cycles took more than half the request timeout.
   * (One cycle with an in-request retry is not "slow"; a panel that keeps answering late is.)
   */
  private recordDuration(ms: number): boolean {
    this.recentDurations.push(ms);
    if (this.recentDurations.length > 10) this.recentDurations.shift();
    const slow = this.recentDurations.filter((d) => d > 0.5 * this.timing.requestTimeoutMs).length;
    return slow >= 3;
  }

  // ---- commands ------------------------------------------------------------------------------------------

  /** Commands to one circuit run one at a time, in arrival order (see KeyedQueue). */
  private command(
    circuitId: string,
    run: (t: PanelTransport, signal: AbortSignal) => Promise<CommandOutcome>,
  ): Promise<CommandOutcome> {
    return this.commands.run(String(circuitId), () => this.commandNow(run));
  }

  private async commandNow(
    run: (t: PanelTransport, signal: AbortSignal) => Promise<CommandOutcome>,
  ): Promise<CommandOutcome> {
    const t = this.transport;
    if (!t || this.state === 'stopped') {
      throw new PanelError('refused-command', `panel is ${this.state}: command not sent`);
    }
    const abort = new AbortController();
    const deadline = setTimeout(
      () => abort.abort(new PanelError('timeout', 'command outcome unknown: no answer in time')),
      this.timing.requestTimeoutMs * 2 + 5000,
    );
    try {
      return await settleBy(run(t, abort.signal), abort.signal);
    } finally {
      clearTimeout(deadline);
      // Subscribers should see the new relay state soon, not one interval later.
      if (this.state === 'online' || this.state === 'degraded') this.kick();
    }
  }

  // ---- watchdog ------------------------------------------------------------------------------------------

  private armWatchdog(): void {
    const period = this.opts.watchdogMs ?? Math.max(2 * this.timing.intervalMs, 2 * this.timing.backoffCapMs);
    this.watchdogTimer = setInterval(() => this.watchdog(), period);
  }

  /**
   * Protects against the class of bug behind SPAN #242: a lost timer or a promise that never settles would
   * otherwise leave the panel "unavailable" until someone redeploys.
   */
  private watchdog(): void {
    if (this.state === 'stopped') return;
    const now = Date.now();
    const hung =
      this.inFlight !== null && now - this.lastAttemptStartedAt > this.timing.cycleDeadlineMs + 2000;
    const lost = this.inFlight === null && this.timer === null;
    const late = this.timer !== null && this.nextAttemptAt !== null && now > this.nextAttemptAt + 5000;
    if (!hung && !lost && !late) return;
    this.counters.watchdogRescues += 1;
    this.logger.warn(
      `${this.opts.label}: watchdog restarted a stalled poll loop (${hung ? 'hung cycle' : 'lost schedule'})`,
    );
    if (hung) {
      this.generation += 1;
      this.inFlightAbort?.abort(new PanelError('timeout', 'watchdog aborted a hung cycle'));
      this.inFlight = null;
      this.transport?.reset();
    }
    this.schedule(0);
  }

  // ---- state and fan-out ---------------------------------------------------------------------------------

  private applyState(decision: Decision, force: boolean): void {
    const previous = this.state;
    const transition = force || previous !== decision.state;
    const repeatWorthShowing =
      decision.state === 'offline' || decision.state === 'auth-failed' || decision.state === 'connecting';
    this.state = decision.state;
    if (!transition && !repeatWorthShowing && this.current.reason === decision.reason) return;
    this.current = this.buildHealth(decision.state, previous, decision.reason, transition);
    for (const l of [...this.listeners]) {
      try {
        l.onHealth?.(this.current);
      } catch (e) {
        this.logger.error(`${this.opts.label}: a health subscriber threw: ${(e as Error).message}`);
      }
    }
  }

  private emitData(data: DataEvent): void {
    const event = this.withAge(data);
    for (const l of [...this.listeners]) {
      try {
        l.onData?.(event);
      } catch (e) {
        this.logger.error(`${this.opts.label}: a data subscriber threw: ${(e as Error).message}`);
      }
    }
  }

  private buildHealth(
    state: HealthState,
    previous: HealthState | null,
    reason: string,
    transition = true,
  ): HealthEvent {
    const now = Date.now();
    const nextIn =
      state === 'stopped' || this.nextAttemptAt === null ? null : Math.max(0, this.nextAttemptAt - now);
    const unhealthy = state === 'offline' || state === 'degraded' || state === 'auth-failed';
    return {
      state,
      previous,
      reason,
      errorClass: state === 'online' || state === 'stopped' ? null : (this.lastError?.errorClass ?? null),
      consecutiveFailures: this.consecutiveFailures,
      lastSuccessAt: this.lastSuccessAt === null ? null : new Date(this.lastSuccessAt).toISOString(),
      nextAttemptAt: nextIn === null ? null : new Date(now + nextIn).toISOString(),
      nextAttemptInMs: nextIn,
      outageMs:
        unhealthy && this.firstFailureAt !== null
          ? now - this.firstFailureAt
          : state === 'online' && previous !== 'online'
            ? this.lastOutageMs
            : null,
      since: new Date(now).toISOString(),
      api: this.transport?.api ?? this.lastApi?.api ?? null,
      legacyApi: (this.transport?.api ?? this.lastApi?.api) === 'v1',
      dataModel: this.transport?.dataModel ?? this.lastApi?.dataModel ?? null,
      transition,
    };
  }

  private withAge(data: DataEvent): DataEvent {
    return { ...data, dataAgeMs: Math.max(0, Date.now() - data.snapshot.receivedAt) };
  }

  // ---- lifecycle helpers ---------------------------------------------------------------------------------

  private dropTransport(): void {
    const t = this.transport;
    this.transport = null;
    if (t) this.lastApi = { api: t.api, dataModel: t.dataModel ?? this.lastApi?.dataModel ?? null };
    if (t) t.close().catch((e) => this.logger.debug(`${this.opts.label}: closing transport: ${String(e)}`));
  }

  private async teardown(): Promise<void> {
    this.generation += 1;
    if (this.timer) clearTimeout(this.timer);
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.timer = null;
    this.watchdogTimer = null;
    this.nextAttemptAt = null;
    this.inFlightAbort?.abort(new PanelError('canceled', 'panel connection stopped'));
    this.inFlightAbort = null;
    this.inFlight = null;
    const t = this.transport;
    this.transport = null;
    if (t) await t.close().catch(() => undefined);
  }

  /** Start (or restart) from a clean slate: no failure history, no latency history, no pending kick. */
  private resetCounters(): void {
    this.clearFailures();
    this.recentDurations.length = 0;
    this.pendingKick = false;
  }

  /** The panel answered: forget the failure streak and its backoff. */
  private clearFailures(): void {
    this.failureLog.reset();
    this.consecutiveFailures = 0;
    this.firstFailureAt = null;
    this.lastError = null;
    this.authRejections = 0;
    this.authBackoff.reset();
    this.backoff.reset();
  }
}

function describe(err: PanelError): string {
  const detail = err.status !== undefined ? `HTTP ${err.status}` : err.code;
  return `${err.errorClass}${detail ? ` (${detail})` : ''}: ${err.message}`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  return `${(m / 60).toFixed(1)} h`;
}

const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
