/**
 * What a user does in the Node-RED editor, as playwright steps: filter the palette, drag a node onto the
 * canvas, open its dialog, wire, deploy, read the status under a node, export. Selectors are the editor's
 * own (Node-RED 4.x and 5.x share them).
 */
import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const RED: any;

export interface CanvasStatus {
  fill?: string;
  shape?: string;
  text?: string;
  /** What the canvas shows under the node. */
  label: string;
}

export class EditorPage {
  constructor(readonly page: Page) {}

  async open(url: string): Promise<void> {
    await this.page.goto(url);
    await this.page.waitForFunction(
      () => (window as any).RED?.workspaces?.active?.() && RED.nodes?.getType,
      null,
      {
        timeout: 60_000,
      },
    );
    // The palette is filled once every node set's editor HTML has been loaded.
    await this.page.waitForSelector('.red-ui-palette-node[data-palette-type="inject"]', { timeout: 60_000 });
    // No modal may cover the canvas (update-notification or welcome-tour dialogs).
    assert.equal(await this.page.locator('.red-ui-shade:visible').count(), 0, 'a modal covers the editor');
  }

  paletteNode(type: string): Locator {
    return this.page.locator(`#red-ui-palette .red-ui-palette-node[data-palette-type="${type}"]`);
  }

  /** The palette category a node type is listed under (its container id ends in the category name). */
  async paletteCategory(type: string): Promise<{ id: string; header: string; label: string }> {
    return this.paletteNode(type).evaluate((el) => {
      const cat = el.closest('.red-ui-palette-category');
      return {
        id: cat?.id ?? '',
        header: (cat?.querySelector('.red-ui-palette-header')?.textContent ?? '').trim(),
        label: (el.textContent ?? '').replace(/\s+/g, ' ').trim(),
      };
    });
  }

  async filterPalette(text: string): Promise<void> {
    const input = this.page.locator('#red-ui-palette-search input');
    await input.fill(text);
  }

  private async nodeIds(type: string): Promise<string[]> {
    return this.page.evaluate((t) => RED.nodes.filterNodes({ type: t }).map((n: any) => n.id), type);
  }

  /**
   * Drags a palette entry onto the canvas, (x, y) from the canvas' top-left corner (the editors of
   * Node-RED 4 and 5 place the canvas differently); returns the new node's id.
   */
  async dropFromPalette(type: string, x: number, y: number): Promise<string> {
    const before = new Set(await this.nodeIds(type));
    const canvas = await this.page.locator('#red-ui-workspace-chart').boundingBox();
    assert.ok(canvas, 'the canvas is visible');
    const entry = this.paletteNode(type);
    await entry.scrollIntoViewIfNeeded();
    const box = await entry.boundingBox();
    assert.ok(box, `palette entry ${type} is visible`);
    const mouse = this.page.mouse;
    await mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await mouse.down();
    await mouse.move(box.x + box.width / 2 + 20, box.y + box.height / 2 + 5, { steps: 5 });
    await mouse.move(canvas.x + x, canvas.y + y, { steps: 15 });
    await mouse.up();
    const added = await this.page.waitForFunction(
      ({ t, known }) => {
        const ids = RED.nodes.filterNodes({ type: t }).map((n: any) => n.id);
        return ids.find((id: string) => !known.includes(id)) ?? null;
      },
      { t: type, known: [...before] },
      { timeout: 10_000 },
    );
    return (await added.jsonValue()) as string;
  }

  /** The node's shape on the canvas (its SVG group carries the node id). */
  canvasNode(id: string): Locator {
    return this.page.locator(`#red-ui-workspace-chart g.red-ui-flow-node-group[id="${id}"]`);
  }

  /** Opens a node's edit dialog the way a user does: double-click on the canvas. */
  async openDialog(id: string): Promise<void> {
    await this.canvasNode(id).locator('.red-ui-flow-node').dblclick();
    await this.page.locator('#node-dialog-ok').waitFor({ state: 'visible' });
  }

  async closeDialog(): Promise<void> {
    await this.page.locator('#node-dialog-ok').click();
    await this.page.locator('#node-dialog-ok').waitFor({ state: 'detached' });
  }

  /** Drags a wire from a node's output port to another node's input port. */
  async wire(fromId: string, toId: string): Promise<void> {
    const out = await this.canvasNode(fromId)
      .locator('.red-ui-flow-port-output .red-ui-flow-port')
      .first()
      .boundingBox();
    const inp = await this.canvasNode(toId)
      .locator('.red-ui-flow-port-input .red-ui-flow-port')
      .first()
      .boundingBox();
    assert.ok(out && inp, 'ports are visible');
    const mouse = this.page.mouse;
    await mouse.move(out.x + out.width / 2, out.y + out.height / 2);
    await mouse.down();
    await mouse.move(inp.x + inp.width / 2, inp.y + inp.height / 2, { steps: 10 });
    await mouse.up();
    await this.page.waitForFunction(
      ({ f, t }) => RED.nodes.filterLinks({ source: { id: f }, target: { id: t } }).length === 1,
      { f: fromId, t: toId },
    );
  }

  /** Deploy button; resolves once the editor reports a successful deploy (nothing left dirty). */
  async deploy(): Promise<void> {
    await this.page.locator('#red-ui-header-button-deploy').click();
    await this.page.waitForFunction(() => !RED.nodes.dirty(), null, { timeout: 30_000 });
    await this.page.locator('.red-ui-notification-success').first().waitFor({ state: 'visible' });
  }

  async status(id: string): Promise<CanvasStatus> {
    const s = await this.page.evaluate((nodeId) => {
      const n = RED.nodes.node(nodeId);
      return n?.status ? { fill: n.status.fill, shape: n.status.shape, text: n.status.text } : {};
    }, id);
    const label = (await this.canvasNode(id).locator('.red-ui-flow-node-status-label').textContent()) ?? '';
    return { ...s, label: label.trim() };
  }

  /** Waits for notifications ("Successfully deployed"…) to go away, e.g. before a screenshot. */
  async waitForNotificationsToClose(): Promise<void> {
    await this.page.waitForFunction(() => !document.querySelector('.red-ui-notification'), null, {
      timeout: 15_000,
    });
  }

  /** Waits until the node's status (model and canvas label) satisfies `match`. */
  async waitForStatus(
    id: string,
    match: (s: CanvasStatus) => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<CanvasStatus> {
    const end = Date.now() + timeoutMs;
    let last: CanvasStatus = { label: '' };
    while (Date.now() < end) {
      last = await this.status(id);
      if (match(last)) return last;
      await this.page.waitForTimeout(100);
    }
    assert.fail(`timed out waiting for ${what}; last status of ${id}: ${JSON.stringify(last)}`);
  }

  /** The export dialog's JSON for all flows, as a user would copy it. */
  async exportAllFlows(): Promise<string> {
    await this.page.evaluate(() => RED.actions.invoke('core:show-export-dialog'));
    await this.page.locator('#red-ui-clipboard-dialog-export-rng-full').click();
    await this.page.locator('a[href="#red-ui-clipboard-dialog-export-tab-clipboard-json"]').click();
    const text = this.page.locator('#red-ui-clipboard-dialog-export-text');
    await text.waitFor({ state: 'visible' });
    const json = await text.inputValue();
    await this.page.locator('#red-ui-clipboard-dialog-cancel').click();
    await text.waitFor({ state: 'hidden' });
    return json;
  }
}
