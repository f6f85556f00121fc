// The library is two objects (preload/agentload.h): libnodeprof.so, preloaded
// into every process, needs nothing but libc; the agent, with cJSON and
// zlib, is loaded from its directory only into a node that is profiled, and
// only when it is trusted as much as the library itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT, LIB, NODE, ROOT, childEnv, filesIn, loaderTokens, nodeprofLines, run, tempDir, writeScript } from './helpers.mjs';

const canSwitchUid = process.getuid() === 0 && run('setpriv', ['--version'], { env: process.env }).status === 0;
const OTHER = 12345;
const USER = 12346;

function needed(file) {
  const r = run('readelf', ['-d', file], { env: process.env });
  assert.equal(r.status, 0, r.stderr);
  return [...r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
}

const mapsOf = (text) => [...new Set(text.split('\n').map((l) => l.split(/\s+/)[5]).filter((f) => f && f.startsWith('/')))];

// Burns CPU long enough for samples, prints what a test compares, and the
// NODE_OPTIONS it was given and whether the agent is mapped.
const APP = `
const fs = require('node:fs');
const end = Date.now() + 200; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1);
const maps = fs.readFileSync('/proc/self/maps', 'utf8');
console.log(JSON.stringify({ ok: x > 0, nodeOptions: process.env.NODE_OPTIONS ?? null, agent: maps.includes('libnodeprof-agent.so') }));
`;

// A copy of the library and its loader in a fresh directory (and the agent, unless told not).
function libCopy(t, { agent = true } = {}) {
  const dir = tempDir(t, 'nodeprof-split-');
  fs.chmodSync(dir, 0o755);
  const lib = path.join(dir, 'libnodeprof.so');
  fs.copyFileSync(LIB, lib);
  fs.copyFileSync(path.join(ROOT, 'src/loader/nodeprof-loader.cjs'), path.join(dir, 'nodeprof-loader.cjs'));
  if (agent) fs.copyFileSync(AGENT, path.join(dir, 'libnodeprof-agent.so'));
  return { dir, lib, agent: path.join(dir, 'libnodeprof-agent.so') };
}

// The app with the library at lib and without; a token a parent passed down
// comes in NODE_OPTIONS with another option that must be kept.
function runApp(t, lib, { uid = null, out } = {}) {
  const dir = tempDir(t);
  fs.chmodSync(dir, 0o755);
  const app = writeScript(dir, 'app.js', APP);
  fs.chmodSync(app, 0o644);
  out ??= path.join(dir, 'out');
  const prefix = uid === null ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  const parentOptions = `--max-old-space-size=300 --require=${path.join(ROOT, 'build/nodeprof-loader.cjs')}`;
  const go = (env) => {
    const cmd = [...prefix, NODE, app];
    return run(cmd[0], cmd.slice(1), { env, cwd: '/' });
  };
  const withLib = go(childEnv({ LD_PRELOAD: lib, NODEPROF_DIR: out, NODE_OPTIONS: parentOptions }, { preload: false }));
  const plain = go(childEnv({}, { preload: false }));
  return { withLib, plain, out, report: withLib.status === 0 ? JSON.parse(withLib.stdout) : null };
}

// Refused: one nodeprof line saying why, the app runs as plain node does,
// nothing profiled, and no token of ours left for its children.
function assertRefused(r, why) {
  assert.equal(r.withLib.status, r.plain.status, r.withLib.stderr);
  assert.deepEqual(JSON.parse(r.withLib.stdout).ok, true);
  const lines = nodeprofLines(r.withLib.stderr);
  assert.equal(lines.length, 1, r.withLib.stderr);
  assert.match(lines[0], why);
  assert.match(lines[0], /not profiling this process/);
  assert.equal(r.withLib.stderr.replace(/^nodeprof: .*\n/m, ''), r.plain.stderr);
  assert.equal(r.report.agent, false, 'the agent is not mapped');
  assert.deepEqual(loaderTokens(r.report.nodeOptions), [], r.report.nodeOptions);
  assert.equal(r.report.nodeOptions, '--max-old-space-size=300');
  assert.deepEqual(filesIn(r.out, '.cpuprofile'), []);
}

test('the preloaded object needs nothing but libc; its agent has cJSON and zlib', () => {
  const libNeeds = needed(LIB);
  assert.ok(libNeeds.length > 0);
  for (const n of libNeeds) assert.match(n, /^(libc\.so\.6|ld-linux[\w.-]*\.so\.\d)$/, `${LIB} needs ${n}`);
  // The split is real: what the preloaded object does not need, the agent does.
  const agentNeeds = needed(AGENT);
  assert.ok(agentNeeds.some((n) => /^libcjson\.so/.test(n)), agentNeeds.join(' '));
  assert.ok(agentNeeds.some((n) => /^libz\.so/.test(n)), agentNeeds.join(' '));
  assert.ok(!libNeeds.some((n) => /unwind/.test(n)) && !agentNeeds.some((n) => /unwind/.test(n)));
});

test('a program that is not node maps the library but neither its agent nor cJSON nor zlib', () => {
  const r = run('sh', ['-c', 'cat /proc/self/maps'], { env: childEnv() });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const files = mapsOf(r.stdout);
  assert.ok(files.includes(fs.realpathSync(LIB)), files.join('\n'));
  assert.deepEqual(files.filter((f) => /libnodeprof-agent|libcjson|libz\.so/.test(f)), []);
});

test('node under the library loads the agent beside it and is profiled', (t) => {
  const { lib } = libCopy(t);
  const r = runApp(t, lib);
  assert.equal(r.withLib.status, 0, r.withLib.stderr);
  assert.equal(r.withLib.stderr, '');
  assert.equal(r.report.agent, true);
  assert.equal(filesIn(r.out, '.cpuprofile').length, 1);
  // NODEPROF_DISABLE: the agent is not even loaded.
  const off = run(NODE, ['-e', 'console.log(require("fs").readFileSync("/proc/self/maps", "utf8").includes("libnodeprof-agent"))'],
    { env: childEnv({ LD_PRELOAD: lib, NODEPROF_DISABLE: '1' }, { preload: false }) });
  assert.equal(off.stdout, 'false\n', off.stderr);
});

test('no agent beside the library: one line, node runs on unprofiled, tokens taken out', (t) => {
  const { lib } = libCopy(t, { agent: false });
  assertRefused(runApp(t, lib), /no agent: .*libnodeprof-agent\.so: No such file or directory/);
});

test('an agent that is a symlink out of the library\'s directory is refused', (t) => {
  const { lib, agent } = libCopy(t, { agent: false });
  fs.symlinkSync(AGENT, agent);
  assertRefused(runApp(t, lib), /a symlink out of the library's directory/);
});

test('an agent writable by other users is refused', (t) => {
  const { lib, agent } = libCopy(t);
  fs.chmodSync(agent, 0o757);
  assertRefused(runApp(t, lib), /libnodeprof-agent\.so: writable by other users/);
});

test('an agent owned by another user than the library\'s is refused; one of the same user is taken', { skip: !canSwitchUid && 'needs root and setpriv' }, (t) => {
  // A user's own copy: the library and its agent both theirs, run as them.
  const { dir, lib, agent } = libCopy(t);
  for (const f of [lib, agent, path.join(dir, 'nodeprof-loader.cjs')]) fs.chownSync(f, USER, USER);
  const out = tempDir(t);
  fs.chownSync(out, USER, USER);
  const own = runApp(t, lib, { uid: USER, out });
  assert.equal(own.withLib.status, 0, own.withLib.stderr);
  assert.equal(own.report.agent, true, own.withLib.stderr);
  assert.equal(filesIn(out, '.cpuprofile').length, 1, own.withLib.stderr);
  // Another user's agent beside it: refused, for that user and for root.
  fs.chownSync(agent, OTHER, OTHER);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out);
  fs.chownSync(out, USER, USER);
  assertRefused(runApp(t, lib, { uid: USER, out }), /owned by another user than the library's/);
  fs.chownSync(lib, 0, 0);
  assertRefused(runApp(t, lib), /owned by another user than the library's/);
  // Root's agent beside a user's library is trusted: root can replace anything.
  fs.chownSync(lib, USER, USER);
  fs.chownSync(agent, 0, 0);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out);
  fs.chownSync(out, USER, USER);
  const rootAgent = runApp(t, lib, { uid: USER, out });
  assert.equal(rootAgent.report.agent, true, rootAgent.withLib.stderr);
  assert.equal(filesIn(out, '.cpuprofile').length, 1, rootAgent.withLib.stderr);
});
