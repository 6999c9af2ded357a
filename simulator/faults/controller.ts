/**
 * The fault controller: holds the active request-fault rules, carries out action faults, and dispatches
 * plugin fault kinds (the v2 face registers e.g. 'broker-down', 'ca-rotation', 'retained-wipe'), so that one
 * control API (`panel.faults.inject(spec)` or `POST /faults`) reaches every fault of the simulator.
 */
import type { ProximityWindow } from '../auth/proximity';
import type { TokenRegistry } from '../auth/tokens';
import { stripQuery } from '../http/request-stats';
import type { PanelState } from '../state';
import {
  ACTION_FAULT_KINDS,
  type ActionFault,
  type ActiveFault,
  type FaultScope,
  type FaultSpec,
  type MalformedVariant,
  type PluginFault,
  REQUEST_FAULT_KINDS,
  type RequestFault,
} from './types';

/** What the controller acts on. */
export interface FaultHost {
  state: PanelState;
  tokens: TokenRegistry;
  proximity: ProximityWindow;
  /** Stops the HTTP listener and drops its connections (connection refused from now on). */
  closeListener(): Promise<void>;
  /** Listens again on the same port. */
  reopenListener(): Promise<void>;
}

export type PluginFaultHandler = (args: PluginFault) => void | Promise<void>;

export interface InjectResult {
  kind: string;
  /** Rule id for request faults (use it to clear just that rule); null for actions and plugin kinds. */
  id: string | null;
}

export class FaultController {
  private rules: ActiveFault[] = [];
  private nextId = 1;
  private readonly pluginKinds = new Map<string, PluginFaultHandler>();
  private readonly pluginClearers: Array<() => void | Promise<void>> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private refusedNow = false;
  private disposed = false;

  constructor(
    private readonly host: FaultHost,
    private readonly clock: () => number = Date.now,
  ) {}

  /** True while the HTTP listener is closed by a 'refused' fault. */
  get refused(): boolean {
    return this.refusedNow;
  }

  /** Every kind `inject` accepts, built-in and plugin-registered. */
  kinds(): string[] {
    return [...REQUEST_FAULT_KINDS, ...ACTION_FAULT_KINDS, ...this.pluginKinds.keys()];
  }

  /** Lets a plugin add a fault kind reachable through inject() and POST /faults. */
  registerKind(kind: string, handler: PluginFaultHandler): void {
    if ((this.kinds() as string[]).includes(kind)) throw new Error(`fault kind already registered: ${kind}`);
    this.pluginKinds.set(kind, handler);
  }

  /** Called by clear() (no id), so a plugin can undo its own faults. */
  onClear(clearer: () => void | Promise<void>): void {
    this.pluginClearers.push(clearer);
  }

  /** Injects any fault described as data. Throws Error('unknown fault kind: …') for an unknown kind. */
  async inject(spec: FaultSpec | PluginFault): Promise<InjectResult> {
    const kind = String(spec.kind);
    if ((REQUEST_FAULT_KINDS as readonly string[]).includes(kind)) {
      return { kind, id: this.add(spec as RequestFault) };
    }
    if ((ACTION_FAULT_KINDS as readonly string[]).includes(kind)) {
      await this.act(spec as ActionFault);
      return { kind, id: null };
    }
    const handler = this.pluginKinds.get(kind);
    if (!handler) throw new Error(`unknown fault kind: ${kind}`);
    await handler(spec as PluginFault);
    return { kind, id: null };
  }

  /** Adds a request-fault rule; returns its id. */
  add(spec: RequestFault): string {
    validateRequestFault(spec);
    const id = `f${this.nextId++}`;
    const expiresAtMs = spec.durationMs !== undefined ? this.clock() + spec.durationMs : null;
    this.rules.push({ id, spec: { ...spec }, hits: 0, expiresAtMs });
    return id;
  }

  // Convenience wrappers for tests.
  status(
    status: number,
    opts: FaultScope & { retryAfterS?: number; body?: string; contentType?: string } = {},
  ): string {
    return this.add({ ...opts, kind: 'status', status });
  }
  hang(scope: FaultScope = {}): string {
    return this.add({ ...scope, kind: 'hang' });
  }
  delay(delayMs: number, scope: FaultScope = {}): string {
    return this.add({ ...scope, kind: 'delay', delayMs });
  }
  malformed(variant: MalformedVariant, opts: FaultScope & { omit?: string[] } = {}): string {
    return this.add({ ...opts, kind: 'malformed', variant });
  }
  truncated(
    closeWith: 'fin' | 'rst' = 'fin',
    opts: FaultScope & { sendBytes?: number; declaredLength?: number } = {},
  ): string {
    return this.add({ ...opts, kind: 'truncated', closeWith });
  }
  reset(closeWith: 'fin' | 'rst' = 'rst', scope: FaultScope = {}): string {
    return this.add({ ...scope, kind: 'reset', closeWith });
  }

  /** Closes the HTTP listener (ECONNREFUSED); reopens on the same port after `durationMs` if given. */
  async refuse(durationMs?: number, afterReopen?: () => void): Promise<void> {
    if (!this.refusedNow) {
      this.refusedNow = true;
      await this.host.closeListener();
    }
    if (durationMs !== undefined) {
      this.later(durationMs, async () => {
        await this.reopen();
        afterReopen?.();
      });
    }
  }

  /** Ends a 'refused' fault: listens again on the same port. */
  async reopen(): Promise<void> {
    if (!this.refusedNow || this.disposed) return;
    await this.host.reopenListener();
    this.refusedNow = false;
  }

  /** Revokes one token or all of them (their holders get 401 from now on). Returns how many. */
  revokeTokens(token?: string): number {
    return this.host.tokens.revoke(token);
  }

  proximity(open: boolean, windowMs?: number): void {
    if (open) this.host.proximity.open(windowMs);
    else this.host.proximity.close();
  }

  /** Reboots the panel; see RebootFault. */
  async reboot(
    opts: {
      counterDipWh?: number;
      refusedMs?: number;
      unavailableMs?: number;
      unavailableStatus?: number;
    } = {},
  ): Promise<void> {
    this.host.state.reboot({ counterDipWh: opts.counterDipWh });
    const unavailable = () => {
      if (opts.unavailableMs && opts.unavailableMs > 0) {
        this.add({ kind: 'status', status: opts.unavailableStatus ?? 502, durationMs: opts.unavailableMs });
      }
    };
    if (opts.refusedMs && opts.refusedMs > 0) await this.refuse(opts.refusedMs, unavailable);
    else unavailable();
  }

  /** The first active rule matching this request, counted as applied; null when none applies. */
  match(method: string, url: string): ActiveFault | null {
    this.expire();
    const path = stripQuery(url);
    for (const rule of this.rules) {
      if (!matches(rule.spec, method, path)) continue;
      rule.hits++;
      if (rule.spec.count !== undefined && rule.hits >= rule.spec.count)
        this.rules = this.rules.filter((r) => r !== rule);
      return rule;
    }
    return null;
  }

  /** Active request-fault rules (copies). */
  list(): ActiveFault[] {
    this.expire();
    return this.rules.map((r) => ({ ...r, spec: { ...r.spec } }));
  }

  /**
   * Clears one rule by id, or everything: all rules, a refused listener (reopened), pending reboot steps and
   * plugin faults. Returns whether anything with that id existed (always true without an id).
   */
  async clear(id?: string): Promise<boolean> {
    if (id !== undefined) {
      const before = this.rules.length;
      this.rules = this.rules.filter((r) => r.id !== id);
      return this.rules.length !== before;
    }
    this.rules = [];
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.reopen();
    for (const clearer of this.pluginClearers) await clearer();
    return true;
  }

  /** Releases timers; called when the panel closes. */
  dispose(): void {
    this.disposed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.rules = [];
  }

  private async act(spec: ActionFault): Promise<void> {
    switch (spec.kind) {
      case 'refused':
        return this.refuse(spec.durationMs);
      case 'token-revoked':
        this.revokeTokens(spec.token);
        return;
      case 'proximity':
        this.proximity(spec.open !== false, spec.windowMs);
        return;
      case 'reboot':
        return this.reboot(spec);
    }
  }

  private later(ms: number, fn: () => Promise<void> | void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.disposed) void Promise.resolve(fn()).catch(() => undefined);
    }, ms);
    this.timers.add(timer);
  }

  private expire(): void {
    const now = this.clock();
    this.rules = this.rules.filter((r) => r.expiresAtMs === null || r.expiresAtMs > now);
  }
}

function matches(spec: FaultScope, method: string, path: string): boolean {
  if (spec.method && spec.method.toUpperCase() !== method.toUpperCase()) return false;
  if (!spec.path || spec.path === '*') return true;
  const wanted = stripQuery(spec.path);
  return wanted.endsWith('*') ? path.startsWith(wanted.slice(0, -1)) : path === wanted;
}

function validateRequestFault(spec: RequestFault): void {
  const bad = (why: string) => {
    throw new Error(`invalid ${spec.kind} fault: ${why}`);
  };
  if (spec.count !== undefined && !(Number.isInteger(spec.count) && spec.count > 0))
    bad('count must be a positive integer');
  if (spec.durationMs !== undefined && !(spec.durationMs > 0)) bad('durationMs must be > 0');
  switch (spec.kind) {
    case 'status':
      if (!Number.isInteger(spec.status) || spec.status < 100 || spec.status > 599)
        bad('status must be 100..599');
      break;
    case 'delay':
      if (!(spec.delayMs >= 0)) bad('delayMs must be >= 0');
      break;
    case 'malformed':
      if (!['invalid-json', 'json-string', 'missing-fields'].includes(spec.variant)) bad('unknown variant');
      break;
    case 'truncated':
    case 'reset':
      if (spec.closeWith !== undefined && spec.closeWith !== 'fin' && spec.closeWith !== 'rst')
        bad('closeWith must be fin or rst');
      break;
    case 'hang':
      break;
    default:
      bad('unknown kind');
  }
}
