/**
 * Shared harness for the node tests: the real Node-RED runtime through node-red-node-test-helper, simulated
 * panels on loopback, and small waiting utilities. Point SPAN_NODE_RED_PATH at another node-red install to
 * run the same tests on another runtime (Node-RED 5).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SimulatedPanel, type SimulatedPanelOptions } from '../../simulator/panel';
import { createV2Plugin, type SimDataModel, type V2Plugin } from '../../simulator/v2';

/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-explicit-any */

export interface TestNode {
  id: string;
  type: string;
  credentials: Record<string, unknown>;
  on(event: string, listener: (...args: any[]) => void): void;
  removeListener(event: string, listener: (...args: any[]) => void): void;
  receive(msg: Record<string, unknown>): void;
  [key: string]: any;
}

export interface TestHelper {
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
  getNode(id: string): TestNode;
  request(): any;
  _redNodes: { getFlows(): { flows: unknown[] } };
}

export const helper: TestHelper = require('node-red-node-test-helper');
helper.init(require.resolve(process.env.SPAN_NODE_RED_PATH ?? 'node-red'));

type NodeModule = (RED: any) => unknown;
const spanPanel: NodeModule = require('../../nodes/span-panel');
const spanPoll: NodeModule = require('../../nodes/span-poll');
const spanCircuit: NodeModule = require('../../nodes/span-circuit');
const spanStatus: NodeModule = require('../../nodes/span-status');
const spanHa: NodeModule = require('../../nodes/span-ha');

export const TOKEN = 'node-test-token-5e1d-do-not-log';
export const PASSPHRASE = 'node-test-passphrase-93b2';

/** The en-US catalogs, so messages and status texts are the real strings rather than the helper's keys. */
function loadCatalog(): Record<string, any> {
  const dir = path.join(process.cwd(), 'nodes', 'locales', 'en-US');
  const catalog: Record<string, any> = {};
  for (const f of fs.readdirSync(dir)) {
    if (f.endsWith('.json')) Object.assign(catalog, JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
  }
  return catalog;
}
const catalog = loadCatalog();

/** i18next as Node-RED configures it: `__name__` placeholders; a missing key comes back unchanged. */
export function translate(key: string, params?: Record<string, unknown>): string {
  const value = key
    .split('.')
    .reduce<any>((o, k) => (o && typeof o === 'object' ? o[k] : undefined), catalog);
  if (typeof value !== 'string') return key;
  return value.replace(/__(.+?)__/g, (whole, name: string) =>
    params && params[name] !== undefined ? String(params[name]) : whole,
  );
}

/** Our node modules, with RED._ translating through the catalog (the helper's RED._ returns the key). */
export const spanNodes: NodeModule[] = [spanPanel, spanPoll, spanCircuit, spanStatus, spanHa].map(
  (mod) =>
    function (RED: any) {
      RED._ = translate;
      return mod(RED);
    },
);

/** Simulated panels for one test; `closeAll` in afterEach. Physics ticks only when a test asks for it. */
export class Panels {
  private readonly started: SimulatedPanel[] = [];

  async start(opts: SimulatedPanelOptions = {}): Promise<SimulatedPanel> {
    const p = await SimulatedPanel.start({ token: TOKEN, controlPort: null, tickMs: 0, ...opts });
    this.started.push(p);
    return p;
  }

  /** A panel that speaks v2 (REST bootstrap + MQTTS broker) as well as v1; its passphrase is PASSPHRASE. */
  async startV2(
    dataModel: SimDataModel = 'flat',
    opts: SimulatedPanelOptions = {},
  ): Promise<{ sim: SimulatedPanel; mqttPort: number; v2: V2Plugin }> {
    const v2 = createV2Plugin({ dataModel, passphrase: PASSPHRASE });
    const sim = await this.start({ plugins: [v2], ...opts });
    return { sim, mqttPort: v2.mqttPort, v2 };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.started.splice(0).map((p) => p.close()));
  }
}

export const hostOf = (p: SimulatedPanel): string => `127.0.0.1:${p.ports.http}`;

/** A tab plus the given nodes on it (config nodes stay without z). */
export function flow(...nodes: Record<string, unknown>[]): Record<string, unknown>[] {
  return [
    { id: 'tab1', type: 'tab', label: 'test' },
    ...nodes.map((n) => (n.type === 'span-panel' ? n : { z: 'tab1', ...n })),
  ];
}

export function panelConfig(
  id: string,
  host: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { id, type: 'span-panel', name: '', host, api: 'v1', interval: '0.3', mqttPort: '8883', ...extra };
}

import { sleep, waitFor } from '../helpers/wait';

export { sleep, waitFor };

/** Records every message a helper node receives. */
export class Recorder {
  readonly messages: Record<string, any>[] = [];
  private readonly node: TestNode;
  private readonly listener = (msg: Record<string, any>) => this.messages.push(msg);

  constructor(id: string) {
    this.node = helper.getNode(id);
    assert.ok(this.node, `helper node ${id} exists`);
    this.node.on('input', this.listener);
  }

  /** Resolves with the first message from now on (index >= from) that satisfies `match`. */
  async next(
    what: string,
    match: (m: Record<string, any>) => boolean = () => true,
    timeoutMs = 8000,
    from = this.messages.length,
  ): Promise<Record<string, any>> {
    return waitFor(what, () => this.messages.slice(from).find(match), timeoutMs);
  }

  stop(): void {
    this.node.removeListener('input', this.listener);
  }
}

/** Records the statuses a node shows (via the core Status node path would need a tab; this is direct). */
export class StatusLog {
  readonly statuses: { fill?: string; shape?: string; text?: string }[] = [];
  private readonly listener = (call: { args: [{ fill?: string; shape?: string; text?: string }] }) =>
    this.statuses.push(call.args[0]);

  constructor(private readonly node: TestNode) {
    node.on('call:status', this.listener);
  }

  get last(): { fill?: string; shape?: string; text?: string } | undefined {
    return this.statuses[this.statuses.length - 1];
  }

  async waitFor(
    what: string,
    match: (s: { fill?: string; shape?: string; text?: string }) => boolean,
    timeoutMs = 8000,
  ): Promise<{ fill?: string; shape?: string; text?: string }> {
    return waitFor(what, () => (this.last && match(this.last) ? this.last : null), timeoutMs);
  }

  stop(): void {
    this.node.removeListener('call:status', this.listener);
  }
}

/** mocha hooks every node test file needs: a helper server per test, always unloaded. */
export function useNodeRed(): void {
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });
}

/** Every string in a structure, for "does this contain a secret" checks. */
export function containsSecret(value: unknown, secrets: string[]): string | null {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return secrets.find((s) => text.includes(s)) ?? null;
}
