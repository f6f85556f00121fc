// The control FIFO's life, the reply protocol as a shell script uses it,
// `nodeprof ctl` and `nodeprof list` on processes that are not profiled or
// gone, and NODEPROF_SIGNAL with each NODEPROF_SIGNAL_ACTION.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  CLI, NODE, childEnv, cpuProfilesIn, filesIn, hasFunction, nodeprofLines, readCpuProfile,
  run, startProcess, tempDir, treeOf,
} from './helpers.mjs';
import {
  APP, NO_SUCH_PID, RUNDIR, UID, appStderr, assertNoLeftovers, ctl, ctlOk, finishIdle, finishSpin,
  hasAppFrame, lstatOrNull, onePath, readHeapSnapshot, sleep, startApp, stopApp, waitFor,
} from '../fixtures/ondemand/support.mjs';

const T = { timeout: 90000 };
const modeOf = (st) => (st.mode & 0o777).toString(8);
const outcome = (end, child) => ({ status: end.status, signal: end.signal, stdout: child.out });

// ---- the FIFO's life ---------------------------------------------------------

test('while a profiled process runs: /tmp/nodeprof-<uid>/<pid>.ctl, a FIFO 0600 in a 0700 directory, ours', T, async (t) => {
  const app = await startApp(t, ['idle', 'quiet']);
  const dir = fs.lstatSync(RUNDIR);
  assert.ok(dir.isDirectory());
  assert.equal(modeOf(dir), '700');
  assert.equal(dir.uid, UID);
  const fifo = lstatOrNull(app.fifo);
  assert.ok(fifo?.isFIFO(), `${app.fifo}: ${fifo ? 'not a FIFO' : 'missing'}`);
  assert.equal(modeOf(fifo), '600');
  assert.equal(fifo.uid, UID);
  await finishIdle(app);
  assert.equal(lstatOrNull(app.fifo), null, 'FIFO left after exit');
});

// How the app ends: its arguments, and how the test ends it.
const ENDINGS = {
  'the event loop drains': { args: [], end: (c) => stopApp(c) },
  'process.exit(3)': { args: ['exit'], end: (c) => stopApp(c) },
  'an uncaught exception': { args: ['throw'], end: (c) => stopApp(c) },
  'SIGTERM, no listener': { args: ['wait'], end: (c) => { c.kill('SIGTERM'); return c.closed; } },
};

for (const [how, e] of Object.entries(ENDINGS)) {
  test(`the FIFO is removed when the process ends: ${how}; the end is plain node's`, T, async (t) => {
    const [lib, plain] = await Promise.all([
      startApp(t, ['idle', 'quiet', ...e.args]),
      startApp(t, ['idle', 'quiet', ...e.args], { preload: false }),
    ]);
    assert.ok(lstatOrNull(lib.fifo)?.isFIFO(), 'no FIFO while running');
    const [libEnd, plainEnd] = await Promise.all([e.end(lib), e.end(plain)]);
    assert.deepEqual(outcome(libEnd, lib), outcome(plainEnd, plain));
    assert.deepEqual(appStderr(lib.err), appStderr(plain.err));
    assert.deepEqual(nodeprofLines(lib.err), []);
    assert.equal(lstatOrNull(lib.fifo), null, 'FIFO left after exit');
    assert.equal(cpuProfilesIn(lib.dir).length, 1, treeOf(lib.dir));
    readCpuProfile(cpuProfilesIn(lib.dir)[0]);
  });
}

test('NODEPROF_FIFO=off: no FIFO, and nodeprof ctl says the process is not profiled', T, async (t) => {
  const app = await startApp(t, ['idle', 'quiet'], { env: { NODEPROF_FIFO: 'off' } });
  assert.equal(lstatOrNull(app.fifo), null);
  const r = await ctl(app.pid, ['status']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^nodeprof: process ${app.pid} is not profiled by nodeprof`));
  await finishIdle(app);
  assert.equal(cpuProfilesIn(app.dir).length, 1);
});

test('NODEPROF_FIFO=/custom/path: the FIFO is there, ctl --fifo reaches it, removed at exit', T, async (t) => {
  const custom = path.join(tempDir(t), 'my control.fifo');
  const app = await startApp(t, ['idle', 'quiet'], { env: { NODEPROF_FIFO: custom } });
  const st = lstatOrNull(custom);
  assert.ok(st?.isFIFO(), `${custom} is not a FIFO`);
  assert.equal(modeOf(st), '600');
  assert.equal(st.uid, UID);
  assert.equal(lstatOrNull(app.fifo), null, 'also a FIFO at the default path');
  const status = await ctlOk(app.pid, ['status'], { opts: ['--fifo', custom] });
  assert.ok(status.includes(`\nfifo: ${custom}\n`), status);
  assert.ok(status.includes(`\nNODEPROF_FIFO=${custom}\n`), status);
  await finishIdle(app);
  assert.equal(lstatOrNull(custom), null, 'custom FIFO left after exit');
});

// ---- the protocol without nodeprof ctl ----------------------------------------

// `sh -c script` in dir with PID set; returns its stdout.
function sh(dir, pid, script) {
  return execFileSync('bash', ['-c', script], {
    cwd: dir, env: { ...childEnv({}, { preload: false }), PID: String(pid) }, encoding: 'utf8', timeout: 30000,
  });
}

test('a shell script: mkfifo r; cat r > out & echo "status reply=$PWD/r" > the FIFO; wait', T, async (t) => {
  const app = await startApp(t, ['idle', 'quiet']);
  const dir = tempDir(t);
  sh(dir, app.pid, 'mkfifo r; cat r > out & echo "status reply=$PWD/r" > /tmp/nodeprof-$UID/$PID.ctl; wait');
  const reply = fs.readFileSync(path.join(dir, 'out'), 'utf8');
  assert.match(reply, new RegExp(`^ok\\npid: ${app.pid}\\nnode: v\\d+\\.`));
  assert.ok(reply.includes(`\nfifo: ${app.fifo}\n`), reply);
  assert.ok(reply.endsWith('\n'));

  // cpu dump: the reply names the file written.
  sh(dir, app.pid, 'cat r > out2 & echo "cpu dump reply=$PWD/r" > /tmp/nodeprof-$UID/$PID.ctl; wait');
  const dump = fs.readFileSync(path.join(dir, 'out2'), 'utf8');
  assert.match(dump, /^ok\n/);
  readCpuProfile(onePath(dump.slice(3), app.dir, '.cpuprofile'));
  await finishIdle(app);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['out', 'out2', 'r']);
});

// The agent never creates a file at a reply path: a sender that went away
// (nodeprof ctl after its timeout) leaves nothing behind. A file the sender
// created first is replaced atomically.
test('reply= a file the sender created: replaced by a 0600 file with the reply (ok, and error)', T, async (t) => {
  const app = await startApp(t, ['idle', 'quiet']);
  const dir = tempDir(t);
  fs.chmodSync(dir, 0o755);
  const replyOf = async (name, command) => {
    const file = path.join(dir, name);
    sh(dir, app.pid, `: > ${name}; echo "${command} reply=$PWD/${name}" > /tmp/nodeprof-$UID/$PID.ctl`);
    await waitFor(() => fs.statSync(file).size > 0, `the reply in ${name}`);
    assert.equal(modeOf(fs.statSync(file)), '600');
    return fs.readFileSync(file, 'utf8');
  };
  const reply = await replyOf('status.reply', 'status');
  assert.match(reply, new RegExp(`^ok\\npid: ${app.pid}\\n`));
  assert.match(reply, /^NODEPROF_FIFO=on$/m);

  const text = await replyOf('dump.reply', 'cpu dump');
  assert.match(text, /^ok\n/);
  readCpuProfile(onePath(text.slice(3), app.dir, '.cpuprofile'));

  assert.equal(await replyOf('err.reply', 'frobnicate'), "error: unknown command 'frobnicate' (try: help)\n");

  await finishIdle(app);
  assert.deepEqual(nodeprofLines(app.err), [], 'errors with a reply path go to the sender only');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['dump.reply', 'err.reply', 'status.reply']);
  assertNoLeftovers(dir);
});

test('reply= a path that does not exist: nothing is created there, and the command still runs', T, async (t) => {
  const app = await startApp(t, ['idle', 'quiet']);
  const dir = tempDir(t);
  sh(dir, app.pid, 'echo "cpu dump reply=$PWD/nobody.reply" > /tmp/nodeprof-$UID/$PID.ctl');
  sh(dir, app.pid, 'echo "frobnicate reply=$PWD/nobody-err.reply" > /tmp/nodeprof-$UID/$PID.ctl');
  // Commands run in order: once this is answered, both were handled.
  assert.match(await ctlOk(app.pid, ['status']), /^commands run: 1$/m);
  await waitFor(() => cpuProfilesIn(app.dir).length === 1, 'the cpu dump');
  await sleep(300);
  assert.deepEqual(fs.readdirSync(dir), []);
  await finishIdle(app);
  assert.deepEqual(fs.readdirSync(dir), []);
  assert.deepEqual(nodeprofLines(app.err), [], 'a sender that went away is no news for the app');
});

// ---- nodeprof ctl and list on other processes ---------------------------------

test('nodeprof ctl to a process that is not profiled (sleep): "not profiled", status 1', T, async (t) => {
  const sleeper = startProcess('sleep', ['30'], { env: childEnv({}, { preload: false }), ready: '' });
  sleeper.ready.catch(() => {});
  t.after(() => sleeper.kill('SIGKILL'));
  const r = await ctl(sleeper.pid, ['status']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^nodeprof: process ${sleeper.pid} is not profiled by nodeprof \\(no control FIFO ${RUNDIR}/${sleeper.pid}\\.ctl\\)`));
  assert.equal(sleeper.exitCode, null, 'the sleep was not disturbed');
});

test('nodeprof ctl to a pid that does not exist: "no process", status 1', T, async () => {
  const r = await ctl(NO_SUCH_PID, ['status']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `nodeprof: no process ${NO_SUCH_PID}\n`);
  const bad = await ctl('12abc', ['status']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^nodeprof: bad pid '12abc'/);
});

test('nodeprof list: a profiled process (pid, command line, FIFO); a dead pid\'s FIFO is removed', T, async (t) => {
  const stale = path.join(RUNDIR, `${NO_SUCH_PID}.ctl`);
  fs.rmSync(stale, { force: true });
  execFileSync('mkfifo', ['-m', '600', stale]);
  t.after(() => fs.rmSync(stale, { force: true }));
  const app = await startApp(t, ['idle', 'quiet']);
  const r = run(CLI, ['list'], { env: childEnv({}, { preload: false }) });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter(Boolean);
  assert.ok(lines.includes(`${app.pid}\t${NODE} ${APP} idle quiet\t${app.fifo}`), r.stdout);
  assert.ok(!r.stdout.includes(`${NO_SUCH_PID}`), r.stdout);
  assert.equal(lstatOrNull(stale), null, 'the stale FIFO is still there');
  assert.match(r.stderr, new RegExp(`^nodeprof: removed ${stale} \\(process ${NO_SUCH_PID} is gone\\)$`, 'm'));
  await finishIdle(app);
  const after = run(CLI, ['list'], { env: childEnv({}, { preload: false }) });
  assert.ok(!after.stdout.split('\n').some((l) => l.startsWith(`${app.pid}\t`)), after.stdout);
});

// ---- NODEPROF_SIGNAL ------------------------------------------------------------

test('SIGUSR2 (default, action dump): a profile is written and the process goes on', T, async (t) => {
  const app = await startApp(t, ['idle']);
  await sleep(300); // some work for the profile
  app.kill('SIGUSR2');
  const [file] = await waitFor(() => cpuProfilesIn(app.dir).length && cpuProfilesIn(app.dir), 'the dump');
  assert.ok(hasFunction(readCpuProfile(file), 'busyTick'));
  await sleep(200);
  assert.equal(app.exitCode, null, 'still running');
  assert.equal(app.signalCode, null);
  await finishIdle(app);
  assert.equal(cpuProfilesIn(app.dir).length, 2, treeOf(app.dir));
  for (const f of cpuProfilesIn(app.dir)) readCpuProfile(f);
  assert.deepEqual(nodeprofLines(app.err), []);
});

test('SIGUSR2 with the app\'s own SIGUSR2 listener: the listener runs too, output as plain node', T, async (t) => {
  const [lib, plain] = await Promise.all([
    startApp(t, ['idle', 'usr2']), startApp(t, ['idle', 'usr2'], { preload: false }),
  ]);
  lib.kill('SIGUSR2');
  plain.kill('SIGUSR2');
  await waitFor(() => cpuProfilesIn(lib.dir).length === 1, 'the dump');
  await waitFor(() => lib.out.includes('app got SIGUSR2') && plain.out.includes('app got SIGUSR2'), 'the listeners');
  const [libEnd, plainEnd] = await Promise.all([stopApp(lib), stopApp(plain)]);
  assert.deepEqual(outcome(plainEnd, plain), { status: 0, signal: null, stdout: 'ready\napp got SIGUSR2\nbye\n' });
  assert.deepEqual(outcome(libEnd, lib), outcome(plainEnd, plain));
  assert.equal(lib.err, plain.err);
  assert.equal(cpuProfilesIn(lib.dir).length, 2);
});

test('SIGUSR2 while the main thread is stuck: the profile is written, the computation unchanged', T, async (t) => {
  const app = await startApp(t, ['spin']);
  app.kill('SIGUSR2');
  const [file] = await waitFor(() => cpuProfilesIn(app.dir).length && cpuProfilesIn(app.dir), 'the dump');
  assert.ok(hasFunction(readCpuProfile(file), 'spinHard'));
  assert.equal(app.out, 'ready\n', 'still in its synchronous call');
  await finishSpin(app);
  assert.equal(cpuProfilesIn(app.dir).length, 2);
});

test('NODEPROF_SIGNAL_ACTION=toggle: the first signal stops (and writes), the second starts again', T, async (t) => {
  const app = await startApp(t, ['idle'], { env: { NODEPROF_SIGNAL_ACTION: 'toggle' } });
  app.kill('SIGUSR2');
  await waitFor(() => cpuProfilesIn(app.dir).length === 1, 'the profile of the stop');
  const [first] = cpuProfilesIn(app.dir);
  assert.match(await ctlOk(app.pid, ['status']), /^cpu: off$/m);
  app.kill('SIGUSR2');
  await waitFor(async () => /^cpu: running since /m.test(await ctlOk(app.pid, ['status'])), 'profiling again');
  assert.deepEqual(cpuProfilesIn(app.dir), [first], 'starting writes nothing');
  await sleep(300);
  await finishIdle(app);
  const all = cpuProfilesIn(app.dir);
  assert.equal(all.length, 2, treeOf(app.dir));
  const last = readCpuProfile(all.find((f) => f !== first));
  assert.ok(last.startTime >= readCpuProfile(first).endTime);
  assert.ok(hasAppFrame(last), 'no app.js frame in the restarted profile');
});

test('NODEPROF_SIGNAL_ACTION=heapsnapshot: SIGUSR2 writes a .heapsnapshot', T, async (t) => {
  const app = await startApp(t, ['idle', 'quiet'], { env: { NODEPROF_SIGNAL_ACTION: 'heapsnapshot' } });
  app.kill('SIGUSR2');
  const [file] = await waitFor(() => filesIn(app.dir, '.heapsnapshot').length && filesIn(app.dir, '.heapsnapshot'),
    'the heap snapshot');
  assert.equal(modeOf(fs.statSync(file)), '600');
  assert.ok(readHeapSnapshot(file).strings.includes('LeakyThing'));
  await finishIdle(app);
  assert.equal(cpuProfilesIn(app.dir).length, 1, 'only the exit profile');
  assertNoLeftovers(app.dir);
});

// SigCgt/SigIgn bit of a signal in /proc/<pid>/status.
function disposition(pid, sig) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const bit = (name) => (BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(text)[1]}`) >> BigInt(sig - 1)) & 1n;
  return { caught: bit('SigCgt'), ignored: bit('SigIgn') };
}

test('NODEPROF_SIGNAL=SIGUSR1 is refused with one nodeprof: line; node\'s SIGUSR1 handling is untouched', T, async (t) => {
  const [lib, plain] = await Promise.all([
    startApp(t, ['idle', 'quiet'], { env: { NODEPROF_SIGNAL: 'SIGUSR1' } }),
    startApp(t, ['idle', 'quiet'], { preload: false }),
  ]);
  const lines = nodeprofLines(lib.err);
  assert.equal(lines.length, 1, lib.err);
  assert.match(lines[0], /^nodeprof: invalid NODEPROF_SIGNAL=SIGUSR1: SIGUSR1 belongs to node/);
  assert.deepEqual(disposition(lib.pid, 10), disposition(plain.pid, 10));
  // SIGUSR1 is never sent here: it would open the inspector port.
  const [libEnd, plainEnd] = await Promise.all([stopApp(lib), stopApp(plain)]);
  assert.deepEqual(outcome(libEnd, lib), outcome(plainEnd, plain));
  assert.equal(cpuProfilesIn(lib.dir).length, 1);
});

for (const mode of ['idle', 'spin']) {
  test(`a burst of 100 SIGUSR2 in a second (${mode}): no crash, every file parses, at least one dump`, T, async (t) => {
    const app = await startApp(t, [mode]);
    for (let i = 0; i < 100; i++) {
      app.kill('SIGUSR2');
      await sleep(10);
    }
    // The status request queues behind any waiting dump: once it is
    // answered, the burst is done with.
    assert.match(await ctlOk(app.pid, ['status']), /^cpu: running since /m);
    assert.equal(app.exitCode, null);
    const dumps = cpuProfilesIn(app.dir);
    assert.ok(dumps.length >= 1 && dumps.length <= 100, `${dumps.length} dumps`);
    if (mode === 'idle') await finishIdle(app);
    else await finishSpin(app);
    const all = cpuProfilesIn(app.dir);
    assert.equal(all.length, dumps.length + 1);
    for (const f of all) readCpuProfile(f);
    assertNoLeftovers(app.dir);
  });
}
