// NODEPROF_* settings as a user sets them, and what the library does when
// it cannot write its files.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import {
  APPS, LIB, NODE, assertHotProfile, assertSameOutcome, copyAgentBeside, childEnv, cpuProfilesIn, defaultNameRe,
  intervalOf, nodeprofLines, outcome, readCpuProfile, run, runPair, tempDir, tempLeftovers, treeOf,
  withoutNodeprofLines,
} from './helpers.mjs';

const ENDS = path.join(APPS, 'ends.js');
const ENV_APP = path.join(APPS, 'env.js');

// Asserts that lib ended as plain did and printed the same, apart from its
// nodeprof: lines, which are returned.
function sameButLog(lib, plain) {
  assert.deepEqual({ ...outcome(lib), stderr: withoutNodeprofLines(lib.stderr) }, outcome(plain));
  return nodeprofLines(lib.stderr);
}

function onlyProfile(dir) {
  const files = cpuProfilesIn(dir);
  assert.equal(files.length, 1, `files: ${treeOf(dir)}`);
  assert.deepEqual(tempLeftovers(dir), []);
  return files[0];
}

// ---- bad values -------------------------------------------------------------

const badValues = [
  ['NODEPROF_CPU_INTERVAL', 'abc', 'nodeprof: invalid NODEPROF_CPU_INTERVAL=abc: not a number; using 1000'],
  ['NODEPROF_CPU_INTERVAL', '-5', 'nodeprof: invalid NODEPROF_CPU_INTERVAL=-5: out of range 1..1000000; using 1000'],
  ['NODEPROF_CPU_INTERVAL', '99999999999',
    'nodeprof: invalid NODEPROF_CPU_INTERVAL=99999999999: out of range 1..1000000; using 1000'],
  ['NODEPROF_CPU_INTERVALL', '5',
    'nodeprof: unknown variable NODEPROF_CPU_INTERVALL (did you mean NODEPROF_CPU_INTERVAL?)'],
  ['NODEPROF_LOG', 'loud', 'nodeprof: invalid NODEPROF_LOG=loud: expected one of error|warn|info|debug; using warn'],
  ['NODEPROF_CPU', 'maybe', 'nodeprof: invalid NODEPROF_CPU=maybe: expected on or off; using on'],
];

for (const [name, value, line] of badValues) {
  test(`${name}=${value}: one line says why, the app runs normally, the profile is valid`, (t) => {
    const { lib, plain, libDir } = runPair(t, NODE, [ENDS, 'drain'], { libEnv: { [name]: value } });
    assert.equal(plain.status, 0);
    assert.deepEqual(sameButLog(lib, plain), [line]);
    const p = assertHotProfile(onlyProfile(libDir), 'hotLoop');
    // The default interval (1000 us) is in force.
    assert.ok(intervalOf(p) > 700, `interval ${intervalOf(p)} us`);
  });
}

// ---- switches -----------------------------------------------------------------

for (const [value, userOptions] of [['1', undefined], ['yes', '--max-old-space-size=200']]) {
  test(`NODEPROF_DISABLE=${value}: no files, NODE_OPTIONS untouched in the app`, (t) => {
    {
      const env = userOptions ? { NODE_OPTIONS: userOptions } : {};
      const { lib, plain, libDir } = runPair(t, NODE, [ENV_APP], { env, libEnv: { NODEPROF_DISABLE: value } });
      assertSameOutcome(lib, plain);
      assert.equal(JSON.parse(plain.stdout).nodeOptions, userOptions ?? null);
      assert.deepEqual(treeOf(libDir), []);
    }
  });
}

test('NODEPROF_DISABLE=0: profiling as usual (the switch really is what stops it)', (t) => {
  const { lib, libDir } = runPair(t, NODE, [ENV_APP], { libEnv: { NODEPROF_DISABLE: '0' } });
  assert.equal(lib.stderr, '');
  assertHotProfile(onlyProfile(libDir), 'hotLoop');
});

test('NODEPROF_CPU=off: no CPU profile, the app unchanged', (t) => {
  const { lib, plain, libDir } = runPair(t, NODE, [ENDS, 'exit'], { libEnv: { NODEPROF_CPU: 'off' } });
  assertSameOutcome(lib, plain);
  assert.deepEqual(treeOf(libDir), []);
});

test('NODEPROF_CPU_INTERVAL=100 samples more often than the default for the same work', (t) => {
  const fast = runPair(t, NODE, [ENDS, 'drain'], { libEnv: { NODEPROF_CPU_INTERVAL: '100' } });
  assertSameOutcome(fast.lib, fast.plain);
  const slow = runPair(t, NODE, [ENDS, 'drain']);
  const pf = assertHotProfile(onlyProfile(fast.libDir), 'hotLoop');
  const ps = assertHotProfile(onlyProfile(slow.libDir), 'hotLoop');
  // How many more depends on how fast V8's sampler thread gets the CPU (a
  // loaded machine gave 1.7 times); the interval is what the setting sets.
  assert.ok(pf.samples.length > ps.samples.length,
    `${pf.samples.length} samples at 100 us, ${ps.samples.length} at the default`);
  assert.ok(intervalOf(pf) < 500, `interval at 100 us: ${intervalOf(pf)}`);
  assert.ok(intervalOf(ps) > 700, `default interval: ${intervalOf(ps)}`);
});

test('NODEPROF_MATCH=*/server.js: the launcher is not profiled, the server it runs is', (t) => {
  const launcher = path.join(APPS, 'match/launcher.js');
  const { lib, plain, libDir } = runPair(t, NODE, [launcher], { libEnv: { NODEPROF_MATCH: '*/server.js' } });
  const norm = (r) => ({ ...outcome(r), stdout: r.stdout.replace(/pid \d+/, 'pid N') });
  assert.deepEqual(norm(lib), norm(plain));
  const serverPid = Number(/server: pid (\d+)/.exec(lib.stdout)[1]);
  const file = onlyProfile(libDir);
  assert.match(path.basename(file), defaultNameRe('server', serverPid, 1));
  assertHotProfile(file, 'serverHot');
});

test('NODEPROF_MATCH=*/launcher.js: only the launcher is profiled', (t) => {
  const launcher = path.join(APPS, 'match/launcher.js');
  const { lib, libDir } = runPair(t, NODE, [launcher], { libEnv: { NODEPROF_MATCH: '*/launcher.js' } });
  assert.equal(lib.status, 0);
  const file = onlyProfile(libDir);
  assert.match(path.basename(file), defaultNameRe('launcher', lib.pid, 1));
  assertHotProfile(file, 'launcherHot', 0.3, { busy: true }); // it mostly waits for the server
});

// ---- logging ------------------------------------------------------------------

// The paths of the "nodeprof: wrote <path>" lines of a log.
const wrotePaths = (lines) => lines.filter((l) => l.startsWith('nodeprof: wrote ')).map((l) => l.slice(16));

test('NODEPROF_LOG=info: a "wrote <path>" line names the profile', (t) => {
  const { lib, plain, libDir } = runPair(t, NODE, [ENDS, 'drain'], { libEnv: { NODEPROF_LOG: 'info' } });
  const lines = sameButLog(lib, plain);
  const file = onlyProfile(libDir);
  const wrote = wrotePaths(lines);
  assert.equal(wrote.length, 1, lines.join('\n'));
  assert.ok(path.isAbsolute(wrote[0]), wrote[0]);
  assert.equal(path.resolve(wrote[0]), file);
  assertHotProfile(wrote[0], 'hotLoop');
});

for (const dir of [undefined, 'out/']) {
  test(`NODEPROF_LOG=info${dir ? ` and NODEPROF_DIR=${dir}` : ''}: "wrote <path>" gives a clean absolute path`, (t) => {
    const libEnv = { NODEPROF_LOG: 'info', ...(dir ? { NODEPROF_DIR: dir } : {}) };
    const { lib, libDir } = runPair(t, NODE, [ENDS, 'exit'], { libEnv });
    const file = onlyProfile(path.join(libDir, dir ?? '.'));
    assert.deepEqual(wrotePaths(nodeprofLines(lib.stderr)), [path.normalize(file)]);
  });
}

test('NODEPROF_LOG_FILE that cannot be opened: one line on stderr, the app unchanged', (t) => {
  const logFile = '/nonexistent-dir/nodeprof.log';
  const { lib, plain, libDir } = runPair(t, NODE, [ENDS, 'exit'], { libEnv: { NODEPROF_LOG_FILE: logFile } });
  const lines = sameButLog(lib, plain);
  assert.equal(lines.length, 1, lib.stderr);
  assert.ok(lines[0].includes(logFile), lines[0]);
  assertHotProfile(onlyProfile(libDir), 'hotLoop');
});

test('NODEPROF_LOG_FILE: log lines (warnings too) go to that file, not to stderr', (t) => {
  const logDir = tempDir(t);
  const logFile = path.join(logDir, 'nodeprof.log');
  const { lib, plain, libDir } = runPair(t, NODE, [ENDS, 'drain'], {
    libEnv: { NODEPROF_LOG: 'info', NODEPROF_LOG_FILE: logFile, NODEPROF_CPU_INTERVAL: 'abc' },
  });
  assertSameOutcome(lib, plain);
  const file = onlyProfile(libDir);
  const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
  assert.ok(lines.every((l) => l.startsWith('nodeprof: ')), lines.join('\n'));
  assert.ok(lines.includes('nodeprof: invalid NODEPROF_CPU_INTERVAL=abc: not a number; using 1000'), lines.join('\n'));
  assert.deepEqual(wrotePaths(lines).map((p) => path.resolve(p)), [file], lines.join('\n'));
  assert.equal(lines.filter((l) => l.includes('CPU_INTERVAL')).length, 1, 'reported once');
});

// ---- files that cannot be written -------------------------------------------

// The app ends as under plain node, with exactly one nodeprof: line saying
// what failed, and where; no profile or temporary file is left.
function assertOneFailure(lib, plain, where, why) {
  const lines = sameButLog(lib, plain);
  assert.equal(lines.length, 1, lib.stderr);
  assert.ok(lines[0].includes(where), `${lines[0]} does not name ${where}`);
  assert.match(lines[0], why);
  return lines[0];
}

test('NODEPROF_DIR under a regular file: one line says so, the app is unchanged', (t) => {
  const base = tempDir(t);
  fs.writeFileSync(path.join(base, 'file'), 'not a directory\n');
  const dir = path.join(base, 'file/profiles');
  const { lib, plain, libDir } = runPair(t, NODE, [ENDS, 'exit'], { libEnv: { NODEPROF_DIR: dir } });
  assertOneFailure(lib, plain, dir, /Not a directory/);
  assert.deepEqual(treeOf(libDir), []);
  assert.deepEqual(treeOf(base), ['file']);
});

test('NODEPROF_DIR not writable (mode 0500, the app runs as nobody): one line, the app unchanged', (t) => {
  if (process.getuid() !== 0 || run('setpriv', ['--version'], { env: process.env }).status !== 0) {
    t.skip('needs root and setpriv to run the app as another user');
    return;
  }
  const base = tempDir(t);
  fs.chmodSync(base, 0o755);
  const nobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
  if (run('setpriv', [...nobody, NODE, '-e', '0'], { env: process.env, cwd: base }).status !== 0) {
    t.skip(`nobody cannot run ${NODE} (it sits in a private directory)`);
    return;
  }
  // The checkout may be private (a CI clone in a 0700 directory): give
  // nobody its own readable copies of the app and of the library.
  const app = path.join(base, 'ends.js');
  const libCopy = path.join(base, 'libnodeprof.so');
  for (const f of ['ends.js', 'burn.js']) {
    fs.copyFileSync(path.join(APPS, f), path.join(base, f));
    fs.chmodSync(path.join(base, f), 0o644);
  }
  fs.copyFileSync(LIB, libCopy);
  copyAgentBeside(libCopy);
  fs.chmodSync(libCopy, 0o755);
  const dir = path.join(base, 'ro');
  fs.mkdirSync(dir, { mode: 0o500 });
  const asNobody = [...nobody, NODE, app, 'exit'];
  const lib = run('setpriv', asNobody, { env: childEnv({ NODEPROF_DIR: dir, LD_PRELOAD: libCopy }), cwd: base });
  const plain = run('setpriv', asNobody, { env: childEnv({}, { preload: false }), cwd: base });
  assert.equal(plain.status, 7, plain.stderr);
  assertOneFailure(lib, plain, dir, /Permission denied/);
  assert.deepEqual(treeOf(dir), []);
});

test('NODEPROF_DIR in /proc: fails fast with one line (no hang)', (t) => {
  const dir = '/proc/nonexistent/x';
  const { lib, plain } = runPair(t, NODE, [ENDS, 'drain'], { libEnv: { NODEPROF_DIR: dir }, timeout: 20000 });
  assertOneFailure(lib, plain, '/proc/nonexistent', /No such file or directory/);
});

test('a write that fails mid-file (ulimit -f): one line, no temporary file left', (t) => {
  const dir = tempDir(t);
  // The same limit for both runs; node ignores SIGXFSZ, so writes fail with EFBIG.
  const sh = ['-c', 'ulimit -f 4 && exec "$0" "$@"', NODE, ENDS, 'exit'];
  const { lib, plain } = runPair(t, '/bin/sh', sh, { libEnv: { NODEPROF_DIR: dir } });
  assert.equal(plain.status, 7);
  assertOneFailure(lib, plain, dir, /File too large/);
  assert.deepEqual(treeOf(dir), []);
});

test('disk full (a tiny tmpfs): one line, no temporary file left', (t) => {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-tmpfs-'));
  const m = run('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', mnt], { env: process.env });
  if (m.status !== 0) {
    fs.rmdirSync(mnt);
    console.log(`# skipped: cannot mount a tmpfs: ${m.stderr.trim()}`);
    t.skip(`cannot mount a tmpfs: ${m.stderr.trim()}`);
    return;
  }
  t.after(() => {
    run('umount', [mnt], { env: process.env });
    fs.rmdirSync(mnt);
  });
  // Leave it almost full: the profile (several KiB) cannot fit.
  const fill = fs.openSync(path.join(mnt, 'filler'), 'w');
  try {
    for (;;) fs.writeSync(fill, Buffer.alloc(1024));
  } catch (e) {
    assert.equal(e.code, 'ENOSPC');
  }
  fs.closeSync(fill);
  const dir = path.join(mnt, 'profiles');
  fs.mkdirSync(dir);
  const { lib, plain } = runPair(t, NODE, [ENDS, 'drain'], { libEnv: { NODEPROF_DIR: dir } });
  assertOneFailure(lib, plain, dir, /No space left on device/);
  assert.deepEqual(treeOf(dir), []);
});

test('a bad NODEPROF_NAME is reported once, and the app is unchanged', (t) => {
  const { lib, plain, libDir } = runPair(t, NODE, [ENDS, 'drain'], { libEnv: { NODEPROF_NAME: 'x%q' } });
  const lines = sameButLog(lib, plain);
  assert.equal(lines.length, 1, lib.stderr);
  assert.match(lines[0], /^nodeprof: .*NODEPROF_NAME.*x%q.*unknown % sequence/);
  assert.deepEqual(tempLeftovers(libDir), []);
});

// config.h: "Bad values are reported, never fatal: the default is used instead."
test('a bad NODEPROF_NAME falls back to the default name, like every other bad value', (t) => {
  const { lib, libDir } = runPair(t, NODE, [ENDS, 'drain'], { libEnv: { NODEPROF_NAME: 'x%q' } });
  const file = onlyProfile(libDir);
  assert.match(path.basename(file), defaultNameRe('ends', lib.pid, 1));
  readCpuProfile(file);
});

test('the same bad value in a child is reported by the child too, once each', (t) => {
  const { lib, plain } = runPair(t, NODE, [path.join(APPS, 'match/launcher.js')],
    { libEnv: { NODEPROF_CPU_INTERVAL: 'abc' } });
  assert.equal(plain.status, 0);
  const lines = nodeprofLines(lib.stderr);
  assert.deepEqual(lines, Array(2).fill('nodeprof: invalid NODEPROF_CPU_INTERVAL=abc: not a number; using 1000'));
  assert.equal(lib.status, 0);
});

test('the library\'s own environment does not leak into plain runs (sanity of the harness)', () => {
  const env = childEnv({}, { preload: false });
  assert.equal(env.LD_PRELOAD, undefined);
  assert.equal(env.NODE_OPTIONS, undefined);
  assert.ok(!Object.keys(env).some((k) => k.startsWith('NODEPROF_')));
});
