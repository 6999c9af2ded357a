/**
 * What the palette manager and the Node-RED flow library's scorecard (node-red-dev validate) check,
 * run offline: package metadata, editor files the scorecard's parser can read, examples that cover every
 * node, and a tarball with nothing a user does not need.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as acorn from 'acorn';

const root = process.cwd();
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const nodeMap: Record<string, string> = pkg['node-red'].nodes;

/** Mirrors node-red-dev's checknodes: registerType('<literal>', { inline literal properties }). */
function registrations(html: string): { type: string; props: Record<string, string> }[] {
  const out: { type: string; props: Record<string, string> }[] = [];
  const scripts = [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map(
    (m) => m[1],
  );
  for (const src of scripts) {
    const ast = acorn.parse(src, { ecmaVersion: 2020 }) as unknown as acorn.Node;
    const visit = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown> & { type?: string };
      if (
        n.type === 'CallExpression' &&
        (n.callee as { property?: { name?: string } })?.property?.name === 'registerType'
      ) {
        const [typeArg, defArg] = n.arguments as { type: string; value?: string; properties?: unknown[] }[];
        assert.equal(typeArg.type, 'Literal', 'registerType type must be a string literal');
        assert.equal(defArg.type, 'ObjectExpression', 'registerType definition must be an inline object');
        const props: Record<string, string> = {};
        for (const p of defArg.properties as {
          key: { name?: string; value?: string };
          value: { type: string };
        }[]) {
          props[p.key.name ?? String(p.key.value)] = p.value.type;
        }
        out.push({ type: String(typeArg.value), props });
      }
      for (const v of Object.values(n)) {
        if (Array.isArray(v)) v.forEach(visit);
        else if (v && typeof v === 'object') visit(v);
      }
    };
    visit(ast);
  }
  return out;
}

describe('package fitness for the palette manager and the flow library', () => {
  it('has a scoped node-red name, the node-red keyword, licence, repository and bugs (P01–P05)', () => {
    assert.match(pkg.name, /^@[a-z0-9-]+\/node-red-[a-z0-9-]+$/);
    assert.ok(pkg.keywords.includes('node-red'));
    assert.equal(pkg.license, 'MIT');
    assert.ok(fs.existsSync(path.join(root, 'LICENSE')));
    assert.match(pkg.repository.url, /^git\+https:\/\//);
    assert.ok(pkg.bugs.url);
  });

  it('declares an open-ended node-red version satisfied by 4.x and 5.x, and engines the latest Node-RED accepts (P06, P07)', () => {
    assert.equal(pkg['node-red'].version, '>=4.0.0');
    assert.equal(pkg.engines.node, '>=20');
  });

  it('keeps runtime dependencies few (D01) and does not depend on node-red itself', () => {
    const deps = Object.keys(pkg.dependencies ?? {});
    assert.ok(deps.length <= 6, `${deps.length} runtime dependencies`);
    assert.deepEqual(deps.sort(), ['axios', 'mqtt', 'multicast-dns']);
    assert.ok(!deps.includes('node-red'));
  });

  it('has an editor .html beside every node file with inline registerType literals (scorecard parser)', () => {
    const types = new Set<string>();
    for (const [name, js] of Object.entries(nodeMap)) {
      const html = path.join(root, js.replace(/\.js$/, '.html'));
      assert.ok(fs.existsSync(path.join(root, js)), `${js} is built`);
      assert.ok(fs.existsSync(html), `${html} exists`);
      const regs = registrations(fs.readFileSync(html, 'utf8'));
      assert.ok(regs.length >= 1, `${name} registers a type`);
      for (const r of regs) {
        types.add(r.type);
        assert.ok(r.props.category, `${r.type}: category`);
        assert.equal(r.props.defaults, 'ObjectExpression', `${r.type}: inline defaults`);
      }
    }
    for (const t of ['span-panel', 'span-poll', 'span-circuit', 'span-status', 'span-ha'])
      assert.ok(types.has(t), `${t} registered`);
  });

  it('ships examples that parse as flow arrays and cover every non-config node type (N02)', () => {
    const dir = path.join(root, 'examples');
    const files = fs.readdirSync(dir);
    assert.ok(files.length >= 4);
    const used = new Set<string>();
    for (const f of files) {
      assert.match(f, /\.json$/, `only flow JSON in examples/ (${f})`);
      const flow = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      assert.ok(Array.isArray(flow), `${f} is an array`);
      for (const n of flow) used.add(n.type);
    }
    for (const t of ['span-poll', 'span-circuit', 'span-status', 'span-ha'])
      assert.ok(used.has(t), `an example uses ${t}`);
  });

  it('packs compiled JS, editor HTML and its shared script, icons, locales and examples, and nothing else', function () {
    this.timeout(60_000);
    // --ignore-scripts: prepack would rebuild dist/ under the running tests.
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
    });
    const files: string[] = JSON.parse(out)[0].files.map((f: { path: string }) => f.path);
    for (const name of ['span-panel', 'span-poll', 'span-circuit', 'span-status', 'span-ha']) {
      assert.ok(files.includes(`dist/nodes/${name}.js`), `${name}.js`);
      assert.ok(files.includes(`dist/nodes/${name}.html`), `${name}.html`);
      assert.ok(files.includes(`dist/nodes/locales/en-US/${name}.json`), `${name} locale`);
    }
    assert.ok(
      files.some((f) => /^dist\/nodes\/icons\/.+\.svg$/.test(f)),
      'icons',
    );
    assert.ok(
      files.some((f) => /^examples\/.+\.json$/.test(f)),
      'examples',
    );
    // Every node's editor HTML loads it (resources/@span-local/node-red-span-panel/span-editor.js).
    assert.ok(files.includes('resources/span-editor.js'), 'the shared editor script');
    assert.ok(files.includes('LICENSE') && files.includes('README.md') && files.includes('package.json'));
    const unwanted = files.filter(
      (f) =>
        /\.ts$/.test(f) ||
        /(^|\/)test\//.test(f) ||
        /simulator/.test(f) ||
        /\.(pem|key|crt)$/.test(f) ||
        /\.map$/.test(f) ||
        f.startsWith('src/') ||
        f.startsWith('bench/') ||
        f.startsWith('scripts/'),
    );
    assert.deepEqual(unwanted, []);
  });

  it('says what ships with positive entries only: the simulator lives outside dist/src, not behind a "!" glob', function () {
    const negative = (pkg.files as string[]).filter((f) => f.startsWith('!'));
    assert.deepEqual(negative, []);
    assert.ok(
      !fs.existsSync(path.join(root, 'src', 'simulator')),
      'src/simulator is gone (moved to simulator/)',
    );
  });
});
