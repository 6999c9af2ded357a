/**
 * A real Node-RED runtime through the node tests' harness (test/nodes/support.ts: node-red-node-test-helper,
 * our compiled nodes), plus the core inject / http request / function nodes for the flow users build without
 * us. The helper wraps Node.prototype.send/status/log… in sinon spies that record every call;
 * clearSpyHistory() drops those records so they are not counted as our memory.
 */
import { flow, helper, panelConfig, spanNodes } from '../test/nodes/support';
import { V1_POLL_PATHS } from './baselines';
import { TOKEN } from './util';

/* eslint-disable @typescript-eslint/no-require-imports */
export { helper, spanNodes as ourNodes };
export const nodeRedVersion: string = require('node-red/package.json').version;
const core = ['common/20-inject.js', 'network/21-httprequest.js', 'function/10-function.js'];
export const coreNodes = core.map((p) => require(`@node-red/nodes/core/${p}`) as (RED: unknown) => unknown);

export function clearSpyHistory(): void {
  const h = helper as unknown as { _sandbox: { resetHistory(): void }; _logSpy?: { resetHistory(): void } };
  h._sandbox.resetHistory();
  h._logSpy?.resetHistory();
}

/** A flow node (Node-RED treats a node without x/y as a config node) wired to `to`. */
const node = (id: string, type: string, to: string[], extra: Record<string, unknown> = {}) =>
  Object.assign({ id, type, x: 100, y: 100, wires: [to] }, extra);

/** The credentials of the span-panel config nodes `ids`. */
export const tokens = (ids: string[]) => Object.fromEntries(ids.map((id) => [id, { token: TOKEN }]));

/**
 * The core flow users build without us: inject (every `intervalS`, with the bearer token) → 4 × http request
 * (the 4 poll endpoints, default node settings, parsed JSON) → function (ok / status per response) → sink.
 */
export function theirFlow(prefix: string, port: number, intervalS: number) {
  const fn = `${prefix}-fn`;
  const requests = V1_POLL_PATHS.map((endpoint, i) =>
    node(`${prefix}-req${i}`, 'http request', [fn], {
      method: 'GET',
      ret: 'obj',
      url: `http://127.0.0.1:${port}${endpoint}`,
    }),
  );
  const headers = { p: 'headers', v: JSON.stringify({ Authorization: `Bearer ${TOKEN}` }), vt: 'json' };
  const props = [{ p: 'tick', v: '', vt: 'date' }, headers];
  const func =
    'const ok = msg.statusCode === 200 && msg.payload !== null && typeof msg.payload === "object";\n' +
    'return { payload: { ok, code: msg.statusCode }, tick: msg.tick };';
  const ids = requests.map((r) => r.id);
  return [
    node(`${prefix}-inject`, 'inject', ids, { props, repeat: String(intervalS), once: true, onceDelay: 0.1 }),
    ...requests,
    node(fn, 'function', [`${prefix}-sink`], { func, outputs: 1, timeout: 0 }),
    node(`${prefix}-sink`, 'helper', []),
  ];
}

/** span-panel `<prefix>-cfg` (v1) with `polls` span-poll nodes (`<prefix>-poll<i>`) wired to `<prefix>-sink`. */
export function ourFlow(prefix: string, host: string, intervalS: number, polls = 1) {
  const cfg = `${prefix}-cfg`;
  return [
    panelConfig(cfg, host, { interval: String(intervalS) }),
    ...Array.from({ length: polls }, (_, i) => {
      const id = `${prefix}-poll${i}`;
      return node(id, 'span-poll', [`${prefix}-sink`], { panel: cfg, topic: id });
    }),
    node(`${prefix}-sink`, 'helper', []),
  ];
}

/** Flows of `ourFlow`/`theirFlow` parts on one tab. */
export const onTab = (...parts: Record<string, unknown>[][]) => flow(...parts.flat());

/** Unloads the flows and stops the runtime, tolerating a half-started one. */
export async function stopNodeRed(): Promise<void> {
  await helper.unload().catch(() => undefined);
  await helper.stopServer().catch(() => undefined);
}
