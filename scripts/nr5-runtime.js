// Runs the whole mocha suite a second time on Node-RED 5 under Node 22.
// The runtime lives in test/nr5 (its own package.json) because the npm package `node` installs a `node`
// binary into node_modules/.bin, which would otherwise shadow the machine's Node 20 in every npm script.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const runtimeDir = path.join(root, 'test', 'nr5');
const node22 = path.join(
  runtimeDir,
  'node_modules',
  '.bin',
  process.platform === 'win32' ? 'node.cmd' : 'node',
);
const nodeRedPkg = path.join(runtimeDir, 'node_modules', 'node-red', 'package.json');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

if (!fs.existsSync(node22) || !fs.existsSync(nodeRedPkg)) {
  const useCi = fs.existsSync(path.join(runtimeDir, 'package-lock.json'));
  const status = run('npm', [useCi ? 'ci' : 'install', '--no-audit', '--no-fund'], { cwd: runtimeDir });
  if (status !== 0) process.exit(status);
}

const version = spawnSync(node22, ['--version'], { encoding: 'utf8' }).stdout.trim();
const nrVersion = JSON.parse(fs.readFileSync(nodeRedPkg, 'utf8')).version;
console.log(`\n=== Test runtime 2: Node-RED ${nrVersion} on Node ${version} ===\n`);

const mocha = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const status = run(node22, [mocha, ...process.argv.slice(2)], {
  cwd: root,
  env: { ...process.env, SPAN_NODE_RED_PATH: require.resolve('node-red', { paths: [runtimeDir] }) },
});
process.exit(status);
