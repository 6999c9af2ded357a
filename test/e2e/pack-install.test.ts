/**
 * The package as the palette manager installs it: `npm pack` → `npm install <tarball>` (the palette
 * manager's own npm arguments) into a fresh Node-RED user directory → the stock `node-red` command on that
 * directory → the admin API shows the module loaded with every node type, its editor files, help, icons,
 * message catalog and examples, and the installed nodes work against a simulated panel.
 *
 * Runs on the runtime of the current test pass: Node-RED 4 on the machine's Node, and (scripts/nr5-runtime.js)
 * Node-RED 5 on Node 22. Installing needs the npm registry or cache for the 4 runtime dependencies
 * (--prefer-offline uses the cache when it can).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SimulatedPanel } from '../../simulator';
import {
  assertBuilt,
  HOME_ASSISTANT_MODULE,
  hostOf,
  leakedSecrets,
  NODE_TYPES,
  nodeRedDir,
  packageRoot,
  PACKAGE_NAME,
  readJson,
  sleep,
  startPanel,
  tempDir,
  TOKEN,
  waitFor,
} from './harness';

/* eslint-disable @typescript-eslint/no-explicit-any */

const run = promisify(execFile);
const redDir = nodeRedDir();
const nodeRedVersion: string = readJson(path.join(redDir, 'package.json')).version;
/** What @node-red/registry's installer passes to `npm install` (node-red 4.1 installer.js). */
const PALETTE_MANAGER_NPM_ARGS = [
  '--no-audit',
  '--no-update-notifier',
  '--no-fund',
  '--save',
  '--save-prefix=~',
  '--omit=dev',
  '--engine-strict',
];

/** A port nobody uses right now (red.js has no "port 0"): bind to 0, read it, release it. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The stock node-red command on a user directory, as a user runs it. */
class NodeRedProcess {
  private readonly output: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.stdout?.on('data', (c: Buffer) => this.output.push(c.toString()));
    child.stderr?.on('data', (c: Buffer) => this.output.push(c.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output.join('');
  }

  static async start(userDir: string): Promise<NodeRedProcess> {
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(redDir, 'red.js'), '-u', userDir, '-p', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const nr = new NodeRedProcess(child, port);
    let exitCode: number | null | undefined;
    nr.exited.then((code) => (exitCode = code));
    try {
      await waitFor(
        () => `Node-RED listening on ${port}:\n${nr.log.slice(-2000)}`,
        async () => {
          if (exitCode !== undefined) assert.fail(`node-red exited (${exitCode}):\n${nr.log.slice(-2000)}`);
          return fetch(`${nr.url}/settings`, { headers: { Accept: 'application/json' } }).then(
            (r) => r.ok,
            () => false,
          );
        },
        60_000,
        200,
      );
    } catch (e) {
      await nr.stop();
      throw e;
    }
    return nr;
  }

  async get(
    urlPath: string,
    accept = 'application/json',
  ): Promise<{ status: number; text: string; body: any }> {
    const res = await fetch(this.url + urlPath, { headers: { Accept: accept } });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // HTML, SVG
    }
    return { status: res.status, text, body };
  }

  async post(
    urlPath: string,
    json: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: any }> {
    const res = await fetch(this.url + urlPath, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(json),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep text
    }
    return { status: res.status, body };
  }

  /** SIGINT: red.js stops the flows (nodes close) and exits; SIGKILL if it hangs. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}

describe(`installed from the packed tarball like the palette manager (Node-RED ${nodeRedVersion}, Node ${process.version})`, function () {
  this.timeout(60_000);

  const root = packageRoot();
  const pkg = readJson(path.join(root, 'package.json'));
  let work = '';
  let userDir = '';
  let installedDir = '';
  let nr: NodeRedProcess | null = null;
  let panel: SimulatedPanel | null = null;

  before(async function () {
    this.timeout(300_000);
    assertBuilt(root);
    work = tempDir('pack');
    // --ignore-scripts: the build exists (asserted above); prepack would rebuild dist/ under other tests.
    let t = Date.now();
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: root,
      maxBuffer: 20 * 1024 * 1024,
    });
    const tarball = path.join(work, JSON.parse(packed.stdout)[0].filename);
    const packMs = Date.now() - t;

    // A fresh user directory as Node-RED creates it, plus our settings.
    userDir = path.join(work, 'userdir');
    fs.mkdirSync(userDir);
    fs.writeFileSync(
      path.join(userDir, 'package.json'),
      JSON.stringify({
        name: 'node-red-project',
        description: 'A Node-RED Project',
        version: '0.0.1',
        private: true,
      }),
    );
    fs.writeFileSync(
      path.join(userDir, 'settings.js'),
      `module.exports = ${JSON.stringify(
        {
          uiHost: '127.0.0.1',
          flowFile: 'flows.json',
          credentialSecret: false,
          editorTheme: { tours: false, projects: { enabled: false } },
          telemetry: { enabled: false, updateNotification: false },
          // The repo's dev dependency would be found too (Node-RED scans the node_modules above its own).
          externalModules: {
            palette: { allowInstall: false, allowList: ['*'], denyList: [HOME_ASSISTANT_MODULE] },
          },
          logging: { console: { level: 'info', metrics: false, audit: false } },
        },
        null,
        2,
      )};\n`,
    );

    t = Date.now();
    await run('npm', ['install', ...PALETTE_MANAGER_NPM_ARGS, '--prefer-offline', '--', tarball], {
      cwd: userDir,
      maxBuffer: 20 * 1024 * 1024,
    }).catch((e: { stderr?: string; message: string }) => {
      assert.fail(
        `npm install of the tarball failed (needs the npm registry or cache): ${e.stderr ?? e.message}`,
      );
    });
    const installMs = Date.now() - t;
    installedDir = path.join(userDir, 'node_modules', ...PACKAGE_NAME.split('/'));
    console.log(
      `      npm pack ${(packMs / 1000).toFixed(1)} s, npm install ${(installMs / 1000).toFixed(1)} s`,
    );

    t = Date.now();
    nr = await NodeRedProcess.start(userDir);
    console.log(`      node-red ${nodeRedVersion} up in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  });

  after(async function () {
    this.timeout(60_000);
    await nr?.stop();
    await panel?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('installs as a user module with its runtime dependencies inside the user directory', () => {
    assert.equal(readJson(path.join(installedDir, 'package.json')).version, pkg.version);
    // --save: listed in the user directory's package.json, which is how the palette manager lists it.
    assert.match(readJson(path.join(userDir, 'package.json')).dependencies[PACKAGE_NAME], /^(~|file:)/);
    for (const dep of Object.keys(pkg.dependencies)) {
      const resolved = require.resolve(dep, { paths: [installedDir] });
      assert.ok(
        resolved.startsWith(path.join(userDir, 'node_modules')),
        `${dep} resolves inside the userDir`,
      );
    }
    for (const js of Object.values<string>(pkg['node-red'].nodes)) {
      assert.ok(fs.existsSync(path.join(installedDir, js)), `${js} is in the tarball`);
    }
  });

  it('registers every node type, enabled and without a load error (GET /nodes)', async () => {
    const list = await nr!.get('/nodes');
    assert.equal(list.status, 200);
    const sets = (list.body as any[]).filter((s) => s.module === PACKAGE_NAME);
    assert.ok(sets.length > 0, `module not loaded:\n${nr!.log.slice(-3000)}`);
    for (const s of sets) {
      assert.equal(s.err, undefined, `${s.id}: ${s.err}`);
      assert.equal(s.enabled, true, `${s.id} enabled`);
      assert.equal(s.version, pkg.version);
    }
    assert.deepEqual(sets.flatMap((s) => s.types).sort(), [...NODE_TYPES].sort());
    // The palette manager lists it as installed by the user (removable), from the user directory.
    const info = await nr!.get(`/nodes/${PACKAGE_NAME}`);
    assert.equal(info.status, 200);
    assert.equal(info.body.user, true, 'module counts as user-installed');
    assert.equal(info.body.local, true, 'module is local to the user directory');
    assert.equal(fs.realpathSync(info.body.path), fs.realpathSync(installedDir));
    assert.doesNotMatch(nr!.log, /\[(warn|error)\].*span/i, 'no warning or error about our module at load');
  });

  it('serves the editor definitions, help, icons, message catalogs and examples', async () => {
    const html = await nr!.get('/nodes', 'text/html');
    assert.equal(html.status, 200);
    for (const type of NODE_TYPES) {
      assert.ok(html.text.includes(`RED.nodes.registerType('${type}'`), `${type} editor definition`);
      assert.ok(html.text.includes(`data-help-name="${type}"`), `${type} help`);
    }
    // Every definition above needs the shared editor script: without it the palette stays empty, silently.
    const script = await nr!.get(`/resources/${PACKAGE_NAME}/span-editor.js`, 'application/javascript');
    assert.equal(script.status, 200, 'resources/span-editor.js is served from the installed module');
    assert.match(script.text, /SpanEditor/);
    const icon = await nr!.get(`/icons/${PACKAGE_NAME}/span-panel.svg`, 'image/svg+xml');
    assert.equal(icon.status, 200);
    assert.match(icon.text, /<svg/);
    const messages = await nr!.get('/nodes/messages?lng=en-US');
    for (const type of NODE_TYPES) {
      assert.equal(typeof messages.body[`${PACKAGE_NAME}/${type}`]?.[type], 'object', `${type} catalog`);
    }
    const examples = await nr!.get(`/library/examples/flows/${PACKAGE_NAME}`);
    assert.equal(examples.status, 200);
    const shipped = fs
      .readdirSync(path.join(root, 'examples'))
      .map((f) => ({ fn: f.replace(/\.json$/, '') }));
    assert.deepEqual(
      (examples.body as { fn: string }[]).sort((a, b) => a.fn.localeCompare(b.fn)),
      shipped.sort((a, b) => a.fn.localeCompare(b.fn)),
    );
  });

  it('works: "test connection" and a deployed panel go online against a simulated panel', async () => {
    panel = await startPanel();
    const test = await nr!.post('/span-panel/test', { host: hostOf(panel), api: 'auto', token: TOKEN });
    assert.equal(test.status, 200, JSON.stringify(test.body));
    assert.equal(test.body.serial, panel.state.identity.serial);
    assert.equal(test.body.circuits.length, panel.state.circuits.length);

    const deployed = await nr!.post(
      '/flows',
      {
        flows: [
          { id: 'e2etab', type: 'tab', label: 'installed' },
          {
            id: 'e2ecfg',
            type: 'span-panel',
            host: hostOf(panel),
            api: 'auto',
            interval: '1',
            mqttPort: '8883',
            credentials: { token: TOKEN },
          },
          { id: 'e2epoll', z: 'e2etab', type: 'span-poll', panel: 'e2ecfg', wires: [[]] },
        ],
      },
      { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
    );
    assert.equal(deployed.status, 200, JSON.stringify(deployed.body));
    let last = '';
    const health = await waitFor(
      () => `the deployed panel online (last answer: ${last}; log:\n${nr!.log.slice(-1500)})`,
      async () => {
        const h = await nr!.get('/span-panel/e2ecfg/health');
        last = `${h.status} ${h.text}`;
        return h.status === 200 && h.body.health?.state === 'online' ? h.body : null;
      },
      20_000,
      200,
    );
    assert.equal(health.serial, panel.state.identity.serial);
    await sleep(200);
    const flows = await nr!.get('/flows');
    assert.deepEqual(leakedSecrets(flows.text), [], 'GET /flows');
    assert.deepEqual(leakedSecrets(nr!.log), [], 'Node-RED console log');
  });
});
