/**
 * The heart of the span-panel config node, kept apart from the Node-RED glue: one supervisor per panel,
 * created and started when the first user node registers, stopped when the last one leaves and on close.
 * It holds exactly one subscription on the supervisor and fans health, status and data out to its users,
 * so a throwing user can never disturb the others or the supervisor's loop.
 */
import type { NodeStatus } from 'node-red';
import { ConnectionHistory } from '../../src/diagnostics/history';
import type { DataEvent, HealthEvent, PanelHealthSupervisor } from '../../src/supervisor/types';
import { PanelError } from '../../src/transport/errors';
import { withDeadline } from '../../src/util/deadline';
import { fanOut } from '../../src/util/fan-out';
import type { CommandOutcome } from '../../src/transport/transport';
import type { SettablePriority, SettableRelay } from '../../src/model/panel';
import {
  CA_CHANGED_STATUS,
  CONFIG_ERROR_STATUS,
  healthStatus,
  sameStatus,
  type StatusSpec,
} from './health-status';
import type { PanelEvent, PanelUser } from './panel-types';

export interface PanelHubOptions {
  /** Builds a new (not yet started) supervisor; null when the configuration is unusable. */
  createSupervisor: (() => PanelHealthSupervisor) | null;
  /** Why createSupervisor is null (secret-free), shown as a red status and logged once. */
  configError: string | null;
  /** Translates a status spec into what node.status() takes. */
  toNodeStatus: (spec: StatusSpec) => NodeStatus;
  /** Where a misbehaving user or a failed stop is reported. */
  reportError: (message: string) => void;
  /** The supervisor starts only once this settles (the saved energy counters are loaded). */
  beforeStart?: Promise<void>;
  /** Longest wait for a supervisor to stop before close() gives up waiting (default 5 s). */
  stopTimeoutMs?: number;
}

export class PanelHub {
  private readonly opts: PanelHubOptions;
  private readonly users = new Map<string, PanelUser>();
  private supervisor: PanelHealthSupervisor | null = null;
  private unsubscribe: (() => void) | null = null;
  private readonly pendingStops = new Set<Promise<void>>();
  private closed = false;
  private currentHealth: HealthEvent | null = null;
  private currentData: DataEvent | null = null;
  private status: StatusSpec | null = null;
  /** The panel presents a CA the `pinned` policy refused: red until it is trusted or the panel is online. */
  private caRefused = false;
  /** State changes and errors across supervisor restarts, for the diagnostics file. */
  readonly history = new ConnectionHistory();

  constructor(opts: PanelHubOptions) {
    this.opts = opts;
  }

  get health(): HealthEvent | null {
    return this.supervisor ? this.currentHealth : null;
  }

  get latest(): DataEvent | null {
    return this.supervisor?.latest ?? this.currentData;
  }

  get userCount(): number {
    return this.users.size;
  }

  /** 1 while a supervisor runs (one listener for all users), else 0. */
  get subscriptions(): number {
    return this.unsubscribe ? 1 : 0;
  }

  /** The running supervisor (tests and admin endpoints only). */
  get activeSupervisor(): PanelHealthSupervisor | null {
    return this.supervisor;
  }

  register(user: PanelUser): void {
    if (this.closed) return;
    this.users.set(user.node.id, user);
    if (!this.opts.createSupervisor) {
      this.show(user, this.opts.toNodeStatus(CONFIG_ERROR_STATUS));
      return;
    }
    if (!this.supervisor) {
      this.startSupervisor(this.opts.createSupervisor);
    } else {
      this.show(user, this.opts.toNodeStatus(this.status ?? healthStatus(this.currentHealth, this.latest)));
    }
  }

  /** Always calls done, at the latest after the stop timeout. */
  deregister(user: PanelUser, done: () => void): void {
    this.users.delete(user.node.id);
    if (this.users.size > 0 || !this.supervisor) {
      done();
      return;
    }
    this.stopSupervisor().then(done, done);
  }

  async refresh(): Promise<DataEvent> {
    return this.requireSupervisor().refresh();
  }

  async setRelay(circuitId: string, state: SettableRelay): Promise<CommandOutcome> {
    return this.requireSupervisor().setRelay(circuitId, state);
  }

  async setPriority(circuitId: string, priority: SettablePriority): Promise<CommandOutcome> {
    return this.requireSupervisor().setPriority(circuitId, priority);
  }

  /** Fans a panel event out to every user (span-status turns it into a message). */
  panelEvent(event: PanelEvent): void {
    if (this.closed) return;
    if (event.event === 'ca-changed') this.caRefused = !event.ca.accepted;
    this.updateStatus();
    this.toUsers((u) => u.onEvent?.(event, this.currentHealth));
  }

  /** New credentials were stored (editor registration): the running connection uses them now. */
  reconnect(why: string): void {
    this.supervisor?.reconnect(why);
  }

  async setChargeCurrent(circuitId: string, amps: number): Promise<CommandOutcome> {
    return this.requireSupervisor().setChargeCurrent(circuitId, amps);
  }

  /** Config node closing: stop everything, wait (bounded) for every stop in progress. Never rejects. */
  async close(): Promise<void> {
    this.closed = true;
    this.users.clear();
    if (this.supervisor) void this.stopSupervisor();
    await Promise.all([...this.pendingStops]);
  }

  private requireSupervisor(): PanelHealthSupervisor {
    if (this.supervisor) return this.supervisor;
    throw new PanelError(
      'refused-command',
      this.opts.configError ?? 'the panel connection is not running (no node uses it)',
    );
  }

  private startSupervisor(create: () => PanelHealthSupervisor): void {
    let supervisor: PanelHealthSupervisor;
    try {
      supervisor = create();
    } catch (e) {
      this.opts.reportError(`cannot create the panel connection: ${(e as Error).message}`);
      for (const u of this.users.values()) this.show(u, this.opts.toNodeStatus(CONFIG_ERROR_STATUS));
      return;
    }
    this.supervisor = supervisor;
    this.currentHealth = supervisor.health;
    this.currentData = null;
    this.status = null;
    this.unsubscribe = supervisor.subscribe({
      onHealth: (h) => this.onHealth(supervisor, h),
      onData: (d) => this.onData(supervisor, d),
    });
    this.history.supervisorStarted();
    // Restored energy counters must be in place before the first snapshot is emitted.
    const start = () => {
      if (this.supervisor === supervisor) supervisor.start();
    };
    if (this.opts.beforeStart) void this.opts.beforeStart.then(start, start);
    else start();
  }

  private stopSupervisor(): Promise<void> {
    const s = this.supervisor;
    if (!s) return Promise.resolve();
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.supervisor = null;
    const ms = this.opts.stopTimeoutMs ?? 5000;
    const stop = withDeadline(
      ms,
      () => new Error(`did not stop within ${ms} ms`),
      () => s.stop(),
    ).catch((e: unknown) => this.opts.reportError(`stopping the panel connection: ${(e as Error).message}`));
    this.pendingStops.add(stop);
    void stop.finally(() => this.pendingStops.delete(stop));
    return stop;
  }

  private onHealth(from: PanelHealthSupervisor, health: HealthEvent): void {
    if (from !== this.supervisor) return;
    this.history.onHealth(health);
    this.currentHealth = health;
    this.updateStatus();
    this.toUsers((u) => u.onHealth?.(health));
  }

  private onData(from: PanelHealthSupervisor, data: DataEvent): void {
    if (from !== this.supervisor) return;
    this.history.onData(data);
    this.currentData = data;
    this.updateStatus();
    this.toUsers((u) => u.onData?.(data, this.currentHealth));
  }

  private updateStatus(): void {
    if (this.currentHealth?.state === 'online') this.caRefused = false;
    const next =
      this.caRefused && this.supervisor
        ? CA_CHANGED_STATUS
        : healthStatus(this.currentHealth, this.currentData);
    if (sameStatus(next, this.status)) return;
    this.status = next;
    const status = this.opts.toNodeStatus(next);
    this.toUsers((u) => (u.showStatus ? u.showStatus(status) : u.node.status(status)));
  }

  private show(user: PanelUser, status: NodeStatus): void {
    this.toUsers((u) => (u.showStatus ? u.showStatus(status) : u.node.status(status)), [user]);
  }

  /** Hands something to every user (or those given); one that throws is reported, the rest still get it. */
  private toUsers(
    deliver: (user: PanelUser) => void,
    users: Iterable<PanelUser> = this.users.values(),
  ): void {
    fanOut(users, deliver, (e, user) =>
      this.opts.reportError(`node ${user.node.id} failed handling panel data: ${e.message}`),
    );
  }
}
