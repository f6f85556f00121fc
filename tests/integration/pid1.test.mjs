// Node as PID 1 of a PID namespace, as a container's entrypoint is. The
// kernel drops a default-action signal sent to PID 1, so plain node without a
// listener ignores SIGTERM, SIGINT and SIGHUP (node 20, 22 and 24). Under
// nodeprof it goes on running too, and the profile so far is written at each
// such signal, for the SIGKILL that the container runtime sends next
// (README: Containers). Needs root and unshare(1); skipped otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  childEnv, controlFifo, cpuProfilesIn, hasFunction, readCpuProfile, sleep, startProcess, tempDir, tempLeftovers,
  topSelf, treeOf, NODE,
} from './helpers.mjs';

const canUnshare = process.getuid() === 0 &&
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
const T = { timeout: 120000, skip: canUnshare ? false : 'needs root and unshare --pid' };

// node app.js idle | listen SIG | spin. idle and listen wait, doing a little
// work every 50 ms, until the file "stop" appears in the working directory;
// listen also handles SIG (prints it, exits 0 50 ms later). spin spins in
// spinAsPid1 from the first line until "stop" appears.
const APP = `'use strict';
const fs = require('fs');
const [mode, sig] = process.argv.slice(2);
function workAsPid1(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x = (x + Math.sqrt(x + 1)) % 1e9;
  return x;
}
function spinAsPid1() {
  let x = 0;
  while (!fs.existsSync('stop')) for (let i = 0; i < 1e5; i++) x = (x + Math.sqrt(i)) % 1e9;
  return x;
}
if (mode === 'listen') process.on(sig, (s) => { console.log('app got ' + s); setTimeout(() => process.exit(0), 50); });
console.log('ready, pid ' + process.pid);
if (mode === 'spin') {
  spinAsPid1();
  console.log('bye');
} else {
  const timer = setInterval(() => {
    workAsPid1(5);
    if (fs.existsSync('stop')) { clearInterval(timer); console.log('bye'); }
  }, 50);
}
`;

// Starts app.js as PID 1 of new PID, mount and UTS namespaces with the host
// name `host`, and (as a container has its own /tmp) its own nodeprof run
// directory. cwd: where it looks for "stop". Resolves once it is ready, with
// child.nodePid, node's pid as seen from here.
async function startContainer(t, args, { dir, host = 'c1', env = {}, preload = true }) {
  const cwd = tempDir(t, 'nodeprof-pid1-');
  const app = path.join(cwd, 'app.js');
  fs.writeFileSync(app, APP);
  const runDir = path.dirname(controlFifo(1));
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const inside = 'hostname "$1" && mount -t tmpfs -o mode=0700 nodeprof "$2" && shift 2 && exec "$@"';
  const child = startProcess('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', '--uts', 'sh', '-c', inside, 'sh',
    host, runDir, NODE, app, ...args], { env: childEnv({ NODEPROF_DIR: dir, ...env }, { preload }), cwd });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  await child.ready;
  const children = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/);
  assert.equal(children.length, 1, children.join(' '));
  child.nodePid = Number(children[0]);
  assert.match(fs.readFileSync(`/proc/${child.nodePid}/status`, 'utf8'), /^NSpid:\s+\d+\s+1$/m, 'node is not PID 1');
  assert.equal(child.out, 'ready, pid 1\n');
  child.cwd = cwd;
  child.stop = () => { fs.writeFileSync(path.join(cwd, 'stop'), ''); return child.closed; };
  return child;
}

// Waits (bounded) until dir holds n .cpuprofile files.
async function profilesWritten(dir, n, what) {
  for (const end = Date.now() + 20000; Date.now() < end; await sleep(50))
    if (cpuProfilesIn(dir).length >= n) return cpuProfilesIn(dir);
  assert.fail(`${what}: ${n} profile(s) not written in 20 s: ${treeOf(dir)}`);
}

const seen = (c, end) => ({ status: end.status, signal: end.signal, stdout: c.out, stderr: c.err });

test('PID 1 without a listener: SIGTERM, SIGINT, SIGHUP leave it running, as plain node; each writes the profile so far', T, async (t) => {
  const ends = [];
  for (const preload of [false, true]) {
    const dir = tempDir(t);
    const c = await startContainer(t, ['idle'], { dir, preload });
    let n = 0;
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
      process.kill(c.nodePid, sig);
      if (preload) await profilesWritten(dir, ++n, sig);
      else await sleep(300);
      assert.equal(c.exitCode, null, `${sig} ended it`);
    }
    ends.push({ dir, seen: seen(c, await c.stop()) });
  }
  const [plain, lib] = ends;
  assert.deepEqual(plain.seen, { status: 0, signal: null, stdout: 'ready, pid 1\nbye\n', stderr: '' });
  assert.deepEqual(lib.seen, plain.seen);
  const files = cpuProfilesIn(lib.dir);
  assert.equal(files.length, 4, `three dumps and the exit profile: ${treeOf(lib.dir)}`);
  for (const f of files) assert.match(path.basename(f), /^nodeprof-app-\d{8}T\d{6}Z-c1-1-[1-4]\.cpuprofile$/);
  // The app works 5 ms in every 50: the files together name it (the last,
  // from the third signal to the stop, may be too short to catch it).
  const profiles = files.map(readCpuProfile);
  assert.ok(profiles.some((p) => hasFunction(p, 'workAsPid1')), profiles.map(topSelf).join('\n'));
  assert.deepEqual(tempLeftovers(lib.dir), []);
  assert.deepEqual(cpuProfilesIn(plain.dir), []);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  test(`PID 1 with a ${sig} listener: the app's handler runs as under plain node; one profile, at exit`, T, async (t) => {
    const ends = [];
    for (const preload of [false, true]) {
      const dir = tempDir(t);
      const c = await startContainer(t, ['listen', sig], { dir, preload });
      process.kill(c.nodePid, sig);
      ends.push({ dir, seen: seen(c, await c.closed) });
    }
    const [plain, lib] = ends;
    assert.deepEqual(plain.seen, { status: 0, signal: null, stdout: `ready, pid 1\napp got ${sig}\n`, stderr: '' });
    assert.deepEqual(lib.seen, plain.seen);
    const files = cpuProfilesIn(lib.dir);
    assert.equal(files.length, 1, treeOf(lib.dir));
    assert.match(path.basename(files[0]), /-1\.cpuprofile$/);
    readCpuProfile(files[0]);
  });
}

// Busy from its first line: the helper worker, started before the app's code
// (NODEPROF_HELPER=eager: the default starts it at the first loop turn),
// writes the profile inside the spinning JavaScript; then the runtime's
// SIGKILL finds it on disk.
test('PID 1 spinning from its first line: SIGTERM writes the profile, it goes on, SIGKILL finds the file', T, async (t) => {
  const ends = [];
  for (const preload of [false, true]) {
    const dir = tempDir(t);
    const c = await startContainer(t, ['spin'], { dir, preload, env: { NODEPROF_HELPER: 'eager' } });
    process.kill(c.nodePid, 'SIGTERM');
    if (preload) await profilesWritten(dir, 1, 'SIGTERM');
    else await sleep(500);
    assert.equal(c.exitCode, null, 'SIGTERM ended it');
    process.kill(c.nodePid, 'SIGKILL');
    const end = await c.closed;
    ends.push({ dir, seen: { ...seen(c, end), status: end.status ?? end.signal } });
  }
  const [plain, lib] = ends;
  assert.equal(plain.seen.stdout, 'ready, pid 1\n');
  assert.deepEqual(lib.seen, plain.seen);
  const files = cpuProfilesIn(lib.dir);
  assert.equal(files.length, 1, treeOf(lib.dir));
  const p = readCpuProfile(files[0]);
  assert.ok(hasFunction(p, 'spinAsPid1'), topSelf(p));
  assert.deepEqual(tempLeftovers(lib.dir), []);
});

// Two containers sharing NODEPROF_DIR: both are PID 1. The default name has
// the host name (%h: the container's), so each keeps its own files by name.
// A name without it (nodeprof-%p-%t-%n, the default before) can be the same
// for both: then nothing is replaced either, the second file gets name-2.
test('two PID 1 containers sharing NODEPROF_DIR: every file whole and kept, told apart by host in the default name', T, async (t) => {
  for (const name of [undefined, 'nodeprof-%p-%t-%n']) {
    const dir = tempDir(t);
    const env = name ? { NODEPROF_NAME: name } : {};
    const cs = await Promise.all(['c1', 'c2'].map((host) => startContainer(t, ['idle'], { dir, host, env })));
    for (const c of cs) process.kill(c.nodePid, 'SIGTERM');
    await sleep(1000);
    const ended = await Promise.all(cs.map((c) => c.stop()));
    for (const [i, end] of ended.entries()) assert.deepEqual(seen(cs[i], end), { status: 0, signal: null, stdout: 'ready, pid 1\nbye\n', stderr: '' });
    const files = cpuProfilesIn(dir);
    for (const f of files) readCpuProfile(f);
    assert.deepEqual(tempLeftovers(dir), []);
    t.diagnostic(`NODEPROF_NAME=${name ?? '(default)'}: ${files.length} of 4 files kept: ${treeOf(dir).join(' ')}`);
    assert.equal(files.length, 4, `two files from each container: ${treeOf(dir).join(' ')}`);
    if (!name) {
      for (const host of ['c1', 'c2']) {
        const re = new RegExp(`^nodeprof-app-\\d{8}T\\d{6}Z-${host}-1-[12]\\.cpuprofile$`);
        assert.equal(files.filter((f) => re.test(path.basename(f))).length, 2, treeOf(dir).join(' '));
      }
    } else {
      for (const f of files) assert.match(path.basename(f), /^nodeprof-1-\d{8}T\d{6}Z-[12](-\d+)?\.cpuprofile$/);
    }
  }
});
