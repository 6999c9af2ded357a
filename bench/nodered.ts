/**
 * A real Node-RED 4 runtime through node-red-node-test-helper: our nodes (compiled from nodes/) and the core
 * inject / http request / function nodes. The helper wraps Node.prototype.send/status/log… in sinon spies
 * that record every call; clearSpyHistory() drops those records so they are not counted as our memory.
 */
import path from 'node:path';
import { V1_POLL_PATHS } from './baselines';
import { TOKEN } from './util';

/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-explicit-any */

export interface HelperNode {
  id: string;
  on(event: string, fn: (...args: any[]) => void): void;
  removeListener(event: string, fn: (...args: any[]) => void): void;
  [key: string]: any;
}

interface Helper {
  init(runtimePath: string, settings?: Record<string, unknown>): void;
  load(nodes: unknown[], flow: unknown[], credentials?: Record<string, unknown>): Promise<void>;
  setFlows(
    flow: unknown[],
    type: 'full' | 'flows' | 'nodes',
    credentials?: Record<string, unknown>,
  ): Promise<void>;
  unload(): Promise<void>;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
  getNode(id: string): HelperNode;
  _sandbox: { resetHistory(): void };
  _logSpy?: { resetHistory(): void };
}

export const helper: Helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

export const nodeRedVersion: string = require('node-red/package.json').version;

type NodeModule = (RED: unknown) => unknown;
const distRoot = path.join(__dirname, '..');
export const ourNodes: NodeModule[] = ['span-panel', 'span-poll', 'span-status'].map(
  (n) => require(path.join(distRoot, 'nodes', `${n}.js`)) as NodeModule,
);

const core = (p: string): NodeModule => require(`@node-red/nodes/core/${p}`) as NodeModule;
export const coreNodes: NodeModule[] = [
  core('common/20-inject.js'),
  core('network/21-httprequest.js'),
  core('function/10-function.js'),
];

/** Flow nodes need a position: Node-RED treats a node without x/y as a config node. */
export function onTab(node: Record<string, unknown>): Record<string, unknown> {
  return { z: TAB.id, x: 100, y: 100, ...node };
}

export function clearSpyHistory(): void {
  helper._sandbox.resetHistory();
  helper._logSpy?.resetHistory();
}

export const TAB = { id: 'tab1', type: 'tab', label: 'bench' };

export function panelNode(id: string, host: string, intervalS: number): Record<string, unknown> {
  return { id, type: 'span-panel', name: '', host, api: 'v1', interval: String(intervalS), mqttPort: '8883' };
}

export function pollNode(id: string, panel: string, wires: string[][]): Record<string, unknown> {
  return { id, z: TAB.id, x: 100, y: 100, type: 'span-poll', name: '', panel, topic: id, wires };
}

export function sinkNode(id: string): Record<string, unknown> {
  return { id, z: TAB.id, x: 300, y: 100, type: 'helper' };
}

/**
 * The core flow users build without us: inject (every `intervalS`, with the bearer token) → 4 × http request
 * (the 4 poll endpoints, default node settings, parsed JSON) → function (ok / status per response) → sink.
 */
export function theirFlow(prefix: string, port: number, intervalS: number): Record<string, unknown>[] {
  const requests = V1_POLL_PATHS.map((endpoint, i) =>
    onTab({
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
  return [
    onTab({
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
      wires: [requests.map((r) => r.id as string)],
    }),
    ...requests,
    onTab({
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
    }),
    sinkNode(`${prefix}-sink`),
  ];
}

/** span-panel 'cfg' (v1) with `n` span-poll nodes (poll0, poll1…) wired to one 'sink', and its credentials. */
export function fanFlow(host: string, intervalS: number, n: number) {
  const polls = Array.from({ length: n }, (_, i) => pollNode(`poll${i}`, 'cfg', [['sink']]));
  return {
    flow: [TAB, panelNode('cfg', host, intervalS), ...polls, sinkNode('sink')],
    creds: { cfg: { token: TOKEN } },
  };
}

/** Unloads the flows and stops the runtime, tolerating a half-started one. */
export async function stopNodeRed(): Promise<void> {
  await helper.unload().catch(() => undefined);
  await helper.stopServer().catch(() => undefined);
}

/** span-panel (v1) + span-poll → sink. */
export function ourFlow(prefix: string, port: number, intervalS: number): Record<string, unknown>[] {
  return [
    panelNode(`${prefix}-cfg`, `127.0.0.1:${port}`, intervalS),
    pollNode(`${prefix}-poll`, `${prefix}-cfg`, [[`${prefix}-sink`]]),
    sinkNode(`${prefix}-sink`),
  ];
}
