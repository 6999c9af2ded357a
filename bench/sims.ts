/**
 * Simulated panels in other processes, so the benchmark process measures only the client side: the tests'
 * sim-host (test/helpers/sim-host.ts), a child process hosting one or many panels, driven over IPC.
 */
import { SimHost, type HostPanel, type HostPanelOptions } from '../test/helpers/sim-host';
import { TOKEN } from './util';

export { SimHost, type HostPanel, type HostPanelOptions };

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
