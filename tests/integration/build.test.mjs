// The Makefile on its own terms: the user's CFLAGS and CC replace only what
// they name (the flags the build needs are kept apart, in NP_CFLAGS), and
// the test dependencies are installed as root or named in one command
// otherwise. Builds go to a temporary BUILD directory, one job at a time
// (the suite runs beside them).
//
// Needs gcc's libasan and clang (both installed by `make test`); without
// them these tests fail, unless NP_TEST_OPTIONAL_TOOLS=skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { NODE, ROOT, childEnv, run, tempDir, writeScript, filesIn, readCpuProfile, selfShare } from './helpers.mjs';

const OPTIONAL = process.env.NP_TEST_OPTIONAL_TOOLS === 'skip';
const MAKEFILE = path.join(ROOT, 'Makefile');

const APP = `
function builtHot(ms) { const end = Date.now() + ms, cpuEnd = cpuMs() + ms; let x = 0; while (Date.now() < end || cpuMs() < cpuEnd) for (let j = 0; j < 1000; j++) x += Math.sqrt(x + 1); return x; }
function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } // CPU time too: see tests/fixtures/apps/burn.js
console.log('ok', builtHot(300) > 0);
`;

// make as this user, without the make (if any) that runs the suite: its
// jobserver and command-line variables are not ours to inherit.
function makeEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES', 'CFLAGS', 'CPPFLAGS', 'LDFLAGS', 'CC', 'BUILD',
    'NP_TEST_OPTIONAL_TOOLS', 'APT_GET', 'TEST_TOOLS']) {
    if (!(k in extra)) delete env[k];
  }
  return env;
}

function make(args, { cwd = ROOT, env = makeEnv(), timeout = 600000 } = {}) {
  return run('make', args, { cwd, env, timeout });
}

function have(cmd) {
  return run('sh', ['-c', `command -v ${cmd}`], { env: process.env }).status === 0;
}

function needTool(t, cmd) {
  if (have(cmd)) return true;
  const msg = `${cmd} is missing (make test-debs installs it)`;
  if (OPTIONAL) { t.skip(msg); return false; }
  assert.fail(`${msg}; or set NP_TEST_OPTIONAL_TOOLS=skip`);
}

// Runs the app under a given build of the library; returns its one profile.
function profileWith(t, lib, extraEnv = {}) {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', APP);
  const out = path.join(dir, 'out');
  const r = run(NODE, [app], { env: childEnv({ NODEPROF_DIR: out, ...extraEnv, LD_PRELOAD: extraEnv.LD_PRELOAD ?? lib }) });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ok true\n');
  assert.equal(r.stderr, '');
  const files = filesIn(out, '.cpuprofile');
  assert.equal(files.length, 1);
  assert.ok(selfShare(readCpuProfile(files[0]), 'builtHot') > 0.3);
  return files[0];
}

test("make CFLAGS='-O1 -g -fsanitize=address' builds an ASan library that profiles node", { timeout: 600000 }, (t) => {
  const build = tempDir(t, 'nodeprof-build-');
  const r = make([`BUILD=${build}`, 'CFLAGS=-O1 -g -fsanitize=address']);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const lib = path.join(build, 'libnodeprof.so');
  const cli = path.join(build, 'nodeprof');
  // The user's flags took: the library needs the ASan runtime.
  const needed = run('readelf', ['-d', lib], { env: process.env });
  assert.match(needed.stdout, /NEEDED.*libasan\.so/);
  const asan = run('cc', ['-print-file-name=libasan.so'], { env: process.env }).stdout.trim();
  assert.ok(path.isAbsolute(asan) && fs.existsSync(asan), `no libasan.so from cc: ${asan}`);
  // ASan's runtime must come first; node's own leaks are not ours.
  const file = profileWith(t, lib, { LD_PRELOAD: `${asan} ${lib}`, ASAN_OPTIONS: 'detect_leaks=0' });
  // The ASan CLI (leak checking on) reads it back.
  const top = run(cli, ['top', file], { env: childEnv({ ASAN_OPTIONS: 'detect_leaks=1' }, { preload: false }) });
  assert.equal(top.status, 0, top.stderr);
  assert.match(top.stdout, /builtHot/);
});

test('make CC=clang builds a library that profiles node', { timeout: 600000 }, (t) => {
  if (!needTool(t, 'clang')) return;
  const build = tempDir(t, 'nodeprof-build-');
  const r = make([`BUILD=${build}`, 'CC=clang', path.join(build, 'libnodeprof.so')]);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const lib = path.join(build, 'libnodeprof.so');
  const comment = run('readelf', ['-p', '.comment', lib], { env: process.env });
  assert.match(comment.stdout, /clang version/);
  profileWith(t, lib);
});

// The dependency logic, on made-up packages: APT_GET='echo apt-get' shows
// what would run instead of running it. A copy of the Makefile is used in an
// empty directory that another user can read, so no npm step and no build.
function testDebs(t, { uid, extra = {} } = {}) {
  const cwd = tempDir(t);
  fs.chmodSync(cwd, 0o755);
  fs.copyFileSync(MAKEFILE, path.join(cwd, 'Makefile'));
  fs.chmodSync(path.join(cwd, 'Makefile'), 0o644);
  const args = ['-s', 'test-debs', 'APT_GET=echo apt-get',
    'TEST_TOOLS=sh:np-present np-no-such-tool:np-pkg-a np-no-such-either:np-pkg-b'];
  const env = makeEnv(extra);
  if (uid === undefined) return make(args, { cwd, env });
  return run('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'make', ...args], { cwd, env });
}

test('test dependencies: root installs the missing ones after apt-get update', { skip: process.getuid() !== 0 && 'needs root' }, (t) => {
  const r = testDebs(t);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'installing the test dependencies: np-pkg-a np-pkg-b\n'
    + 'apt-get update -qq\n'
    + 'apt-get -o DPkg::Lock::Timeout=600 install -y -qq np-pkg-a np-pkg-b\n');
});

test('test dependencies: another user is told the one command and make fails', { skip: process.getuid() !== 0 && 'needs root for setpriv' }, (t) => {
  const r = testDebs(t, { uid: 65534 });
  assert.notEqual(r.status, 0);
  assert.equal(r.stdout, '', 'nothing was run');
  assert.match(r.stderr, /^missing test dependencies; run as root: apt-get update && apt-get install -y np-pkg-a np-pkg-b\n/);
});

test('test dependencies: NP_TEST_OPTIONAL_TOOLS=skip installs nothing and goes on', (t) => {
  const r = testDebs(t, { extra: { NP_TEST_OPTIONAL_TOOLS: 'skip' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /not installing np-pkg-a np-pkg-b/);
});
