// The control path against clients that misbehave or go away, and a run
// directory that is deleted under a running process:
// - a reader that opens its reply FIFO and never reads does not block the
//   agent thread: SIGTERM still works, other commands are answered, and the
//   reply is dropped after its deadline with one nodeprof: line;
// - a reply path that is rejected gets nothing written to it;
// - nothing is ever created at a reply path (nodeprof ctl that gave up
//   leaves nothing), and nodeprof list removes what a crash leaves;
// - the FIFO comes back when its directory is deleted, but never in a
//   directory another user re-created;
// - a flooded FIFO puts a handful of counted lines on the app's stderr.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  CLI, NODE, childEnv, cpuProfilesIn, nodeprofLines, reachableByAll, run, startProcess, tempDir, writeScript,
} from './helpers.mjs';
import {
  NO_SUCH_PID, RUNDIR, appStderr, assertNoLeftovers, ctl, ctlOk, finishIdle, lstatOrNull, sleep,
  startApp, stopApp, waitFor,
} from '../fixtures/ondemand/support.mjs';

const T = { timeout: 120000 };

// node app.js deep: idles until the file "go" appears, then makes 300
// nested calls of a function with a 300-character name, the last of which
// spins until the file "stop" appears: its `stack` is well over the 64 KB
// a pipe holds. node app.js gate: spins from its first line until "go"
// appears, then idles until "stop".
const NAME = `deep${'x'.repeat(300)}`;
const APP_SOURCE = `'use strict';
const fs = require('fs');
function spinHere() {
  let acc = 0;
  for (;;) {
    for (let i = 0; i < 1e6; i++) acc = (acc * 31 + i) | 0;
    if (fs.existsSync('stop')) return acc;
  }
}
const holder = { ${NAME}(n) { return n > 0 ? holder.${NAME}(n - 1) + 1 : spinHere(); } };
function idleUntilStop() {
  const timer = setInterval(() => {
    if (fs.existsSync('stop')) { clearInterval(timer); console.log('bye'); }
  }, 50);
}
if (process.argv[2] === 'deep') {
  console.log('ready');
  const timer = setInterval(() => {
    if (!fs.existsSync('go')) return;
    clearInterval(timer);
    holder.${NAME}(300);
    console.log('bye');
  }, 20);
} else {
  console.log('ready');
  while (!fs.existsSync('go')) for (let i = 0; i < 1e6; i++);
  idleUntilStop();
}
`;

function appScript(t) {
  const dir = tempDir(t, 'nodeprof-robust-app-');
  fs.chmodSync(dir, 0o755); // other uids run it too
  return writeScript(dir, 'app.js', APP_SOURCE);
}

// Writes one command line to the control FIFO, in one write(2).
function send(fifo, line) {
  const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  try {
    assert.equal(fs.writeSync(fd, `${line}\n`), Buffer.byteLength(line) + 1);
  } finally {
    fs.closeSync(fd);
  }
}

// Writes the lines to the FIFO in writes of at most 4096 bytes (atomic).
function sendAll(fifo, lines) {
  const fd = fs.openSync(fifo, fs.constants.O_WRONLY);
  try {
    let chunk = '';
    const flush = () => { if (chunk) assert.equal(fs.writeSync(fd, chunk), Buffer.byteLength(chunk)); chunk = ''; };
    for (const l of lines) {
      if (chunk.length + l.length + 1 > 4096) flush();
      chunk += `${l}\n`;
    }
    flush();
  } finally {
    fs.closeSync(fd);
  }
}

// True if process pid has file p open.
function holdsOpen(pid, p) {
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try { if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === p) return true; } catch { /* closed meanwhile */ }
  }
  return false;
}

// A reader that opens a FIFO and never reads it (until drain()).
function stalledReader(t, dir) {
  const fifo = path.join(dir, 'stalled.fifo');
  execFileSync('mkfifo', ['-m', '600', fifo]);
  const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  let closed = false;
  t.after(() => { if (!closed) fs.closeSync(fd); });
  // Everything in the pipe; eof: whether the writer had closed its end.
  const drain = () => {
    const parts = [];
    const buf = Buffer.alloc(65536);
    let eof = false;
    for (;;) {
      let n;
      try { n = fs.readSync(fd, buf); } catch (e) { if (e.code === 'EAGAIN') break; throw e; }
      if (n === 0) { eof = true; break; }
      parts.push(Buffer.from(buf.subarray(0, n)));
    }
    fs.closeSync(fd);
    closed = true;
    return { text: Buffer.concat(parts).toString('utf8'), eof };
  };
  return { fifo, drain };
}

// Starts the deep app and waits until it spins at the bottom of its calls
// (the helper worker up first: stack is answered while it spins). Returns
// the app and its whole `stack` reply, taken through a file the sender
// created.
async function startDeep(t, dir) {
  const app = await startApp(t, ['deep'], { script: appScript(t) });
  await waitFor(async () => /^helper thread: ready$/m.test(await ctlOk(app.pid, ['status'])), 'the helper thread');
  fs.writeFileSync(path.join(app.cwd, 'go'), '');
  let tries = 0;
  const text = await waitFor(async () => {
    const file = path.join(dir, `full-${tries++}.reply`);
    fs.writeFileSync(file, '');
    send(app.fifo, `stack reply=${file}`);
    await waitFor(() => fs.statSync(file).size > 0, `the stack in a file; app stderr: ${app.err}`, 30000);
    const reply = fs.readFileSync(file, 'utf8');
    // The whole descent: a stack taken on the way down, or while the
    // bottom call is in a system call, is asked for again.
    return reply.includes(`${NAME} (`) && reply.includes('spinHere (') && reply;
  }, 'the stack of the deep calls');
  assert.match(text, /^ok\n/);
  assert.ok(text.length > 65536, `the stack reply is only ${text.length} bytes: not more than a pipe holds`);
  return { app, whole: text };
}

// The rejections that nodeprof: lines account for, by kind: each line
// stands for itself and the "N more" held back before it.
function tally(lines) {
  const counts = { rejected: 0, busy: 0, other: [] };
  for (const l of lines) {
    const m = /^nodeprof: control command rejected: (.*?)(?: \((\d+) similar lines? suppressed\))?$/.exec(l);
    if (!m) { counts.other.push(l); continue; }
    counts[m[1].startsWith('busy: ') ? 'busy' : 'rejected'] += 1 + Number(m[2] ?? 0);
  }
  return counts;
}

// ---- a reader that stalls ----------------------------------------------------

test('a reader that never reads a stack reply over 64 KB: SIGTERM still ends the process within 2 s', T, async (t) => {
  const dir = tempDir(t);
  const { app, whole } = await startDeep(t, dir);
  const reader = stalledReader(t, dir);
  send(app.fifo, `stack reply=${reader.fifo}`);
  await waitFor(() => holdsOpen(app.pid, reader.fifo), 'the agent writing into the stalled FIFO');
  await sleep(100);
  const sent = Date.now();
  app.kill('SIGTERM');
  const end = await Promise.race([app.exited, sleep(10000).then(() => null)]);
  assert.ok(end, 'SIGTERM ignored for 10 s while a reply reader stalls');
  assert.equal(end.signal, 'SIGTERM');
  assert.ok(end.at - sent < 2000, `took ${end.at - sent} ms from kill to exit`);
  // The reader got what the pipe held, not the whole reply.
  const got = reader.drain();
  assert.ok(got.eof);
  assert.match(got.text, /^ok\n/);
  assert.ok(got.text.length < whole.length, `${got.text.length} of ${whole.length} bytes`);
});

test('a stalled reader: other commands are answered meanwhile, and its reply is dropped after 3 s with one line', T, async (t) => {
  const dir = tempDir(t);
  const { app, whole } = await startDeep(t, dir);
  const reader = stalledReader(t, dir);
  send(app.fifo, `stack reply=${reader.fifo}`);
  await waitFor(() => holdsOpen(app.pid, reader.fifo), 'the agent writing into the stalled FIFO');
  // The reader still holds its end open, and has read nothing.
  assert.match(await ctlOk(app.pid, ['status']), new RegExp(`^pid: ${app.pid}$`, 'm'));
  await waitFor(() => !holdsOpen(app.pid, reader.fifo), 'the stalled reply dropped', 20000);
  const got = reader.drain();
  assert.ok(got.eof, 'the agent closed its end');
  assert.ok(whole.startsWith(got.text.slice(0, 3)) && got.text.length < whole.length);
  await waitFor(() => nodeprofLines(app.err).length, 'the line saying so');
  const lines = nodeprofLines(app.err);
  assert.equal(lines.length, 1, app.err);
  const m = new RegExp(`^nodeprof: reply to ${reader.fifo} dropped: the reader took (\\d+) of (\\d+) bytes in 3 s$`)
    .exec(lines[0]);
  assert.ok(m, lines[0]);
  assert.equal(Number(m[1]), Buffer.byteLength(got.text));
  assert.ok(Number(m[2]) > 65536, lines[0]);
  // And later commands still work.
  assert.match(await ctlOk(app.pid, ['status']), new RegExp(`^pid: ${app.pid}$`, 'm'));
  const end = await stopApp(app);
  assert.deepEqual({ status: end.status, signal: end.signal, out: app.out }, { status: 0, signal: null, out: 'ready\nbye\n' });
  assert.equal(nodeprofLines(app.err).length, 1, app.err);
});

// ---- reply paths -------------------------------------------------------------

test('a rejected reply= path (with .. or ., relative, too long) gets nothing written to it', T, async (t) => {
  const app = await startApp(t, ['idle', 'quiet']);
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'x'));
  // Existing files of ours: valid reply targets, were the paths accepted.
  const bait = path.join(dir, 'y');
  const deep = path.join(dir, 'd'.repeat(250), 'e'.repeat(250));
  fs.mkdirSync(deep, { recursive: true });
  const long = path.join(deep, 'z');
  for (const f of [bait, long, path.join(app.cwd, 'y')]) fs.writeFileSync(f, '');
  const lines = [
    `status reply=${dir}/x/../y`, `frobnicate reply=${dir}/x/../y`, `status reply=${dir}/./y`,
    `cpu start interval=abc reply=${dir}/x/../y`, 'status reply=y', 'frobnicate reply=y', `status reply=${long}`,
  ];
  sendAll(app.fifo, lines);
  const last = path.join(dir, 'last');
  fs.writeFileSync(last, '');
  send(app.fifo, `status reply=${last}`); // handled after all the others
  await waitFor(() => fs.statSync(last).size > 0, 'the last reply');
  await sleep(200);
  for (const f of [bait, long, path.join(app.cwd, 'y')]) assert.equal(fs.statSync(f).size, 0, `${f} was written`);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['d'.repeat(250), 'last', 'x', 'y']);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'x')), []);
  assert.deepEqual(fs.readdirSync(deep), ['z']);
  await finishIdle(app);
  // Nobody hears of these but the app's stderr: counted, rate-limited.
  assert.deepEqual(tally(nodeprofLines(app.err)), { rejected: lines.length, busy: 0, other: [] }, app.err);
  assert.ok(nodeprofLines(app.err).length <= 3, app.err);
});

test('nodeprof ctl that gives up leaves nothing behind: the late reply is dropped, no file is created', T, async (t) => {
  // No helper: a command waits until the main thread stops spinning.
  const app = await startApp(t, ['gate'], { script: appScript(t), env: { NODEPROF_HELPER: 'off' } });
  const r = await ctl(app.pid, ['status'], { opts: ['--timeout', '1'] });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^nodeprof: no reply from \d+ within 1 s/);
  const mine = () => fs.readdirSync(RUNDIR).filter((f) => f.startsWith(`reply-${r.pid}-`));
  assert.deepEqual(mine(), [], 'ctl left its reply FIFO');
  fs.writeFileSync(path.join(app.cwd, 'go'), '');
  // Commands run in order: once this one is answered, the late one was handled.
  assert.match(await ctlOk(app.pid, ['status']), /^commands run: 1$/m);
  assert.deepEqual(mine(), [], 'the late reply created a file');
  await finishIdle(app);
  assert.deepEqual(nodeprofLines(app.err), [], 'a client that went away is no news for the app');
});

test('nodeprof list removes reply FIFOs (and old reply files) of nodeprof ctl processes that are gone', T, async (t) => {
  const dead = [`reply-${NO_SUCH_PID}-1f.fifo`, `reply-${NO_SUCH_PID}-2e.fifo`].map((f) => path.join(RUNDIR, f));
  const live = path.join(RUNDIR, `reply-${process.pid}-3d.fifo`); // this test runner is alive
  const other = path.join(RUNDIR, `reply-${NO_SUCH_PID}-notes.txt`); // not one of ours: left alone
  execFileSync('mkfifo', ['-m', '600', dead[0], live]);
  fs.writeFileSync(dead[1], ''); // what agents before this change created
  fs.writeFileSync(other, '');
  t.after(() => { for (const f of [...dead, live, other]) fs.rmSync(f, { force: true }); });
  const r = run(CLI, ['list'], { env: childEnv({}, { preload: false }) });
  assert.equal(r.status, 0, r.stderr);
  for (const f of dead) {
    assert.equal(lstatOrNull(f), null, `${f} is still there`);
    assert.match(r.stderr, new RegExp(`^nodeprof: removed ${f} \\(process ${NO_SUCH_PID} is gone\\)$`, 'm'));
  }
  assert.ok(lstatOrNull(live)?.isFIFO(), 'the reply FIFO of a live process was removed');
  assert.ok(lstatOrNull(other)?.isFile());
  assert.ok(!r.stdout.includes('reply-'), r.stdout);
});

// A control FIFO left by a process that is gone, under a pid that is alive again (reused by
// another process, or a node of another pid namespace sharing /tmp): list showed that process as
// profiled, and never removed the FIFO. No process reads it: removed. Run as another uid, in
// its own run directory.
test('nodeprof list removes a control FIFO that no process reads, also under a live pid', T, async (t) => {
  const uid = 42000 + (process.pid % 10000);
  const dir = `/tmp/nodeprof-${uid}`;
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' }); // alive, and not node
  t.after(() => { sleeper.kill('SIGKILL'); fs.rmSync(dir, { recursive: true, force: true }); });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { mode: 0o700 });
  fs.chownSync(dir, uid, uid);
  const stale = path.join(dir, `${sleeper.pid}.ctl`);
  execFileSync('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', 'mkfifo', '-m', '600', stale]);
  const r = run('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', CLI, 'list'],
    { env: childEnv({}, { preload: false }) });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stdout.includes(`${sleeper.pid}\t`), r.stdout);
  assert.equal(lstatOrNull(stale), null, 'the unread FIFO is still there');
  assert.equal(r.stderr, `nodeprof: removed ${stale} (no process reads it: process ${sleeper.pid} is not the one that made it)\n`);
});

// ---- the run directory deleted under a running process --------------------------

// Runs as another uid (root runs this suite): other tests, and other
// suites on this machine, use root's run directory, which must not vanish.
const UID2 = 40000 + (process.pid % 20000);
const UID3 = UID2 + 1;
const asUser = (uid, cmd, args) => ['setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', cmd, ...args]];

function ctlAs(uid, pid, words) {
  return new Promise((resolve) => {
    const [cmd, args] = asUser(uid, reachableByAll(uid).cli, ['ctl', String(pid), ...words]);
    execFile(cmd, args, { env: childEnv({}, { preload: false }), encoding: 'utf8', timeout: 60000 },
      (error, stdout, stderr) => resolve({ status: error ? error.code : 0, stdout, stderr }));
  });
}

test('the run directory deleted: the FIFO is back within seconds; re-created by another uid: refused, one line', {
  ...T, skip: process.getuid() !== 0 && 'needs root (setpriv to other uids)',
}, async (t) => {
  const rundir = `/tmp/nodeprof-${UID2}`;
  fs.rmSync(rundir, { recursive: true, force: true });
  t.after(() => fs.rmSync(rundir, { recursive: true, force: true }));
  const cwd = tempDir(t);
  const out = tempDir(t);
  for (const d of [cwd, out]) fs.chownSync(d, UID2, UID2);
  const { node, lib } = reachableByAll(UID2);
  const [cmd, args] = asUser(UID2, node, [appScript(t), 'gate']);
  const app = startProcess(cmd, args, { env: childEnv({ NODEPROF_DIR: out, LD_PRELOAD: lib }), cwd });
  app.cwd = cwd;
  t.after(() => { if (app.exitCode === null && app.signalCode === null) app.kill('SIGKILL'); });
  await app.ready;
  fs.writeFileSync(path.join(cwd, 'go'), '');
  const fifo = `${rundir}/${app.pid}.ctl`;
  const statusOk = async () => (await ctlAs(UID2, app.pid, ['status'])).status === 0;
  assert.ok(await statusOk(), 'status before anything');

  fs.rmSync(rundir, { recursive: true, force: true });
  await waitFor(statusOk, 'status answered again after rm -rf of the run directory', 10000);
  const st = fs.lstatSync(rundir);
  assert.deepEqual({ uid: st.uid, mode: (st.mode & 0o777).toString(8) }, { uid: UID2, mode: '700' });
  assert.equal(fs.lstatSync(fifo).uid, UID2);

  // Another uid takes the directory's name meanwhile (retried if the agent
  // is quicker to re-create it).
  await waitFor(() => {
    fs.rmSync(rundir, { recursive: true, force: true });
    const [c, a] = asUser(UID3, 'mkdir', ['-m', '700', rundir]);
    return spawnSync(c, a).status === 0;
  }, 'the directory taken by another uid');
  await sleep(3000); // a few of the agent's checks
  assert.equal(fs.lstatSync(rundir).uid, UID3);
  assert.deepEqual(fs.readdirSync(rundir), [], 'something was created in the other uid\'s directory');
  assert.equal((await ctlAs(UID2, app.pid, ['status'])).status, 1);
  assert.deepEqual(nodeprofLines(app.err),
    [`nodeprof: refusing ${rundir}: not a private directory owned by uid ${UID2}; no control FIFO`]);

  // Freed again: the FIFO comes back.
  fs.rmSync(rundir, { recursive: true, force: true });
  await waitFor(statusOk, 'status answered once the directory is free', 10000);
  const end = await stopApp(app);
  assert.deepEqual({ status: end.status, signal: end.signal, out: app.out }, { status: 0, signal: null, out: 'ready\nbye\n' });
  assert.deepEqual(appStderr(app.err), []);
  assert.equal(nodeprofLines(app.err).length, 1, app.err);
  assert.equal(lstatOrNull(fifo), null, 'FIFO left after exit');
  assert.equal(cpuProfilesIn(out).length, 1);
});

// ---- a flood ---------------------------------------------------------------------

test('2,000 garbage lines and 400 commands at once: a handful of nodeprof: lines whose counts add up', T, async (t) => {
  const app = await startApp(t, ['idle', 'quiet']);
  sendAll(app.fifo, Array.from({ length: 2000 }, (_, i) => `garbage-${i} ${'z'.repeat(i % 50)}`));
  sendAll(app.fifo, Array(400).fill('status')); // one write: beyond the 128 that may wait
  const ctlCount = { n: 0 };
  const answered = async () => { ctlCount.n++; return (await ctl(app.pid, ['status'])).status === 0; };
  await waitFor(answered, 'a status answered after the burst', 60000);
  ctlCount.n++;
  const last = await ctlOk(app.pid, ['status']);
  // Every command sent was run or rejected ("commands run" is before this status itself).
  const ran = Number(/^commands run: (\d+)$/m.exec(last)[1]) + 1;
  // How many found the queue full depends on how fast the main thread
  // drains it (none, on a quick machine): the counts must add up either way.
  const busy = 400 + ctlCount.n - ran;
  assert.ok(busy >= 0, `more commands ran (${ran}) than were sent`);
  await finishIdle(app);
  const lines = nodeprofLines(app.err);
  // Rejected lines of every reason are one kind for the rate limit (log.c,
  // np_log_kind): each printed line counts those of any reason before it.
  const counts = tally(lines);
  assert.deepEqual(counts.other, [], lines.join('\n'));
  assert.equal(counts.rejected + counts.busy, 2000 + busy, lines.join('\n'));
  assert.ok(lines.length <= 8, `${lines.length} lines:\n${lines.join('\n')}`);
  assertNoLeftovers(app.dir);
});
