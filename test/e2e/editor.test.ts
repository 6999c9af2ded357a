/**
 * The editor as a user sees it, in headless Chromium against a real Node-RED and a simulated panel:
 * palette → drop → dialogs (test connection, circuit picker) → wire → deploy → live status on the canvas →
 * export without secrets. Steps build on each other; after a failed step the rest are skipped (the run
 * still fails) and a screenshot of the failure goes to test/artifacts/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { SimulatedPanel } from '../../simulator';
import { createV2Plugin, type V2Plugin } from '../../simulator/v2';
import { artifactPath, chromiumVersion, launchBrowser, type EditorBrowser } from './browser';
import { EditorPage } from './editor-page';
import {
  assertBuilt,
  hostOf,
  leakedSecrets,
  nodeRedDir,
  NodeRed,
  readJson,
  PASSPHRASE,
  startPanel,
  TOKEN,
} from './harness';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;
declare const $: any;

const nodeRedVersion: string = readJson(path.join(nodeRedDir(), 'package.json')).version;
const nodeRedMajor = Number(nodeRedVersion.split('.')[0]);
/** Encrypts flows_cred.json as a real install does, so the on-disk check means something. */
const CREDENTIAL_SECRET = 'e2e-fixed-credential-secret';
/** A v2 panel's health under each node: green dot, "online · <grid power>". */
const ONLINE = /^online · -?[0-9.]+ k?W$/;
/** A span-circuit watching one closed circuit: its own power. */
const CIRCUIT_ON = /^on · -?[0-9.]+ k?W$/;

describe(`editor in headless Chromium (Node-RED ${nodeRedVersion})`, function () {
  this.timeout(60_000);

  let panel: SimulatedPanel;
  let v2plugin: V2Plugin;
  let nr: NodeRed;
  let browser: EditorBrowser;
  let editor: EditorPage;
  let failedStep: string | null = null;
  const id = { panel: '', poll: '', circuit: '', status: '', debug: '' };

  before(async function () {
    this.timeout(120_000);
    chromiumVersion(); // a missing browser fails here, with instructions
    assertBuilt();
    // Current firmware: the v2 API (REST bootstrap + MQTTS broker); the legacy v1 API answers too.
    v2plugin = createV2Plugin({ dataModel: 'flat', passphrase: PASSPHRASE });
    panel = await startPanel({ plugins: [v2plugin] });
    nr = await NodeRed.start({ credentialSecret: CREDENTIAL_SECRET });
    browser = await launchBrowser();
    editor = new EditorPage(browser.page);
    await editor.open(nr.url);
  });

  beforeEach(function () {
    if (failedStep) this.skip();
  });

  afterEach(async function () {
    const test = this.currentTest;
    if (test?.state !== 'failed') return;
    failedStep = test.title;
    await browser?.page
      .screenshot({ path: artifactPath(`editor-failure-nr${nodeRedMajor}.png`) })
      .catch(() => undefined);
  });

  after(async function () {
    this.timeout(60_000);
    await browser?.close();
    await nr?.stop();
    await panel?.close();
  });

  /** Every step ends with: the page threw nothing, and every request it made succeeded. */
  function noPageErrors(): void {
    assert.deepEqual(browser.pageErrors, [], 'uncaught errors in the editor page');
    assert.deepEqual(browser.failedRequests, [], 'failed requests from the editor page');
  }

  const inPage = <T>(fn: () => T): Promise<T> => browser.page.evaluate(fn);

  /** Presses "Test connection" in the open span-panel dialog and returns the new result text. */
  async function testConnection(): Promise<string> {
    const { page } = browser;
    await page.evaluate(() => $('#span-panel-result').text(''));
    await page.locator('#span-panel-test').click();
    await page.waitForFunction(
      () => /^(Connected to panel |Failed: )/.test($('#span-panel-result').text()),
      null,
      {
        timeout: 20_000,
      },
    );
    return (await page.locator('#span-panel-result').textContent()) ?? '';
  }

  /** Our secrets plus the broker passwords the panel issued at registration (also secrets). */
  function secrets(): string[] {
    const issued = (v2plugin.credentials as unknown as { brokerPasswords?: Set<string> }).brokerPasswords;
    assert.ok(issued instanceof Set, 'the simulator keeps the broker passwords it issued');
    return [TOKEN, PASSPHRASE, ...issued];
  }

  /** A node dropped while exactly one span-panel exists gets it without a click (resources/span-editor.js). */
  async function assertPanelPreselected(nodeId: string): Promise<void> {
    const panelOf = await browser.page.evaluate((i) => RED.nodes.node(i)?.panel, nodeId);
    assert.equal(panelOf, id.panel, 'the only span-panel is preselected on drop');
  }

  it('lists span poll, span circuit, span status and span home assistant in the palette under SPAN; span-panel is a config node', async () => {
    for (const [type, label] of [
      ['span-poll', 'span poll'],
      ['span-circuit', 'span circuit'],
      ['span-status', 'span status'],
      ['span-ha', 'span home assistant'],
    ]) {
      const where = await editor.paletteCategory(type);
      assert.equal(where.id, 'red-ui-palette-container-SPAN', `${type} category`);
      assert.equal(where.header, 'SPAN');
      assert.equal(where.label, label);
    }
    assert.equal(await browser.page.evaluate(() => RED.nodes.getType('span-panel')?.category), 'config');
    noPageErrors();
  });

  it('drops span poll, adds a span-panel from its dialog, and "Test connection" reaches the simulated panel', async () => {
    const { page } = browser;
    await editor.filterPalette('span');
    id.poll = await editor.dropFromPalette('span-poll', 150, 70);
    assert.ok(!(await browser.page.evaluate((i) => RED.nodes.node(i)?.panel, id.poll)), 'no span-panel yet');
    await editor.openDialog(id.poll);
    // Labels come from the message catalog (i18n works).
    assert.match((await page.locator('label[for="node-input-panel"]').textContent()) ?? '', /Panel/);
    // No panel configured yet: add one (Node-RED 4.1+ has a "+" button; earlier only the pencil).
    const add = page.locator('#node-input-btn-panel-add');
    await ((await add.count()) > 0 ? add : page.locator('#node-input-btn-panel-edit')).click();
    await page.locator('#node-config-input-host').waitFor({ state: 'visible' });

    await page.locator('#node-config-input-host').fill(hostOf(panel));
    await page.locator('#node-config-input-interval').fill('1');

    // Legacy v1 first: without the token the panel refuses, and the dialog says so…
    await page.locator('#node-config-input-api').selectOption('v1');
    assert.match(await testConnection(), /^Failed: /);
    // …which is the one failed request this test expects.
    assert.deepEqual(
      browser.failedRequests.splice(0).map((r) => r.replace(/http:\/\/[^/]+/, '')),
      ['502 POST /span-panel/test'],
    );
    await page.locator('#node-config-input-token').fill(TOKEN);
    const v1 = await testConnection();
    assert.match(v1, /^Connected to panel .* \(v1, /);
    assert.match(v1, /legacy v1 API/, 'the dialog warns about the v1 sunset');

    // Then the current API, auto-detected: passphrase, and the panel's MQTT port (the simulator's).
    await page.locator('#node-config-input-api').selectOption('auto');
    await page.locator('#node-config-input-mqttPort').fill(String(panel.ports.mqtt));
    await page.locator('#node-config-input-passphrase').fill(PASSPHRASE);
    const v2 = await testConnection();
    assert.match(v2, /^Connected to panel .* \(v2, /);
    assert.doesNotMatch(v2, /legacy/);
    for (const text of [v1, v2]) {
      assert.ok(text.includes(panel.state.identity.serial), `serial in "${text}"`);
      assert.ok(text.includes(`${panel.state.circuits.length} circuits`), `circuit count in "${text}"`);
      assert.deepEqual(leakedSecrets(text, secrets()), []);
    }

    await page.locator('#node-config-dialog-ok').click();
    await page.locator('#node-config-input-host').waitFor({ state: 'detached' });
    id.panel = await page.locator('#node-input-panel').inputValue();
    assert.equal(await page.evaluate((i) => RED.nodes.node(i)?.type, id.panel), 'span-panel');
    await editor.closeDialog();
    assert.equal(await page.evaluate((i) => RED.nodes.node(i).panel, id.poll), id.panel);
    noPageErrors();
  });

  it("drops span circuit: its picker lists the simulated panel's circuits by name", async () => {
    const { page } = browser;
    id.circuit = await editor.dropFromPalette('span-circuit', 150, 170);
    await assertPanelPreselected(id.circuit);
    await editor.openDialog(id.circuit);
    const expected = panel.state.circuits.length + 2; // + "choose a circuit" + "all circuits"
    await page.waitForFunction((n) => $('#node-input-circuit option').length === n, expected, {
      timeout: 20_000,
    });
    const names: string[] = await page
      .locator('#node-input-circuit option')
      .evaluateAll((opts) => opts.map((o) => o.getAttribute('data-name') ?? ''));
    for (const c of panel.state.circuits) assert.ok(names.includes(c.name), `picker lists "${c.name}"`);

    // The busiest switchable circuit, so the screenshot shows a real number.
    const chosen = panel.state.circuits
      .filter((c) => c.isUserControllable && c.relayState === 'CLOSED')
      .sort((a, b) => Math.abs(b.instantPowerW) - Math.abs(a.instantPowerW))[0];
    const value = await page
      .locator('#node-input-circuit option')
      .evaluateAll(
        (opts, name) => opts.find((o) => o.getAttribute('data-name') === name)?.getAttribute('value'),
        chosen.name,
      );
    assert.ok(value, `an option for ${chosen.name}`);
    await page.locator('#node-input-circuit').selectOption(value);
    await page.locator('#node-input-output').selectOption('power');
    await editor.closeDialog();
    const saved = await page.evaluate((i) => {
      const n = RED.nodes.node(i);
      return { circuit: n.circuit, circuitName: n.circuitName, panel: n.panel };
    }, id.circuit);
    assert.deepEqual(saved, { circuit: value, circuitName: chosen.name, panel: id.panel });
    assert.ok(
      ((await editor.canvasNode(id.circuit).textContent()) ?? '').includes(chosen.name),
      'the canvas labels the node with the circuit name',
    );
    noPageErrors();
  });

  it('drops span status and a debug node, and wires them', async () => {
    const { page } = browser;
    id.status = await editor.dropFromPalette('span-status', 150, 270);
    await assertPanelPreselected(id.status);
    await editor.openDialog(id.status);
    await page.locator('#node-input-initial').check();
    await editor.closeDialog();
    assert.equal(await page.evaluate((i) => RED.nodes.node(i).initial, id.status), true);

    await editor.filterPalette('debug');
    id.debug = await editor.dropFromPalette('debug', 460, 170);
    await editor.filterPalette('');
    await editor.wire(id.circuit, id.debug);
    await editor.wire(id.status, id.debug);
    noPageErrors();
  });

  it('preselects nothing when two span-panels exist: the user chooses', async () => {
    const second = await browser.page.evaluate(() => {
      const n = { id: RED.nodes.id(), type: 'span-panel', _def: RED.nodes.getType('span-panel'), users: [] };
      RED.nodes.add(n);
      return n.id;
    });
    const poll = await editor.dropFromPalette('span-poll', 300, 330);
    assert.ok(
      !(await browser.page.evaluate((i) => RED.nodes.node(i)?.panel, poll)),
      'no panel chosen for the user',
    );
    // Gone again before the deploy below, which expects every node on the canvas to come online.
    await browser.page.evaluate((ids) => ids.forEach((i) => RED.nodes.remove(i)), [poll, second]);
    await browser.page.evaluate(() => RED.view.redraw(true));
    noPageErrors();
  });

  it('deploys; every SPAN node shows the live panel status in green on the canvas', async () => {
    await editor.deploy();
    for (const node of [id.poll, id.circuit, id.status]) {
      // span-circuit shows its own circuit ("on · <power>") in the panel's colour; the others the panel.
      const expected = node === id.circuit ? CIRCUIT_ON : ONLINE;
      const s = await editor.waitForStatus(
        node,
        (st) => st.fill === 'green' && expected.test(st.label) && st.label === st.text,
        node === id.circuit ? 'a green "on · <power>" status' : 'a green "online · <power>" status',
      );
      assert.equal(s.shape, 'dot');
    }
    // The runtime agrees, and the circuit's power reaches the debug node as a number.
    const health = await nr.admin('GET', `/span-panel/${id.panel}/health`);
    assert.equal(health.status, 200, health.text);
    assert.equal(health.body.health.state, 'online');
    assert.equal(health.body.health.api, 'v2');
    assert.equal(health.body.health.dataModel, 'v2-flat');
    assert.equal(health.body.serial, panel.state.identity.serial);
    await nr.waitForDelivery(
      id.debug,
      (d) => d.from === id.circuit && typeof d.msg.payload === 'number',
      'a span circuit message at the debug node',
    );

    // The picture for the README: canvas with live status, debug sidebar open.
    await inPage(() => RED.sidebar.show('debug'));
    await browser.page.waitForSelector('.red-ui-debug-msg', { timeout: 15_000 });
    await inPage(() => RED.view.select({ nodes: [] }));
    await editor.waitForNotificationsToClose();
    const shot = artifactPath(nodeRedMajor === 4 ? 'editor.png' : `editor-nr${nodeRedMajor}.png`);
    await browser.page.screenshot({ path: shot });
    publishScreenshot(shot);
    noPageErrors();
  });

  it('keeps token, passphrase and broker password out of the editor, its export, GET /flows, the userDir and the logs', async () => {
    const { page } = browser;
    const exported = await editor.exportAllFlows();
    const flows = JSON.parse(exported) as { type: string }[];
    assert.ok(
      flows.some((n) => n.type === 'span-panel'),
      'the export has the span-panel node',
    );
    assert.ok(secrets().length > 2, 'the panel issued broker credentials, so the checks below cover them');
    assert.deepEqual(leakedSecrets(exported, secrets()), [], 'export dialog');
    assert.deepEqual(
      leakedSecrets(await page.evaluate(() => RED.nodes.createCompleteNodeSet()), secrets()),
      [],
      'editor model',
    );

    const served = await nr.admin('GET', '/flows');
    assert.equal(served.status, 200);
    assert.deepEqual(leakedSecrets(served.text, secrets()), [], 'GET /flows');
    // The editor only learns that a token is stored.
    const creds = await nr.admin('GET', `/credentials/span-panel/${id.panel}`);
    assert.equal(creds.body.has_token, true);
    assert.equal(creds.body.has_passphrase, true);
    assert.deepEqual(leakedSecrets(creds.text, secrets()), [], 'GET /credentials');

    const files = nr.userDirText();
    assert.match(files, /--- flows_cred\.json\n\{"\$":"/, 'credentials file is encrypted');
    assert.deepEqual(leakedSecrets(files, secrets()), [], 'files in the userDir');
    assert.deepEqual(leakedSecrets(nr.logs, secrets()), [], 'Node-RED log');
    assert.deepEqual(leakedSecrets(await page.content(), secrets()), [], 'editor page');

    // Reopening the panel dialog shows stored passwords, not the secrets.
    await page.evaluate((i) => RED.editor.editConfig('', 'span-panel', i), id.panel);
    await page.locator('#node-config-input-token').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#node-config-input-token').inputValue(), '__PWRD__');
    assert.equal(await page.locator('#node-config-input-passphrase').inputValue(), '__PWRD__');
    await page.locator('#node-config-dialog-cancel').click();
    noPageErrors();
  });
});

/**
 * Copies the default runtime's screenshot to docs/ for the README when there is none yet, or when
 * SPAN_E2E_UPDATE_DOCS=1 (so ordinary test runs do not rewrite a committed image).
 */
function publishScreenshot(shot: string): void {
  if (nodeRedMajor !== 4) return;
  const docs = path.join(process.cwd(), 'docs', 'screenshot-editor.png');
  if (fs.existsSync(docs) && process.env.SPAN_E2E_UPDATE_DOCS !== '1') return;
  fs.mkdirSync(path.dirname(docs), { recursive: true });
  fs.copyFileSync(shot, docs);
}
