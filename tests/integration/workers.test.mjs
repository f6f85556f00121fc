// Worker threads: the process ends as under plain node, the main thread's
// profile is written, and with NODEPROF_WORKERS=on each worker that ends on
// its own writes its own.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import {
  APPS, NODE, assertHotProfile, assertSameOutcome, childEnv, cpuProfilesIn, defaultNameRe,
  readCpuProfile, runPair, startNode, tempDir, tempLeftovers, treeOf,
} from './helpers.mjs';

const WORKERS = path.join(APPS, 'workers.js');

const expected = {
  drain: { status: 0, last: 'main: done, the running worker does not hold the process' },
  exit: { status: 4, last: 'main: process.exit(4) with a worker running' },
};

const WORKER_LINES = [
  'worker 1 (finite) exited with 0',
  'worker 2 (self-exit) exited with 6',
  'worker 3 (throws) failed: worker failure',
  'worker 3 (throws) exited with 1',
  'worker 4 (terminated) exited with 1',
  'worker 5 says: running',
];

function checkPlain(plain, ending) {
  assert.equal(plain.status, expected[ending].status, plain.stderr);
  assert.equal(plain.stdout, [...WORKER_LINES, expected[ending].last, ''].join('\n'));
  assert.equal(plain.stderr, '');
}

for (const ending of ['drain', 'exit']) {
  test(`workers, process ends by ${ending}: same as plain node, one profile (the main thread's)`, (t) => {
    const { lib, plain, libDir } = runPair(t, NODE, [WORKERS, ending]);
    checkPlain(plain, ending);
    assertSameOutcome(lib, plain);
    const files = cpuProfilesIn(libDir);
    assert.equal(files.length, 1, `files: ${treeOf(libDir)}`);
    assert.match(path.basename(files[0]), defaultNameRe(lib.pid));
    assertHotProfile(files[0], 'hotLoop', 0.15);
    assert.deepEqual(tempLeftovers(libDir), []);
  });

  test(`NODEPROF_WORKERS=on, process ends by ${ending}: each worker that ended writes its own profile`, (t) => {
    const { lib, plain, libDir } = runPair(t, NODE, [WORKERS, ending],
      { libEnv: { NODEPROF_WORKERS: 'on', NODEPROF_NAME: 'np-%p-w%w-%n' } });
    checkPlain(plain, ending);
    assertSameOutcome(lib, plain);
    const byThread = new Map();
    for (const f of cpuProfilesIn(libDir)) {
      const m = new RegExp(`^np-${lib.pid}-w(\\d+)-\\d+\\.cpuprofile$`).exec(path.basename(f));
      assert.ok(m, f);
      assert.ok(!byThread.has(m[1]), `two profiles for thread ${m[1]}`);
      byThread.set(m[1], f);
    }
    assertHotProfile(byThread.get('0'), 'hotLoop', 0.15);
    assertHotProfile(byThread.get('1'), 'workerHotFinite');
    assertHotProfile(byThread.get('2'), 'workerHotSelfExit');
    assertHotProfile(byThread.get('3'), 'workerHotThrows');
    // Workers that did not end on their own (4 terminated, 5 still running
    // at exit) may or may not have written one; if they did, it is complete.
    for (const id of ['4', '5']) if (byThread.has(id)) readCpuProfile(byThread.get(id));
    assert.deepEqual([...byThread.keys()].filter((k) => !['0', '1', '2', '3', '4', '5'].includes(k)), []);
    assert.deepEqual(tempLeftovers(libDir), []);
  });
}

test('NODEPROF_WORKERS=on, SIGTERM with a worker running: main profile written, dies of SIGTERM', async (t) => {
  const results = [];
  for (const preload of [true, false]) {
    const cwd = tempDir(t);
    const child = startNode(WORKERS, ['wait'], {
      env: childEnv({ NODEPROF_WORKERS: 'on', NODEPROF_NAME: 'np-%p-w%w-%n' }, { preload }), cwd });
    await child.ready;
    child.kill('SIGTERM');
    const end = await child.closed;
    results.push({ cwd, pid: child.pid, seen: { ...end, at: undefined, stdout: child.out, stderr: child.err } });
  }
  const [lib, plain] = results;
  assert.equal(plain.seen.signal, 'SIGTERM');
  assert.equal(plain.seen.stdout, [...WORKER_LINES, 'ready', ''].join('\n'));
  assert.deepEqual(lib.seen, plain.seen);
  const names = cpuProfilesIn(lib.cwd).map((f) => path.basename(f));
  const main = names.filter((n) => n.startsWith(`np-${lib.pid}-w0-`));
  assert.equal(main.length, 1, names.join(' '));
  assertHotProfile(path.join(lib.cwd, main[0]), 'hotLoop', 0.15);
  for (const id of [1, 2, 3]) assert.ok(names.some((n) => n.startsWith(`np-${lib.pid}-w${id}-`)), names.join(' '));
  for (const n of names) readCpuProfile(path.join(lib.cwd, n));
  assert.deepEqual(tempLeftovers(lib.cwd), []);
});
