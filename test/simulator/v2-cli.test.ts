import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { HomieProbe } from '../../simulator/v2/probe';
import { expectResponse, rawRequest } from '../helpers/http-client';

/** The compiled CLI next to this compiled test (works for any outDir). */
const CLI = path.join(__dirname, '../../simulator/cli.js');

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null }>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<{ code: number | null }>((resolve) =>
    child.once('exit', (code) => resolve({ code })),
  );
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function readyLine(
  r: Run,
  timeoutMs = 15_000,
): Promise<{ http: number; mqtt: number | null; serial: string }> {
  const deadline = Date.now() + timeoutMs;
  while (!r.stdout().includes('\n')) {
    if (Date.now() > deadline) throw new Error(`no ready line; stderr: ${r.stderr()}`);
    if (r.child.exitCode !== null)
      throw new Error(`exited early (${r.child.exitCode}); stderr: ${r.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return JSON.parse(r.stdout().split('\n')[0]!) as { http: number; mqtt: number | null; serial: string };
}

describe('simulator CLI with the v2 face', function () {
  this.timeout(30_000);
  const running: Run[] = [];
  const probes: HomieProbe[] = [];
  const start = (args: string[]) => {
    const r = run(args);
    running.push(r);
    return r;
  };
  afterEach(async () => {
    for (const p of probes.splice(0)) await p.close();
    for (const r of running.splice(0)) {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
      await r.exit;
    }
  });

  it('--api both --data-model parent-child serves v1, v2 REST and the broker; exits 0 on SIGTERM', async () => {
    const r = start([
      '--api',
      'both',
      '--data-model',
      'parent-child',
      '--passphrase',
      'cli-pass',
      '--tick-ms',
      '0',
    ]);
    const ready = await readyLine(r);
    assert.equal(typeof ready.mqtt, 'number');
    const schema = JSON.parse(
      expectResponse(await rawRequest(ready.http, '/api/v2/homie/schema', { agent: false })).body,
    ) as { dataModelVersion?: string };
    assert.equal(schema.dataModelVersion, '1.0');
    assert.equal(
      expectResponse(await rawRequest(ready.http, '/api/v1/status', { agent: false })).status,
      200,
    );
    const reg = JSON.parse(
      expectResponse(
        await rawRequest(ready.http, '/api/v2/auth/register', {
          method: 'POST',
          body: { name: 'cli-test', hopPassphrase: 'cli-pass' },
          agent: false,
        }),
      ).body,
    ) as { ebusBrokerUsername: string; ebusBrokerPassword: string; ebusBrokerMqttsPort: number };
    assert.equal(reg.ebusBrokerMqttsPort, ready.mqtt);
    const ca = expectResponse(await rawRequest(ready.http, '/api/v2/certificate/ca', { agent: false })).body;
    const probe = await HomieProbe.connect({
      port: ready.mqtt!,
      ca,
      username: reg.ebusBrokerUsername,
      password: reg.ebusBrokerPassword,
    });
    probes.push(probe);
    const topic = `ebus/5/${ready.serial}/info/data-model-version`;
    await probe.subscribe(topic);
    await probe.waitFor(() => probe.latest.get(topic) === '1.0');
    await probe.close();
    probes.length = 0;

    r.child.kill('SIGTERM');
    assert.equal((await r.exit).code, 0, `stderr: ${r.stderr()}`);
    assert.equal(r.stderr(), '');
  });

  it('--api v2 serves no v1 API; --help documents the v2 options; bad values exit 2', async () => {
    const r = start(['--api', 'v2', '--tick-ms', '0']);
    const ready = await readyLine(r);
    assert.equal(typeof ready.mqtt, 'number');
    assert.equal(
      expectResponse(await rawRequest(ready.http, '/api/v1/status', { agent: false })).status,
      404,
    );
    const status = JSON.parse(
      expectResponse(await rawRequest(ready.http, '/api/v2/status', { agent: false })).body,
    ) as { firmwareVersion: string };
    assert.equal(status.firmwareVersion, 'spanos2/r202603/05', 'flat by default');
    r.child.kill('SIGINT');
    assert.equal((await r.exit).code, 0);

    const help = start(['--help']);
    assert.equal((await help.exit).code, 0);
    for (const opt of ['--api', '--data-model', '--passphrase', '--mqtt-port'])
      assert.ok(help.stdout().includes(opt));

    const bad = start(['--api', 'v3']);
    assert.equal((await bad.exit).code, 2);
    assert.match(bad.stderr(), /--api must be one of v1, v2, both/);
    const badModel = start(['--api', 'both', '--data-model', 'tree']);
    assert.equal((await badModel.exit).code, 2);
    assert.match(badModel.stderr(), /--data-model must be one of flat, parent-child/);
  });
});
