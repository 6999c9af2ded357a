/**
 * Simulated panels in other processes, so the benchmark process measures only the client side:
 * - SimCli: one panel through the simulator's own CLI (`node dist/simulator/cli.js --port 0 ...`), faults
 *   and counters through its control API;
 * - SimHost: a child process hosting many panels, driven over IPC (shared with the tests: test/helpers).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { StatsSnapshot } from '../simulator';
import { expectResponse, rawRequest } from '../test/helpers/http-client';
import { endChild } from '../test/helpers/sim-host';

import { SimHost, type HostPanel, type HostPanelOptions } from '../test/helpers/sim-host';
import { TOKEN } from './util';

export { endChild, SimHost, type HostPanel, type HostPanelOptions } from '../test/helpers/sim-host';

const distRoot = path.join(__dirname, '..');
export const SIM_CLI = path.join(distRoot, 'simulator', 'cli.js');

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
  async control<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
    const r = expectResponse(await rawRequest(this.ports.control, route, { method, body, agent: false }));
    if (r.status >= 400) throw new Error(`control ${method} ${route}: ${r.body}`);
    return (r.body ? JSON.parse(r.body) : null) as T;
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

/** Simulator options of a v2 panel in the benchmarks (1024-bit keys: certificates are made per panel). */
export const V2_SIM_OPTIONS = {
  dataModel: 'flat',
  passphrase: 'bench-passphrase-not-secret',
  keyBits: 1024,
} as const;

/** One v1 panel alone in a sim-host process, as the simulator CLI runs it (token, 1 s physics tick). */
export interface OnePanel {
  host: SimHost;
  panel: HostPanel;
  /** host:port for a span-panel config node. */
  address: string;
  stats(): ReturnType<SimHost['stats']>;
  resetStats(): Promise<unknown>;
  stop(): Promise<void>;
}

export async function onePanel(opts: Partial<HostPanelOptions> = {}): Promise<OnePanel> {
  const host = await SimHost.start();
  try {
    const [panel] = await host.startPanels(1, { token: TOKEN, tickMs: 1000, ...opts });
    return {
      host,
      panel,
      address: `127.0.0.1:${panel.http}`,
      stats: () => host.stats(panel.index),
      resetStats: () => host.resetStats(panel.index),
      stop: () => host.stop(),
    };
  } catch (e) {
    await host.stop();
    throw e;
  }
}
