// The threat model of README's "Security" section, with real uids: another
// local user (A) may delete and re-create directories in /tmp and plant
// files there; nothing A does may run code in a victim's (B's) node, and a
// token inherited across a change of uid (gosu, setpriv, su) never breaks
// the child. Each case compares the child with the same run of plain node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { LIB, NODE, ROOT, childEnv, copyAgentBeside, run, startProcess, sleep, loaderTokens, filesIn } from './helpers.mjs';

const ATTACKER = 12345;
const VICTIM = 12346;
const NOBODY = 65534;
const canSwitchUid = process.getuid() === 0 && run('setpriv', ['--version'], { env: process.env }).status === 0;

const as = (uid) => ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
function runAs(uid, args, opts) {
  const [cmd, ...rest] = as(uid);
  return run(cmd, [...rest, ...args], opts);
}

// A root-owned tree outside /tmp (whose sticky bit a cleaner defeats): the
// library with its loader beside it, the apps, and node itself when the one
// under test sits where other uids cannot reach it (a private CI clone).
let base, lib, privateLib, node, apps, markers;
before(() => {
  if (!canSwitchUid) return;
  base = fs.mkdtempSync('/var/cache/nodeprof-security-');
  fs.chmodSync(base, 0o755);
  const libDir = path.join(base, 'lib');
  fs.mkdirSync(libDir, { mode: 0o755 });
  lib = path.join(libDir, 'libnodeprof.so');
  fs.copyFileSync(LIB, lib);
  copyAgentBeside(lib);
  fs.copyFileSync(path.join(ROOT, 'src/loader/nodeprof-loader.cjs'), path.join(libDir, 'nodeprof-loader.cjs'));
  fs.chmodSync(lib, 0o755);
  fs.chmodSync(path.join(libDir, 'nodeprof-loader.cjs'), 0o644);
  // The same library alone in a directory only root can enter.
  const priv = path.join(base, 'private');
  fs.mkdirSync(priv, { mode: 0o700 });
  privateLib = path.join(priv, 'libnodeprof.so');
  fs.copyFileSync(LIB, privateLib);
  copyAgentBeside(privateLib);
  node = NODE;
  // Through sh: setpriv itself looks the program up before it drops root's
  // capabilities, so only a second exec shows what the uid can reach.
  if (runAs(NOBODY, ['/bin/sh', '-c', 'exec "$0" -e 0', NODE], { env: process.env, cwd: '/' }).status !== 0) {
    node = path.join(base, 'node');
    fs.copyFileSync(NODE, node);
    fs.chmodSync(node, 0o755);
  }
  apps = path.join(base, 'apps');
  fs.mkdirSync(apps, { mode: 0o755 });
  markers = path.join(base, 'markers');
  fs.mkdirSync(markers, { mode: 0o777 });
  fs.chmodSync(markers, 0o777);
  writeApps();
});
after(() => {
  if (base) fs.rmSync(base, { recursive: true, force: true });
  for (const uid of [ATTACKER, VICTIM]) fs.rmSync(`/tmp/nodeprof-${uid}`, { recursive: true, force: true });
});

function writeApp(name, text) {
  const p = path.join(apps, name);
  fs.writeFileSync(p, text);
  fs.chmodSync(p, 0o644);
  return p;
}

function writeApps() {
  // Prints what a user would compare; reports its NODE_OPTIONS to a file.
  writeApp('child.js', `
const fs = require('node:fs');
if (process.env.REPORT) fs.writeFileSync(process.env.REPORT, JSON.stringify({ nodeOptions: process.env.NODE_OPTIONS ?? null }));
let x = 0; for (let i = 0; i < 2e6; i++) x += i % 7;
console.log('child ok', x, process.getuid());
`);
  // Waits for the test's go-ahead (a file), then runs child.js.
  writeApp('parent.js', `
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const [go, ...cmd] = process.argv.slice(2);
console.log('ready');
const timer = setInterval(() => {
  if (!fs.existsSync(go)) return;
  clearInterval(timer);
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', env: childEnvFor(process.env) });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.exitCode = r.status ?? 99;
}, 20);
function childEnvFor(env) {
  const e = { ...env };
  if (process.env.STRIP_PRELOAD) delete e.LD_PRELOAD;
  return e;
}
`);
}

// What a planted file would do if node ran it: leave a mark.
function plant(file, tag) {
  fs.writeFileSync(file, `require('node:fs').writeFileSync(${JSON.stringify(path.join(markers, tag))}, 'ran as ' + process.getuid());\n`);
}

function marks() {
  return fs.readdirSync(markers);
}

// The --require path of every token: owned by root or the given uid and
// writable by no one else, all the way up.
function assertTokenFilesTrusted(nodeOptions, uid) {
  for (const t of loaderTokens(nodeOptions)) {
    if (!t.startsWith('--require=')) continue;
    let p = t.slice('--require='.length);
    for (; p !== '/'; p = path.dirname(p)) {
      const st = fs.lstatSync(p);
      assert.ok(!st.isSymbolicLink(), `${p} is a symlink`);
      assert.ok(st.uid === 0 || st.uid === uid, `${p} owned by ${st.uid}`);
      assert.equal(st.mode & 0o022, 0, `${p} writable by others`);
    }
  }
}

// 64-bit FNV-1a as the /tmp loader of earlier versions was named (with
// their offset basis, which lacked the standard one's last digit).
function fnv1a(s) {
  let h = 1469598103934665603n;
  for (const b of Buffer.from(s)) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

// emptyRun: in a private mount namespace whose /run is an empty tmpfs (no
// /run/nodeprof loader that an earlier root process wrote).
async function runParent(t, uid, { preload, env = {}, cmd, attack, emptyRun = false }) {
  const go = path.join(markers, `go-${process.hrtime.bigint()}`);
  const out = fs.mkdtempSync(path.join(base, 'out-'));
  fs.chmodSync(out, 0o777);
  const report = path.join(out, 'report.json');
  const [setpriv, ...rest] = as(uid);
  const full = childEnv({ NODEPROF_DIR: out, REPORT: report, ...env }, { preload: false });
  if (preload) full.LD_PRELOAD = preload;
  const argv = [setpriv, ...rest, node, path.join(apps, 'parent.js'), go, ...cmd];
  const wrapped = emptyRun
    ? ['unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$@"', 'sh', ...argv]]
    : [argv[0], argv.slice(1)];
  const child = startProcess(wrapped[0], wrapped[1], { env: full, cwd: apps });
  await child.ready;
  if (attack) attack();
  fs.writeFileSync(go, '');
  const end = await child.closed;
  const nodeOptions = fs.existsSync(report) ? JSON.parse(fs.readFileSync(report, 'utf8')).nodeOptions : undefined;
  return { ...end, stdout: child.out, stderr: child.err, nodeOptions, out };
}

test('a /tmp/nodeprof-<uid> deleted and re-created by another user: the child runs none of its files', { skip: !canSwitchUid && 'needs root and setpriv' }, async (t) => {
  const rundir = `/tmp/nodeprof-${VICTIM}`;
  const attack = () => {
    // A /tmp cleaner removes the victim's directory; the attacker re-creates
    // it and plants a file at every name a loader ever had there.
    fs.rmSync(rundir, { recursive: true, force: true });
    assert.equal(runAs(ATTACKER, ['mkdir', '-m', '0777', rundir], { env: process.env }).status, 0);
    for (const l of [lib, privateLib, LIB]) {
      plant(path.join(rundir, `agent-${fnv1a(l)}.js`), `agent-${path.basename(path.dirname(l))}`);
    }
    plant(path.join(rundir, 'nodeprof-loader.cjs'), 'loader');
    for (const f of fs.readdirSync(rundir)) fs.chownSync(path.join(rundir, f), ATTACKER, ATTACKER);
  };
  const cmd = [node, path.join(apps, 'child.js')];
  const withLib = await runParent(t, VICTIM, { preload: lib, cmd, attack });
  const plain = await runParent(t, VICTIM, { preload: null, cmd });
  assert.deepEqual(marks().filter((m) => !m.startsWith('go-')), [], `a planted file ran: ${withLib.stderr}`);
  assert.equal(withLib.stdout, plain.stdout, withLib.stderr);
  assert.equal(withLib.status, plain.status);
  assert.equal(withLib.stdout, `ready\nchild ok 5999995 ${VICTIM}\n`);
  assert.doesNotMatch(withLib.nodeOptions ?? '', /\/tmp\//, 'no token names a path in /tmp');
  assertTokenFilesTrusted(withLib.nodeOptions, VICTIM);
  // Both the parent and the child were profiled.
  assert.equal(filesIn(withLib.out, '.cpuprofile').length, 2, withLib.stderr);
});

for (const where of ['beside', 'private']) {
  for (const keepPreload of [true, false]) {
    // A library nobody can read cannot be preloaded into nobody's process
    // (ld.so says so itself, with or without us): only the token matters.
    if (where === 'private' && keepPreload) continue;
    const what = `${where === 'beside' ? 'library with its loader beside it' : 'library alone in a root-only directory'}, ` +
      `LD_PRELOAD ${keepPreload ? 'kept' : 'removed'}`;
    test(`a root parent runs node as another uid (setpriv), ${what}: the child runs as plain node`, { skip: !canSwitchUid && 'needs root and setpriv' }, async (t) => {
      const cmd = [...as(NOBODY), node, path.join(apps, 'child.js')];
      const env = keepPreload ? {} : { STRIP_PRELOAD: '1' };
      const withLib = await runParent(t, 0, { preload: where === 'beside' ? lib : privateLib, env, cmd });
      const plain = await runParent(t, 0, { preload: null, env, cmd });
      assert.equal(withLib.stdout, `ready\nchild ok 5999995 ${NOBODY}\n`, withLib.stderr);
      assert.equal(withLib.stdout, plain.stdout);
      assert.equal(withLib.status, plain.status);
      assert.doesNotMatch(withLib.stderr, /Cannot find module|nodeprof: cannot load/);
      assert.equal(withLib.stderr, plain.stderr);
      assertTokenFilesTrusted(withLib.nodeOptions, NOBODY);
      // Kept: the child loads our agent (its own profile). Removed: nothing,
      // and the loader took its token out of the child's environment.
      const profiles = filesIn(withLib.out, '.cpuprofile').length;
      assert.equal(profiles, keepPreload ? 2 : 1);
      if (!keepPreload) assert.deepEqual(loaderTokens(withLib.nodeOptions), []);
    });
  }
}

test('the child\'s own /tmp/nodeprof-<uid> pre-created by another user: refused, the app runs as plain node', { skip: !canSwitchUid && 'needs root and setpriv' }, async (t) => {
  const rundir = `/tmp/nodeprof-${VICTIM}`;
  fs.rmSync(rundir, { recursive: true, force: true });
  t.after(() => fs.rmSync(rundir, { recursive: true, force: true }));
  assert.equal(runAs(ATTACKER, ['mkdir', '-m', '0777', rundir], { env: process.env }).status, 0);
  plant(path.join(rundir, 'nodeprof-loader.cjs'), 'precreated');
  fs.chownSync(path.join(rundir, 'nodeprof-loader.cjs'), ATTACKER, ATTACKER);
  const before = fs.readdirSync(rundir).sort();
  const cmd = [node, path.join(apps, 'child.js')];
  const withLib = await runParent(t, VICTIM, { preload: lib, cmd });
  const plain = await runParent(t, VICTIM, { preload: null, cmd });
  assert.deepEqual(marks().filter((m) => !m.startsWith('go-')), []);
  assert.equal(withLib.stdout, plain.stdout);
  assert.equal(withLib.status, plain.status);
  assert.match(withLib.stderr, /nodeprof: refusing \/tmp\/nodeprof-12346/);
  assert.deepEqual(fs.readdirSync(rundir).sort(), before, 'the other user\'s directory is left as it was');
  assert.equal(fs.statSync(rundir).uid, ATTACKER);
  // Profiles do not need the run directory.
  assert.equal(filesIn(withLib.out, '.cpuprofile').length, 2);
});

test('not root, no trusted loader beside the library nor in /run: the agent comes in through --import=data:, and the app is profiled', { skip: !canSwitchUid && 'needs root and setpriv' }, async (t) => {
  fs.rmSync(`/tmp/nodeprof-${VICTIM}`, { recursive: true, force: true });
  // The library alone, in a directory the user can read but with no loader.
  const alone = fs.mkdtempSync(path.join(base, 'alone-'));
  fs.chmodSync(alone, 0o755);
  const copy = path.join(alone, 'profiler.so');
  fs.copyFileSync(LIB, copy);
  copyAgentBeside(copy);
  fs.chmodSync(copy, 0o755);
  const cmd = [node, path.join(apps, 'child.js')];
  const withLib = await runParent(t, VICTIM, { preload: copy, cmd, emptyRun: true });
  const plain = await runParent(t, VICTIM, { preload: null, cmd, emptyRun: true });
  assert.equal(withLib.stdout, plain.stdout, withLib.stderr);
  assert.equal(withLib.status, plain.status);
  assert.equal(withLib.stderr, plain.stderr);
  const tokens = loaderTokens(withLib.nodeOptions);
  assert.equal(tokens.length, 1, withLib.nodeOptions);
  assert.match(tokens[0], /^--import=data:text\/javascript;base64,/);
  assert.deepEqual(fs.readdirSync(alone).sort(), ['libnodeprof-agent.so', 'profiler.so'], 'nothing written beside the library');
  assert.equal(filesIn(withLib.out, '.cpuprofile').length, 2);
});

test('a root parent and its preloaded child of another uid, the library alone: both take /run/nodeprof\'s loader', { skip: !canSwitchUid && 'needs root and setpriv' }, async (t) => {
  const alone = fs.mkdtempSync(path.join(base, 'alone-'));
  fs.chmodSync(alone, 0o755);
  const copy = path.join(alone, 'profiler.so');
  fs.copyFileSync(LIB, copy);
  copyAgentBeside(copy);
  fs.chmodSync(copy, 0o755);
  const cmd = [...as(NOBODY), node, path.join(apps, 'child.js')];
  const withLib = await runParent(t, 0, { preload: copy, cmd });
  const plain = await runParent(t, 0, { preload: null, cmd });
  assert.equal(withLib.stdout, plain.stdout, withLib.stderr);
  assert.equal(withLib.status, plain.status);
  assert.equal(withLib.stderr, plain.stderr);
  assert.deepEqual(loaderTokens(withLib.nodeOptions), ['--require=/run/nodeprof/nodeprof-loader.cjs']);
  assertTokenFilesTrusted(withLib.nodeOptions, NOBODY);
  assert.equal(filesIn(withLib.out, '.cpuprofile').length, 2, withLib.stderr);
});
