import assert from 'node:assert/strict';
import { SimulatedPanel, type SimulatedPanelOptions } from '../../simulator/panel';
import { PanelError, type ErrorClass } from '../../src/transport/errors';
import { createV1Transport, type V1Transport, type V1TransportOptions } from '../../src/transport/v1';

export const TOKEN = 'test-token-7f3a9c-do-not-log';

/** Starts simulated panels and v1 transports for one test and releases all of them afterwards. */
export class Harness {
  private readonly panels: SimulatedPanel[] = [];
  private readonly transports: V1Transport[] = [];

  async panel(opts: SimulatedPanelOptions = {}): Promise<SimulatedPanel> {
    const p = await SimulatedPanel.start({ token: TOKEN, controlPort: null, tickMs: 0, ...opts });
    this.panels.push(p);
    return p;
  }

  transport(panel: SimulatedPanel | number, opts: Partial<V1TransportOptions> = {}): V1Transport {
    const port = typeof panel === 'number' ? panel : panel.ports.http;
    const t = createV1Transport({ host: `127.0.0.1:${port}`, token: TOKEN, requestTimeoutMs: 1000, ...opts });
    this.transports.push(t);
    return t;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.transports.splice(0).map((t) => t.close()));
    await Promise.all(this.panels.splice(0).map((p) => p.close()));
  }
}

/** A signal that never aborts (the supervisor's cycle signal in tests that do not test deadlines). */
export const live = (): AbortSignal => new AbortController().signal;

/** Awaits a promise that must reject with a PanelError of class `cls` (when given). */
export async function rejectsWith(p: Promise<unknown>, cls?: ErrorClass): Promise<PanelError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof PanelError, `expected a PanelError, got ${String(e)}`);
    if (cls) assert.equal(e.errorClass, cls, `class of: ${e.message}`);
    return e;
  }
  assert.fail(`expected a rejection${cls ? ` of class ${cls}` : ''}`);
}

/** Blocks the event loop: the client cannot notice a FIN or fire an idle timer meanwhile (SPAN #156 race). */
export function stallEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* busy */
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Collects unhandled rejections for the lifetime of a describe block. */
export function watchUnhandledRejections(): { seen: unknown[] } {
  const box = { seen: [] as unknown[] };
  const onRejection = (reason: unknown) => box.seen.push(reason);
  before(() => process.on('unhandledRejection', onRejection));
  after(() => {
    process.off('unhandledRejection', onRejection);
    assert.deepEqual(box.seen, [], 'no unhandled rejection');
  });
  return box;
}
