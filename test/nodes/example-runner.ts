/**
 * Child-process helper for examples.test.ts: deploys one example flow in a real embedded Node-RED that
 * loads this package from its root (plus whatever other node packages are installed, e.g.
 * node-red-contrib-home-assistant-websocket), against a simulated panel, and prints one JSON line:
 * {missingTypes, notCreated, errors, spanHealth}. Runs in its own process because node-red-node-test-helper
 * already owns the Node-RED runtime singletons in the mocha process.
 *
 * Usage: node example-runner.js <example.json> <settle ms>
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { SimulatedPanel } from '../../simulator/panel';

/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-explicit-any */

const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');
const TOKEN = 'example-runner-token';
const CORE_TYPES = new Set(['tab', 'comment', 'debug', 'inject', 'change', 'switch', 'function', 'catch']);

async function main(): Promise<void> {
  const [file, settle] = process.argv.slice(2);
  const flows: any[] = JSON.parse(fs.readFileSync(file, 'utf8'));
  const RED = require(process.env.SPAN_NODE_RED_PATH ?? 'node-red');
  const app = express();
  const server = http.createServer(app);
  const errors: string[] = [];
  const sim = await SimulatedPanel.start({ token: TOKEN, controlPort: null, tickMs: 500 });
  // Nothing that can throw between here and the try: the finally block removes this directory.
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'span-example-'));
  try {
    process.env.SPAN_HOST = `127.0.0.1:${sim.ports.http}`;
    const creds: Record<string, Record<string, string>> = {};
    for (const n of flows) {
      if (n.type === 'span-panel') creds[n.id] = { token: TOKEN };
      // The Home Assistant server node refuses to start without credentials; any address will do here.
      if (n.type === 'server') creds[n.id] = { host: 'http://127.0.0.1:9', access_token: 'not-a-token' };
    }
    fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
    fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(creds));
    RED.init(server, {
      userDir,
      flowFile: 'flows.json',
      credentialSecret: false,
      nodesDir: [PACKAGE_ROOT],
      httpAdminRoot: '/',
      httpNodeRoot: '/api',
      uiHost: '127.0.0.1',
      editorTheme: { tours: false, projects: { enabled: false } },
      telemetry: { enabled: false, updateNotification: false },
      logging: {
        console: { level: 'off' },
        capture: {
          level: 'error',
          handler: () => (m: any) => errors.push(`${m.type ?? ''}: ${String(m.msg)}`),
        },
      },
    });
    app.use('/', RED.httpAdmin);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    await RED.start();
    await new Promise((r) => setTimeout(r, Number(settle) || 2000));
    const missingTypes = flows
      .filter((n) => !CORE_TYPES.has(n.type) && !RED.nodes.getType(n.type))
      .map((n) => n.type);
    const notCreated = flows
      .filter((n) => n.type !== 'tab' && !RED.nodes.getNode(n.id))
      .map((n) => `${n.type}:${n.id}`);
    const panel = flows.find((n) => n.type === 'span-panel');
    const spanHealth = panel ? (RED.nodes.getNode(panel.id)?.health?.state ?? null) : null;
    console.log(JSON.stringify({ missingTypes, notCreated, errors, spanHealth }));
  } finally {
    await RED.stop().catch(() => undefined);
    server.closeAllConnections();
    await new Promise((r) => server.close(() => r(undefined)));
    await sim.close();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
