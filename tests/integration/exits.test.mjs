// Every way a node process ends on its own: the profile is written, complete
// and valid, with the app's hot function in it, and the process ends exactly
// as it does without the library (status, signal, stdout, stderr).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  APPS, NODE, assertHotProfile, controlFifo, assertSameOutcome, childEnv, cpuProfilesIn, defaultNameRe, outcome,
  readCpuProfile, run, runPair, tempDir, tempLeftovers, treeOf,
} from './helpers.mjs';

const ENDS = path.join(APPS, 'ends.js');

// mode of ends.js → what plain node does with it (checked too, so that a
// fixture that stopped doing what it says fails here).
const cases = [
  { mode: 'drain', what: 'the event loop drains', status: 0, stdout: 'main done\nlast timer\n' },
  { mode: 'before-exit', what: "the loop drains twice ('beforeExit' adds work once)", status: 0,
    stdout: 'main done\nbeforeExit 0 (round 1)\nmore work done\nbeforeExit 0 (round 2)\n' },
  { mode: 'exit-code', what: 'the loop drains with process.exitCode = 9', status: 9 },
  { mode: 'exit', what: 'process.exit(7)', status: 7, stdout: 'exiting with 7\n' },
  { mode: 'exit-in-exit-listener', what: "process.exit(5) inside the app's 'exit' listener", status: 5,
    stdout: 'main done\nexit listener saw 0\n' },
  { mode: 'exit-in-timer', what: 'process.exit(3) from a setTimeout', status: 3 },
  { mode: 'throw', what: 'an uncaught exception', status: 1, stderr: /Error: boom from the app/ },
  { mode: 'throw-in-timer', what: 'an uncaught exception in a timer', status: 1,
    stderr: /TypeError: late boom from a timer/ },
  { mode: 'reject', what: 'an unhandled rejection', status: 1, stderr: /Error: rejected by the app/ },
  { mode: 'reject-async', what: 'an unhandled rejection from an async function', status: 1,
    stderr: /RangeError: async failure/ },
];

for (const c of cases) {
  test(`${c.what}: profile written, and the process ends as under plain node`, (t) => {
    const { lib, plain, libDir, plainDir } = runPair(t, NODE, [ENDS, c.mode]);

    // The fixture does what it says under plain node.
    assert.equal(plain.status, c.status, plain.stderr);
    assert.equal(plain.signal, null);
    if (c.stdout) assert.equal(plain.stdout, c.stdout);
    if (c.stderr) assert.match(plain.stderr, c.stderr);
    else assert.equal(plain.stderr, '');

    // Same end, byte for byte (node's own error report included).
    assertSameOutcome(lib, plain, c.what);

    // One profile, named by default, complete, with the hot function.
    const files = cpuProfilesIn(libDir);
    assert.equal(files.length, 1, `profiles: ${treeOf(libDir)}`);
    assert.match(path.basename(files[0]), defaultNameRe('ends', lib.pid, 1));
    assertHotProfile(files[0], 'hotLoop');
    assert.deepEqual(tempLeftovers(libDir), []);
    assert.deepEqual(treeOf(libDir), [path.basename(files[0])]);
    assert.deepEqual(treeOf(plainDir), [], 'plain node wrote files?');
    assert.ok(!fs.existsSync(controlFifo(lib.pid)), 'control FIFO left behind');
  });
}

// Processes that end while the library's own threads are still starting
// things up (the helper worker boots from the agent's init on, in parallel
// with the app): a sweep of end times from "at once" on, four processes at
// a time so that threads get preempted at awkward moments. None may end
// differently from plain node (an abort is status 134).
test('processes ending around the library\'s start-up, under load: all end normally', async (t) => {
  const plain = runPair(t, NODE, [ENDS, 'drain-at', '300']).plain;
  assert.equal(plain.status, 0);
  assert.equal(plain.stdout, 'main done\n');
  const ends = [];
  for (let ms = 0; ms <= 300; ms += 20) ends.push(ms);
  const results = [];
  for (let i = 0; i < ends.length; i += 4) {
    results.push(...await Promise.all(ends.slice(i, i + 4).map((ms) => new Promise((resolve) => {
      const cwd = tempDir(t);
      const child = spawn(NODE, [ENDS, 'drain-at', String(ms)], { env: childEnv(), cwd });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      child.on('close', (status, signal) => resolve({ ms, cwd, seen: { status, signal, stdout, stderr } }));
    }))));
  }
  for (const r of results) {
    assert.deepEqual(r.seen, outcome(plain), `ending at ${r.ms} ms`);
    const files = cpuProfilesIn(r.cwd);
    assert.equal(files.length, 1, `ending at ${r.ms} ms: ${treeOf(r.cwd)}`);
    readCpuProfile(files[0]);
  }
});

// node --frozen-intrinsics keeps any process alive for ever once it has a Worker with its own
// stdout and stderr, as nodeprof's helper has (plain node does it too): there is no helper then,
// and the process ends as under plain node, with its profile.
for (const helper of ['on', 'eager']) {
  test(`--frozen-intrinsics, NODEPROF_HELPER=${helper}: the process ends as under plain node, with its profile`, (t) => {
    const dir = tempDir(t);
    const app = path.join(dir, 'frozen.js');
    fs.writeFileSync(app, "setTimeout(() => console.log('done'), 300);\n");
    const { lib, plain, libDir } = runPair(t, NODE, ['--frozen-intrinsics', app],
      { libEnv: { NODEPROF_HELPER: helper }, timeout: 30000 });
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(lib.signal, null, 'killed by the timeout: the process did not end');
    const samePid = (r) => ({ ...outcome(r), stderr: r.stderr.replace(/^\(node:\d+\)/m, '(node:PID)') });
    assert.deepEqual(samePid(lib), samePid(plain));
    assert.equal(cpuProfilesIn(libDir).length, 1, treeOf(libDir).join(' '));
  });
}

// A Worker whose thread starts while fd 0, 1 or 2 is closed gets one of them for its event loop,
// and node aborts when that loop closes (libuv's uv__close asserts fd > 2), plain node too. So an
// app that closed its stdin (or stdout, stderr) before the helper's turn gets no helper, rather
// than an abort at exit.
for (const fds of [[0], [1, 2]]) {
  test(`the app closes fd ${fds.join(' and ')} before the helper's turn: it ends as under plain node, with its profile`, (t) => {
    const dir = tempDir(t);
    const app = path.join(dir, 'closes.js');
    fs.writeFileSync(app, `const fs = require('fs');\n${fds.map((fd) => `fs.closeSync(${fd});`).join(' ')}\n` +
      "setTimeout(() => fs.writeFileSync('done', 'ok'), 400);\n");
    const { lib, plain, libDir, plainDir } = runPair(t, NODE, [app]);
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(fs.readFileSync(path.join(plainDir, 'done'), 'utf8'), 'ok');
    assertSameOutcome(lib, plain, `closing fd ${fds}`);
    assert.equal(fs.readFileSync(path.join(libDir, 'done'), 'utf8'), 'ok');
    assert.equal(cpuProfilesIn(libDir).length, 1, treeOf(libDir).join(' '));
    assert.deepEqual(treeOf(libDir).filter((f) => f.endsWith('.crash.txt')), []);
  });
}

// A relative NODEPROF_DIR is the working directory's at start-up; so is a relative
// NODEPROF_MANIFEST, which was opened against the directory of the moment, after an app's
// process.chdir() (npm scripts, daemons): another file, or none.
test('process.chdir() before the exit: a relative NODEPROF_DIR and NODEPROF_MANIFEST stay where they were', (t) => {
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'elsewhere'));
  const app = path.join(dir, 'moves.js');
  fs.writeFileSync(app, "process.chdir('elsewhere'); setTimeout(() => {}, 100);\n");
  const r = run(NODE, [app], { env: childEnv({ NODEPROF_DIR: 'out', NODEPROF_MANIFEST: 'manifest.txt' }), cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const files = cpuProfilesIn(path.join(dir, 'out'));
  assert.equal(files.length, 1, treeOf(dir).join(' '));
  assert.equal(fs.readFileSync(path.join(dir, 'manifest.txt'), 'utf8'), `${files[0]}\n`);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'elsewhere')), []);
});

// An app may remove every 'exit' listener, nodeprof's among them: it is put back in front (an
// app's own 'exit' listener may call process.exit(), which ends the emit), at once and, after
// removeAllListeners() with no name, on the next tick.
const REMOVALS = {
  "removeAllListeners('exit')": "process.removeAllListeners('exit'); setTimeout(() => {}, 100);",
  'removeAllListeners()': 'process.removeAllListeners(); setTimeout(() => {}, 100);',
  "removeAllListeners('exit'), then process.exit(4)": "process.removeAllListeners('exit'); process.exit(4);",
  'off() of every listener, then an exit listener that exits': `
for (const l of process.listeners('exit')) process.off('exit', l);
process.on('exit', () => { console.log('app exit'); process.exit(6); });`,
};
for (const [what, source] of Object.entries(REMOVALS)) {
  test(`the app removes our 'exit' listener (${what}): profile written, the process ends as under plain node`, (t) => {
    const dir = tempDir(t);
    const app = path.join(dir, 'removes.js');
    fs.writeFileSync(app, `const t0 = Date.now(); while (Date.now() - t0 < 150);\n${source}\n`);
    const { lib, plain, libDir } = runPair(t, NODE, [app]);
    assertSameOutcome(lib, plain, what);
    assert.equal(cpuProfilesIn(libDir).length, 1, treeOf(libDir).join(' '));
    assert.ok(!fs.existsSync(controlFifo(lib.pid)), 'control FIFO left behind');
  });
}

// node --test's runner is made without an inspector: one line says it is not profiled; the
// processes it starts for the test files are.
test('node --test: the runner says in one line that it is not profiled; the test file\'s process is', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'a.test.js');
  fs.writeFileSync(file, "require('node:test')('passes', () => { const t0 = Date.now(); while (Date.now() - t0 < 100); });\n");
  const { lib, plain, libDir } = runPair(t, NODE, ['--test', file], { timeout: 60000 });
  assert.equal(lib.status, plain.status, lib.stderr);
  assert.equal(lib.status, 0);
  const lines = lib.stderr.split('\n').filter((l) => l.startsWith('nodeprof:'));
  assert.deepEqual(lines, ["nodeprof: node made this process without an inspector (as it makes node --test's runner): it is not profiled; the processes it starts are"]);
  const files = cpuProfilesIn(libDir);
  assert.equal(files.length, 1, treeOf(libDir).join(' '));
  assert.match(path.basename(files[0]), /^nodeprof-a_test-/);
});
