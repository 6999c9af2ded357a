/**
 * Child process hosting SimulatedPanel instances, so the process under test or measurement holds only the
 * client side: the panel's idle timers run on their own event loop, and a stall of the client's loop cannot
 * hold them back (the keep-alive race needs exactly that). Used by the timing-sensitive tests and by the
 * benchmarks. Controlled over the fork IPC channel (see SimHost in sim-host.ts):
 *
 *   {id, cmd:'start', count, opts}            → [{http, mqtt, serial}]   (indexes continue across calls)
 *   {id, cmd:'inject', index, spec}           → {kind, id, at}           (any FaultController kind)
 *   {id, cmd:'watchRule', index, ruleId}      → {lastHit, goneAt}: when that request-fault rule last applied,
 *                                               and when it was gone (consumed by count or expired)
 *   {id, cmd:'watchReopen', index}            → {at} when a 'refused' listener is listening again
 *   {id, cmd:'watchBrokerUp', index}          → {at} when the v2 broker next listens again (after broker-down)
 *   {id, cmd:'stats', index}                  → StatsSnapshot (+ openConnections)
 *   {id, cmd:'resetStats', index}
 *   {id, cmd:'keepAlive', index, change}      → changes the keep-alive behaviour
 *   {id, cmd:'closePanel', index}             → closes one panel (its index stays taken)
 *   {id, cmd:'close'}                         → closes every panel, then the process exits by itself
 */
import { SimulatedPanel, type SimPlugin, type SimulatedPanelOptions } from '../../simulator';
import { createV2Plugin, type V2PluginOptions } from '../../simulator/v2';

interface Request {
  id: number;
  cmd: string;
  [k: string]: unknown;
}

export interface HostPanelOptions extends SimulatedPanelOptions {
  /** Also start the v2 (MQTT/Homie) face (`true`: the flat data model). */
  v2?: boolean | Partial<V2PluginOptions>;
}

const panels: (SimulatedPanel | null)[] = [];
/** Per panel: resolvers waiting for the v2 broker to come back. */
const brokerUpWaiters = new Map<number, Array<(at: number) => void>>();
/** Rules being watched: rule id → resolve(at) when it is consumed or expired. */
const ruleWatches = new Map<string, { index: number; lastHit: number }>();

function panelAt(index: unknown): SimulatedPanel {
  const p = panels[Number(index)];
  if (!p) throw new Error(`no panel ${String(index)}`);
  return p;
}

/** Wraps the panel's fault matcher so a watched rule's last application is timed to the millisecond. */
function instrument(index: number, panel: SimulatedPanel): void {
  const faults = panel.faults as unknown as {
    match: (m: string, u: string) => { id: string } | null;
  };
  const original = faults.match.bind(panel.faults);
  faults.match = (method: string, url: string) => {
    const rule = original(method, url);
    if (rule) {
      const w = ruleWatches.get(`${index}:${rule.id}`);
      if (w) w.lastHit = Date.now();
    }
    return rule;
  };
}

function closeAll(): Promise<unknown> {
  return Promise.all(panels.splice(0).map((p) => p?.close()));
}

async function start(count: number, opts: HostPanelOptions): Promise<unknown[]> {
  const out: unknown[] = [];
  const { v2, ...panelOpts } = opts;
  for (let i = 0; i < count; i++) {
    const plugins: SimPlugin[] = [];
    const index = panels.length;
    if (v2) {
      const plugin = createV2Plugin({
        dataModel: 'flat',
        ...(typeof v2 === 'object' ? v2 : {}),
      }) as SimPlugin & {
        brokerUp?: () => Promise<void>;
      };
      // Time the broker's return to the millisecond (the plugin calls this.brokerUp() after broker-down).
      const up = plugin.brokerUp?.bind(plugin);
      if (up) {
        plugin.brokerUp = async () => {
          await up();
          const at = Date.now();
          for (const w of brokerUpWaiters.get(index)?.splice(0) ?? []) w(at);
        };
      }
      plugins.push(plugin);
    }
    const panel = await SimulatedPanel.start({
      controlPort: null,
      ...panelOpts,
      seed: (panelOpts.seed ?? 1) + panels.length,
      plugins,
    });
    panels.push(panel);
    instrument(index, panel);
    out.push({ index, http: panel.ports.http, mqtt: panel.ports.mqtt, serial: panel.state.identity.serial });
  }
  return out;
}

function watchRule(index: number, ruleId: string): Promise<{ lastHit: number | null; goneAt: number }> {
  const panel = panelAt(index);
  return new Promise((resolve) => {
    const key = `${index}:${ruleId}`;
    const entry = { index, lastHit: 0 };
    ruleWatches.set(key, entry);
    const timer = setInterval(() => {
      if (panel.faults.list().some((r) => r.id === ruleId)) return;
      clearInterval(timer);
      ruleWatches.delete(key);
      resolve({ lastHit: entry.lastHit || null, goneAt: Date.now() });
    }, 2);
  });
}

function watchReopen(index: number): Promise<{ at: number }> {
  const panel = panelAt(index);
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (panel.faults.refused) return;
      clearInterval(timer);
      resolve({ at: Date.now() });
    }, 2);
  });
}

async function handle(req: Request): Promise<unknown> {
  switch (req.cmd) {
    case 'start':
      return start(Number(req.count), (req.opts ?? {}) as HostPanelOptions);
    case 'inject': {
      const at = Date.now();
      const r = await panelAt(req.index).faults.inject(req.spec as { kind: string });
      return { ...r, at, doneAt: Date.now() };
    }
    case 'watchBrokerUp': {
      const index = Number(req.index);
      panelAt(index);
      return new Promise((resolve) => {
        const list = brokerUpWaiters.get(index) ?? [];
        list.push((at) => resolve({ at }));
        brokerUpWaiters.set(index, list);
      });
    }
    case 'watchRule':
      return watchRule(Number(req.index), String(req.ruleId));
    case 'watchReopen':
      return watchReopen(Number(req.index));
    case 'stats': {
      const p = panelAt(req.index);
      return { ...p.stats.snapshot(), openConnections: p.openConnections };
    }
    case 'resetStats':
      panelAt(req.index).stats.reset();
      return true;
    case 'keepAlive':
      panelAt(req.index).setKeepAlive(req.change as Record<string, unknown>);
      return true;
    case 'closePanel': {
      const p = panelAt(req.index);
      panels[Number(req.index)] = null;
      await p.close();
      return true;
    }
    case 'close':
      await closeAll();
      return true;
    default:
      throw new Error(`unknown command ${req.cmd}`);
  }
}

if (require.main === module) {
  process.on('message', (msg: Request) => {
    handle(msg).then(
      (result) => {
        process.send?.({ id: msg.id, ok: true, result });
        if (msg.cmd === 'close') process.disconnect();
      },
      (err: unknown) => process.send?.({ id: msg.id, ok: false, error: (err as Error).message }),
    );
  });
  // The parent went away: never linger.
  process.on('disconnect', () => {
    void closeAll().finally(() => process.exit(0));
  });
  process.send?.({ ready: true });
}
