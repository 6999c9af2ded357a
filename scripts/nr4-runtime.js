// Runs the mocha suite on the machine's Node with the root's Node-RED 4 (prints the versions first).
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const nrVersion = require(path.join(root, 'node_modules', 'node-red', 'package.json')).version;
console.log(`\n=== Test runtime 1: Node-RED ${nrVersion} on Node ${process.version} ===\n`);
const mocha = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
const r = spawnSync(process.execPath, [mocha, ...process.argv.slice(2)], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
