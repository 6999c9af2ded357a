/**
 * The editor endpoints under Node-RED's adminAuth, against a real Node-RED and a simulated panel: without a
 * token every endpoint answers 401; a user with "read" may read a panel's health and diagnostics and find
 * panels, but not test, register or trust a certificate (those use the stored secrets or change the node:
 * span-panel.write); a user with "*" may.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { SimulatedPanel } from '../../simulator';
import { freeUdpPort } from '../helpers/udp-port';
import {
  assertBuilt,
  hostOf,
  nodeRedDir,
  NodeRed,
  readJson,
  startPanel,
  TOKEN,
  type FlowNode,
} from './harness';

/* eslint-disable @typescript-eslint/no-require-imports */
/** Node-RED's own password hashing (a dependency of node-red, resolved from it). */
const bcrypt: { hashSync(s: string, rounds: number): string } = require(
  require.resolve('bcryptjs', { paths: [nodeRedDir()] }),
);

const nodeRedVersion: string = readJson(path.join(nodeRedDir(), 'package.json')).version;
const PANEL_ID = 'a0b1c2d3e4f50002';
const PASSWORDS = { admin: 'admin-pass-e2e-31f0', viewer: 'viewer-pass-e2e-77c2' };
/** The scope each user may ask for: its own permissions. */
const SCOPE = { admin: '*', viewer: 'read' };

describe(`editor endpoints under adminAuth (Node-RED ${nodeRedVersion})`, function () {
  this.timeout(60_000);

  let panel: SimulatedPanel;
  let nr: NodeRed;

  before(async () => {
    assertBuilt();
    panel = await startPanel();
    const flows: FlowNode[] = [
      {
        id: PANEL_ID,
        type: 'span-panel',
        name: '',
        host: hostOf(panel),
        api: 'v1',
        interval: '5',
        mqttPort: '8883',
      },
    ];
    nr = await NodeRed.start({
      flows,
      // Discovery asks on a private port (the machine's multicast loopback), never the LAN's 5353.
      env: { SPAN_MDNS_PORT: String(await freeUdpPort()) },
      credentials: { [PANEL_ID]: { token: TOKEN } },
      settings: {
        adminAuth: {
          type: 'credentials',
          users: [
            { username: 'admin', password: bcrypt.hashSync(PASSWORDS.admin, 4), permissions: '*' },
            { username: 'viewer', password: bcrypt.hashSync(PASSWORDS.viewer, 4), permissions: 'read' },
          ],
        },
      },
    });
  });

  after(async () => {
    await nr?.stop();
    await panel?.close();
  });

  async function tokenFor(user: keyof typeof PASSWORDS): Promise<string> {
    const res = await fetch(`${nr.url}/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        client_id: 'node-red-editor',
        grant_type: 'password',
        scope: SCOPE[user],
        username: user,
        password: PASSWORDS[user],
      }),
    });
    assert.equal(res.status, 200, `token for ${user}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  /** Every endpoint of the package, with a body that would succeed for a user allowed to call it. */
  const ENDPOINTS = {
    test: { method: 'POST', path: '/span-panel/test', body: { id: PANEL_ID, api: 'v1' }, write: true },
    register: {
      method: 'POST',
      path: '/span-panel/register',
      body: { id: PANEL_ID, api: 'v1' },
      write: true,
    },
    trustCa: { method: 'POST', path: '/span-panel/trust-ca', body: { id: PANEL_ID }, write: true },
    health: { method: 'GET', path: `/span-panel/${PANEL_ID}/health`, write: false },
    diagnostics: { method: 'GET', path: `/span-panel/${PANEL_ID}/diagnostics`, write: false },
    discover: { method: 'GET', path: '/span-panel/discover?timeoutMs=500', write: false },
  } as const;

  async function call(e: (typeof ENDPOINTS)[keyof typeof ENDPOINTS], token: string | null): Promise<number> {
    const res = await fetch(`${nr.url}${e.path}`, {
      method: e.method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...('body' in e ? { 'Content-Type': 'application/json' } : {}),
      },
      body: 'body' in e ? JSON.stringify({ ...e.body, host: hostOf(panel) }) : undefined,
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('answers 401 to every endpoint without a token', async () => {
    for (const [name, e] of Object.entries(ENDPOINTS)) assert.equal(await call(e, null), 401, name);
  });

  it('lets a "read" user read health, diagnostics and discovery, and refuses test, register and trust-ca', async () => {
    const token = await tokenFor('viewer');
    for (const [name, e] of Object.entries(ENDPOINTS)) {
      const status = await call(e, token);
      if (e.write) assert.equal(status, 401, `${name} needs span-panel.write`);
      else assert.equal(status, 200, `${name} is allowed with read`);
    }
  });

  it('checks the permission before the body: a form post is 401 without a token, 415 for a "*" user', async () => {
    const formPost = async (token: string | null) => {
      const res = await fetch(`${nr.url}/span-panel/test`, {
        method: 'POST',
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        body: new URLSearchParams({ id: PANEL_ID, host: hostOf(panel) }),
      });
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await formPost(null), 401, 'an anonymous caller learns nothing about the endpoint');
    assert.equal(await formPost(await tokenFor('admin')), 415);
  });

  it('lets a "*" user test the deployed panel with its stored token', async () => {
    const token = await tokenFor('admin');
    assert.equal(await call(ENDPOINTS.test, token), 200);
    // Allowed through the permission check: trust-ca then answers for itself (nothing waits to be trusted).
    assert.equal(await call(ENDPOINTS.trustCa, token), 409);
  });
});
