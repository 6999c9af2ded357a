/**
 * The dashboard example on FlowFuse Dashboard 2, in headless Chromium: a real Node-RED with
 * @flowfuse/node-red-dashboard runs examples/dashboard.json against a simulated v2 panel; the page shows the
 * health badge, the power-flow chart, circuits sorted by load and relay switches; switching a relay reaches
 * the panel and a refused one (an always-on circuit) is shown. The screenshot the README shows
 * (docs/screenshot-dashboard.png) is taken here, from the running example.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { SimulatedPanel } from '../../simulator';
import { createV2Plugin } from '../../simulator/v2';
import { artifactPath, chromiumVersion, launchBrowser, type EditorBrowser } from './browser';
import {
  assertBuilt,
  hostOf,
  nodeRedDir,
  NodeRed,
  packageRoot,
  PASSPHRASE,
  readJson,
  startPanel,
  waitFor,
  type FlowNode,
} from './harness';

const nodeRedVersion: string = readJson(path.join(nodeRedDir(), 'package.json')).version;
const nodeRedMajor = Number(nodeRedVersion.split('.')[0]);
const SPA = '617059df47bb49bd8545a36a6b6b23d2';
const FRIDGE = '9941b417bfa046ef908d97c998c54c50'; // always on: switching it is refused

describe(`dashboard example on FlowFuse Dashboard 2, in headless Chromium (Node-RED ${nodeRedVersion})`, function () {
  this.timeout(120_000);

  let panel: SimulatedPanel | null = null;
  let nr: NodeRed | null = null;
  let browser: EditorBrowser | null = null;

  before(() => {
    chromiumVersion();
    assertBuilt();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      await browser?.page.screenshot({ path: artifactPath('dashboard-failure.png') }).catch(() => undefined);
      if (nr) console.log(`    Node-RED problems:\n      ${nr.problems().join('\n      ')}`);
    }
    await browser?.close();
    await nr?.stop();
    await panel?.close();
    browser = null;
    nr = null;
    panel = null;
  });

  it('renders live values, switches a relay, shows a refused command; saves the README screenshot', async () => {
    const flow: FlowNode[] = readJson(path.join(packageRoot(), 'examples', 'dashboard.json'));
    const cfg = flow.find((n) => n.type === 'span-panel')!;
    panel = await startPanel({
      plugins: [createV2Plugin({ dataModel: 'flat', passphrase: PASSPHRASE })],
      tickMs: 1000,
    });
    const p = panel;
    const flows = flow.map((n) => (n.id === cfg.id ? { ...n, mqttPort: String(p.ports.mqtt) } : n));
    nr = await NodeRed.start({
      dashboard: true,
      flows,
      credentials: { [cfg.id]: { passphrase: PASSPHRASE } },
      env: { SPAN_HOST: hostOf(p) },
    });
    assert.deepEqual(nr.missingTypes(), []);
    browser = await launchBrowser({ width: 1280, height: 900 });
    const { page } = browser;
    await page.goto(`${nr.url}/api/dashboard/span`);

    // Health badge, grid power, battery.
    const badge = page.locator('.span-health-badge');
    await badge.waitFor({ state: 'visible', timeout: 30_000 });
    await waitFor(
      'the badge says online',
      async () => /^online/.test((await badge.textContent()) ?? ''),
      30_000,
    );
    await waitFor('grid power in kW', async () =>
      /-?\d+\.\d\d kW/.test((await page.locator('.span-grid').textContent()) ?? ''),
    );

    // Circuits sorted by load: the table's first row is the circuit drawing the most.
    const rows = page.locator('.span-circuits tbody tr');
    await waitFor('circuit rows', async () => (await rows.count()) >= 10, 30_000);
    const first = (await rows.first().locator('td').first().textContent())?.trim();
    const loads = p.state.circuits.map((c) => ({ name: c.name, w: Math.abs(c.instantPowerW) }));
    const maxW = Math.max(...loads.map((l) => l.w));
    const heaviest = loads.filter((l) => l.w >= maxW - 50).map((l) => l.name.trim());
    assert.ok(
      heaviest.some((n) => first?.replace(/\s+/g, ' ') === n.replace(/\s+/g, ' ')),
      `first row ${first}, heaviest ${heaviest}`,
    );

    // The power-flow chart has drawn (a canvas with a size).
    await page.locator('canvas').first().waitFor({ state: 'visible', timeout: 20_000 });

    // A relay switched on the dashboard reaches the panel.
    const spaSwitch = page.locator('.span-relay', { hasText: 'Spa' }).locator('input[type=checkbox]');
    await waitFor('the Spa switch on', async () => spaSwitch.isChecked(), 20_000);
    await spaSwitch.click();
    await waitFor(
      'the Spa relay OPEN on the panel',
      () => p.state.circuit(SPA)!.relayState === 'OPEN',
      20_000,
    );
    await spaSwitch.click();
    await waitFor('the Spa relay CLOSED again', () => p.state.circuit(SPA)!.relayState === 'CLOSED', 20_000);

    // An always-on circuit refuses: the dashboard says so, the panel is unchanged.
    const fridge = page.locator('.span-relay', { hasText: 'Refrigerator' }).locator('input[type=checkbox]');
    await waitFor('the fridge switch shown on', async () => fridge.isChecked(), 20_000);
    await fridge.click();
    await waitFor(
      '"Last refused" shows the refusal',
      async () => /refused/i.test((await page.locator('.span-last-refused').textContent()) ?? ''),
      20_000,
    );
    await page
      .getByText(/relay command OPEN refused/)
      .first()
      .waitFor({ state: 'visible', timeout: 10_000 });
    assert.equal(p.state.circuit(FRIDGE)!.relayState, 'CLOSED');

    // Let the chart gather some points and the toast go, then the picture for the README (one runtime).
    await page.getByRole('button', { name: 'Close' }).first().click();
    await page.waitForTimeout(8000);
    const shot =
      nodeRedMajor === 4
        ? path.join(packageRoot(), 'docs', 'screenshot-dashboard.png')
        : artifactPath('dashboard-nr5.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.deepEqual(browser.pageErrors, [], 'errors in the dashboard page');
  });
});
