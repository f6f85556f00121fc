// Names that tell processes apart (issue 11 §3): NODEPROF_NAME's %s and %c
// on real node (scripts, index, ESM, node -e, node_modules/.bin, pm2),
// real npm and npx with their children, the default name, `nodeprof run
// --dir REL` for children that change directory, and never replacing a
// file when %s repeats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CLI, NODE, childEnv, cpuProfilesIn, defaultNameRe, filesIn, parseDefaultName, readCpuProfile, run, tempDir,
  tempLeftovers, treeOf, writeScript,
} from './helpers.mjs';

const T = { timeout: 120000 };
const HOT = `
function hotLoop(ms) { const end = Date.now() + ms, cpuEnd = cpuMs() + ms; let x = 0; while (Date.now() < end || cpuMs() < cpuEnd) for (let j = 0; j < 1000; j++) x += Math.sqrt(x + 1); return x; }
function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } // CPU time too: see tests/fixtures/apps/burn.js
hotLoop(50);
`;
const NPM_CLI = '/usr/lib/node_modules/npm/bin/npm-cli.js';
const NPX_CLI = '/usr/lib/node_modules/npm/bin/npx-cli.js';
// npm without the network or its update check.
const NPM_ENV = { npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false',
  npm_config_audit: 'false' };

const basenames = (dir) => cpuProfilesIn(dir).map((f) => path.basename(f)).sort();

// The one profile that `node ...args` wrote with NODEPROF_NAME=%s~%c.
function namedAs(t, args, { cwd, env = {} } = {}) {
  const out = tempDir(t);
  const r = run(NODE, args, { cwd, env: childEnv({ NODEPROF_DIR: out, NODEPROF_NAME: '%s~%c', ...env }) });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const names = basenames(out);
  assert.equal(names.length, 1, names.join(' '));
  readCpuProfile(path.join(out, names[0]));
  return names[0].slice(0, -'.cpuprofile'.length);
}

test('%s and %c on real node: script, arguments up to the first option, index, ESM, -e, .bin links, pm2, unsafe characters', T, (t) => {
  const dir = tempDir(t);
  const server = writeScript(dir, 'server.js', HOT);
  assert.equal(namedAs(t, [server, '8080', 'eu/west', '--password', 'hunter2']), 'server~server-8080-west');
  // index names its directory, also when node is given the directory.
  fs.mkdirSync(path.join(dir, 'checkout'));
  writeScript(dir, 'checkout/index.js', HOT);
  assert.equal(namedAs(t, [path.join(dir, 'checkout/index.js')]), 'checkout~checkout');
  assert.equal(namedAs(t, ['checkout'], { cwd: dir }), 'checkout~checkout');
  // ESM, and characters that have no place in a file name.
  const odd = writeScript(dir, 'my app.v2.mjs', HOT);
  assert.equal(namedAs(t, [odd, 'a;b$(c)']), 'my_app_v2~my_app_v2-a_b_c');
  assert.equal(namedAs(t, ['-e', HOT]), 'node~node');
  // A tool as npm and npx run it: through its node_modules/.bin link.
  fs.mkdirSync(path.join(dir, 'node_modules/tool/bin'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'node_modules/.bin'));
  writeScript(dir, 'node_modules/tool/bin/cli.cjs', HOT);
  fs.symlinkSync('../tool/bin/cli.cjs', path.join(dir, 'node_modules/.bin/tool'));
  assert.equal(namedAs(t, [path.join(dir, 'node_modules/.bin/tool'), 'src']), 'tool~tool-src');
  // A pm2 app: pm2's container script, the app's script in pm_exec_path.
  fs.mkdirSync(path.join(dir, 'pm2/lib'), { recursive: true });
  const container = writeScript(dir, 'pm2/lib/ProcessContainerFork.js', 'require(process.env.pm_exec_path);\n');
  const api = writeScript(dir, 'api.js', HOT);
  assert.equal(namedAs(t, [container], { env: { pm_exec_path: api } }), 'api~api');
});

// A package with a script and a tool; npm is run from a directory inside
// it, and runs the script from the package's root: a chdir that the
// profiles must not follow.
function makePackage(dir) {
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: 'names-test', version: '1.0.0', private: true,
    scripts: { build: '"$npm_node_execpath" build.js prod' },
  }));
  writeScript(dir, 'build.js', HOT + "console.log('built');\n");
  const tool = path.join(dir, 'node_modules/hotfmt');
  fs.mkdirSync(path.join(tool, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(tool, 'package.json'), JSON.stringify({ name: 'hotfmt', version: '1.0.0', bin: { hotfmt: 'bin/hotfmt.cjs' } }));
  fs.writeFileSync(path.join(tool, 'bin/hotfmt.cjs'), `#!${NODE}\n${HOT}console.log('formatted');\n`, { mode: 0o755 });
  fs.mkdirSync(path.join(dir, 'node_modules/.bin'));
  fs.symlinkSync('../hotfmt/bin/hotfmt.cjs', path.join(dir, 'node_modules/.bin/hotfmt'));
  fs.mkdirSync(path.join(dir, 'src'));
}

test('real npm and npx under `nodeprof run --dir out` from a subdirectory: npm-run-build and build, npx-hotfmt and hotfmt, all in one directory', {
  ...T, skip: !fs.existsSync(NPM_CLI) && `no ${NPM_CLI}`,
}, (t) => {
  const pkg = tempDir(t);
  makePackage(pkg);
  const sub = path.join(pkg, 'src');
  const env = childEnv({ ...NPM_ENV, npm_config_cache: path.join(tempDir(t), 'npm-cache') }, { preload: false });
  const npm = run(CLI, ['run', '--dir', 'out', '--', NODE, NPM_CLI, 'run', 'build', '--silent'], { cwd: sub, env });
  assert.equal(npm.status, 0, npm.stderr);
  assert.equal(npm.stdout, 'built\n');
  const npx = run(CLI, ['run', '--dir', 'out', '--', NODE, NPX_CLI, 'hotfmt', '--check'], { cwd: sub, env });
  assert.equal(npx.status, 0, npx.stderr);
  assert.equal(npx.stdout, 'formatted\n');
  // Everything in src/out, where `nodeprof run` was: nothing where npm
  // ran the script (the package's root).
  const out = path.join(sub, 'out');
  assert.ok(!fs.existsSync(path.join(pkg, 'out')), `files in the package's root: ${treeOf(pkg).join(' ')}`);
  const scripts = cpuProfilesIn(out).map((f) => parseDefaultName(path.basename(f))?.script).sort();
  assert.deepEqual(scripts, ['build', 'hotfmt', 'npm-run-build', 'npx-hotfmt'], treeOf(out).join(' '));
  for (const f of cpuProfilesIn(out)) readCpuProfile(f);
  // nodeprof run lists every file of every process.
  const listed = (r) => r.stderr.split('\n').filter((l) => l.startsWith('nodeprof: wrote ')).map((l) => l.slice(16));
  assert.deepEqual([...listed(npm), ...listed(npx)].sort(), cpuProfilesIn(out).sort());
  assert.deepEqual(tempLeftovers(out), []);
});

test('npm and npx started as a shell starts them, through their bin links (bin/npm -> npm-cli.js): npm-run-build, npx-hotfmt', {
  ...T, skip: !fs.existsSync(NPM_CLI) && `no ${NPM_CLI}`,
}, (t) => {
  const pkg = tempDir(t);
  makePackage(pkg);
  // The links as node's and npm's packages install them, and the node
  // under test first in PATH for their `#!/usr/bin/env node`.
  const bin = tempDir(t);
  fs.symlinkSync(NODE, path.join(bin, 'node'));
  fs.symlinkSync(NPM_CLI, path.join(bin, 'npm'));
  fs.symlinkSync(NPX_CLI, path.join(bin, 'npx'));
  const cache = path.join(tempDir(t), 'npm-cache');
  const names = (cmd, args, stdout) => {
    const out = tempDir(t);
    const env = childEnv({ ...NPM_ENV, npm_config_cache: cache, PATH: `${bin}:${process.env.PATH}`,
      NODEPROF_DIR: out, NODEPROF_NAME: '%s' });
    const r = run(path.join(bin, cmd), args, { cwd: pkg, env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, stdout);
    for (const f of cpuProfilesIn(out)) readCpuProfile(f);
    return basenames(out);
  };
  assert.deepEqual(names('npm', ['run', 'build', '--silent'], 'built\n'), ['build.cpuprofile', 'npm-run-build.cpuprofile']);
  assert.deepEqual(names('npx', ['hotfmt', '--check'], 'formatted\n'), ['hotfmt.cpuprofile', 'npx-hotfmt.cpuprofile']);
});

// launcher.js changes directory, then starts child.js, which changes
// directory again before it ends.
const LAUNCHER = `
const { spawnSync } = require('node:child_process');
const path = require('node:path');
${HOT}
process.chdir(process.argv[2]);
const r = spawnSync(process.execPath, [path.join(__dirname, 'child.js'), process.argv[3]], { stdio: 'inherit' });
console.log('child', r.status);
`;
const CHILD = `${HOT}
process.chdir(process.argv[2]);
console.log('child in', process.cwd());
`;

test('nodeprof run --dir REL: resolved once, so a child started in another directory, and that changes directory again, writes to the same one', T, (t) => {
  const root = tempDir(t);
  const elsewhere = path.join(root, 'elsewhere');
  const last = path.join(root, 'last');
  fs.mkdirSync(elsewhere);
  fs.mkdirSync(last);
  const launcher = writeScript(root, 'launcher.js', LAUNCHER);
  writeScript(root, 'child.js', CHILD);
  for (const dirArg of ['out', './out/']) {
    const r = run(CLI, ['run', '--dir', dirArg, '--', NODE, launcher, elsewhere, last],
      { cwd: root, env: childEnv({}, { preload: false }) });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `child in ${last}\nchild 0\n`);
  }
  const out = path.join(root, 'out');
  const names = basenames(out).map((n) => parseDefaultName(n));
  assert.deepEqual(names.map((n) => n?.script).sort(), ['child', 'child', 'launcher', 'launcher'], treeOf(out).join(' '));
  assert.ok(!fs.existsSync(path.join(elsewhere, 'out')), treeOf(elsewhere).join(' '));
  assert.ok(!fs.existsSync(path.join(last, 'out')), treeOf(last).join(' '));
  for (const f of cpuProfilesIn(out)) readCpuProfile(f);
  // Without nodeprof run, a relative NODEPROF_DIR is each process's own
  // (README): the child's files go where it started.
  const plain = run(NODE, [launcher, elsewhere, last], { cwd: root, env: childEnv({ NODEPROF_DIR: 'own' }) });
  assert.equal(plain.status, 0, plain.stderr);
  assert.deepEqual(basenames(path.join(root, 'own')).map((n) => parseDefaultName(n)?.script), ['launcher']);
  assert.deepEqual(basenames(path.join(elsewhere, 'own')).map((n) => parseDefaultName(n)?.script), ['child']);
});

test('the default name: script, UTC time, host, pid, number; for every kind and format', T, (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'web-api.js', HOT);
  const r = run(NODE, [app], { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_HEAP: 'on', NODEPROF_FORMATS: 'cpuprofile,pprof,collapsed' }) });
  assert.equal(r.status, 0, r.stderr);
  const files = fs.readdirSync(dir).filter((f) => f !== 'web-api.js').sort();
  const want = [['.cpuprofile', 1], ['.cpu.pb.gz', 1], ['.cpu.collapsed.txt', 1],
    ['.heapprofile', 2], ['.heap.pb.gz', 2], ['.heap.collapsed.txt', 2]];
  assert.equal(files.length, want.length, files.join(' '));
  for (const [ext, seq] of want)
    assert.ok(files.some((f) => defaultNameRe('web-api', r.pid, seq, ext).test(f)), `no ${ext} #${seq}: ${files.join(' ')}`);
});

test('NODEPROF_NAME=%s: the same name from several processes; nothing replaced, name-2 and name-3 before the extension, every format alike', T, (t) => {
  const dir = tempDir(t);
  const app = writeScript(tempDir(t), 'my-app.js', HOT);
  const env = childEnv({ NODEPROF_DIR: dir, NODEPROF_NAME: '%s', NODEPROF_FORMATS: 'cpuprofile,pprof' });
  let first;
  for (let i = 0; i < 3; i++) {
    const r = run(NODE, [app], { env });
    assert.equal(r.status, 0, r.stderr);
    if (i === 0) first = fs.readFileSync(path.join(dir, 'my-app.cpuprofile'));
  }
  assert.deepEqual(treeOf(dir).sort(), ['my-app-2.cpu.pb.gz', 'my-app-2.cpuprofile', 'my-app-3.cpu.pb.gz',
    'my-app-3.cpuprofile', 'my-app.cpu.pb.gz', 'my-app.cpuprofile']);
  assert.ok(fs.readFileSync(path.join(dir, 'my-app.cpuprofile')).equals(first), 'the first file was replaced');
  for (const f of filesIn(dir, '.cpuprofile')) readCpuProfile(f);
});
