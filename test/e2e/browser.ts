/**
 * Headless Debian Chromium through playwright-core (never a downloaded browser), with a fresh profile per
 * run. A missing browser is a test failure with instructions, never a silent skip.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { tempDir } from './harness';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The browser's version line; fails with what to do when it is not installed. */
export function chromiumVersion(): string {
  const missing =
    `Chromium is needed for the editor tests but ${CHROMIUM_PATH} does not run. ` +
    'Install it with `bash scripts/ensure-chromium.sh` (Debian: apt-get install -y chromium), ' +
    'or point CHROMIUM_PATH at a Chromium binary.';
  assert.ok(fs.existsSync(CHROMIUM_PATH), missing);
  try {
    return execFileSync(CHROMIUM_PATH, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .trim()
      .split('\n')[0];
  } catch {
    assert.fail(missing);
  }
}

export interface EditorBrowser {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions in the page (broken editor code: oneditprepare, label functions…). */
  pageErrors: string[];
  /** Requests that failed or got an HTTP error (a missing icon, help file or admin endpoint). */
  failedRequests: string[];
  close(): Promise<void>;
}

export async function launchBrowser(viewport = { width: 1280, height: 760 }): Promise<EditorBrowser> {
  chromiumVersion();
  const profile = tempDir('chromium-profile');
  let context: BrowserContext;
  try {
    // launchPersistentContext is playwright's way to pass our own --user-data-dir.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ARGS,
      viewport,
      timeout: 60_000,
    });
  } catch (e) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.stack ?? e.message));
  // The editor catches a throwing node definition (label, icon, port labels…) and only logs it.
  page.on('console', (m) => {
    if (m.text().startsWith('Definition error')) pageErrors.push(m.text());
  });
  const failedRequests: string[] = [];
  page.on('response', (r) => {
    if (r.status() >= 400) failedRequests.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => failedRequests.push(`${r.failure()?.errorText} ${r.method()} ${r.url()}`));
  return {
    context,
    page,
    pageErrors,
    failedRequests,
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** test/artifacts (gitignored), created on demand. */
export function artifactPath(name: string): string {
  const dir = path.join(process.cwd(), 'test', 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
