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

type NodeModule = (RED: unknown) => unknown;
const core = (p: string): NodeModule => require(`@node-red/nodes/core/${p}`) as NodeModule;
export const coreNodes = ['common/20-inject.js', 'network/21-httprequest.js', 'function/10-function.js'].map(
  core,
);

export function clearSpyHistory(): void {
  const h = helper as unknown as { _sandbox: { resetHistory(): void }; _logSpy?: { resetHistory(): void } };
  h._sandbox.resetHistory();
  h._logSpy?.resetHistory();
}

/** Flow nodes need a position: Node-RED treats a node without x/y as a config node. */
const at = <T extends Record<string, unknown>>(node: T) => ({ x: 100, y: 100, ...node });
const panelNode = (id: string, host: string, intervalS: number) =>
  panelConfig(id, host, { interval: String(intervalS) });
const pollNode = (id: string, panel: string, sink: string) =>
  at({ id, type: 'span-poll', name: '', panel, topic: id, wires: [[sink]] });
const sinkNode = (id: string) => at({ id, type: 'helper' });

/**
 * The core flow users build without us: inject (every `intervalS`, with the bearer token) → 4 × http request
 * (the 4 poll endpoints, default node settings, parsed JSON) → function (ok / status per response) → sink.
 */
export function theirFlow(prefix: string, port: number, intervalS: number): Record<string, unknown>[] {
  const requests = V1_POLL_PATHS.map((endpoint, i) =>
    at({
      id: `${prefix}-req${i}`,
      type: 'http request',
      name: '',
      method: 'GET',
      ret: 'obj',
      paytoqs: 'ignore',
      url: `http://127.0.0.1:${port}${endpoint}`,
      tls: '',
      persist: false,
      proxy: '',
      insecureHTTPParser: false,
      authType: '',
      senderr: false,
      headers: [],
      wires: [[`${prefix}-fn`]],
    }),
  );
  const inject = at({
    id: `${prefix}-inject`,
    type: 'inject',
    name: '',
    props: [
      { p: 'tick', v: '', vt: 'date' },
      { p: 'headers', v: JSON.stringify({ Authorization: `Bearer ${TOKEN}` }), vt: 'json' },
    ],
    repeat: String(intervalS),
    crontab: '',
    once: true,
    onceDelay: 0.1,
    topic: '',
    wires: [requests.map((r) => r.id)],
  });
  const fn = at({
    id: `${prefix}-fn`,
    type: 'function',
    name: '',
    func:
      'const ok = msg.statusCode === 200 && msg.payload !== null && typeof msg.payload === "object";\n' +
      'return { payload: { ok, code: msg.statusCode }, tick: msg.tick };',
    outputs: 1,
    timeout: 0,
    noerr: 0,
    initialize: '',
    finalize: '',
    libs: [],
    wires: [[`${prefix}-sink`]],
  });
  return [inject, ...requests, fn, sinkNode(`${prefix}-sink`)];
}

/** span-panel (v1) + span-poll → sink, ids `<prefix>-cfg`, `<prefix>-poll`, `<prefix>-sink`. */
export function ourFlow(prefix: string, port: number, intervalS: number): Record<string, unknown>[] {
  return [
    panelNode(`${prefix}-cfg`, `127.0.0.1:${port}`, intervalS),
    pollNode(`${prefix}-poll`, `${prefix}-cfg`, `${prefix}-sink`),
    sinkNode(`${prefix}-sink`),
  ];
}

/** Flows of `ourFlow`/`theirFlow` parts on one tab. */
export const onTab = (...parts: Record<string, unknown>[][]) => flow(...parts.flat());

/** span-panel 'cfg' (v1) with `n` span-poll nodes (poll0, poll1…) wired to one 'sink', and its credentials. */
export function fanFlow(host: string, intervalS: number, n: number) {
  const polls = Array.from({ length: n }, (_, i) => pollNode(`poll${i}`, 'cfg', 'sink'));
  return {
    flow: flow(panelNode('cfg', host, intervalS), ...polls, sinkNode('sink')),
    creds: { cfg: { token: TOKEN } },
  };
}

/** Unloads the flows and stops the runtime, tolerating a half-started one. */
export async function stopNodeRed(): Promise<void> {
  await helper.unload().catch(() => undefined);
  await helper.stopServer().catch(() => undefined);
}
