/**
 * Admin HTTP endpoints for the editor (under Node-RED's admin root; the editor calls them with relative
 * URLs). They work before the config node is deployed: the dialog posts the host/API it shows plus any
 * secret typed into it, or the config node id so the stored credentials are used. Responses never carry
 * a secret; registration results stay on the server, in the config node's credentials.
 *
 *   POST span-panel/test      {id?, host, api?, mqttPort?, token?, passphrase?} → identity + circuit list
 *   POST span-panel/register  {id, host, api?, mqttPort?, passphrase?}        → {ok, api, serial}
 *                             (the resulting v1 token or v2 login is stored in the node's credentials)
 *   GET  span-panel/:id/health                                        → current health of a deployed panel
 */
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { randomBytes } from 'node:crypto';
import { parseHost, registerWithPanel, testConnection, type PanelConnectionConfig } from '../src/connection';
import { isPanelError } from '../src/transport/errors';
import { nodeCredentialStore, saveRegistration, storedCredentials } from './lib/credential-store';
import { expandEnv, unresolvedEnv } from './lib/env';
import { circuitSummaries } from './lib/messages';
import { DEFAULT_MQTT_PORT } from './lib/panel-config';
import { isPanelConfigNode } from './lib/panel-types';

/** What the editor sends for a password field that holds a stored value it was not shown. */
const STORED = '__PWRD__';
const REQUEST_TIMEOUT_MS = 20_000;

type Api = 'auto' | 'v1' | 'v2';

interface PanelRequest {
  id: string | null;
  host: string;
  api: Api;
  mqttPort: number;
  token?: string;
  passphrase?: string;
  /** True when the dialog sent a secret of its own (not the stored one). */
  typedSecret: boolean;
}

class BadRequest extends Error {}

export function registerAdminEndpoints(RED: NodeAPI): void {
  const read = RED.auth.needsPermission('span-panel.read');
  const write = RED.auth.needsPermission('span-panel.write');

  // "write": a test uses the panel secrets and, on v2, may register with the panel and keep the result.
  RED.httpAdmin.post('/span-panel/test', write, (req: Request, res: Response) => {
    handleTest(RED, req, res).catch((e: unknown) => internalError(res, e));
  });
  RED.httpAdmin.post('/span-panel/register', write, (req: Request, res: Response) => {
    handleRegister(RED, req, res).catch((e: unknown) => internalError(res, e));
  });
  RED.httpAdmin.get('/span-panel/:id/health', read, (req: Request, res: Response) => {
    const node = RED.nodes.getNode(String(req.params.id));
    if (!isPanelConfigNode(node)) {
      res.status(404).json({ ok: false, error: 'no deployed span-panel node with this id' });
      return;
    }
    const latest = node.latest;
    res.json({
      ok: true,
      health: node.health,
      configError: node.configError,
      serial: latest?.snapshot.panel.serial ?? null,
      dataAgeMs: latest?.dataAgeMs ?? null,
    });
  });
}

async function handleTest(RED: NodeAPI, req: Request, res: Response): Promise<void> {
  let panel: PanelRequest;
  try {
    panel = parsePanelRequest(RED, req.body);
  } catch (e) {
    res.status(400).json({ ok: false, error: (e as Error).message });
    return;
  }
  // A deployed, running config node for the same panel already has the answer: no new connection.
  const running = panel.id ? RED.nodes.getNode(panel.id) : null;
  if (
    isPanelConfigNode(running) &&
    !panel.typedSecret &&
    running.resolvedHost === panel.host &&
    running.api === panel.api &&
    running.latest
  ) {
    const s = running.latest.snapshot;
    res.json({
      ok: true,
      source: 'live',
      api: s.api,
      dataModel: s.dataModel,
      serial: s.panel.serial,
      firmwareVersion: s.panel.firmwareVersion,
      legacyApi: s.api === 'v1',
      state: running.health?.state ?? null,
      circuits: circuitSummaries(s),
    });
    return;
  }

  const abort = abortOnCloseOrTimeout(res);
  try {
    const r = await testConnection(connectionConfig(RED, panel), abort.signal);
    res.json({
      ok: true,
      source: 'probe',
      api: r.api,
      dataModel: r.dataModel ?? null,
      serial: r.serial ?? null,
      firmwareVersion: r.firmwareVersion ?? null,
      legacyApi: Boolean(r.legacyApi),
      circuits: r.circuits.map((c) => ({
        id: c.id,
        name: c.name ?? null,
        tabs: Array.isArray(c.tabs) ? c.tabs : [],
        controllable: c.controllable ?? null,
      })),
    });
  } catch (e) {
    if (!res.headersSent) res.status(502).json(errorBody(e, panel));
  } finally {
    abort.dispose();
  }
}

async function handleRegister(RED: NodeAPI, req: Request, res: Response): Promise<void> {
  let panel: PanelRequest;
  let id: string;
  try {
    panel = parsePanelRequest(RED, req.body);
    if (!panel.id) throw new BadRequest('the config node id is required to keep the registration');
    id = panel.id;
    const existing = RED.nodes.getNode(id);
    if (existing && existing.type !== 'span-panel') throw new BadRequest('that id is not a span-panel node');
  } catch (e) {
    res.status(400).json({ ok: false, error: (e as Error).message });
    return;
  }
  const abort = abortOnCloseOrTimeout(res);
  try {
    // The panel wants a unique client name per registration.
    const clientName = `node-red-span-${id.slice(0, 16)}-${randomBytes(3).toString('hex')}`;
    const r = await registerWithPanel(connectionConfig(RED, panel), clientName, abort.signal);
    if (r.api === 'v2') {
      await saveRegistration(RED, id, panel.host, r.credentials);
      res.json({ ok: true, api: 'v2', serial: r.credentials.serial });
    } else {
      // v1: the token is the credential; merge with what is stored (raw, so `${VAR}`s survive).
      await RED.nodes.addCredentials(id, { ...storedCredentials(RED, id), token: r.token });
      res.json({ ok: true, api: 'v1', serial: null });
    }
    // A deployed config node uses the new credentials at once: no redeploy.
    const deployed = RED.nodes.getNode(id);
    if (isPanelConfigNode(deployed)) deployed.credentialsChanged();
  } catch (e) {
    if (!res.headersSent) res.status(502).json(errorBody(e, panel));
  } finally {
    abort.dispose();
  }
}

function parsePanelRequest(RED: NodeAPI, body: unknown): PanelRequest {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const id = typeof b.id === 'string' && b.id.length > 0 && b.id.length <= 64 ? b.id : null;
  const env = (name: string) => process.env[name];
  const host = expandEnv(typeof b.host === 'string' ? b.host.trim() : '', env);
  if (!host) throw new BadRequest('no panel host given');
  const missing = unresolvedEnv(host);
  if (missing.length) throw new BadRequest(`environment variable ${missing[0]} is not set`);
  try {
    parseHost(host);
  } catch (e) {
    throw new BadRequest(`invalid host: ${(e as Error).message}`);
  }
  const apiRaw = typeof b.api === 'string' && b.api ? b.api : 'auto';
  if (apiRaw !== 'auto' && apiRaw !== 'v1' && apiRaw !== 'v2')
    throw new BadRequest('api must be auto, v1 or v2');
  const api: Api = apiRaw;

  const stored = id ? storedCredentials(RED, id) : {};
  const token = pickSecret(b.token, stored.token);
  const passphrase = pickSecret(b.passphrase, stored.passphrase);
  const typedSecret = isTyped(b.token) || isTyped(b.passphrase);
  const mqttPort = Number(expandEnv(String(b.mqttPort ?? ''), env) || DEFAULT_MQTT_PORT);
  if (!Number.isInteger(mqttPort) || mqttPort < 1 || mqttPort > 65535)
    throw new BadRequest('invalid MQTT port');
  const result: PanelRequest = { id, host, api, mqttPort, typedSecret };
  for (const [field, value] of [
    ['token', token],
    ['passphrase', passphrase],
  ] as const) {
    if (value === undefined) continue;
    const expanded = expandEnv(value, env);
    if (/^\$\{\S+\}$/.test(expanded.trim())) {
      throw new BadRequest(`environment variable ${unresolvedEnv(expanded.trim())[0]} (${field}) is not set`);
    }
    result[field] = expanded;
  }
  return result;
}

/** The connection settings for one editor request; a known config node id lends its stored registration. */
function connectionConfig(RED: NodeAPI, panel: PanelRequest): PanelConnectionConfig {
  const config: PanelConnectionConfig = {
    host: panel.host,
    api: panel.api,
    intervalS: 5,
    mqttPort: panel.mqttPort,
    token: panel.token,
    passphrase: panel.passphrase,
  };
  if (panel.id) config.credentialStore = nodeCredentialStore(RED, panel.id, panel.host, () => undefined);
  return config;
}

/** Aborts the panel call when the browser goes away or the panel takes too long. */
function abortOnCloseOrTimeout(res: Response): AbortController & { dispose(): void } {
  const abort = new AbortController();
  const timer = setTimeout(
    () => abort.abort(new Error('no answer from the panel in time')),
    REQUEST_TIMEOUT_MS,
  );
  const onClose = () => {
    if (!res.writableEnded) abort.abort(new Error('request closed'));
  };
  res.on('close', onClose);
  return Object.assign(abort, {
    dispose: () => {
      clearTimeout(timer);
      res.off('close', onClose);
    },
  });
}

/** Last resort for a bug in a handler: answer, never leave an unhandled rejection behind. */
function internalError(res: Response, _e: unknown): void {
  if (!res.headersSent) res.status(500).json({ ok: false, error: 'internal error', errorClass: 'unknown' });
}

function isTyped(v: unknown): boolean {
  return typeof v === 'string' && v !== STORED && v.trim() !== '';
}

function pickSecret(sent: unknown, stored: string | undefined): string | undefined {
  if (sent === undefined || sent === null || sent === STORED) return stored || undefined;
  if (typeof sent !== 'string' || sent.trim() === '') return undefined;
  return sent;
}

/** A secret-free error body; any secret that slipped into a message is masked. */
function errorBody(e: unknown, panel: PanelRequest): { ok: false; error: string; errorClass: string } {
  let message = e instanceof Error ? e.message : String(e);
  for (const secret of [panel.token, panel.passphrase]) {
    if (secret && secret.length >= 4) message = message.split(secret).join('***');
  }
  return { ok: false, error: message, errorClass: isPanelError(e) ? e.errorClass : 'unknown' };
}
