import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { expectResponse, rawRequest } from '../helpers/http-client';

/** The compiled CLI next to this compiled test (works for any outDir). */
const CLI = path.join(__dirname, '../../simulator/cli.js');

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function waitForLine(r: Run, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!r.stdout().includes('\n')) {
    if (Date.now() > deadline) throw new Error(`no ready line; stderr: ${r.stderr()}`);
    if (r.child.exitCode !== null)
      throw new Error(`exited early (${r.child.exitCode}); stderr: ${r.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return r.stdout().split('\n')[0]!;
}

describe('simulator CLI', function () {
  this.timeout(20_000);
  const running: Run[] = [];
  const start = (args: string[]) => {
    const r = run(args);
    running.push(r);
    return r;
  };
  afterEach(async () => {
    for (const r of running.splice(0)) {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
      await r.exit;
    }
  });

  it('--help prints usage and exits 0', async () => {
    const r = start(['--help']);
    const { code } = await r.exit;
    assert.equal(code, 0);
    assert.match(r.stdout(), /^Usage: /);
    for (const opt of [
      '--port',
      '--control-port',
      '--keepalive-ms',
      '--keepalive-mode',
      '--seed',
      '--tick-ms',
      '--token',
    ]) {
      assert.ok(r.stdout().includes(opt), `usage mentions ${opt}`);
    }
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`prints exactly one JSON ready line, serves the panel, and exits 0 on ${signal}`, async () => {
      const r = start([
        '--keepalive-ms',
        '300',
        '--keepalive-mode',
        'silent',
        '--seed',
        '5',
        '--tick-ms',
        '0',
        '--token',
        'cli-tok',
      ]);
      const line = await waitForLine(r);
      const ready = JSON.parse(line) as {
        ready: boolean;
        http: number;
        control: number;
        mqtt: null;
        serial: string;
      };
      assert.deepEqual(Object.keys(ready), ['ready', 'http', 'control', 'mqtt', 'serial']);
      assert.equal(ready.ready, true);
      assert.equal(ready.mqtt, null);
      assert.match(ready.serial, /^nj-2316-/);

      const panel = expectResponse(
        await rawRequest(ready.http, '/api/v1/panel', {
          headers: { authorization: 'Bearer cli-tok' },
          agent: false,
        }),
      );
      assert.equal(panel.status, 200);
      const health = expectResponse(await rawRequest(ready.control, '/health', { agent: false }));
      assert.equal(health.status, 200);

      r.child.kill(signal);
      const { code } = await r.exit;
      assert.equal(code, 0, `stderr: ${r.stderr()}`);
      assert.equal(r.stdout(), `${line}\n`, 'nothing but the ready line on stdout');
      assert.equal(r.stderr(), '');
    });
  }

  it('rejects invalid options with exit code 2 and a message on stderr', async () => {
    const bad = start(['--keepalive-mode', 'sometimes']);
    assert.equal((await bad.exit).code, 2);
    assert.match(bad.stderr(), /keepalive-mode must be one of close, silent/);
    const unknown = start(['--frobnicate']);
    assert.equal((await unknown.exit).code, 2);
    assert.equal(unknown.stdout(), '');
  });
});
