import assert from 'node:assert/strict';
import { SimulatedPanel, type SimulatedPanelOptions } from '../../simulator/panel';
import { createV2Plugin, type V2Plugin, type V2PluginOptions } from '../../simulator/v2';
import { PanelError, type ErrorClass } from '../../src/transport/errors';
import { createV2Transport, type V2Transport, type V2TransportOptions } from '../../src/transport/v2';

/** Simulated v2 panels and v2 transports for one test, all released afterwards; captures every log line. */

export const PASSPHRASE = 'sim-passphrase-d41c9e-never-log-me';

export interface V2Panel {
  panel: SimulatedPanel;
  v2: V2Plugin;
  host: string;
}

export class V2Harness {
  private readonly panels: V2Panel[] = [];
  private readonly transports: V2Transport[] = [];
  /** Every line any transport logged, at any level. */
  readonly logs: string[] = [];
  /** Every error message a test saw (add them with `sawError`). */
  readonly errors: string[] = [];

  async panel(
    dataModel: V2PluginOptions['dataModel'],
    opts: SimulatedPanelOptions = {},
    plugin: Partial<V2PluginOptions> = {},
  ): Promise<V2Panel> {
    const v2 = createV2Plugin({
      dataModel,
      passphrase: PASSPHRASE,
      keyBits: 1024,
      replayValuesDelayMs: 50,
      ...plugin,
    });
    const panel = await SimulatedPanel.start({ controlPort: null, tickMs: 0, ...opts, plugins: [v2] });
    const p = { panel, v2, host: `127.0.0.1:${panel.ports.http}` };
    this.panels.push(p);
    return p;
  }

  logger = {
    debug: (m: string) => this.logs.push(`debug ${m}`),
    info: (m: string) => this.logs.push(`info ${m}`),
    warn: (m: string) => this.logs.push(`warn ${m}`),
  };

  transport(p: V2Panel, opts: Partial<V2TransportOptions> = {}): V2Transport {
    const { username, password } = p.v2.issueBrokerCredentials();
    const t = createV2Transport({
      host: p.host,
      mqttPort: p.panel.ports.mqtt ?? undefined,
      credentials: { brokerPassword: password, serial: username },
      logger: this.logger,
      connectTimeoutMs: 3000,
      httpTimeoutMs: 2000,
      commandTimeoutMs: 2000,
      ...opts,
    });
    this.track(t);
    return t;
  }

  /**
   * Plays the supervisor's part for a transport tested alone: a connection attempt (probe) every `everyMs`
   * while it is not connected. The transport never tries again on its own; until cleanup() or stop().
   */
  keepTrying(t: V2Transport, everyMs = 50): { stop(): void } {
    let running = true;
    const run = async () => {
      while (running) {
        if (!t.isConnected) await t.probe(deadline(2000)).catch(() => undefined);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    };
    const done = run();
    const driver = {
      stop: () => {
        running = false;
        return done;
      },
    };
    this.drivers.push(driver);
    return driver;
  }

  private readonly drivers: Array<{ stop(): Promise<void> }> = [];

  track(t: V2Transport): V2Transport {
    this.transports.push(t);
    return t;
  }

  sawError(e: unknown): void {
    this.errors.push(e instanceof Error ? `${e.message} ${JSON.stringify(e)}` : String(e));
  }

  /** No transport ever published outside `…/set`, set a will or retained a command. */
  assertNoViolations(): void {
    for (const p of this.panels) assert.deepEqual(p.v2.broker.violations, [], 'broker violations');
  }

  /** Neither the passphrase (= broker password on SPAN panels) nor any broker password in logs or errors. */
  assertNoSecrets(extra: string[] = []): void {
    const secrets = [PASSPHRASE, ...extra];
    for (const line of [...this.logs, ...this.errors]) {
      for (const s of secrets) assert.ok(!line.includes(s), `secret leaked in: ${line.slice(0, 120)}`);
    }
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.drivers.splice(0).map((d) => d.stop()));
    await Promise.all(this.transports.splice(0).map((t) => t.close()));
    await Promise.all(this.panels.splice(0).map((p) => p.panel.close()));
  }
}

export const live = (): AbortSignal => new AbortController().signal;

export function deadline(ms: number): AbortSignal {
  return AbortSignal.timeout(ms);
}

/** Polls `fn` until it returns a truthy value (or throws after `ms`). */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  ms = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) {
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What the supervisor's next cycle does after a lost connection: attempts (probes) until connected. */
export async function reconnectAsSupervisorWould(t: V2Transport, ms = 8000): Promise<void> {
  await waitFor(
    () =>
      t.probe(deadline(2000)).then(
        () => t.isConnected,
        () => false,
      ),
    ms,
    'a reconnect on the next attempt',
  );
}

export async function rejectsWith(p: Promise<unknown>, cls?: ErrorClass): Promise<PanelError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof PanelError, `expected a PanelError, got ${String(e)}`);
    if (cls) assert.equal(e.errorClass, cls, e.message);
    return e;
  }
  assert.fail('expected a rejection');
}
