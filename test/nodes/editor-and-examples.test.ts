/**
 * Editor files, help, icons and examples, checked statically; then every example deployed in a real
 * Node-RED (child process) against the simulated panel, and the `npm start` demo started and stopped.
 * The child-process parts load the package through its package.json, so they need the built dist/ and the
 * full "node-red.nodes" map.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import vm from 'node:vm';

/* eslint-disable @typescript-eslint/no-explicit-any */

const REPO = process.cwd();
const TYPES = ['span-panel', 'span-poll', 'span-circuit', 'span-status', 'span-ha'];
/** Node-RED serves resources/ of this package under its name. */
const PACKAGE_NAME: string = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).name;
const USER_TYPES = TYPES.filter((t) => t !== 'span-panel');
const DIST_ROOT = path.resolve(__dirname, '..', '..');

const read = (...p: string[]) => fs.readFileSync(path.join(REPO, ...p), 'utf8');
const catalog: Record<string, any> = Object.assign(
  {},
  ...TYPES.map((t) => JSON.parse(read('nodes', 'locales', 'en-US', `${t}.json`))),
);
const hasKey = (key: string) =>
  typeof key.split('.').reduce<any>((o, k) => (o && typeof o === 'object' ? o[k] : undefined), catalog) ===
  'string';

const editorScripts = (html: string) =>
  [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]);

function examples(): { file: string; flow: any[] }[] {
  return fs
    .readdirSync(path.join(REPO, 'examples'))
    .map((file) => ({ file, flow: JSON.parse(read('examples', file)) }));
}

describe('editor files, help, icons and examples', function () {
  this.timeout(60000);

  for (const type of TYPES) {
    it(`${type}: editor script parses, registers an inline literal and uses only known i18n keys`, () => {
      const html = read('nodes', `${type}.html`);
      const scripts = editorScripts(html);
      assert.equal(scripts.length, 1);
      assert.doesNotThrow(() => new vm.Script(scripts[0]), 'valid JavaScript');
      const reg = new RegExp(`RED\\.nodes\\.registerType\\('${type}', \\{`);
      assert.match(scripts[0], reg, 'plain literal registerType');
      if (type === 'span-panel') {
        assert.match(scripts[0], /category: 'config'/);
      } else {
        assert.match(scripts[0], /category: 'SPAN'/);
        assert.match(scripts[0], /color: '#[0-9A-Fa-f]{6}'/);
        assert.match(scripts[0], /inputs: [01],/);
        assert.match(scripts[0], /outputs: 1,/);
        assert.match(scripts[0], /panel: \{ value: '', type: 'span-panel', required: true \}/);
      }
      const icon = /icon: '([^']+)'/.exec(scripts[0])?.[1];
      assert.ok(icon && fs.existsSync(path.join(REPO, 'icons', icon)), `icon ${icon} exists`);
      const svg = read('icons', icon);
      assert.match(svg, /viewBox="0 0 40 60"/, '2:3 icon');
      assert.doesNotMatch(svg.replace(/#fff\b/gi, ''), /#[0-9a-f]{3,6}\b/i, 'white only');
      assert.match(html, new RegExp(`data-template-name="${type}"`));
      const keys = [
        ...[...html.matchAll(/data-i18n="(?:\[\w+\])?([\w.-]+)"/g)].map((m) => m[1]),
        ...[...scripts[0].matchAll(/\b(?:_|portLabel)\('([\w.-]+)'/g)].map((m) => m[1]),
      ];
      assert.ok(keys.length > 0);
      for (const k of keys) assert.ok(hasKey(k), `i18n key ${k}`);
      // Relative admin URLs only (httpAdminRoot may not be "/").
      assert.doesNotMatch(scripts[0], /url: '\//);
      assert.doesNotMatch(scripts[0], /postJson\('\//);
      // The shared editor script, loaded first through Node-RED's resources route (relative, too).
      assert.ok(
        html.startsWith(
          `<script type="text/javascript" src="resources/${PACKAGE_NAME}/span-editor.js"></script>`,
        ),
        'loads the shared editor script',
      );
    });

    it(`${type}: help text and runtime messages exist`, () => {
      const help = read('nodes', 'locales', 'en-US', `${type}.html`);
      assert.match(help, new RegExp(`<script type="text/html" data-help-name="${type}">`));
      const src = read('nodes', `${type}.ts`);
      for (const m of src.matchAll(/RED\._\('([\w.-]+)'/g)) assert.ok(hasKey(m[1]), `RED._ key ${m[1]}`);
    });
  }

  it('examples are flow arrays on their own tabs, wired consistently, without secrets', () => {
    const used = new Set<string>();
    const list = examples();
    assert.deepEqual(list.map((e) => e.file).sort(), [
      'basics.json',
      'dashboard.json',
      'health-alerts.json',
      'home-assistant-entities.json',
      'home-assistant-sensors.json',
      'load-shedding.json',
      'solar-battery-ev.json',
    ]);
    for (const { file, flow } of list) {
      assert.ok(Array.isArray(flow), file);
      const ids = new Set(flow.map((n) => n.id));
      assert.equal(ids.size, flow.length, `${file}: unique ids`);
      const tabs = new Set(flow.filter((n) => n.type === 'tab').map((n) => n.id));
      assert.equal(tabs.size, 1, `${file}: one tab`);
      for (const n of flow) {
        used.add(n.type);
        assert.equal(n.credentials, undefined, `${file}: ${n.id} carries no credentials`);
        if (n.z !== undefined) assert.ok(tabs.has(n.z), `${file}: ${n.id} on the tab`);
        for (const out of n.wires ?? [])
          for (const to of out) assert.ok(ids.has(to), `${file}: wire to ${to}`);
        if (n.panel !== undefined) assert.ok(ids.has(n.panel), `${file}: ${n.id} has its panel config`);
        if (n.type === 'span-panel') {
          assert.equal(n.host, '${SPAN_HOST}', `${file}: host from the environment`);
          assert.equal(n.api, 'auto');
        }
      }
      const panels = flow.filter((n) => n.type === 'span-panel');
      assert.equal(panels.length, 1, `${file}: one panel config`);
    }
    for (const t of USER_TYPES) assert.ok(used.has(t), `an example uses ${t}`);
    // The same config node in every example, so importing several does not duplicate it.
    const configs = list.map(({ flow }) => JSON.stringify(flow.find((n) => n.type === 'span-panel')));
    assert.equal(new Set(configs).size, 1);
    // The Home Assistant example uses that package's real node types and fields.
    const ha = list.find((e) => e.file === 'home-assistant-sensors.json')!.flow;
    const sensors = ha.filter((n) => n.type === 'ha-sensor');
    assert.ok(sensors.length >= 2);
    for (const s of sensors) {
      const cfg = ha.find((n) => n.id === s.entityConfig);
      assert.equal(cfg?.type, 'ha-entity-config');
      assert.equal(cfg.entityType, 'sensor');
      assert.equal(ha.find((n) => n.id === cfg.server)?.type, 'server');
      assert.deepEqual([s.state, s.stateType, s.inputOverride], ['payload', 'msg', 'allow']);
    }
  });

  describe('in a real Node-RED (child process, package loaded from its package.json)', () => {
    const runner = path.join(__dirname, 'example-runner.js');

    for (const file of [
      'basics.json',
      'health-alerts.json',
      'load-shedding.json',
      'home-assistant-sensors.json',
      'solar-battery-ev.json',
      'home-assistant-entities.json',
      'dashboard.json',
    ]) {
      it(`${file} deploys with every node created and the panel online`, async () => {
        const out = await new Promise<string>((resolve, reject) => {
          execFile(
            process.execPath,
            [runner, path.join(REPO, 'examples', file), '2500'],
            { cwd: REPO, timeout: 45000 },
            (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
          );
        });
        const result = JSON.parse(out.trim().split('\n').pop()!);
        assert.deepEqual(result.missingTypes, [], 'all node types installed');
        assert.deepEqual(result.notCreated, [], 'every node started');
        assert.ok(['online', 'degraded'].includes(result.spanHealth), `panel health ${result.spanHealth}`);
        // The HA sensor nodes validate their input before checking the connection: with no Home Assistant
        // running, "NoConnectionError" proves our messages passed their input schema.
        const unexpected = result.errors.filter((e: string) => !/^ha-sensor: NoConnectionError$/.test(e));
        assert.deepEqual(unexpected, [], 'no errors');
        if (file === 'home-assistant-sensors.json') {
          assert.ok(result.errors.length > 0, 'the sensors received SPAN messages');
        }
      });
    }

    it('npm start demo: editor up, example deployed and online, Ctrl-C cleans up', async () => {
      const demo = spawn(process.execPath, [path.join(DIST_ROOT, 'scripts', 'demo.js')], {
        cwd: REPO,
        env: { ...process.env, PORT: '0', SPAN_DEMO_QUIET: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      demo.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      demo.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<number | null>((resolve) => demo.on('exit', (code) => resolve(code)));
      try {
        const url = await until(
          () => /editor at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1],
          30000,
          () => stdout,
        );
        const userDir = /user directory (\S+)/.exec(stdout)?.[1];
        assert.ok(userDir && fs.existsSync(userDir), 'temporary user directory');
        assert.equal((await get(url)).status, 200, 'editor served');
        const nodes = JSON.parse((await get(`${url}nodes`, 'application/json')).body);
        const types = nodes.flatMap((s: { types: string[] }) => s.types);
        for (const t of TYPES) assert.ok(types.includes(t), `${t} loaded`);
        const flows = JSON.parse((await get(`${url}flows`, 'application/json')).body);
        const panel = flows.find((n: any) => n.type === 'span-panel');
        assert.equal(panel.host, '${SPAN_HOST}');
        const health = await until(
          async () => {
            const r = JSON.parse((await get(`${url}span-panel/${panel.id}/health`)).body);
            return r.health?.state === 'online' ? r : null;
          },
          15000,
          () => stdout,
        );
        assert.ok(health.serial);
        demo.kill('SIGINT');
        assert.equal(await exited, 0, stdout);
        assert.equal(fs.existsSync(userDir), false, 'temporary directory removed');
        assert.match(stdout, /stopped, temporary files removed/);
      } finally {
        if (demo.exitCode === null) demo.kill('SIGKILL');
        await exited;
      }
    });
  });
});

function get(url: string, accept = 'text/html'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

async function until<T>(
  probe: () => T | null | undefined | Promise<T | null | undefined>,
  timeoutMs: number,
  context: () => string,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out; output so far:\n${context()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
