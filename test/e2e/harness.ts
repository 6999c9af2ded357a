/**
 * End-to-end harness: a simulated SPAN panel and a real Node-RED, both on 127.0.0.1 with ephemeral ports.
 *
 * Node-RED is embedded the documented way (RED.init + RED.start behind an express app, see
 * node-red-child.ts) in a child process of its own, with a fresh userDir, and loads this package from its
 * root through `nodesDir` (the package.json's node-red section, i.e. the built dist/). What the runtime
 * does (messages delivered to nodes, node statuses, log lines, runtime events) streams back to the test.
 * Everything started here is released by `stop()`/`close()`, so mocha exits without --exit.
 *
 * Environment:
 *   SPAN_NODE_RED_PATH     another node-red to embed (the Node-RED 5 pass, see scripts/nr5-runtime.js)
 *   SPAN_E2E_PACKAGE_ROOT  package root to load (default: cwd, the repo after `npm run build`)
 *   SPAN_E2E_LOG           Node-RED console log level (default off; logs are always captured)
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SimulatedPanel, type SimulatedPanelOptions } from '../../simulator';

/* eslint-disable @typescript-eslint/no-explicit-any */

export const PACKAGE_NAME = '@span-local/node-red-span-panel';
export const NODE_TYPES = ['span-panel', 'span-poll', 'span-circuit', 'span-status', 'span-ha'] as const;
/** Secrets used by every e2e test; none of them may ever show up outside the credentials store. */
export const TOKEN = 'e2e-token-7f3a9c-must-not-leak';
export const PASSPHRASE = 'e2e-passphrase-41d2-must-not-leak';

export type FlowNode = Record<string, any> & { id: string; type: string };

export function packageRoot(): string {
  return path.resolve(process.env.SPAN_E2E_PACKAGE_ROOT ?? process.cwd());
}

/** The node-red main module to embed (the same one the node tests use). */
export function nodeRedMain(): string {
  return process.env.SPAN_NODE_RED_PATH ?? require.resolve('node-red');
}

/** node-red's package directory (its red.js CLI lives there). */
export function nodeRedDir(main = nodeRedMain()): string {
  let dir = path.dirname(main);
  while (
    !fs.existsSync(path.join(dir, 'package.json')) ||
    readJson(path.join(dir, 'package.json')).name !== 'node-red'
  ) {
    const up = path.dirname(dir);
    assert.notEqual(up, dir, `no node-red package.json above ${main}`);
    dir = up;
  }
  return dir;
}

export function readJson(file: string): any {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `span-e2e-${prefix}-`));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something truthy; fails naming `what` on timeout. */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  timeoutMs = 15_000,
  stepMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) {
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await sleep(stepMs);
  }
}

/** Fails the build early with a clear message instead of a cryptic load error. */
export function assertBuilt(root = packageRoot()): void {
  const pkg = readJson(path.join(root, 'package.json'));
  for (const js of Object.values<string>(pkg['node-red'].nodes)) {
    assert.ok(fs.existsSync(path.join(root, js)), `${js} is missing in ${root}: run \`npm run build\` first`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Simulated panel
// ---------------------------------------------------------------------------------------------------------

/**
 * A simulated panel that accepts TOKEN on its v1 API (add the v2 face with `plugins`); no control port,
 * the tests drive faults in-process.
 */
export function startPanel(opts: SimulatedPanelOptions = {}): Promise<SimulatedPanel> {
  return SimulatedPanel.start({ token: TOKEN, controlPort: null, tickMs: 500, ...opts });
}

export const hostOf = (panel: SimulatedPanel): string => `127.0.0.1:${panel.ports.http}`;

// ---------------------------------------------------------------------------------------------------------
// Embedded Node-RED (in a child process; see node-red-child.ts for why)
// ---------------------------------------------------------------------------------------------------------

export const HOME_ASSISTANT_MODULE = 'node-red-contrib-home-assistant-websocket';
export const DASHBOARD_MODULE = '@flowfuse/node-red-dashboard';

export interface NodeRedOptions {
  /** Written to flows.json before start. */
  flows?: FlowNode[];
  /** Written to flows_cred.json before start (plain, so credentialSecret must stay false). */
  credentials?: Record<string, Record<string, string>>;
  /** Default false (plain flows_cred.json); a string encrypts the credentials file like a real install. */
  credentialSecret?: string | false;
  /** Environment of the Node-RED process on top of ours (e.g. SPAN_HOST for the examples). */
  env?: Record<string, string>;
  /**
   * Load node-red-contrib-home-assistant-websocket (a dev dependency Node-RED finds in the repo's
   * node_modules). Off by default: it is only needed by the Home Assistant example.
   */
  homeAssistant?: boolean;
  /** Load FlowFuse Dashboard 2 (a dev dependency, like the above); off by default. */
  dashboard?: boolean;
  /** Extra settings merged over the defaults (JSON only: they cross a process boundary). */
  settings?: Record<string, unknown>;
}

/** One message delivered to a node, as the runtime's preDeliver hook saw it. */
export interface Delivery {
  from: string;
  fromType: string;
  port: number;
  to: string;
  toType: string;
  msg: Record<string, any>;
}

export interface NodeStatus {
  fill?: string;
  shape?: string;
  text?: string;
}

export interface LogEntry {
  /** Node-RED levels: fatal 10, error 20, warn 30, info 40, debug 50. */
  level: number;
  type?: string;
  id?: string;
  msg: string;
}

type ChildMessage =
  | { t: 'ready'; port: number }
  | { t: 'failed'; error: string }
  | { t: 'stopped' }
  | ({ t: 'delivery' } & Delivery)
  | { t: 'status'; id: string; status: NodeStatus }
  | ({ t: 'log' } & LogEntry)
  | { t: 'runtime-event'; event: Record<string, any> };

export class NodeRed {
  readonly deliveries: Delivery[] = [];
  readonly statuses: { id: string; status: NodeStatus }[] = [];
  readonly logs: LogEntry[] = [];
  /** Runtime events (deploy state, missing node types…). */
  readonly runtimeEvents: Record<string, any>[] = [];
  port = 0;

  private readonly output: string[] = [];
  private exited: Promise<void>;
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly child: ChildProcess,
    readonly userDir: string,
    readonly version: string,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        // A crash (e.g. an unhandled rejection in a node) shows up as a fatal log line in problems().
        if (!this.stopping) {
          this.logs.push({ level: 10, msg: `Node-RED exited unexpectedly (${code ?? signal})` });
        }
        resolve();
      }),
    );
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString());
      if (this.output.length > 400) this.output.splice(0, this.output.length - 400);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('message', (m: ChildMessage) => this.record(m));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(opts: NodeRedOptions = {}): Promise<NodeRed> {
    const main = nodeRedMain();
    const version = readJson(path.join(nodeRedDir(main), 'package.json')).version as string;
    const userDir = tempDir('userdir');
    if (opts.flows) fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(opts.flows, null, 2));
    if (opts.credentials) {
      assert.equal(
        opts.credentialSecret ?? false,
        false,
        'pre-written credentials need credentialSecret false',
      );
      fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(opts.credentials));
    }
    const settings = {
      userDir,
      flowFile: 'flows.json',
      credentialSecret: opts.credentialSecret ?? false,
      nodesDir: [packageRoot()],
      httpAdminRoot: '/',
      httpNodeRoot: '/api',
      uiHost: '127.0.0.1',
      editorTheme: { tours: false, projects: { enabled: false } },
      telemetry: { enabled: false, updateNotification: false },
      externalModules: {
        palette: {
          allowInstall: false,
          allowList: ['*'],
          denyList: [
            ...(opts.homeAssistant ? [] : [HOME_ASSISTANT_MODULE]),
            ...(opts.dashboard ? [] : [DASHBOARD_MODULE]),
          ],
        },
        modules: { allowInstall: false },
      },
      functionExternalModules: false,
      ...opts.settings,
    };
    const child = fork(path.join(__dirname, 'node-red-child.js'), [], {
      env: { ...process.env, ...opts.env },
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const nr = new NodeRed(child, userDir, version);
    try {
      nr.port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('Node-RED did not start within 60 s')), 60_000);
        const onMessage = (m: ChildMessage) => {
          if (m.t === 'ready') finish(() => resolve(m.port));
          if (m.t === 'failed') finish(() => reject(new Error(`Node-RED failed to start: ${m.error}`)));
        };
        const onExit = (code: number | null) =>
          finish(() => reject(new Error(`Node-RED exited (${code}) while starting:\n${nr.outputTail()}`)));
        const finish = (fn: () => void) => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
          fn();
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.send({
          t: 'start',
          nodeRedMain: main,
          settings,
          consoleLevel: process.env.SPAN_E2E_LOG ?? 'off',
        });
      });
    } catch (e) {
      await nr.stop();
      throw e;
    }
    return nr;
  }

  private record(m: ChildMessage): void {
    switch (m.t) {
      case 'delivery': {
        const { t: _t, ...d } = m;
        this.deliveries.push(d);
        break;
      }
      case 'status':
        this.statuses.push({ id: m.id, status: m.status });
        break;
      case 'log': {
        const { t: _t, ...l } = m;
        this.logs.push(l);
        break;
      }
      case 'runtime-event':
        this.runtimeEvents.push(m.event);
        break;
    }
  }

  /** The last lines Node-RED printed (console logging is off unless SPAN_E2E_LOG is set). */
  outputTail(lines = 40): string {
    return this.output.join('').split('\n').slice(-lines).join('\n');
  }

  /** A request to the admin API; JSON in and out. */
  async admin(
    method: string,
    urlPath: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: any; text: string }> {
    const res = await fetch(this.url + urlPath, {
      method,
      headers: {
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (editor HTML, plain text); keep the text
    }
    return { status: res.status, body: parsed, text };
  }

  /** A full deploy through the admin API, as the editor's Deploy button does it; node `credentials` go along. */
  async deploy(flows: FlowNode[]): Promise<void> {
    const r = await this.admin(
      'POST',
      '/flows',
      { flows },
      { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
    );
    assert.equal(r.status, 200, `deploy failed: ${r.text}`);
  }

  lastStatus(id: string): NodeStatus | undefined {
    for (let i = this.statuses.length - 1; i >= 0; i--) {
      if (this.statuses[i].id === id) return this.statuses[i].status;
    }
    return undefined;
  }

  async waitForStatus(
    id: string,
    match: (s: NodeStatus) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<NodeStatus> {
    return waitFor(
      () => `${what} (last status of ${id}: ${JSON.stringify(this.lastStatus(id) ?? null)})`,
      () => {
        const s = this.lastStatus(id);
        return s && match(s) ? s : null;
      },
      timeoutMs,
    );
  }

  /** Messages delivered to node `id`, from index `from` of all deliveries on. */
  deliveredTo(id: string, from = 0): Delivery[] {
    return this.deliveries.slice(from).filter((d) => d.to === id);
  }

  async waitForDelivery(
    id: string,
    match: (d: Delivery) => boolean,
    what: string,
    timeoutMs = 15_000,
    from = 0,
  ): Promise<Delivery> {
    return waitFor(
      () => `${what} (${this.deliveredTo(id, from).length} messages reached ${id})`,
      () => this.deliveredTo(id, from).find(match),
      timeoutMs,
    );
  }

  /** Node types the runtime reported as missing (unknown node types in the flow). */
  missingTypes(): string[] {
    return this.runtimeEvents
      .filter((e) => e.id === 'runtime-state' && e.payload?.error === 'missing-types')
      .flatMap((e) => e.payload.types as string[]);
  }

  /** Log lines at `maxLevel` or more severe (default: warnings and errors), as text. */
  problems(maxLevel = 30): string[] {
    return this.logs
      .filter((l) => l.level <= maxLevel)
      .map((l) => `[${l.type ?? ''}:${l.id ?? ''}] ${l.msg}`);
  }

  /** Every file Node-RED wrote into its userDir, as one text. */
  userDirText(): string {
    const out: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (e.name !== 'node_modules') walk(p);
        } else if (fs.statSync(p).size < 5_000_000) {
          out.push(`--- ${e.name}\n${fs.readFileSync(p, 'utf8')}`);
        }
      }
    };
    walk(this.userDir);
    return out.join('\n');
  }

  /** Stops the flows (nodes close), then the process; idempotent. */
  async stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      if (this.child.connected) this.child.send({ t: 'stop' });
      const killed = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      await this.exited;
      clearTimeout(killed);
    }
    if (this.child.connected) this.child.disconnect();
    fs.rmSync(this.userDir, { recursive: true, force: true });
  }
}

/** Which of `secrets` occur in `value` (a string or anything JSON-serializable). */
export function leakedSecrets(value: unknown, secrets: string[] = [TOKEN, PASSPHRASE]): string[] {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return secrets.filter((s) => text.includes(s));
}
