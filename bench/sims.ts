/**
 * Simulated panels in the tests' sim-host (test/helpers/sim-host.ts): a child process hosting one or many
 * panels, driven over IPC, so the benchmark process holds only the client side.
 */
import { SimHost, type HostPanel, type HostPanelOptions } from '../test/helpers/sim-host';
import { TOKEN } from './util';

export { SimHost, type HostPanel };
export type Api = 'v1' | 'v2';

/** v2 simulator options (1024-bit keys: certificates are made per panel). */
export const V2_SIM_OPTIONS = {
  dataModel: 'flat',
  passphrase: 'bench-passphrase-not-secret',
  keyBits: 1024,
} as const;

/** `n` panels as the simulator CLI runs them (token, 1 s physics tick); v2 ones with their broker. */
export const startPanels = (
  host: SimHost,
  n: number,
  api: Api = 'v1',
  opts: Partial<HostPanelOptions> = {},
) =>
  host.startPanels(n, {
    token: TOKEN,
    tickMs: 1000,
    ...(api === 'v2' ? { v2: { ...V2_SIM_OPTIONS } } : {}),
    ...opts,
  });

/** One v1 panel alone in a sim-host process; `address` is host:port for a span-panel config node. */
export async function onePanel() {
  const host = await SimHost.start();
  try {
    const [panel] = await startPanels(host, 1);
    return { host, panel, address: `127.0.0.1:${panel.http}`, stop: () => host.stop() };
  } catch (e) {
    await host.stop();
    throw e;
  }
}
export type OnePanel = Awaited<ReturnType<typeof onePanel>>;
