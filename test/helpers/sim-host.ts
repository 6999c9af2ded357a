/**
 * Simulated panels in a child process (sim-host-child.ts), driven over IPC: for tests whose timing must not
 * depend on the client's event loop (the keep-alive race), and for the benchmarks, whose measured process
 * must hold only the client side. Always `await host.stop()` in an after() hook: it closes every panel and
 * waits for the child to exit (SIGKILL as a last resort), so mocha (no --exit) never hangs on it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { StatsSnapshot } from '../../simulator';
import type { HostPanelOptions } from './sim-host-child';

export type { HostPanelOptions };
const SIM_HOST = path.join(__dirname, 'sim-host-child.js');

/** Ends a child: SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves on exit. */
export function endChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface HostPanel {
  index: number;
  http: number;
  mqtt: number | null;
  serial: string;
}

export class SimHost {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(readonly child: ChildProcess) {
    child.on('message', (msg: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error ?? 'sim-host error'));
    });
    child.once('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error('sim-host exited'));
      this.pending.clear();
    });
  }

  static start(): Promise<SimHost> {
    const child = fork(SIM_HOST, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void endChild(child);
        reject(new Error('sim-host not ready within 15 s'));
      }, 15_000);
      child.once('message', () => {
        clearTimeout(timer);
        resolve(new SimHost(child));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`sim-host exited with ${code}`));
      });
    });
  }

  call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd, ...args });
    });
  }

  startPanels(count: number, opts: HostPanelOptions): Promise<HostPanel[]> {
    return this.call('start', { count, opts });
  }

  inject(
    index: number,
    spec: Record<string, unknown>,
  ): Promise<{ kind: string; id: string | null; at: number; doneAt: number }> {
    return this.call('inject', { index, spec });
  }

  watchBrokerUp(index: number): Promise<{ at: number }> {
    return this.call('watchBrokerUp', { index });
  }

  watchRule(index: number, ruleId: string): Promise<{ lastHit: number | null; goneAt: number }> {
    return this.call('watchRule', { index, ruleId });
  }

  watchReopen(index: number): Promise<{ at: number }> {
    return this.call('watchReopen', { index });
  }

  stats(index: number): Promise<StatsSnapshot & { openConnections: number }> {
    return this.call('stats', { index });
  }

  resetStats(index: number): Promise<unknown> {
    return this.call('resetStats', { index });
  }

  closePanel(index: number): Promise<unknown> {
    return this.call('closePanel', { index });
  }

  /** Closes every panel and waits for the process to exit (SIGKILL as a last resort). */
  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    if (this.child.connected) void this.call('close').catch(() => undefined);
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
  }
}
