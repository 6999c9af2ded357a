import type { PanelSnapshot, SettablePriority, SettableRelay } from '../model/panel';
import { asPanelError, PanelError } from '../transport/errors';
import type { CommandOutcome, PanelTransport } from '../transport/transport';
import { Deadline } from '../util/deadline';
import { SILENT_LOGGER, type Logger } from '../util/logger';
import { settleBy } from '../util/settle-by';
import { ApiTracker } from './api-tracker';
import { AuthProbeRamp } from './auth-probe';
import { CommandRunner } from './command-runner';
import { FailureStreak } from './failure-streak';
import { buildHealth, formatDuration, SlowCycles, withAge, type Decision } from './health';
import { OfflinePolicy } from './offline-policy';
import { Subscribers } from './subscribers';
import type { SupervisorOptions, TransportCause } from './options';
import { loopTimingFor, type TimingPolicy } from './timing';
import { Watchdog } from './watchdog';
import type { DataEvent, HealthEvent, HealthState, PanelHealthSupervisor, SupervisorListener } from './types';

export type { SupervisorOptions, TransportCause } from './options';
export { formatDuration } from './health';

/**
 * One per panel, shared by every node of that panel. A single self-rescheduling loop (never overlapping,
 * the next run always scheduled in `finally`) reads the panel, classifies failures, backs off while
 * offline, and fans data and health out to subscribers. The only terminal state is `stopped`.
 */
export class PanelSupervisor implements PanelHealthSupervisor {
  private readonly opts: SupervisorOptions;
  private readonly timing: TimingPolicy;
  private readonly logger: Logger;
  private readonly offline: OfflinePolicy;
  private readonly listeners: Subscribers;
  private readonly streak: FailureStreak;

  private state: HealthState = 'stopped';
  private current: HealthEvent;
  private transport: PanelTransport | null = null;
  /** Bumped by stop()/restart(): completions of older cycles are ignored. */
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly watchdog: Watchdog;
  private inFlight: Promise<void> | null = null;
  private inFlightAbort: AbortController | null = null;
  private pendingKick = false;
  private nextAttemptAt: number | null = null;
  private lastAttemptStartedAt = 0;
  private readonly authRamp: AuthProbeRamp;
  private readonly apis: ApiTracker;
  private readonly commands: CommandRunner;
  private latestData: DataEvent | null = null;
  private readonly slow: SlowCycles;
  /** Counts for tests and benchmarks. */
  readonly counters = { cycles: 0, failures: 0, watchdogRescues: 0, transportsCreated: 0 };

  constructor(opts: SupervisorOptions) {
    this.opts = opts;
    this.timing = loopTimingFor(opts.intervalMs, opts.timing);
    this.logger = opts.logger ?? SILENT_LOGGER;
    const random = opts.random ?? Math.random;
    this.listeners = new Subscribers(this.logger, opts.label);
    this.offline = new OfflinePolicy(this.timing, { ...opts, random });
    this.slow = new SlowCycles(this.timing.requestTimeoutMs);
    this.authRamp = new AuthProbeRamp(this.logger, opts.label, {
      initialMs: opts.authProbeInitialMs,
      capMs: opts.authProbeMs,
      random,
    });
    this.apis = new ApiTracker(this.logger, opts.label, opts.apiWatch);
    this.commands = new CommandRunner({
      transport: () => this.transport,
      state: () => this.state,
      deadlineMs: this.timing.requestTimeoutMs * 2 + 5000,
      settled: () => {
        if (this.state === 'online' || this.state === 'degraded') this.kick();
      },
    });
    this.streak = new FailureStreak(this.logger, opts.label);
    this.watchdog = new Watchdog(
      this.timing.cycleDeadlineMs,
      () => ({
        stopped: this.state === 'stopped',
        inFlight: this.inFlight !== null,
        cycleStartedAt: this.lastAttemptStartedAt,
        scheduled: this.timer !== null,
        nextAttemptAt: this.nextAttemptAt,
      }),
      (hung) => this.rescue(hung),
    );
    this.current = this.healthEvent('stopped', null, 'not started');
  }

  get health(): HealthEvent {
    return this.current;
  }

  get latest(): DataEvent | null {
    return this.latestData ? withAge(this.latestData) : null;
  }

  get timingPolicy(): TimingPolicy {
    return this.timing;
  }

  /** The transport in use (for tests and admin endpoints); null before detection. */
  get activeTransport(): PanelTransport | null {
    return this.transport;
  }

  subscribe(listener: SupervisorListener): () => void {
    return this.listeners.add(listener);
  }

  start(): void {
    if (this.state !== 'stopped') return;
    this.generation += 1;
    // A clean slate: no failure history, no latency history, no pending kick.
    this.clearFailures();
    this.slow.reset();
    this.pendingKick = false;
    this.applyState({ state: 'connecting', reason: 'starting', delayMs: 0 }, true);
    this.schedule(0);
    this.watchdog.start(
      this.opts.watchdogMs ?? Math.max(2 * this.timing.intervalMs, 2 * this.timing.backoffCapMs),
    );
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
      return withAge(fresh);
    }
    // While the panel is failing an input message must not bypass the interval or the backoff: answer with
    // the last snapshot (marked stale) and leave the next attempt to the schedule.
    if (this.streak.failures > 0 || this.state === 'offline' || this.state === 'auth-failed') {
      if (this.latestData) return withAge({ ...this.latestData, stale: true });
      throw this.streak.lastError ?? new PanelError('unknown', `panel is ${this.state}`);
    }
    const requestedAt = Date.now();
    if (!this.inFlight) this.runNow();
    await this.inFlight;
    const data = this.latestData;
    if (data && !data.stale && data.snapshot.receivedAt >= requestedAt) return withAge(data);
    throw this.streak.lastError ?? new PanelError('unknown', 'no data from the panel');
  }

  /** Commands to one circuit run one at a time, in arrival order (command-runner.ts). */
  async setRelay(circuitId: string, state: SettableRelay): Promise<CommandOutcome> {
    return this.commands.setRelay(circuitId, state);
  }

  async setPriority(circuitId: string, priority: SettablePriority): Promise<CommandOutcome> {
    return this.commands.setPriority(circuitId, priority);
  }

  async setChargeCurrent(circuitId: string, amps: number): Promise<CommandOutcome> {
    return this.commands.setChargeCurrent(circuitId, amps);
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
    const abort = new Deadline(
      this.timing.cycleDeadlineMs,
      () => new PanelError('timeout', `no complete answer within ${this.timing.cycleDeadlineMs} ms`),
    );
    this.inFlightAbort = abort;
    this.lastAttemptStartedAt = Date.now();
    this.nextAttemptAt = null;
    this.counters.cycles += 1;
    const startedAt = Date.now();
    let decision: Decision;
    try {
      const recovered = this.streak.failures > 0;
      const snapshot = await settleBy(this.readOnce(abort.signal), abort.signal);
      if (gen !== this.generation) return;
      const duration = Date.now() - startedAt;
      const upgrade = await this.apis.betterApiAvailable(this.transport, recovered, abort.signal);
      if (gen !== this.generation) return;
      decision = this.onSuccess(snapshot, duration);
      if (upgrade) {
        decision = ApiTracker.switching(this.transport?.api ?? 'v1');
        this.dropTransport();
      }
    } catch (e) {
      if (gen !== this.generation) return;
      decision = this.onFailure(asPanelError(e));
    } finally {
      abort.dispose();
      if (this.inFlightAbort === abort) this.inFlightAbort = null;
    }
    // Scheduling first, then notifying: a throwing or slow subscriber can never cost us the next cycle.
    if (this.pendingKick && decision.state !== 'offline' && decision.state !== 'auth-failed') {
      decision.delayMs = 0;
    }
    this.pendingKick = false;
    this.schedule(decision.delayMs);
    this.applyState(decision, false);
    if (decision.state !== 'auth-failed' && this.latestData) this.listeners.data(withAge(this.latestData));
  }

  private async readOnce(signal: AbortSignal): Promise<PanelSnapshot> {
    const transport = this.transport ?? (await this.createTransport(signal));
    // A cheap probe first while offline: a down panel costs one tiny request per backoff step. While
    // auth-failed, one authenticated request tells whether the credential works again.
    if (this.state === 'offline') await transport.probe(signal);
    else if (this.state === 'auth-failed') await transport.checkAuth?.(signal);
    return transport.readSnapshot(signal);
  }

  private async createTransport(signal: AbortSignal): Promise<PanelTransport> {
    const rejections = this.authRamp.rejections;
    const cause: TransportCause = rejections > 0 ? 'auth' : 'start';
    const t = await this.opts.createTransport(signal, cause, rejections);
    this.counters.transportsCreated += 1;
    if (signal.aborted) {
      await t.close().catch(() => undefined);
      throw signal.reason ?? new PanelError('timeout', 'aborted while connecting');
    }
    this.transport = t;
    this.apis.adopted(t);
    t.onData?.(() => {
      if (t === this.transport && this.opts.intervalMs === 0) this.kick();
    });
    t.onConnectionChange?.((connected) => {
      // Re-check at once so health follows the broker connection without waiting for the interval; while
      // offline only a reconnect is news (a repeated disconnect must not bypass the backoff).
      if (t === this.transport && (connected || this.state !== 'offline')) this.kick();
    });
    return t;
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
    const outageMs = this.streak.succeeded();
    if (wasUnhealthy) {
      this.logger.info(`${this.opts.label}: back online after ${formatDuration(outageMs ?? 0)}`);
    }
    this.clearFailures();
    this.latestData = { snapshot, stale: false, dataAgeMs: 0 };
    const slow = this.slow.record(durationMs);
    return {
      state: slow ? 'degraded' : 'online',
      reason: slow ? 'slow responses' : wasUnhealthy || this.state !== 'online' ? 'recovered' : 'ok',
      delayMs: this.timing.intervalMs,
    };
  }

  private onFailure(err: PanelError): Decision {
    this.counters.failures += 1;
    const since = this.streak.failed(err);
    if (err.detected && !this.transport) this.apis.note(err.detected.api, err.detected.dataModel);
    if (this.latestData && !this.latestData.stale) this.latestData = { ...this.latestData, stale: true };

    if (err.errorClass === 'auth' || err.errorClass === 'needs-registration') {
      // A rejected transport is never kept: the next attempt re-reads the credentials, and a v2 transport's
      // reconnect loop must not keep knocking while the supervisor owns the retry timing.
      this.dropTransport();
      return this.authRamp.onRejection(err, this.state);
    }
    if (this.apis.redetectAfterFailure(this.transport, this.streak.failures)) this.dropTransport();

    const decision = this.offline.decide(err, this.state, this.streak.failures, since);
    if (decision.state === 'offline' && this.state !== 'offline') {
      this.logger.warn(
        `${this.opts.label}: panel offline (${decision.reason}); retrying with backoff up to ` +
          `${Math.round(this.timing.backoffCapMs / 1000)} s`,
      );
      // Half-open sockets survive reboots and IP changes without a FIN: start the next attempt on fresh ones.
      if (this.transport) this.transport.reset();
    }
    return decision;
  }

  /** The watchdog found the loop stalled (watchdog.ts): abort a hung cycle, schedule one now. */
  private rescue(hung: boolean): void {
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
    this.current = this.healthEvent(decision.state, previous, decision.reason, transition);
    this.listeners.health(this.current);
  }

  private healthEvent(state: HealthState, previous: HealthState | null, reason: string, transition = true) {
    return buildHealth(state, previous, reason, transition, {
      nextAttemptAt: this.nextAttemptAt,
      ...this.streak.facts(),
      ...this.apis.shown(this.transport),
    });
  }

  // ---- lifecycle helpers ---------------------------------------------------------------------------------

  private dropTransport(): void {
    const t = this.transport;
    this.transport = null;
    if (!t) return;
    this.apis.dropped(t);
    t.close().catch((e) => this.logger.debug(`${this.opts.label}: closing transport: ${String(e)}`));
  }

  private async teardown(): Promise<void> {
    this.generation += 1;
    if (this.timer) clearTimeout(this.timer);
    this.watchdog.stop();
    this.timer = null;
    this.nextAttemptAt = null;
    this.inFlightAbort?.abort(new PanelError('canceled', 'panel connection stopped'));
    this.inFlightAbort = null;
    this.inFlight = null;
    const t = this.transport;
    this.transport = null;
    if (t) await t.close().catch(() => undefined);
  }

  /** The panel answered: forget the failure streak and its backoff. */
  private clearFailures(): void {
    this.streak.clear();
    this.authRamp.reset();
    this.offline.reset();
  }
}
