/**
 * Simulated panels in other processes, so the benchmark process measures only the client side:
 * - SimCli: one panel through the simulator's own CLI (`node dist/src/simulator/cli.js --port 0 ...`), faults
 *   and counters through its control API;
 * - SimHost: a child process (sim-host.ts) hosting many panels, driven over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import type { StatsSnapshot } from '../src/simulator';
import type { HostPanelOptions } from './sim-host';

const distRoot = path.join(__dirname, '..');
export const SIM_CLI = path.join(distRoot, 'src', 'simulator', 'cli.js');
const SIM_HOST = path.join(__dirname, 'sim-host.js');

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

export interface CliPorts {
  ready: boolean;
  http: number;
  control: number;
  mqtt: number | null;
  serial: string;
}

export class SimCli {
  private constructor(
    readonly child: ChildProcess,
    readonly ports: CliPorts,
  ) {}

  static start(args: string[]): Promise<SimCli> {
    const child = fork(SIM_CLI, ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const fail = (why: string) => {
        void endChild(child);
        reject(new Error(`simulator CLI: ${why}${err ? `: ${err.trim()}` : ''}`));
      };
      const timer = setTimeout(() => fail('no ready line within 15 s'), 15_000);
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf('\n');
        if (nl === -1) return;
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        try {
          resolve(new SimCli(child, JSON.parse(out.slice(0, nl)) as CliPorts));
        } catch {
          fail(`unexpected first line ${out.slice(0, nl)}`);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`simulator CLI exited with ${code}: ${err.trim()}`));
      });
    });
  }

  get host(): string {
    return `127.0.0.1:${this.ports.http}`;
  }

  /** One control-API call on a fresh connection (no pooled socket left behind). */
  control<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.ports.control,
          method,
          path: route,
          agent: false,
          headers: data
            ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) }
            : {},
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            if ((res.statusCode ?? 500) >= 400) reject(new Error(`control ${method} ${route}: ${text}`));
            else resolve((text ? JSON.parse(text) : null) as T);
          });
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  }

  stats(): Promise<StatsSnapshot & { openConnections: number }> {
    return this.control('GET', '/stats');
  }

  resetStats(): Promise<unknown> {
    return this.control('DELETE', '/stats');
  }

  inject(spec: Record<string, unknown>): Promise<{ kind: string; id: string | null }> {
    return this.control('POST', '/faults', spec);
  }

  stop(): Promise<void> {
    return endChild(this.child);
  }
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
