/**
 * Loads the captured payloads in test/fixtures (resolved from the working directory, which is the repo root
 * when mocha runs, so compiled tests in any outDir find them).
 */
import fs from 'node:fs';
import path from 'node:path';

export const FIXTURES_DIR = path.join(process.cwd(), 'test/fixtures');

export function fixturePath(name: string): string {
  return path.join(FIXTURES_DIR, name);
}

export function loadFixtureText(name: string): string {
  return fs.readFileSync(fixturePath(name), 'utf8');
}

export function loadFixture<T = unknown>(name: string): T {
  return JSON.parse(loadFixtureText(name)) as T;
}
