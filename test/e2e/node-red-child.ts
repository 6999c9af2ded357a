/**
 * Child-process entry for the e2e harness: embeds one Node-RED (RED.init + RED.start behind express, the
 * documented embedding) and reports what the tests observe over the IPC channel: the port, every message
 * delivered to a node (preDeliver hook), node statuses, runtime events and log lines.
 *
 * Node-RED runs in its own process because the runtime is a process-wide singleton that the node tests
 * (node-red-node-test-helper) re-initialise with stubs, and because some palette modules keep timers for
 * the life of the process (node-red-contrib-home-assistant-websocket: a 6-hour interval, never cleared).
 * A child we end ourselves keeps the mocha process clean.
 *
 * Parent → child: {t:'start', settings, nodeRedMain} then {t:'stop'}.
 * Child → parent: {t:'ready', port}, {t:'delivery'|'status'|'log'|'runtime-event', ...},
 *                 {t:'failed', error}, {t:'stopped'}.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';

/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-explicit-any */

interface StartMessage {
  t: 'start';
  nodeRedMain: string;
  settings: Record<string, any>;
  consoleLevel: string;
}

const send = (m: Record<string, unknown>): void => {
  if (process.connected) process.send?.(m);
};

/** A plain-data copy of a message (the live one is changed by downstream nodes). */
function plain(msg: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(msg, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
  } catch {
    return { unserializable: String(msg) };
  }
}

let RED: any = null;
let server: http.Server | null = null;
const sockets = new Set<Socket>();

async function start(m: StartMessage): Promise<void> {
  RED = require(m.nodeRedMain);
  const express = require(require.resolve('express', { paths: [path.dirname(m.nodeRedMain)] }));
  const settings: Record<string, any> = {
    ...m.settings,
    logging: {
      console: { level: m.consoleLevel, metrics: false, audit: false },
      e2e: {
        level: 'debug',
        metrics: false,
        audit: false,
        handler: () => (l: any) =>
          send({ t: 'log', level: l.level, type: l.type, id: l.id, msg: String(l.msg) }),
      },
    },
  };
  const app = express();
  server = http.createServer(app);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  RED.init(server, settings);
  app.use(settings.httpAdminRoot, RED.httpAdmin);
  app.use(settings.httpNodeRoot, RED.httpNode);

  RED.hooks.add('preDeliver.spanE2e', (ev: any) => {
    send({
      t: 'delivery',
      from: ev.source?.id,
      fromType: ev.source?.node?.type,
      port: ev.source?.port ?? 0,
      to: ev.destination?.id,
      toType: ev.destination?.node?.type,
      msg: plain(ev.msg),
    });
  });
  RED.events.on('node-status', (e: any) => send({ t: 'status', id: e.id, status: plain(e.status) }));
  RED.events.on('runtime-event', (e: any) => send({ t: 'runtime-event', event: plain(e) }));

  const port = await new Promise<number>((resolve, reject) => {
    server!.once('error', reject);
    server!.listen(0, '127.0.0.1', () => resolve((server!.address() as AddressInfo).port));
  });
  const started = new Promise<void>((resolve) => RED.events.once('flows:started', () => resolve()));
  await RED.start();
  await started;
  send({ t: 'ready', port });
}

async function stop(): Promise<void> {
  try {
    if (RED) await RED.stop();
  } catch (e) {
    send({ t: 'log', level: 20, msg: `RED.stop failed: ${(e as Error).message}` });
  }
  if (server) {
    await new Promise<void>((resolve) => {
      server!.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  }
  send({ t: 'stopped' });
  // Palette modules may hold timers for the life of the process; this process has done its job.
  setImmediate(() => process.exit(0));
}

process.on('message', (m: { t: string }) => {
  if (m.t === 'start') {
    start(m as StartMessage).catch((e: unknown) => {
      send({ t: 'failed', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      setImmediate(() => process.exit(1));
    });
  } else if (m.t === 'stop') {
    void stop();
  }
});
// The parent went away (mocha killed): never outlive it.
process.on('disconnect', () => process.exit(0));
