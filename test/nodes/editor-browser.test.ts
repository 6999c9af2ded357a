/**
 * The editor dialogs in a real browser (headless Chromium through playwright-core) against the `npm start`
 * demo in a child process: the config dialog's "Test connection" button, and the circuit picker filled
 * from a deployed panel and from a panel that only exists in the editor (not deployed). Fails with
 * instructions when Chromium is missing (scripts/ensure-chromium.sh installs it; CHROMIUM_PATH overrides).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM_PATH, chromiumVersion } from '../e2e/browser';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-require-imports */

const CHROMIUM = CHROMIUM_PATH;
const DEMO = path.resolve(__dirname, '..', '..', 'scripts', 'demo.js');
const DEMO_TOKEN = 'span-demo-token';
const BASICS_CIRCUIT_NODE = 'b1a5c0de00000009';

describe('editor dialogs in a browser (demo + headless Chromium)', function () {
  this.timeout(90000);
  let demo: ChildProcess | null = null;
  let exited: Promise<unknown> = Promise.resolve();
  let browser: Browser | null = null;
  let page: Page;
  let url = '';
  let panelHost = '';
  const pageErrors: string[] = [];

  before(async function () {
    chromiumVersion(); // fails, never skips, when the browser is missing
    demo = spawn(process.execPath, [DEMO], {
      cwd: process.cwd(),
      env: { ...process.env, PORT: '0', SPAN_DEMO_QUIET: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((resolve) => demo!.on('exit', resolve));
    let out = '';
    demo.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    demo.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const end = Date.now() + 30000;
    while (!/editor at (\S+)/.test(out) || !/simulated panel at http:\/\/(\S+) /.test(out)) {
      if (Date.now() > end || demo.exitCode !== null) assert.fail(`demo did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    url = /editor at (\S+)/.exec(out)![1];
    panelHost = /simulated panel at http:\/\/(\S+) /.exec(out)![1];
    const { chromium } = require('playwright-core') as typeof import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(
      (id) => (window as any).RED?.nodes?.node(id) && (window as any).RED.workspaces.active(),
      BASICS_CIRCUIT_NODE,
      { timeout: 30000 },
    );
  });

  after(async () => {
    await browser?.close();
    if (demo && demo.exitCode === null) demo.kill('SIGINT');
    await exited;
  });

  afterEach(() => assert.deepEqual(pageErrors, [], 'no JavaScript errors in the editor'));

  it('shows the panel health on the canvas as node status', async () => {
    await page.waitForFunction(
      (id) => (window as any).RED.nodes.node(id)?.status?.fill === 'green',
      BASICS_CIRCUIT_NODE,
      { timeout: 15000 },
    );
    const text = await page.evaluate(
      (id) => (window as any).RED.nodes.node(id).status.text,
      BASICS_CIRCUIT_NODE,
    );
    // A span-circuit watching one circuit shows that circuit ("Spa", consuming) in the panel's colour.
    assert.match(text, /^on · \d+(\.\d)? k?W$/);
    assert.equal(
      await page.evaluate((id) => (window as any).RED.nodes.node(id).status.shape, BASICS_CIRCUIT_NODE),
      'dot',
    );
  });

  it('config dialog: "Test connection" reaches the panel with the stored passphrase', async () => {
    const panelId = await page.evaluate(() => {
      let id = '';
      (window as any).RED.nodes.eachConfig((n: any) => {
        if (n.type === 'span-panel') id = n.id;
      });
      return id;
    });
    await page.evaluate((id) => (window as any).RED.editor.editConfig('', 'span-panel', id), panelId);
    await page.waitForSelector('#span-panel-test', { state: 'visible' });
    assert.equal(await page.inputValue('#node-config-input-host'), '${SPAN_HOST}');
    assert.equal(await page.inputValue('#node-config-input-passphrase'), '__PWRD__', 'stored, not shown');
    assert.equal(await page.inputValue('#node-config-input-token'), '');
    assert.equal(await page.textContent('label[for="node-config-input-host"]'), ' Host', 'translated label');
    await page.click('#span-panel-test');
    await page.waitForFunction(() => /Connected to panel/.test($('#span-panel-result').text()), null, {
      timeout: 15000,
    });
    const result = await page.textContent('#span-panel-result');
    assert.match(result ?? '', /^Connected to panel nj-\S+ \(v2, firmware .+\), 22 circuits\.$/);
    await closeDialog(page, '#node-config-dialog-cancel');
  });

  it('config dialog: "Register with panel" registers server-side and returns no secret', async () => {
    const bodies: string[] = [];
    const onResponse = async (r: any) => {
      if (r.url().endsWith('/span-panel/register')) bodies.push(await r.text());
    };
    page.on('response', onResponse);
    const panelId = await page.evaluate(() => {
      let id = '';
      (window as any).RED.nodes.eachConfig((n: any) => {
        if (n.type === 'span-panel') id = n.id;
      });
      return id;
    });
    await page.evaluate((id) => (window as any).RED.editor.editConfig('', 'span-panel', id), panelId);
    await page.waitForSelector('#span-panel-register', { state: 'visible' });
    await page.click('#span-panel-register');
    await page.waitForFunction(() => /Registered/.test($('#span-panel-result').text()), null, {
      timeout: 15000,
    });
    assert.match((await page.textContent('#span-panel-result')) ?? '', /^Registered with panel nj-\S+\./);
    assert.match(await page.inputValue('#node-config-input-registered'), /^v2 \d{4}-/);
    page.off('response', onResponse);
    assert.equal(bodies.length, 1);
    assert.deepEqual(Object.keys(JSON.parse(bodies[0])).sort(), ['api', 'ok', 'serial']);
    assert.doesNotMatch(bodies[0], /span-demo-passphrase/);
    await closeDialog(page, '#node-config-dialog-cancel');
  });

  it('circuit picker: lists the circuits of the deployed panel and keeps the saved choice', async () => {
    await page.evaluate(
      (id) => (window as any).RED.editor.edit((window as any).RED.nodes.node(id)),
      BASICS_CIRCUIT_NODE,
    );
    await page.waitForFunction(() => $('#node-input-circuit option').length > 10, null, { timeout: 15000 });
    const selected = await page.evaluate(() => $('#node-input-circuit option:selected').text());
    assert.match(selected, /^Spa \[29, 31\]/);
    const labels = await page.evaluate(() =>
      $('#node-input-circuit option')
        .map((_i: number, o: unknown) => $(o).text())
        .get(),
    );
    assert.ok(
      labels.some((l: string) => /Refrigerator .*\(always on\)/.test(l)),
      `locked circuits marked: ${labels.join(' | ')}`,
    );
    assert.ok(labels.some((l: string) => /^all circuits/.test(l)));
    await closeDialog(page, '#node-dialog-cancel');
  });

  it('circuit picker: works for a panel config that is not deployed yet (typed token)', async () => {
    await page.evaluate(
      ({ host, token }) => {
        const RED = (window as any).RED;
        RED.nodes.add({
          id: 'undeployed0cfg01',
          type: 'span-panel',
          name: 'new panel',
          host,
          api: 'v1',
          interval: 5,
          mqttPort: 8883,
          registered: '',
          users: [],
          _def: RED.nodes.getType('span-panel'),
          credentials: { token, has_token: true },
        });
      },
      { host: panelHost, token: DEMO_TOKEN },
    );
    await page.evaluate(
      (id) => (window as any).RED.editor.edit((window as any).RED.nodes.node(id)),
      BASICS_CIRCUIT_NODE,
    );
    await page.waitForFunction(() => $('#node-input-circuit option').length > 10, null, { timeout: 15000 });
    await page.evaluate(() => {
      $('#node-input-circuit').empty();
      $('#node-input-panel').val('undeployed0cfg01').trigger('change');
    });
    await page.waitForFunction(() => $('#node-input-circuit option').length > 10, null, { timeout: 15000 });
    const labels = await page.evaluate(() =>
      $('#node-input-circuit option')
        .map((_i: number, o: unknown) => $(o).text())
        .get(),
    );
    assert.ok(labels.some((l: string) => /^Dishwasher/.test(l)));
    assert.equal(await page.evaluate(() => $('#span-circuit-tip').is(':visible')), false, 'no error shown');
    await closeDialog(page, '#node-dialog-cancel');
  });
});

/** Cancels the open edit tray and waits until it is gone (the editor ignores edits while a tray closes). */
async function closeDialog(page: Page, button: string): Promise<void> {
  await page.click(button);
  await page.waitForSelector(button, { state: 'detached' });
  await page.waitForFunction(() => $('.red-ui-tray').length === 0);
}

declare const $: any;
