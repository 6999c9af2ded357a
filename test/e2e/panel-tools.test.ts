/**
 * The span-panel dialog's tools, in headless Chromium against a real Node-RED and a simulated v2 panel:
 * "Find panels" lists the simulated panel, which announces itself over mDNS (on a private UDP port, through
 * the machine's own multicast loopback), and choosing it fills the host; "Download diagnostics" after a
 * fault sequence saves one JSON file that tells what happened and holds no secret.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { SimulatedPanel } from '../../simulator';
import { createV2Plugin, type V2Plugin } from '../../simulator/v2';
import { artifactPath, chromiumVersion, launchBrowser, type EditorBrowser } from './browser';
import { freeUdpPort } from '../helpers/udp-port';
import { EditorPage } from './editor-page';
import {
  assertBuilt,
  hostOf,
  leakedSecrets,
  nodeRedDir,
  NodeRed,
  PASSPHRASE,
  readJson,
  startPanel,
  TOKEN,
  waitFor,
  type FlowNode,
} from './harness';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;

const nodeRedVersion: string = readJson(path.join(nodeRedDir(), 'package.json')).version;
const PANEL_ID = 'a0b1c2d3e4f50001';

describe(`span-panel dialog tools in headless Chromium (Node-RED ${nodeRedVersion})`, function () {
  this.timeout(90_000);

  let panel: SimulatedPanel | null = null;
  let v2: V2Plugin;
  let nr: NodeRed | null = null;
  let browser: EditorBrowser | null = null;

  before(() => {
    chromiumVersion();
    assertBuilt();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser) {
      await browser.page.screenshot({ path: artifactPath('panel-tools-failure.png') }).catch(() => undefined);
      if (nr) console.log(`    Node-RED problems:\n      ${nr.problems().join('\n      ')}`);
    }
    await browser?.close();
    await nr?.stop();
    await panel?.close();
    browser = null;
    nr = null;
    panel = null;
  });

  it('Find panels lists the announced panel (serial, host, API) and choosing it fills host and MQTT port', async () => {
    const mdnsPort = await freeUdpPort();
    v2 = createV2Plugin({ dataModel: 'flat', passphrase: PASSPHRASE });
    panel = await startPanel({ plugins: [v2], mdns: { port: mdnsPort } });
    const p = panel;
    nr = await NodeRed.start({ env: { SPAN_MDNS_PORT: String(mdnsPort) } });
    browser = await launchBrowser();
    const editor = new EditorPage(browser.page);
    await editor.open(nr.url);
    const { page } = browser;
    // A new span-panel, as from a SPAN node's "Add new span-panel…".
    await page.evaluate(() => RED.editor.editConfig('', 'span-panel', '_ADD_'));
    await page.locator('#span-panel-find').waitFor({ state: 'visible' });
    await page.locator('#span-panel-find').click();
    const item = page.locator('.span-panel-found-item', { hasText: p.state.identity.serial });
    await item.waitFor({ state: 'visible', timeout: 15_000 });
    assert.match((await item.textContent()) ?? '', new RegExp(`· 127\\.0\\.0\\.1:${p.ports.http} · v2$`));
    await item.click();
    assert.equal(await page.locator('#node-config-input-host').inputValue(), `127.0.0.1:${p.ports.http}`);
    assert.equal(await page.locator('#node-config-input-mqttPort').inputValue(), String(p.ports.mqtt));
    // The filled-in panel answers: Test connection reaches it (with the passphrase typed in).
    await page.locator('#node-config-input-passphrase').fill(PASSPHRASE);
    await page.locator('#span-panel-test').click();
    await page.waitForFunction(
      () =>
        /^(Connected to panel |Failed: )/.test(
          document.querySelector('#span-panel-result')?.textContent ?? '',
        ),
      null,
      { timeout: 20_000 },
    );
    assert.match(
      (await page.locator('#span-panel-result').textContent()) ?? '',
      /^Connected to panel .* \(v2, /,
    );
    assert.deepEqual(browser.pageErrors, []);
    assert.deepEqual(browser.failedRequests, []);
  });

  it('Download diagnostics after an outage: states with reasons, errors by class, no secret', async () => {
    v2 = createV2Plugin({ dataModel: 'flat', passphrase: PASSPHRASE });
    panel = await startPanel({ plugins: [v2] });
    const p = panel;
    const flows: FlowNode[] = [
      { id: 'f1', type: 'tab', label: 'diagnostics' },
      {
        id: PANEL_ID,
        type: 'span-panel',
        name: '',
        host: hostOf(p),
        api: 'auto',
        interval: '1',
        mqttPort: String(p.ports.mqtt),
      },
      { id: 'a0b1c2d3e4f50002', type: 'span-poll', z: 'f1', panel: PANEL_ID, x: 200, y: 100, wires: [[]] },
    ];
    nr = await NodeRed.start({
      flows,
      credentials: { [PANEL_ID]: { passphrase: PASSPHRASE, token: TOKEN } },
    });
    const running = nr;
    const health = async () =>
      (await running.admin('GET', `/span-panel/${PANEL_ID}/health`)).body.health?.state;
    await waitFor('online', async () => (await health()) === 'online', 20_000);
    await p.faults.inject({ kind: 'broker-down', durationMs: 6000 });
    await waitFor('offline', async () => (await health()) === 'offline', 20_000);
    await waitFor('online again', async () => (await health()) === 'online', 30_000);

    browser = await launchBrowser();
    const editor = new EditorPage(browser.page);
    await editor.open(running.url);
    const { page } = browser;
    await page.evaluate((i) => RED.editor.editConfig('', 'span-panel', i), PANEL_ID);
    await page.locator('#span-panel-diagnostics').waitFor({ state: 'visible' });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#span-panel-diagnostics').click(),
    ]);
    assert.match(download.suggestedFilename(), /^span-diagnostics-nj-2316-.+\.json$/);
    const file = artifactPath('diagnostics.json');
    await download.saveAs(file);
    const text = fs.readFileSync(file, 'utf8');
    const d = JSON.parse(text);
    assert.equal(d.panel.serial, p.state.identity.serial);
    assert.equal(d.panel.api, 'v2');
    const states = d.stateChanges.map((c: any) => c.state);
    assert.ok(states.includes('offline') && states[states.length - 1] === 'online', states.join(' → '));
    assert.ok(Object.keys(d.errorsByClass).length >= 1, 'errors by class');
    const issued = (v2.credentials as unknown as { brokerPasswords?: Set<string> }).brokerPasswords;
    assert.ok(issued instanceof Set && issued.size > 0);
    assert.deepEqual(leakedSecrets(text, [TOKEN, PASSPHRASE, ...issued]), [], 'secrets in the file');
    assert.match((await page.locator('#span-panel-result').textContent()) ?? '', /^Saved span-diagnostics-/);
    assert.deepEqual(browser.pageErrors, []);
    fs.rmSync(file, { force: true });
  });
});
