// The core: start-up is in the profile, ESM and CommonJS entry points, node
// children, and where the files go and what they are called.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import {
  APPS, NODE, assertHotProfile, assertSameOutcome, childEnv, cpuProfilesIn, defaultNameRe, hasFunction, parseDefaultName,
  loaderTokens, readCpuProfile, run, runPair, selfShare, tempDir, tempLeftovers, topSelf, treeOf,
  withoutLoader,
} from './helpers.mjs';

// The node of p that is a call of fn, and its ancestors' urls.
function ancestorsOf(p, fn) {
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const node = p.nodes.find((n) => n.callFrame.functionName === fn);
  const chain = [];
  for (let id = parent.get(node.id); id !== undefined; id = parent.get(id)) chain.push(byId.get(id).callFrame);
  return chain;
}

function onlyProfile(dir) {
  const files = cpuProfilesIn(dir);
  assert.equal(files.length, 1, `files: ${treeOf(dir)}`);
  assert.deepEqual(tempLeftovers(dir), []);
  return files[0];
}

test('start-up is profiled: work done while a module loads is in the profile', (t) => {
  const main = path.join(APPS, 'startup/main.js');
  const { lib, plain, libDir } = runPair(t, NODE, [main]);
  assert.equal(plain.stdout, 'tables loaded: 3 function\n');
  assertSameOutcome(lib, plain);
  const p = assertHotProfile(onlyProfile(libDir), 'buildTablesAtLoad');
  // Called by tables.js's module code, itself required from main.js.
  const urls = ancestorsOf(p, 'buildTablesAtLoad').map((f) => f.url);
  assert.ok(urls.some((u) => u.endsWith('/startup/tables.js')), urls.join('\n'));
  assert.ok(urls.some((u) => u.endsWith('/startup/main.js')), urls.join('\n'));
});

test('ESM entry point (.mjs): import-time work and the hot function are in the profile', (t) => {
  const main = path.join(APPS, 'esm/main.mjs');
  const { lib, plain, libDir } = runPair(t, NODE, [main]);
  assert.equal(plain.stdout, 'esm main done: 42 undefined\n');
  assertSameOutcome(lib, plain);
  // Busy share: on a loaded machine GC has taken 70 % of all samples.
  const p = assertHotProfile(onlyProfile(libDir), 'esmHot', 0.3, { busy: true });
  // 100 ms at import against 250 ms later: on a loaded machine the share
  // varies a lot, but work done before the entry module ran is there.
  assert.ok(selfShare(p, 'computeAtImport') > 0.02, topSelf(p));
});

test('ESM entry point that throws: same error report, profile written', (t) => {
  const main = path.join(APPS, 'esm/main.mjs');
  const { lib, plain, libDir } = runPair(t, NODE, [main, 'throw']);
  assert.equal(plain.status, 1);
  assert.match(plain.stderr, /Error: esm boom/);
  assertSameOutcome(lib, plain);
  assertHotProfile(onlyProfile(libDir), 'esmHot', 0.3, { busy: true });
});

test('ESM entry point named .js ("type": "module")', (t) => {
  const { lib, plain, libDir } = runPair(t, NODE, [path.join(APPS, 'esm-pkg/main.js')]);
  assert.equal(plain.stdout, 'esm-pkg done: string\n');
  assertSameOutcome(lib, plain);
  assertHotProfile(onlyProfile(libDir), 'pkgEsmHot', 0.3, { busy: true });
});

test('CommonJS entry point given without its extension, and through a relative path', (t) => {
  // Both runs' working directories are fresh directories in os.tmpdir().
  const relative = path.relative(path.join(os.tmpdir(), 'x'), path.join(APPS, 'ends'));
  const { lib, plain, libDir } = runPair(t, NODE, [relative, 'drain']);
  assert.equal(plain.stdout, 'main done\nlast timer\n');
  assertSameOutcome(lib, plain);
  assertHotProfile(onlyProfile(libDir), 'hotLoop');
});

// ---- node children ----------------------------------------------------------

const PARENT = path.join(APPS, 'children/parent.js');

// Runs parent.js <method> both ways; returns the runs and the parsed reports.
function runFamily(t, method, userOptions) {
  const env = userOptions === undefined ? {} : { NODE_OPTIONS: userOptions };
  const r = runPair(t, NODE, [PARENT, method], { env });
  assert.equal(r.plain.status, 0, r.plain.stderr);
  for (const run of [r.lib, r.plain]) {
    run.reports = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(run.reports.length, 2, run.stdout);
  }
  assert.equal(r.lib.stderr, r.plain.stderr);
  assert.equal(r.lib.status, r.plain.status);
  assert.equal(r.lib.signal, r.plain.signal);
  return r;
}

// Checks what a child saw under the library against the same child of plain node.
function checkChildReport(libReport, plainReport, userOptions, tokens = 1) {
  assert.equal(libReport.name, plainReport.name);
  assert.equal(loaderTokens(libReport.nodeOptions).length, tokens,
    `our loader ${tokens} time(s) in NODE_OPTIONS: ${libReport.nodeOptions}`);
  assert.equal(withoutLoader(libReport.nodeOptions), plainReport.nodeOptions ?? '');
  assert.equal(plainReport.nodeOptions, userOptions ?? null);
  // The user's options still work: same heap limit, same title.
  assert.equal(libReport.heapLimitMB, plainReport.heapLimitMB);
  assert.equal(libReport.title, plainReport.title);
}

// One profile per process, named by its script and pid, each with its own hot function.
function checkFamilyProfiles(dir, parentPid, childPids) {
  const files = cpuProfilesIn(dir);
  assert.equal(files.length, 1 + childPids.length, `files: ${treeOf(dir)}`);
  assert.deepEqual(tempLeftovers(dir), []);
  const pidOf = (f) => parseDefaultName(path.basename(f))?.pid;
  assert.deepEqual(files.map(pidOf).sort(), [parentPid, ...childPids].sort());
  for (const f of files) {
    const script = pidOf(f) === parentPid ? 'parent' : 'child';
    assert.match(path.basename(f), defaultNameRe(script, pidOf(f), 1));
    // The parent mostly waits for its children, "(idle)" in its profile.
    if (pidOf(f) === parentPid) assertHotProfile(f, 'parentHot', 0.3, { busy: true });
    else assertHotProfile(f, 'childHot', 0.3, { busy: true });
  }
}

const families = [
  { method: 'spawn' },
  { method: 'fork', userOptions: '--max-old-space-size=200' },
  { method: 'exec', userOptions: '--max-old-space-size=200 --title="my app"' },
];

for (const { method, userOptions } of families) {
  test(`children by child_process.${method}${userOptions ? ` with NODE_OPTIONS=${userOptions}` : ''}: three profiles, our --require once`, (t) => {
    const { lib, plain, libDir } = runFamily(t, method, userOptions);
    for (let i = 0; i < 2; i++) {
      assert.equal(lib.reports[i].status, 0);
      checkChildReport(lib.reports[i].report, plain.reports[i].report, userOptions);
    }
    if (userOptions) assert.ok(plain.reports[0].report.heapLimitMB < 400, 'the user option has an effect');
    if (userOptions?.includes('title')) assert.equal(plain.reports[0].report.title, 'my app');
    checkFamilyProfiles(libDir, lib.pid, lib.reports.map((r) => r.report.pid));
  });
}

test('grandchildren (node → node → sh → node): our --require still appears once', (t) => {
  const userOptions = '--max-old-space-size=200';
  const { lib, plain, libDir } = runFamily(t, 'nested', userOptions);
  const pids = [];
  for (let i = 0; i < 2; i++) {
    const l = lib.reports[i].report;
    const p = plain.reports[i].report;
    checkChildReport(l, p, userOptions);
    checkChildReport(l.child, p.child, userOptions);
    pids.push(l.pid, l.child.pid);
  }
  checkFamilyProfiles(libDir, lib.pid, pids);
});

// ---- files ------------------------------------------------------------------

test('NODEPROF_DIR: missing nested directories are created 0700', (t) => {
  const base = tempDir(t);
  const dir = path.join(base, 'a/b/c');
  const { lib, plain, libDir } = runPair(t, NODE, [path.join(APPS, 'ends.js'), 'drain'],
    { libEnv: { NODEPROF_DIR: dir } });
  assertSameOutcome(lib, plain);
  assert.deepEqual(treeOf(libDir), [], 'nothing in the working directory');
  for (const d of ['a', 'a/b', 'a/b/c']) {
    const st = fs.statSync(path.join(base, d));
    assert.ok(st.isDirectory());
    assert.equal((st.mode & 0o777).toString(8), '700', `${d} mode`);
  }
  const file = onlyProfile(dir);
  assert.match(path.basename(file), defaultNameRe('ends', lib.pid, 1));
  assertHotProfile(file, 'hotLoop');
});

test('NODEPROF_DIR relative: relative to the directory at start-up, not at exit', (t) => {
  const { lib, plain, libDir } = runPair(t, NODE, [path.join(APPS, 'chdir.js')],
    { libEnv: { NODEPROF_DIR: 'out/profiles' } });
  assert.equal(plain.stdout, 'changed directory\n');
  assertSameOutcome(lib, plain);
  assertHotProfile(onlyProfile(path.join(libDir, 'out/profiles')), 'hotLoop');
  assert.ok(!fs.existsSync(path.join(os.tmpdir(), 'out/profiles')) ||
    !cpuProfilesIn(path.join(os.tmpdir(), 'out/profiles')).some((f) => f.includes(`-${lib.pid}-`)));
});

// UTC time as %t writes it, to the second.
const stamp = (ms) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

test('NODEPROF_NAME: %p %t %n %h %w %{VAR} %% expand, "/" in a variable becomes "_"', (t) => {
  const before = stamp(Date.now());
  const { lib, plain, libDir } = runPair(t, NODE, [path.join(APPS, 'ends.js'), 'drain'], {
    libEnv: { NODEPROF_NAME: 'app_%p_%t_%n_%h_w%w_%{NP_TEST_VAR}_%{NP_TEST_UNSET}_100%%', NP_TEST_VAR: 'a/b c' },
  });
  const after = stamp(Date.now());
  assertSameOutcome(lib, plain);
  const file = onlyProfile(libDir);
  const name = path.basename(file);
  const m = /^app_(\d+)_(\d{8}T\d{6}Z)_1_(.*)_w0_a_b c__100%\.cpuprofile$/.exec(name);
  assert.ok(m, name);
  assert.equal(Number(m[1]), lib.pid);
  assert.ok(m[2] >= before && m[2] <= after, `${m[2]} not in ${before}..${after}`);
  assert.equal(m[3], os.hostname());
  assertHotProfile(file, 'hotLoop');
});

test('default name: nodeprof-<script>-<UTC time>-<host>-<pid>-<seq>.cpuprofile in the working directory', (t) => {
  const before = stamp(Date.now());
  const { lib, plain, libDir } = runPair(t, NODE, [path.join(APPS, 'ends.js'), 'exit']);
  const after = stamp(Date.now());
  assertSameOutcome(lib, plain);
  const name = path.basename(onlyProfile(libDir));
  assert.match(name, defaultNameRe('ends', lib.pid, 1));
  const when = parseDefaultName(name).time;
  assert.ok(when >= before && when <= after, `${when} not in ${before}..${after}`);
  const st = fs.statSync(path.join(libDir, name));
  assert.equal((st.mode & 0o777).toString(8), '600', 'mode 0600 (NODEPROF_FILE_MODE)');
  // Complete JSON, as the inspector gave it.
  const p = readCpuProfile(path.join(libDir, name));
  assert.ok(hasFunction(p, '(root)'));
});

// Programs without a script file: node -e, and a program on stdin.
const INLINE = `
function inlineHot(ms) {
  let x = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) for (let j = 0; j < 2000; j++) x = (x + Math.sqrt(j + x)) % 1e9;
  return x;
}
inlineHot(250);
console.log('inline done');
`;

test('node -e: profiled like a script', (t) => {
  const { lib, plain, libDir } = runPair(t, NODE, ['-e', INLINE]);
  assert.equal(plain.stdout, 'inline done\n');
  assertSameOutcome(lib, plain);
  assertHotProfile(onlyProfile(libDir), 'inlineHot');
});

test('a program read from stdin: profiled like a script', (t) => {
  const libDir = tempDir(t);
  const plainDir = tempDir(t);
  const lib = run(NODE, ['-'], { env: childEnv(), cwd: libDir, input: INLINE });
  const plain = run(NODE, ['-'], { env: childEnv({}, { preload: false }), cwd: plainDir, input: INLINE });
  assert.equal(plain.stdout, 'inline done\n');
  assertSameOutcome(lib, plain);
  assertHotProfile(onlyProfile(libDir), 'inlineHot');
});

// A node child whose parent took LD_PRELOAD out still inherits NODE_OPTIONS
// (and so our loader token); it must be neither profiled nor broken, and the
// loader takes its token out of the child's environment (loader.h).
test('a child started without LD_PRELOAD (NODE_OPTIONS inherited): not profiled, not broken, token gone', (t) => {
  const { lib, plain, libDir } = runFamily(t, 'strip', '--max-old-space-size=200');
  for (let i = 0; i < 2; i++) {
    assert.equal(lib.reports[i].status, 0);
    checkChildReport(lib.reports[i].report, plain.reports[i].report, '--max-old-space-size=200', 0);
  }
  checkFamilyProfiles(libDir, lib.pid, []);
});

// The session is the inspector binding's Connection (process.binding), which
// warns under --pending-deprecation: there nodeprof takes node:inspector's
// Session, and the app's stderr hears nothing. Heap and trace profiles too.
test('--pending-deprecation: no deprecation warning, and the profiles are written', (t) => {
  const main = path.join(APPS, 'ends.js');
  for (const how of ['argv', 'NODE_OPTIONS']) {
    const args = how === 'argv' ? ['--pending-deprecation', main, 'drain'] : [main, 'drain'];
    const env = how === 'NODE_OPTIONS' ? { NODE_OPTIONS: '--pending-deprecation' } : {};
    const { lib, plain, libDir } = runPair(t, NODE, args, { env, libEnv: { NODEPROF_HEAP: 'on' } });
    assert.doesNotMatch(lib.stderr, /DEP0111|DeprecationWarning/, how);
    assertSameOutcome(lib, plain, how);
    assertHotProfile(onlyProfile(libDir), 'hotLoop');
    assert.ok(fs.readdirSync(libDir).some((f) => f.endsWith('.heapprofile')), `${how}: ${treeOf(libDir)}`);
  }
});
