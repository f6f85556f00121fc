// A process busy in JavaScript from its first line (a CPU-bound CLI, a
// compiler, a slow synchronous start-up): its event loop never runs, so
// only a helper worker created at the agent's init, before the app's code
// (NODEPROF_HELPER=eager), can take a signal or a command there. By default
// (NODEPROF_HELPER=on) the helper starts at the event loop's first turn:
// such a process is not rescued, one that yields once is (README: How it
// works, 5).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  APPS, NODE, childEnv, cpuProfilesIn, hasFunction, outcome, readCpuProfile, runPair, startNode, tempDir,
  tempLeftovers, topSelf, treeOf, writeScript,
} from './helpers.mjs';
import { ctl } from '../fixtures/ondemand/support.mjs';

const T = { timeout: 90000 };

// Spins in spinFromStart from its first line for `ms` (the issue's
// reproduction: 6 s), printing "ready" first; then prints "done".
const SPIN_FROM_START = `'use strict';
function spinFromStart(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x = (x + Math.sqrt(x + 1)) % 1e9;
  return x;
}
console.log('ready');
spinFromStart(Number(process.argv[2]));
console.log('done');
`;

// Spins for ever in a timer 100 ms in: the default helper, started at the
// first turn, is there; an eager one too.
const SPIN_IN_TIMER = `'use strict';
function spinInTimer() {
  console.log('ready');
  for (;;);
}
setTimeout(spinInTimer, 100);
`;

async function startSpin(t, source, args, { env = {}, preload = true } = {}) {
  const dir = tempDir(t);
  const script = writeScript(dir, 'app.js', source);
  const child = startNode(script, args, { env: childEnv(env, { preload }), cwd: dir });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  child.dir = dir;
  return child;
}

const EAGER = { NODEPROF_HELPER: 'eager' };

test('NODEPROF_HELPER=eager, SIGTERM 2.5 s into a 6 s loop from the first line: the profile is written, and it dies of SIGTERM', T, async (t) => {
  const ends = [];
  for (const preload of [true, false]) {
    const child = await startSpin(t, SPIN_FROM_START, ['6000'], { preload, env: EAGER });
    const started = Date.now();
    await child.ready;
    await new Promise((r) => setTimeout(r, Math.max(0, 2500 - (Date.now() - started))));
    child.kill('SIGTERM');
    const end = await child.closed;
    ends.push({ dir: child.dir, seen: { status: end.status, signal: end.signal, stdout: child.out, stderr: child.err } });
  }
  const [lib, plain] = ends;
  assert.deepEqual(plain.seen, { status: null, signal: 'SIGTERM', stdout: 'ready\n', stderr: '' });
  assert.deepEqual(lib.seen, plain.seen);
  const files = cpuProfilesIn(lib.dir);
  assert.equal(files.length, 1, `files: ${treeOf(lib.dir)}`);
  const p = readCpuProfile(files[0]);
  assert.ok(hasFunction(p, 'spinFromStart'), topSelf(p));
  assert.deepEqual(tempLeftovers(lib.dir), []);
});

for (const [what, source, fn, env] of [
  ['spinning in a timer 100 ms in', SPIN_IN_TIMER, 'spinInTimer', {}],
  ['NODEPROF_HELPER=eager, spinning in a timer 100 ms in', SPIN_IN_TIMER, 'spinInTimer', EAGER],
  ['NODEPROF_HELPER=eager, spinning from its first line', SPIN_FROM_START, 'spinFromStart', EAGER],
]) {
  test(`nodeprof ctl stack, ${what}: the spinning function, within the command's timeout`, T, async (t) => {
    const child = await startSpin(t, source, ['60000'], { env });
    await child.ready;
    const r = await ctl(child.pid, ['stack'], { opts: ['--timeout', '20'] });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.split('\n')[0], new RegExp(`^(Timeout\\.)?${fn} \\(${child.dir}/app\\.js:\\d+:\\d+\\)$`), r.stdout);
    assert.equal(child.exitCode, null, 'still running');
  });
}

// An eager helper is created before the app's first line, so the app's
// workers number from 2 (README: What the app can observe); the default one
// starts at the first turn, after a worker the app creates in its first
// script. The process.on('worker') event that new Worker() queues for it
// is not passed on.
test('an app watching process.on(\'worker\') does not see the helper; its own worker is thread 1, or 2 with an eager helper', T, (t) => {
  for (const libEnv of [{}, EAGER]) {
    const { lib, plain, libDir } = runPair(t, NODE, [path.join(APPS, 'worker-event.js')], { libEnv });
    assert.equal(plain.stdout, 'done\n');
    assert.deepEqual(outcome(lib), outcome(plain));
    assert.equal(cpuProfilesIn(libDir).length, 1);
  }

  const dir = tempDir(t);
  const script = writeScript(dir, 'one-worker.js', `'use strict';
const { Worker } = require('node:worker_threads');
process.on('worker', (w) => console.log('worker event: thread', w.threadId));
const w = new Worker('require("node:worker_threads").parentPort.postMessage(require("node:worker_threads").threadId)', { eval: true });
w.on('message', (id) => console.log('the worker says it is thread', id));
`);
  const ids = runPair(t, NODE, [script], { libEnv: EAGER });
  assert.equal(ids.plain.stdout, 'worker event: thread 1\nthe worker says it is thread 1\n');
  assert.equal(ids.lib.stdout, 'worker event: thread 2\nthe worker says it is thread 2\n');
  const lazy = runPair(t, NODE, [script]);
  assert.deepEqual(outcome(lazy.lib), outcome(lazy.plain));
  const off = runPair(t, NODE, [script], { libEnv: { NODEPROF_HELPER: 'off' } });
  assert.deepEqual(outcome(off.lib), outcome(off.plain));
});

// Processes that end while the helper still boots: node stops and joins it;
// they end as under plain node, with their profile.
test('NODEPROF_HELPER=eager: a process that ends at once (the helper still booting) ends as under plain node', T, (t) => {
  for (const args of [['-e', '0'], ['-e', 'process.exit(3)'], ['-e', 'console.log("hi")']]) {
    const { lib, plain, libDir } = runPair(t, NODE, args, { libEnv: EAGER });
    assert.deepEqual(outcome(lib), outcome(plain), args.join(' '));
    assert.equal(cpuProfilesIn(libDir).length, 1, `${args.join(' ')}: ${treeOf(libDir)}`);
    assert.deepEqual(fs.readdirSync(libDir).filter((f) => !f.endsWith('.cpuprofile')), []);
  }
});
