// Files and the directory they go to: every file 0600 unless
// NODEPROF_FILE_MODE widens it; NODEPROF_DIR refused when another user
// could swap it (a directory or symlink of another uid on the path); error
// lines that name the variable; repeated failures rate-limited with counts;
// a heap snapshot that fills the disk gives the space back.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import {
  APPS, LIB, NODE, copyAgentBeside, reachableByAll, assertSameOutcome, childEnv, cpuProfilesIn, nodeprofLines, readCpuProfile, run, runPair,
  tempDir, tempLeftovers, treeOf, withoutNodeprofLines,
} from './helpers.mjs';
import {
  assertNoLeftovers, ctl, ctlOk, finishIdle, onePath, readHeapSnapshot, startApp,
} from '../fixtures/ondemand/support.mjs';

const ENDS = path.join(APPS, 'ends.js');
const ALL_FORMATS = 'cpuprofile,pprof,collapsed,speedscope,html,top';
const modeOf = (file) => (fs.statSync(file).mode & 0o777).toString(8);
const T = { timeout: 120000 };

// Every file of dir (recursively) has this mode; returns their names.
function assertModes(dir, want) {
  const files = treeOf(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile());
  for (const f of files) assert.equal(modeOf(path.join(dir, f)), want, `${f}`);
  return files;
}

// The same run with and without the library, apart from nodeprof's lines.
function sameButLog(lib, plain) {
  assert.deepEqual({ status: lib.status, signal: lib.signal, stdout: lib.stdout },
    { status: plain.status, signal: plain.signal, stdout: plain.stdout });
  assert.equal(withoutNodeprofLines(lib.stderr), plain.stderr);
  return nodeprofLines(lib.stderr);
}

// ---- modes ------------------------------------------------------------------------

test('by default every profile and derived file is 0600, whatever the umask', (t) => {
  const { lib, plain, libDir } = runPair(t, '/bin/sh', ['-c', 'umask 0 && exec "$0" "$@"', NODE, ENDS, 'drain'],
    { libEnv: { NODEPROF_FORMATS: ALL_FORMATS, NODEPROF_HEAP: 'on' } });
  assertSameOutcome(lib, plain);
  const files = assertModes(libDir, '600');
  for (const ext of ['.cpuprofile', '.heapprofile', '.pb.gz', '.collapsed.txt', '.speedscope.json', '.html', '.top.txt']) {
    const kinds = ext.endsWith('profile') ? [ext] : [`.cpu${ext}`, `.heap${ext}`];
    for (const kind of kinds) assert.ok(files.some((f) => f.endsWith(kind)), `no ${kind} in ${files}`);
  }
  assert.equal(files.length, 12, files.join(' ')); // six formats, CPU and heap
});

test('NODEPROF_FILE_MODE=0644: every format, 0644 exactly even under umask 077', (t) => {
  const { lib, plain, libDir } = runPair(t, '/bin/sh', ['-c', 'umask 077 && exec "$0" "$@"', NODE, ENDS, 'drain'],
    { libEnv: { NODEPROF_FORMATS: ALL_FORMATS, NODEPROF_HEAP: 'on', NODEPROF_FILE_MODE: '0644' } });
  assertSameOutcome(lib, plain);
  assert.equal(assertModes(libDir, '644').length, 12);
});

test('NODEPROF_FILE_MODE=0640: heap snapshots, traces, dumps and the exit profile too', T, async (t) => {
  const app = await startApp(t, ['idle'], { env: { NODEPROF_FILE_MODE: '0640' } });
  const snap = onePath(await ctlOk(app.pid, ['heap', 'snapshot', 'force']), app.dir, '.heapsnapshot');
  readHeapSnapshot(snap);
  await ctlOk(app.pid, ['trace', 'start']);
  onePath(await ctlOk(app.pid, ['trace', 'stop']), app.dir, '.trace.json');
  onePath(await ctlOk(app.pid, ['cpu', 'dump']), app.dir, '.cpuprofile');
  await finishIdle(app);
  const files = assertModes(app.dir, '640');
  assert.equal(files.length, 4, files.join(' '));
  assert.equal(app.err, '');
});

test('a heap snapshot is 0600 by default', T, async (t) => {
  const app = await startApp(t, ['idle']);
  const snap = onePath(await ctlOk(app.pid, ['heap', 'snapshot', 'force']), app.dir, '.heapsnapshot');
  assert.equal(modeOf(snap), '600');
  await finishIdle(app);
  assertModes(app.dir, '600');
});

for (const [value, why] of [
  ['0755', 'no execute, setuid, setgid or sticky bits (at most 0664)'],
  ['4644', 'no execute, setuid, setgid or sticky bits (at most 0664)'],
  ['0444', 'the owner must keep read and write (0600)'],
  ['0666', 'others may not write (at most 0664)'],
  ['rw-r--r--', 'expected 3 or 4 octal digits, such as 0640'],
  ['0x1a4', 'expected 3 or 4 octal digits, such as 0640'],
]) {
  test(`NODEPROF_FILE_MODE=${value}: one line, and 0600`, (t) => {
    const { lib, plain, libDir } = runPair(t, NODE, [ENDS, 'drain'], { libEnv: { NODEPROF_FILE_MODE: value } });
    assert.deepEqual(sameButLog(lib, plain), [`nodeprof: invalid NODEPROF_FILE_MODE=${value}: ${why}; using 0600`]);
    assert.equal(assertModes(libDir, '600').length, 1);
  });
}

// ---- NODEPROF_DIR and other users ---------------------------------------------------

const HOSTILE = 12345;
const OTHER = 23456;
const as = (uid) => [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];

function needRoot(t) {
  if (process.getuid() !== 0 || run('setpriv', ['--version'], { env: process.env }).status !== 0) {
    t.skip('needs root and setpriv for real uids');
    return false;
  }
  return true;
}

// What a hostile user (uid 12345) plants in a shared sticky directory
// (root's, 1777, as /tmp): a directory of theirs, a directory of theirs
// holding one 0777 directory, and a symlink of theirs to a directory of
// root's. Also an app, a library and a target that any uid can read.
function plant(t) {
  const base = tempDir(t, 'nodeprof-files-');
  fs.chmodSync(base, 0o755);
  const pub = path.join(base, 'pub');
  fs.mkdirSync(pub);
  fs.chmodSync(pub, 0o1777);
  const target = path.join(base, 'target');
  fs.mkdirSync(target, { mode: 0o777 });
  fs.chmodSync(target, 0o777);
  const sh = (cmd) => {
    const r = run('setpriv', [...as(HOSTILE), '/bin/sh', '-c', cmd], { env: process.env, cwd: pub });
    assert.equal(r.status, 0, r.stderr);
  };
  sh(`mkdir -m 0777 shared theirs && mkdir -m 0777 theirs/p && ln -s ${target} link`);
  for (const [f, uid] of [['shared', HOSTILE], ['theirs/p', HOSTILE], ['link', HOSTILE]])
    assert.equal(fs.lstatSync(path.join(pub, f)).uid, uid, f);
  fs.symlinkSync(target, path.join(pub, 'rootlink')); // root's own: trusted
  const app = path.join(base, 'ends.js');
  fs.copyFileSync(ENDS, app);
  fs.chmodSync(app, 0o644);
  // ends.js requires ./burn: without it the app itself fails.
  fs.copyFileSync(path.join(APPS, 'burn.js'), path.join(base, 'burn.js'));
  fs.chmodSync(path.join(base, 'burn.js'), 0o644);
  const lib = path.join(base, 'libnodeprof.so');
  fs.copyFileSync(LIB, lib);
  copyAgentBeside(lib);
  fs.chmodSync(lib, 0o755);
  return { base, pub, target, app, lib };
}

// Runs the app as uid (null: as root) with and without the library.
function runAs(uid, p, libEnv) {
  const prefix = uid === null ? [] : as(uid);
  const args = [...prefix, uid === null ? NODE : reachableByAll(uid).node, p.app, 'drain'];
  const opts = { cwd: p.base };
  const lib = run('setpriv', args, { ...opts, env: childEnv({ ...libEnv, LD_PRELOAD: p.lib }) });
  const plain = run('setpriv', args, { ...opts, env: childEnv({}, { preload: false }) });
  return { lib, plain };
}

function assertRefused({ lib, plain }, value, why) {
  const lines = sameButLog(lib, plain);
  assert.equal(lines.length, 1, lib.stderr);
  assert.ok(lines[0].startsWith(`nodeprof: NODEPROF_DIR=${value}: refusing `), lines[0]);
  assert.match(lines[0], why);
}

for (const uid of [null, OTHER]) {
  const who = uid === null ? 'root' : `uid ${OTHER}`;
  test(`NODEPROF_DIR through another user's directory or symlink, the app as ${who}: refused, one line, nothing written`,
    T, (t) => {
      if (!needRoot(t)) return;
      const p = plant(t);
      const before = treeOf(p.base);
      const cases = [
        ['pub/shared', /refusing .*\/pub\/shared: a directory of uid 12345/],
        ['pub/shared/sub', /refusing .*\/pub\/shared: a directory of uid 12345/],
        ['pub/theirs/p', /refusing .*\/pub\/theirs: a directory of uid 12345/],
        ['pub/link', /refusing .*\/pub\/link: a symlink of uid 12345/],
        ['pub/link/sub', /refusing .*\/pub\/link: a symlink of uid 12345/],
      ];
      for (const [rel, why] of cases) {
        const value = path.join(p.base, rel);
        assertRefused(runAs(uid, p, { NODEPROF_DIR: value }), value, why);
      }
      assert.deepEqual(treeOf(p.base), before, 'something was created');
      // The controls: a directory made by the app itself in the sticky
      // directory, and (as root) root's own symlink, are used.
      const mine = path.join(p.pub, `mine-${uid ?? 0}`);
      const ok = runAs(uid, p, { NODEPROF_DIR: mine });
      assert.deepEqual(sameButLog(ok.lib, ok.plain), []);
      readCpuProfile(cpuProfilesIn(mine)[0]);
      assert.equal(fs.statSync(mine).uid, uid ?? 0);
      assert.equal((fs.statSync(mine).mode & 0o777).toString(8), '700');
      if (uid === null) {
        const viaLink = runAs(uid, p, { NODEPROF_DIR: path.join(p.pub, 'rootlink') });
        assert.deepEqual(sameButLog(viaLink.lib, viaLink.plain), []);
        assert.equal(cpuProfilesIn(p.target).length, 1);
      }
    });
}

// NODEPROF_LOG_FILE and NODEPROF_MANIFEST are appended to, often in a shared /tmp. A hostile
// user plants, where the victim's value points: a symlink to a file of the victim's (appending to
// it would be writing into a file of the attacker's choosing), a file of their own (it would
// receive the victim's lines), a FIFO nobody reads (opening it for writing would block), and,
// above the file, a directory or a symlink of theirs (the victim would create the file wherever
// the attacker points it).
for (const uid of [null, OTHER]) {
  const who = uid === null ? 'root' : `uid ${OTHER}`;
  test(`NODEPROF_LOG_FILE and NODEPROF_MANIFEST planted by another user, the app as ${who}: not written, one line, the app runs on`,
    T, (t) => {
      if (!needRoot(t)) return;
      const p = plant(t);
      const victimFile = path.join(p.target, 'victim.txt');
      fs.writeFileSync(victimFile, 'precious\n');
      if (uid !== null) fs.chownSync(victimFile, uid, uid);
      fs.chownSync(p.target, uid ?? 0, uid ?? 0);
      fs.chmodSync(p.target, 0o755);
      const sh = (cmd) => assert.equal(run('setpriv', [...as(HOSTILE), '/bin/sh', '-c', cmd],
        { env: process.env, cwd: p.pub }).status, 0);
      sh(`ln -s ${victimFile} tolink && touch theirs.log && chmod 666 theirs.log && mkfifo -m 666 fifo`);
      const cases = [
        ['tolink', /: a symlink of another user \(uid 12345\): not followed/],
        ['theirs.log', /: belongs to another user: not written to/],
        ['fifo', /: cannot open: No such device or address|: belongs to another user: not written to/],
        ['shared/new.log', /: refusing .*\/pub\/shared: a directory of uid 12345/],
        ['link/new.log', /: refusing .*\/pub\/link: a symlink of uid 12345/],
      ];
      for (const [name, why] of cases) {
        const value = path.join(p.pub, name);
        for (const v of ['NODEPROF_LOG_FILE', 'NODEPROF_MANIFEST']) {
          const started = Date.now();
          const r = runAs(uid, p, { [v]: value, NODEPROF_DIR: path.join(p.pub, `out-${uid ?? 0}`) });
          assert.ok(Date.now() - started < 60000, 'the app did not hang');
          const lines = sameButLog(r.lib, r.plain);
          assert.equal(lines.length, 1, r.lib.stderr);
          assert.ok(lines[0].startsWith(`nodeprof: ${v}=${value}: `), lines[0]);
          assert.match(lines[0], why);
        }
      }
      assert.equal(fs.readFileSync(victimFile, 'utf8'), 'precious\n');
      assert.equal(fs.readFileSync(path.join(p.pub, 'theirs.log'), 'utf8'), '');
      assert.deepEqual(fs.readdirSync(p.target).sort(), ['victim.txt'], 'nothing created through the link');
      assert.deepEqual(fs.readdirSync(path.join(p.pub, 'shared')), [], 'nothing created in their directory');
      // The control: the app's own new file in the same sticky directory is written.
      const own = path.join(p.pub, `own-${uid ?? 0}.log`);
      const ok = runAs(uid, p, { NODEPROF_MANIFEST: own, NODEPROF_DIR: path.join(p.pub, `out-${uid ?? 0}`) });
      assert.deepEqual(sameButLog(ok.lib, ok.plain), []);
      assert.match(fs.readFileSync(own, 'utf8'), /\.cpuprofile\n$/);
      // /dev/stderr is a symlink of root's: followed.
      const err = runAs(uid, p, { NODEPROF_LOG_FILE: '/dev/stderr', NODEPROF_LOG: 'info', NODEPROF_DIR: path.join(p.pub, `out-${uid ?? 0}`) });
      assert.match(err.lib.stderr, /nodeprof: wrote /);
    });
}

// ---- messages name the variable ------------------------------------------------------

test('NODEPROF_DIR, NODEPROF_MANIFEST and NODEPROF_LOG_FILE failures name the variable and its value', (t) => {
  const dir = '/proc/nonexistent/x';
  let { lib, plain } = runPair(t, NODE, [ENDS, 'drain'], { libEnv: { NODEPROF_DIR: dir } });
  assert.deepEqual(sameButLog(lib, plain),
    [`nodeprof: NODEPROF_DIR=${dir}: cannot create directory /proc/nonexistent: No such file or directory`]);
  ({ lib, plain } = runPair(t, NODE, [ENDS, 'drain'], { libEnv: { NODEPROF_MANIFEST: '/proc/nonexistent/m' } }));
  assert.deepEqual(sameButLog(lib, plain),
    ['nodeprof: NODEPROF_MANIFEST=/proc/nonexistent/m: /proc/nonexistent: No such file or directory']);
  ({ lib, plain } = runPair(t, NODE, [ENDS, 'drain'], { libEnv: { NODEPROF_LOG_FILE: '/proc/nonexistent/l' } }));
  assert.deepEqual(sameButLog(lib, plain),
    ['nodeprof: NODEPROF_LOG_FILE=/proc/nonexistent/l: /proc/nonexistent: No such file or directory; logging to stderr']);
});

// ---- rate limiting ------------------------------------------------------------------------

const SUPPRESSED = / \((\d+) similar lines? suppressed\)$/;

// A 3.5 s app writing every 100 ms into dir, which fails every time. Each
// kind of line (the failure itself, and the period command's own report of
// it) is printed at about 0 s, 1 s, 3 s, 7 s... (the gap doubles), with the
// number of similar lines dropped since the last one. Returns the lines of
// the failure's kind (the first kind printed).
function assertRateLimited(t, dir, env = {}) {
  const script = 'setTimeout(() => {}, 3500)';
  const { lib, plain } = runPair(t, NODE, ['-e', script], { libEnv: { NODEPROF_DIR: dir, NODEPROF_PERIOD: '100ms', ...env } });
  const lines = sameButLog(lib, plain);
  const kinds = new Map();
  for (const l of lines) {
    const kind = l.replace(SUPPRESSED, '').replace(/\d+/g, '#');
    kinds.set(kind, [...(kinds.get(kind) ?? []), l]);
  }
  assert.ok(kinds.size >= 1 && kinds.size <= 2, [...kinds.keys()].join('\n'));
  for (const same of kinds.values()) {
    // Slow start-up on a loaded machine only makes the run longer: 6 lines
    // cover 31 s.
    assert.ok(same.length >= 2 && same.length <= 6, `${same.length} lines:\n${same.join('\n')}`);
    const counted = same.map((l) => Number(SUPPRESSED.exec(l)?.[1] ?? 0));
    // Every line stands for itself and the N before it; the one printed at
    // exit may have none before it.
    assert.ok(counted.slice(1, -1).every((n) => n > 0), `a line without its count:\n${same.join('\n')}`);
    const reported = same.length + counted.reduce((a, b) => a + b, 0);
    assert.ok(reported >= 10, `only ${reported} failures reported:\n${same.join('\n')}`);
  }
  return [...kinds.values()][0];
}

test('NODEPROF_PERIOD=100ms into a directory that cannot exist: a handful of lines, with counts', (t) => {
  const base = tempDir(t);
  fs.writeFileSync(path.join(base, 'file'), '');
  const lines = assertRateLimited(t, path.join(base, 'file/profiles'));
  assert.match(lines[0], /NODEPROF_DIR=.*\/file\/profiles: .*Not a directory/);
});

// A tmpfs of `size` mounted at a fresh directory, unmounted after the test;
// null if this process may not mount.
function tinyTmpfs(t, size) {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-tmpfs-'));
  const m = run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', mnt], { env: process.env });
  if (m.status !== 0) {
    fs.rmdirSync(mnt);
    t.skip(`cannot mount a tmpfs: ${m.stderr.trim()}`);
    return null;
  }
  t.after(() => {
    run('umount', ['-l', mnt], { env: process.env });
    fs.rmdirSync(mnt);
  });
  return mnt;
}

test('NODEPROF_PERIOD=100ms into a full disk: a handful of lines, with counts', (t) => {
  const mnt = tinyTmpfs(t, '64k');
  if (!mnt) return;
  const fd = fs.openSync(path.join(mnt, 'filler'), 'w');
  try { for (;;) fs.writeSync(fd, Buffer.alloc(1024)); } catch (e) { assert.equal(e.code, 'ENOSPC'); }
  fs.closeSync(fd);
  const lines = assertRateLimited(t, mnt);
  assert.match(lines[0], /No space left on device/);
  assert.deepEqual(treeOf(mnt), ['filler']);
});

// ---- disk space after a failed heap snapshot --------------------------------------------------

test('a heap snapshot that fills the disk gives the space back: the exit profile is still written', T, async (t) => {
  const mnt = tinyTmpfs(t, '1m');
  if (!mnt) return;
  const app = await startApp(t, ['idle'], { env: { NODEPROF_DIR: mnt } });
  const free = () => { const s = fs.statfsSync(mnt); return s.bavail * s.bsize; };
  const total = free();
  const r = await ctl(app.pid, ['heap', 'snapshot', 'force']);
  assert.equal(r.status, 1, r.stdout);
  assert.match(r.stdout + r.stderr, /no space left on device/i);
  // One line on the app's stderr, and the space is back while it runs.
  const lines = nodeprofLines(app.err);
  assert.equal(lines.length, 1, app.err);
  assert.match(lines[0], /^nodeprof: cannot write the heap snapshot to .*\.heapsnapshot: ENOSPC/);
  assert.ok(free() >= total - 64 * 1024, `${total - free()} bytes still used`);
  assert.deepEqual(treeOf(mnt), []);
  // node's leaked descriptor on the deleted temporary is closed too.
  const held = fs.readdirSync(`/proc/${app.pid}/fd`).map((fd) => {
    try { return fs.readlinkSync(`/proc/${app.pid}/fd/${fd}`); } catch { return ''; }
  }).filter((l) => l.startsWith(mnt));
  assert.deepEqual(held, []);
  await finishIdle(app);
  const profiles = cpuProfilesIn(mnt);
  assert.equal(profiles.length, 1, treeOf(mnt).join(' '));
  assert.ok(readCpuProfile(profiles[0]).samples.length > 0);
  assertNoLeftovers(mnt);
});

// ---- never replacing another process's file --------------------------------------

// Two processes given the same name for their files (two containers' PID 1
// sharing a volume, NODEPROF_NAME without %p): the second gets the next free
// variant for every file of its write, and the first is left as it was.
test('the same name from two processes: nothing replaced, the second gets name-2', T, (t) => {
  const dir = tempDir(t);
  const env = childEnv({ NODEPROF_DIR: dir, NODEPROF_NAME: 'service', NODEPROF_FORMATS: 'cpuprofile,pprof' });
  const script = "let x = 0; const end = Date.now() + 200; while (Date.now() < end) x += Math.sqrt(x + 1); console.log('done');";
  const first = run(NODE, ['-e', script], { env });
  assert.equal(first.status, 0, first.stderr);
  const before = fs.readFileSync(path.join(dir, 'service.cpuprofile'));
  const second = run(NODE, ['-e', script], { env });
  assert.equal(second.status, 0, second.stderr);
  assert.deepEqual(treeOf(dir).sort(), ['service-2.cpu.pb.gz', 'service-2.cpuprofile', 'service.cpu.pb.gz', 'service.cpuprofile']);
  assert.ok(fs.readFileSync(path.join(dir, 'service.cpuprofile')).equals(before), 'the first profile was replaced');
  for (const f of ['service.cpuprofile', 'service-2.cpuprofile']) readCpuProfile(path.join(dir, f));
  // A third.
  const third = run(NODE, ['-e', script], { env: { ...env, NODEPROF_FORMATS: 'cpuprofile' } });
  assert.equal(third.status, 0, third.stderr);
  assert.ok(fs.existsSync(path.join(dir, 'service-3.cpuprofile')), treeOf(dir).join(' '));
  assert.deepEqual(tempLeftovers(dir), []);
});

// ---- crash reports in a shared directory -----------------------------------------

// The crash handler's temporary file had a name anyone could work out
// (".<name>.crash.txt.tmp"); in a sticky directory another user who made
// it first kept a non-root app's report from being written. Its name is
// now random, made at start-up.
test('a crash report in a shared sticky directory: another user\'s file at a predictable temporary name does not stop it', T, (t) => {
  if (!needRoot(t)) return;
  const p = plant(t);
  const script = path.join(p.base, 'abort.js');
  fs.writeFileSync(script, 'setTimeout(() => process.abort(), 20);\n');
  fs.chmodSync(script, 0o644);
  const planted = ['.victim.crash.txt.tmp', `.victim.crash.txt.tmp.${process.pid}`];
  const sh = run('setpriv', [...as(HOSTILE), '/bin/sh', '-c', `touch ${planted.join(' ')}`], { env: process.env, cwd: p.pub });
  assert.equal(sh.status, 0, sh.stderr);
  const args = [...as(OTHER), '/bin/sh', '-c', 'ulimit -c 0; exec "$@"', 'sh', reachableByAll(OTHER).node, script];
  const r = run('setpriv', args, {
    cwd: p.base, env: childEnv({ LD_PRELOAD: p.lib, NODEPROF_DIR: p.pub, NODEPROF_NAME: 'victim', NODEPROF_CPU: 'off' }),
  });
  assert.equal(r.signal, 'SIGABRT', r.stderr);
  const report = path.join(p.pub, 'victim.crash.txt');
  assert.ok(fs.existsSync(report), `no report: ${fs.readdirSync(p.pub)}`);
  assert.equal(fs.statSync(report).uid, OTHER);
  assert.match(fs.readFileSync(report, 'utf8'), /^nodeprof crash report\nsignal: 6 \(SIGABRT\)/);
  // Only the planted files are left beside it.
  const hidden = fs.readdirSync(p.pub).filter((f) => f.startsWith('.'));
  assert.deepEqual(hidden.sort(), planted.sort());
});
