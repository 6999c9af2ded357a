/**
 * `npm start`: a simulated SPAN panel plus an embedded Node-RED with this package loaded and the "basics"
 * example deployed against the simulator. Open the printed editor URL; Ctrl-C stops everything and removes
 * the temporary Node-RED user directory.
 *
 *   PORT=1881 npm start        editor on another port (0 = any free port)
 *   SPAN_DEMO_QUIET=1          no Node-RED log lines, only the demo's own
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { SimulatedPanel } from '../simulator/panel';
import { createV2Plugin } from '../simulator/v2';

/* eslint-disable @typescript-eslint/no-require-imports */

// Compiled to dist/scripts/demo.js: the package root (package.json with the "node-red" section) is two up.
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
const DEMO_TOKEN = 'span-demo-token';
const DEMO_PASSPHRASE = 'span-demo-passphrase';
/** Deployed in this order: the first tab is the one the editor opens. */
const DEMO_EXAMPLES = ['basics.json', 'solar-battery-ev.json'];

/** Debug nodes of the basics example that also print to this terminal. */
const ECHO_DEBUG_NODES = ['grid power', 'health', 'command error'];

export interface Demo {
  url: string;
  userDir: string;
  panelUrl: string;
  /** The simulator's control API (faults, proximity, reboot…). */
  controlUrl: string;
  stop(): Promise<void>;
}

interface FlowNode {
  id: string;
  type: string;
  name?: string;
  console?: boolean;
  mqttPort?: string;
}

export async function startDemo(opts: { port: number; quiet?: boolean }): Promise<Demo> {
  // v2 (REST bootstrap + MQTTS broker) like current firmware (parent/child data model, so the EV charger's
  // ceiling is settable); the legacy v1 API answers as well.
  const v2 = createV2Plugin({ dataModel: 'parent-child', passphrase: DEMO_PASSPHRASE });
  const panel = await SimulatedPanel.start({
    token: DEMO_TOKEN,
    keepAliveMs: 5000,
    tickMs: 1000,
    controlPort: 0,
    plugins: [v2],
  });
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'span-demo-'));
  let server: http.Server | null = null;
  let RED: typeof import('node-red') | null = null;
  try {
    process.env.SPAN_HOST = `127.0.0.1:${panel.ports.http}`;
    // Both examples share the one span-panel config node: keep it once.
    const flows: FlowNode[] = [];
    for (const file of DEMO_EXAMPLES) {
      const example = JSON.parse(
        fs.readFileSync(path.join(PACKAGE_ROOT, 'examples', file), 'utf8'),
      ) as FlowNode[];
      for (const n of example) if (!flows.some((f) => f.id === n.id)) flows.push(n);
    }
    for (const n of flows) {
      if (n.type === 'debug' && ECHO_DEBUG_NODES.includes(n.name ?? '')) n.console = true;
    }
    const panelNode = flows.find((n) => n.type === 'span-panel');
    if (!panelNode) throw new Error('the demo examples have no span-panel node');
    // A real panel's broker listens on 8883; the simulator's on a free port.
    panelNode.mqttPort = String(v2.mqttPort);
    fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows, null, 2));
    // Plain-text credentials are fine for a throwaway demo directory (credentialSecret: false).
    fs.writeFileSync(
      path.join(userDir, 'flows_cred.json'),
      JSON.stringify({ [panelNode.id]: { passphrase: DEMO_PASSPHRASE } }, null, 2),
    );

    RED = require('node-red') as typeof import('node-red');
    const app = express();
    server = http.createServer(app);
    const settings = {
      userDir,
      flowFile: 'flows.json',
      credentialSecret: false as const,
      nodesDir: [PACKAGE_ROOT],
      uiHost: '127.0.0.1',
      uiPort: opts.port,
      httpAdminRoot: '/',
      httpNodeRoot: '/api',
      editorTheme: { tours: false, projects: { enabled: false } },
      telemetry: { enabled: false, updateNotification: false },
      externalModules: { autoInstall: false, palette: { allowInstall: false } },
      logging: { console: { level: opts.quiet ? 'off' : 'info', metrics: false, audit: false } },
    };
    RED.init(server, settings as unknown as Parameters<typeof RED.init>[1]);
    app.use(settings.httpAdminRoot, RED.httpAdmin);
    app.use(settings.httpNodeRoot, RED.httpNode);
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(opts.port, '127.0.0.1', () => resolve());
    });
    await RED.start();
  } catch (e) {
    await cleanup(RED, server, panel, userDir);
    throw e;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  let stopping: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}/`,
    userDir,
    panelUrl: panel.url,
    controlUrl: `http://127.0.0.1:${panel.ports.control}`,
    stop: () => (stopping ??= cleanup(RED, server, panel, userDir)),
  };
}

async function cleanup(
  RED: typeof import('node-red') | null,
  server: http.Server | null,
  panel: SimulatedPanel,
  userDir: string,
): Promise<void> {
  const steps: (() => Promise<unknown>)[] = [
    async () => RED && (await RED.stop()),
    async () => {
      if (!server?.listening) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    () => panel.close(),
    async () => fs.rmSync(userDir, { recursive: true, force: true }),
  ];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      console.error(`demo: cleanup step failed: ${(e as Error).message}`);
    }
  }
}

async function main(): Promise<void> {
  const port = process.env.PORT === undefined ? 1880 : Number(process.env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`invalid PORT ${process.env.PORT}`);
  const demo = await startDemo({ port, quiet: process.env.SPAN_DEMO_QUIET === '1' });
  console.log('');
  console.log(`SPAN demo: Node-RED editor at ${demo.url}`);
  console.log(
    `SPAN demo: simulated panel at ${demo.panelUrl} (SPAN_HOST; v2 with passphrase, legacy v1 too)`,
  );
  console.log(`SPAN demo: user directory ${demo.userDir} (removed on exit)`);
  console.log(
    `SPAN demo: simulate an outage: curl -X POST ${demo.controlUrl}/faults -d '{"kind":"broker-down","durationMs":30000}'`,
  );
  console.log(
    'SPAN demo: the "SPAN basics" tab shows live data in the debug sidebar; Ctrl-C stops everything.',
  );
  console.log('');
  let signalled = false;
  const stop = (signal: string) => {
    if (signalled) return;
    signalled = true;
    console.log(`\nSPAN demo: ${signal}, stopping…`);
    demo.stop().then(
      () => {
        console.log('SPAN demo: stopped, temporary files removed.');
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(`SPAN demo failed to start: ${(e as Error).message}`);
    process.exit(1);
  });
}
