/**
 * Admin HTTP endpoints for the editor (under Node-RED's admin root; the editor calls them with relative
 * URLs). Node-RED's span-panel.read / span-panel.write permissions first (an anonymous caller gets 401
 * whatever it sends), then JSON bodies only (415 otherwise: a cross-site form post must not reach a panel),
 * and at most a few calls per panel at a time (429).
 * Secrets stay with their panel (see lib/admin-request.ts): a deployed config node lends its stored
 * secrets only for its own host; responses never carry a secret or an expanded environment variable, and
 * registration results stay on the server, in the config node's credentials.
 *
 *   POST span-panel/test      {id?, host, api?, mqttPort?, token?, passphrase?} → identity + circuit list
 *   POST span-panel/register  {id, host, api?, mqttPort?, passphrase?}        → {ok, api, serial}
 *                             (id must name a deployed span-panel: the resulting v1 token or v2 login and
 *                             CA are stored in its credentials)
 *   POST span-panel/trust-ca  {id} → {ok, fingerprint}: trust the CA certificate a `pinned` panel refused
 *   GET  span-panel/:id/health                                        → current health of a deployed panel
 */
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { randomBytes } from 'node:crypto';
import { Deadline } from '../src/util/deadline';
import { registerWithPanel, testConnection, type PanelConnectionConfig } from '../src/connection';
import { adminErrorText, ConcurrencyLimiter, jsonOnly } from './lib/admin-guards';
import { BadRequest, isDeployedPanelId, parsePanelRequest, type PanelRequest } from './lib/admin-request';
import { saveRegistration, storedCredentials } from './lib/credential-store';
import { circuitSummaries } from './lib/messages';
import { isPanelConfigNode } from './lib/panel-types';

const REQUEST_TIMEOUT_MS = 20_000;
/** Concurrent test/register calls per panel (host and config node id): enough for a double click. */
const MAX_CALLS_PER_PANEL = 2;

interface AdminContext {
  RED: NodeAPI;
  limiter: ConcurrencyLimiter;
}
type PanelHandler = (ctx: AdminContext, panel: PanelRequest, res: Response) => Promise<void>;

export function registerAdminEndpoints(RED: NodeAPI): void {
  const read = RED.auth.needsPermission('span-panel.read');
  const write = RED.auth.needsPermission('span-panel.write');
  const ctx: AdminContext = { RED, limiter: new ConcurrencyLimiter(MAX_CALLS_PER_PANEL) };
  /** Parses the body (or answers 4xx), then runs `handle`; a failure it did not expect answers 500. */
  const withPanel = (handle: PanelHandler) => (req: Request, res: Response) => {
    const panel = parseOrAnswer(RED, req, res);
    if (panel) handle(ctx, panel, res).catch((e: unknown) => internalError(res, e));
  };

  // "write": a test uses the panel secrets and, on v2, may register with the panel and keep the result.
  RED.httpAdmin.post('/span-panel/test', write, jsonOnly, withPanel(handleTest));
  RED.httpAdmin.post('/span-panel/register', write, jsonOnly, withPanel(handleRegister));
  RED.httpAdmin.post('/span-panel/trust-ca', write, jsonOnly, (req: Request, res: Response) => {
    const body: unknown = req.body;
    const node = deployedPanelOr404(
      RED,
      body && typeof body === 'object' ? (body as { id?: unknown }).id : null,
      res,
    );
    if (!node) return;
    const fingerprint = node.trustPendingCa();
    if (fingerprint === null) {
      res.status(409).json({ ok: false, error: 'no changed panel certificate is waiting to be trusted' });
      return;
    }
    res.json({ ok: true, fingerprint });
  });
  RED.httpAdmin.get('/span-panel/:id/health', read, (req: Request, res: Response) => {
    const node = deployedPanelOr404(RED, req.params.id, res);
    if (!node) return;
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

/** The deployed span-panel config node with this id, or a 404 answer (null). */
function deployedPanelOr404(RED: NodeAPI, id: unknown, res: Response) {
  const node = typeof id === 'string' ? RED.nodes.getNode(id) : null;
  if (isPanelConfigNode(node)) return node;
  res.status(404).json({ ok: false, error: 'no deployed span-panel node with this id' });
  return null;
}

/** Parses the request or answers 4xx; null when answered. */
function parseOrAnswer(RED: NodeAPI, req: Request, res: Response): PanelRequest | null {
  try {
    return parsePanelRequest(RED, req.body);
  } catch (e) {
    const status = e instanceof BadRequest ? e.status : 400;
    res.status(status).json({ ok: false, error: (e as Error).message });
    return null;
  }
}

/** One slot for this panel, or a 429 answer (null). */
function slotOrAnswer(limiter: ConcurrencyLimiter, panel: PanelRequest, res: Response): (() => void) | null {
  const release = limiter.tryAcquire([`host:${panel.host}`, ...(panel.id ? [`id:${panel.id}`] : [])]);
  if (!release) {
    res.status(429).json({
      ok: false,
      error: 'another test or registration for this panel is still running: try again when it has finished',
    });
  }
  return release;
}

async function handleTest({ limiter }: AdminContext, panel: PanelRequest, res: Response): Promise<void> {
  // A deployed, running config node for the same panel already has the answer: no new connection.
  const running = panel.node;
  if (
    running &&
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

  const release = slotOrAnswer(limiter, panel, res);
  if (!release) return;
  const abort = abortOnCloseOrTimeout(res);
  try {
    const r = await testConnection(connectionConfig(panel), abort.signal);
    res.json({
      ok: true,
      source: 'probe',
      api: r.api,
      dataModel: r.dataModel ?? null,
      serial: r.serial ?? null,
      firmwareVersion: r.firmwareVersion ?? null,
      legacyApi: Boolean(r.legacyApi),
      circuits: r.circuits,
    });
  } catch (e) {
    if (!res.headersSent) res.status(502).json(errorBody(e, panel));
  } finally {
    abort.dispose();
    release();
  }
}

async function handleRegister(
  { RED, limiter }: AdminContext,
  panel: PanelRequest,
  res: Response,
): Promise<void> {
  if (!panel.id) {
    res.status(400).json({ ok: false, error: 'the config node id is required to keep the registration' });
    return;
  }
  const id = panel.id;
  // Credentials are written only for a span-panel of the deployed flows, never for an id a request invents.
  if (!isDeployedPanelId(RED, id)) {
    res.status(404).json({
      ok: false,
      error:
        'deploy this panel configuration first, then register: the registration is kept with the deployed node',
    });
    return;
  }
  const release = slotOrAnswer(limiter, panel, res);
  if (!release) return;
  const abort = abortOnCloseOrTimeout(res);
  try {
    // The panel wants a unique client name per registration.
    const clientName = `node-red-span-${id.slice(0, 16)}-${randomBytes(3).toString('hex')}`;
    const r = await registerWithPanel(connectionConfig(panel), clientName, abort.signal);
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
    release();
  }
}

/** The connection settings for one editor request; stored registration and CA only when lent. */
function connectionConfig(panel: PanelRequest): PanelConnectionConfig {
  return {
    host: panel.host,
    api: panel.api,
    intervalS: 5,
    mqttPort: panel.mqttPort,
    token: panel.token,
    passphrase: panel.passphrase,
    credentialStore: panel.lent?.credentialStore,
    caTrust: panel.lent?.caTrust ?? undefined,
  };
}

/** Aborts the panel call when the browser goes away or the panel takes too long. */
function abortOnCloseOrTimeout(res: Response): Deadline {
  const abort = new Deadline(REQUEST_TIMEOUT_MS, () => new Error('no answer from the panel in time'));
  const onClose = () => {
    if (!res.writableEnded) abort.abort(new Error('request closed'));
  };
  res.on('close', onClose);
  return abort.whenDisposed(() => res.off('close', onClose));
}

/** Last resort for a bug in a handler: answer, never leave an unhandled rejection behind. */
function internalError(res: Response, _e: unknown): void {
  if (!res.headersSent) res.status(500).json({ ok: false, error: 'internal error', errorClass: 'unknown' });
}

/** A secret-free error body that names no expanded variable and quotes nothing the other end sent. */
function errorBody(e: unknown, panel: PanelRequest): { ok: false; error: string; errorClass: string } {
  return { ok: false, ...adminErrorText(e, [panel.token, panel.passphrase], panel.hidden) };
}
