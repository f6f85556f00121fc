// The control FIFO under abuse: a path that is already a file or a
// symlink, overlong lines, binary garbage, empty lines and writers that
// write nothing, rejected lines that name a reply path, and 1,000 commands
// from concurrent writers. The app must run on as under plain node.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  NODE, childEnv, cpuProfilesIn, nodeprofLines, readCpuProfile, tempDir, treeOf,
} from './helpers.mjs';
import {
  RUNDIR, appStderr, assertNoLeftovers, ctl, ctlOk, finishIdle, finishSpin, lstatOrNull, sleep,
  startApp, stopApp, waitFor,
} from '../fixtures/ondemand/support.mjs';

const T = { timeout: 120000 };
const outcome = (end, child) => ({ status: end.status, signal: end.signal, stdout: child.out });

// Everything about a path that a write, chmod, touch or replacement changes.
function fingerprint(p) {
  const st = fs.lstatSync(p);
  return {
    ino: st.ino, mode: st.mode, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs,
    link: st.isSymbolicLink() ? fs.readlinkSync(p) : null,
    content: st.isFile() ? fs.readFileSync(p, 'utf8') : null,
  };
}

// Runs the quiet idle app under the library with NODEPROF_FIFO=fifoPath and
// under plain node; both must end the same way. Returns the library's run.
async function runBeside(t, fifoPath) {
  const env = { NODEPROF_FIFO: fifoPath };
  const [lib, plain] = await Promise.all([
    startApp(t, ['idle', 'quiet'], { env }), startApp(t, ['idle', 'quiet'], { env, preload: false }),
  ]);
  const [libEnd, plainEnd] = await Promise.all([stopApp(lib), stopApp(plain)]);
  assert.deepEqual(outcome(libEnd, lib), outcome(plainEnd, plain));
  assert.deepEqual(outcome(libEnd, lib), { status: 0, signal: null, stdout: 'ready\nbye\n' });
  assert.deepEqual(appStderr(lib.err), appStderr(plain.err));
  assert.equal(cpuProfilesIn(lib.dir).length, 1, 'the profile is still written');
  return lib;
}

test('NODEPROF_FIFO naming a regular file: refused with one nodeprof: line, the file untouched', T, async (t) => {
  const file = path.join(tempDir(t), 'precious.txt');
  fs.writeFileSync(file, 'precious data\n', { mode: 0o644 });
  fs.utimesSync(file, 1000000000, 1000000000);
  const before = fingerprint(file);
  const lib = await runBeside(t, file);
  const lines = nodeprofLines(lib.err);
  assert.equal(lines.length, 1, lib.err);
  assert.equal(lines[0], `nodeprof: refusing control FIFO ${file}: it exists and is not a FIFO of ours`);
  assert.deepEqual(fingerprint(file), before);
  // And nodeprof ctl does not write into it either.
  const r = await ctl(lib.pid, ['status'], { opts: ['--fifo', file] });
  assert.equal(r.status, 1);
  assert.deepEqual(fingerprint(file), before);
});

test('NODEPROF_FIFO naming a symlink (dangling, or to a file): refused, never followed', T, async (t) => {
  const dir = tempDir(t);
  const target = path.join(dir, 'target.txt');
  fs.writeFileSync(target, 'the target\n');
  const cases = [
    { link: path.join(dir, 'dangling.ctl'), to: path.join(dir, 'nothing-here.ctl') },
    { link: path.join(dir, 'to-file.ctl'), to: target },
  ];
  for (const { link, to } of cases) {
    fs.symlinkSync(to, link);
    const before = { link: fingerprint(link), target: lstatOrNull(to) && fingerprint(to) };
    const lib = await runBeside(t, link);
    const lines = nodeprofLines(lib.err);
    assert.equal(lines.length, 1, lib.err);
    assert.equal(lines[0], `nodeprof: refusing control FIFO ${link}: it exists and is not a FIFO of ours`);
    assert.deepEqual({ link: fingerprint(link), target: lstatOrNull(to) && fingerprint(to) }, before);
  }
  assert.deepEqual(fs.readdirSync(dir).sort(), ['dangling.ctl', 'target.txt', 'to-file.ctl']);
});

// The rejections that nodeprof: lines account for: { total, first: the
// first line's reason }. Fails on any other line.
function rejectedCounts(lines, prefix = 'control command rejected: ') {
  let total = 0;
  let first = null;
  for (const l of lines) {
    const m = /^nodeprof: (.*?)(?: \((\d+) similar lines? suppressed\))?$/.exec(l);
    assert.ok(m[1].startsWith(prefix), `unexpected line: ${l}`);
    first ??= m[1].slice(prefix.length);
    total += 1 + Number(m[2] ?? 0);
  }
  return { total, first };
}

// Writes each buffer to the FIFO in one write(2) of its own.
function writeEach(fifo, buffers) {
  const fd = fs.openSync(fifo, fs.constants.O_WRONLY);
  try {
    for (const b of buffers) assert.equal(fs.writeSync(fd, b), b.length);
  } finally {
    fs.closeSync(fd);
  }
}

// CPU time (ticks) of the process's thread named `name`.
function threadTicks(pid, name) {
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let comm;
    try { comm = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(); } catch { continue; }
    if (comm !== name) continue;
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  }
  assert.fail(`no thread ${name} in ${pid}`);
}

test('garbage on the FIFO: long lines, binary, empty lines, silent writers; the app runs on', T, async (t) => {
  const app = await startApp(t, ['idle']);
  const replies = tempDir(t);
  const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  writeEach(app.fifo, [
    Buffer.from(`${'a'.repeat(2000)}\n`),
    Buffer.from(`cpu dump ${'b'.repeat(5000)}\n`), // longer than PIPE_BUF
    Buffer.concat([allBytes, allBytes, Buffer.from('\n')]),
    Buffer.from('\n'), Buffer.from('\n\n\n'), Buffer.from(' \t \n'),
    Buffer.from('half a comm'), Buffer.from('and\n'), // one line in two writes: "half a command"
  ]);
  for (let i = 0; i < 20; i++) fs.closeSync(fs.openSync(app.fifo, fs.constants.O_WRONLY));

  // A line of exactly 1024 bytes is a command; 1025 bytes is too long.
  const line = (len, reply) => {
    const tail = ` reply=${reply}`;
    return Buffer.from(`status${' '.repeat(len - 6 - tail.length)}${tail}\n`);
  };
  const ok1024 = path.join(replies, 'ok-1024');
  const long1025 = path.join(replies, 'long-1025');
  fs.writeFileSync(ok1024, '');
  fs.writeFileSync(long1025, '');
  writeEach(app.fifo, [line(1024, ok1024), line(1025, long1025)]);
  await waitFor(() => fs.statSync(ok1024).size > 0, 'the reply to the 1024-byte command');
  assert.match(fs.readFileSync(ok1024, 'utf8'), new RegExp(`^ok\\npid: ${app.pid}\\n`));

  // The agent thread does not spin after all that (EOF on a FIFO, say):
  // well under a quarter of a CPU second in one second.
  const before = threadTicks(app.pid, 'nodeprof');
  await sleep(1000);
  const spent = threadTicks(app.pid, 'nodeprof') - before;
  assert.ok(spent < 25, `the agent thread used ${spent} ticks in 1 s`);

  assert.match(await ctlOk(app.pid, ['status']), /^cpu: running since /m);
  await finishIdle(app);
  assert.deepEqual(appStderr(app.err), []);
  // 2000 and 5000 bytes; the binary's three pieces between its newline
  // bytes; the line of blanks; "half a command": 7 rejections without a
  // reply path. Rate-limited: a line a second at most, each standing for
  // itself and the "N more" held back before it. The 1025-byte line named a
  // reply path: its error went there, not to the app's stderr.
  assert.deepEqual(rejectedCounts(nodeprofLines(app.err)), { total: 7, first: 'command too long' },
    nodeprofLines(app.err).join('\n'));
  assert.ok(nodeprofLines(app.err).length <= 3, app.err);
  assert.equal(fs.readFileSync(path.join(replies, 'long-1025'), 'utf8'), 'error: command too long\n');
  assert.equal(cpuProfilesIn(app.dir).length, 1, 'no command ran but the 1024-byte status');
  assertNoLeftovers(replies);
});

// README: rejected lines get "an error reply, or one nodeprof: line on the
// app's stderr when there is no reply path".
test('rejected lines that name a reply path get an error reply, whatever the reason', T, async (t) => {
  const app = await startApp(t, ['idle', 'quiet']);
  const dir = tempDir(t);
  const reply = (name) => {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) fs.writeFileSync(file, '');
    return file;
  };
  const cases = {
    unknown: [`frobnicate reply=${reply('unknown')}`, "error: unknown command 'frobnicate' (try: help)\n"],
    badarg: [`cpu start interval=abc reply=${reply('badarg')}`, /^error: interval=abc: /],
    words: [`status a b c d e f g reply=${reply('words')}`, 'error: too many words\n'],
    control: [`status\x01 reply=${reply('control')}`, 'error: command is not text\n'],
    long: [`status reply=${reply('long')} ${'x'.repeat(1100)}`, 'error: command too long\n'],
  };
  writeEach(app.fifo, Object.values(cases).map(([l]) => Buffer.from(`${l}\n`)));
  // Lines are handled in order: once this is answered, all were.
  writeEach(app.fifo, [Buffer.from(`status reply=${reply('last')}\n`)]);
  await waitFor(() => fs.statSync(reply('last')).size > 0, 'the last reply');
  await sleep(300); // a little more for any straggler
  const missing = [];
  for (const [name, [, want]] of Object.entries(cases)) {
    if (!fs.statSync(reply(name)).size) { missing.push(name); continue; }
    const got = fs.readFileSync(reply(name), 'utf8');
    if (typeof want === 'string') assert.equal(got, want, name);
    else assert.match(got, want, name);
  }
  await finishIdle(app);
  assert.deepEqual(missing, [], `no error reply for: ${missing.join(', ')}; app stderr:\n${app.err}`);
});

// `count` lines, each written by one write(2), by one writer process.
function writer(fifo, count, offset) {
  const code = `
    const fs = require('fs');
    const fd = fs.openSync(process.argv[1], fs.constants.O_WRONLY);
    for (let i = 0; i < ${count}; i++) {
      const line = (i + ${offset}) % 2 ? 'status\\n' : 'cpu dump\\n';
      if (fs.writeSync(fd, line) !== line.length) process.exit(1);
    }`;
  const child = spawn(NODE, ['-e', code, fifo], { env: childEnv({}, { preload: false }), stdio: 'ignore' });
  return new Promise((resolve) => child.on('exit', (status) => resolve(status)));
}

for (const mode of ['idle', 'spin']) {
  test(`1,000 commands from 4 concurrent writers (${mode}), then status with a reply: all is well`, T, async (t) => {
    const app = await startApp(t, [mode]);
    const began = Date.now();
    const statuses = await Promise.all([0, 1, 2, 3].map((k) => writer(app.fifo, 250, k)));
    assert.deepEqual(statuses, [0, 0, 0, 0]);
    const early = nodeprofLines(app.err).length;
    const burstSeconds = (Date.now() - began) / 1000;
    const final = await ctl(app.pid, ['status']);
    const ctlPids = [final.pid];
    // At most 128 commands wait; the final one may find the queue full.
    if (final.status === 0) assert.match(final.stdout, new RegExp(`^pid: ${app.pid}$`, 'm'));
    else assert.equal(final.stderr, 'nodeprof: busy: too many commands waiting\n');
    // Once the queue drains, status answers again.
    await waitFor(async () => {
      const r = await ctl(app.pid, ['status']);
      ctlPids.push(r.pid);
      return r.status === 0;
    }, 'an answered status', 60000);
    assert.equal(app.exitCode, null);
    // Every command sent was run or rejected: "commands run" (before this
    // status itself) tells how many were rejected.
    const last = await ctl(app.pid, ['status']);
    ctlPids.push(last.pid);
    const run = Number(/^commands run: (\d+)$/m.exec(last.stdout)[1]) + 1;
    const rejected = 1000 + ctlPids.length - run;
    assert.ok(rejected > 0, 'the burst never filled the queue');
    if (mode === 'idle') await finishIdle(app);
    else await finishSpin(app);

    assert.deepEqual(appStderr(app.err), [], 'the app\'s own stderr');
    // Every rejection is counted, those with a reply path too; a line a
    // second at most (the burst takes a few seconds to drain here).
    const lines = nodeprofLines(app.err);
    assert.deepEqual(rejectedCounts(lines), { total: rejected, first: 'busy: too many commands waiting' }, lines.join('\n'));
    assert.ok(lines.length <= 30, `${lines.length} lines for one burst`);
    assert.ok(early <= 1 + Math.ceil(burstSeconds), `${early} lines in the ${burstSeconds} s of the burst`);
    const files = cpuProfilesIn(app.dir);
    assert.ok(files.length >= 2, treeOf(app.dir));
    for (const f of files) readCpuProfile(f);
    assertNoLeftovers(app.dir);
    const left = fs.readdirSync(RUNDIR).filter((f) => ctlPids.some((p) => f.startsWith(`reply-${p}-`)));
    assert.deepEqual(left, [], 'reply FIFOs of nodeprof ctl left behind');
  });
}
