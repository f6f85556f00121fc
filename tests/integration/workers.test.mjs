// Worker threads: the process ends as under plain node, the main thread's
// profile is written, and with NODEPROF_WORKERS=on each worker that ends on
// its own writes its own.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import {
  APPS, NODE, assertHotProfile, childEnv, cpuProfilesIn, defaultNameRe, outcome, readCpuProfile,
  runPair, startNode, tempDir, tempLeftovers, treeOf,
} from './helpers.mjs';

const WORKERS = path.join(APPS, 'workers.js');

const LAST = {
  drain: 'main: done, the running worker does not hold the process',
  exit: 'main: process.exit(4) with a worker running',
  wait: 'ready',
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
  assert.equal(plain.stdout, [...WORKER_LINES, LAST[ending], ''].join('\n'));
  assert.equal(plain.stderr, '');
}

// Thread ids are compared by their own test; elsewhere they are masked.
const masked = (r) => ({ ...outcome(r), stdout: r.stdout.replace(/^worker \d+ /gm, 'worker N ') });

// kind → thread id, from the app's output.
function threadIds(stdout) {
  const ids = {};
  for (const m of stdout.matchAll(/^worker (\d+) \(([a-z-]+)\)/gm)) ids[m[2]] = m[1];
  ids.forever = /^worker (\d+) says: running$/m.exec(stdout)[1];
  return ids;
}

// Profiles named np-<pid>-w<thread>-<n>.cpuprofile, by thread id.
function profilesByThread(dir, pid) {
  const byThread = new Map();
  for (const f of cpuProfilesIn(dir)) {
    const m = new RegExp(`^np-${pid}-w(\\d+)-\\d+\\.cpuprofile$`).exec(path.basename(f));
    assert.ok(m, f);
    assert.ok(!byThread.has(m[1]), `two profiles for thread ${m[1]}`);
    byThread.set(m[1], f);
  }
  return byThread;
}

// The main thread's and each ended worker's profile, with its own hot
// function; workers that did not end on their own (terminated, or still
// running at exit) may have one, complete; nothing else has one.
function checkWorkerProfiles(dir, pid, stdout) {
  const ids = threadIds(stdout);
  const byThread = profilesByThread(dir, pid);
  assertHotProfile(byThread.get('0'), 'hotLoop', 0.3, { busy: true });
  assertHotProfile(byThread.get(ids.finite), 'workerHotFinite', 0.3, { busy: true });
  assertHotProfile(byThread.get(ids['self-exit']), 'workerHotSelfExit', 0.3, { busy: true });
  assertHotProfile(byThread.get(ids.throws), 'workerHotThrows', 0.3, { busy: true });
  for (const kind of ['terminated', 'forever']) if (byThread.has(ids[kind])) readCpuProfile(byThread.get(ids[kind]));
  const known = new Set(['0', ...Object.values(ids)]);
  assert.deepEqual([...byThread.keys()].filter((k) => !known.has(k)), [], 'profiles of threads the app does not have');
  assert.deepEqual(tempLeftovers(dir), []);
}

for (const ending of ['drain', 'exit']) {
  test(`workers, process ends by ${ending}: same as plain node, one profile (the main thread's)`, (t) => {
    const { lib, plain, libDir } = runPair(t, NODE, [WORKERS, ending]);
    checkPlain(plain, ending);
    assert.equal(plain.status, ending === 'exit' ? 4 : 0);
    assert.deepEqual(masked(lib), masked(plain));
    const files = cpuProfilesIn(libDir);
    assert.equal(files.length, 1, `files: ${treeOf(libDir)}`);
    assert.match(path.basename(files[0]), defaultNameRe('workers', lib.pid));
    assertHotProfile(files[0], 'hotLoop', 0.3, { busy: true });
    assert.deepEqual(tempLeftovers(libDir), []);
  });

  test(`NODEPROF_WORKERS=on, process ends by ${ending}: each worker that ended writes its own profile`, (t) => {
    const { lib, plain, libDir } = runPair(t, NODE, [WORKERS, ending],
      { libEnv: { NODEPROF_WORKERS: 'on', NODEPROF_NAME: 'np-%p-w%w-%n' } });
    checkPlain(plain, ending);
    assert.deepEqual(masked(lib), masked(plain));
    checkWorkerProfiles(libDir, lib.pid, lib.stdout);
  });
}

// The helper worker (NODEPROF_HELPER, on by default) takes a thread id and
// is seen by process.on('worker'): documented in README.md. Without it,
// the app's workers are exactly as under plain node.
test('NODEPROF_HELPER=off: the app\'s workers get the same thread ids as under plain node', (t) => {
  const { lib, plain } = runPair(t, NODE, [WORKERS, 'exit'], { libEnv: { NODEPROF_HELPER: 'off' } });
  checkPlain(plain, 'exit');
  assert.equal(lib.stdout, plain.stdout);
});

test('NODEPROF_WORKERS=on, SIGTERM with a worker running: profiles written, dies of SIGTERM', async (t) => {
  const results = [];
  for (const preload of [true, false]) {
    const cwd = tempDir(t);
    const child = startNode(WORKERS, ['wait'], {
      env: childEnv({ NODEPROF_WORKERS: 'on', NODEPROF_NAME: 'np-%p-w%w-%n' }, { preload }), cwd });
    await child.ready;
    child.kill('SIGTERM');
    const end = await child.closed;
    results.push({ cwd, pid: child.pid, seen: { status: end.status, signal: end.signal, stdout: child.out, stderr: child.err } });
  }
  const [lib, plain] = results;
  assert.equal(plain.seen.signal, 'SIGTERM');
  checkPlain(plain.seen, 'wait');
  assert.deepEqual(masked(lib.seen), masked(plain.seen));
  checkWorkerProfiles(lib.cwd, lib.pid, lib.seen.stdout);
});

test('NODEPROF_HELPER=off: an app that watches process.on(\'worker\') sees no worker it did not create', (t) => {
  const { lib, plain, libDir } = runPair(t, NODE, [path.join(APPS, 'worker-event.js')], { libEnv: { NODEPROF_HELPER: 'off' } });
  assert.equal(plain.stdout, 'done\n');
  assert.deepEqual(outcome(lib), outcome(plain));
  assertHotProfile(cpuProfilesIn(libDir)[0], 'hotLoop', 0.3, { busy: true });
});
