// Native stacks (src/native): `stack native`, `stack all` / `threads`, the
// `stack` fallback when the main thread is stuck in native code, and
// NODEPROF_SIGNAL_ACTION=stacks. Real node under the real preload, with a
// Node-API addon (tests/fixtures/addons/stuck.c) built here with a plain
// `cc -shared` against the headers of the node under test.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  NODE, childEnv, defaultNameRe, filesIn, run, sleep, startNode, tempDir, writeScript,
} from './helpers.mjs';
import { buildAddon } from './addon.mjs';
import { ctl, ctlOk, waitFor } from '../fixtures/ondemand/support.mjs';

const T = { timeout: 90000 };
// The app: loads the addon, prints ready, then does `what` after 300 ms
// (the helper worker is up by then) and prints done.
const APP = `
const addon = require(process.argv[2]);
const what = process.argv[3];
if (what.includes('deaf')) addon.start_deaf_thread();
require('fs').readFile(__filename, () => {}); // wakes the libuv thread pool
console.log('ready');
setTimeout(() => {
  if (what.startsWith('spin')) addon.spin_in_c(what === 'spin-deaf' ? 8000 : 4000);
  else if (what === 'futex') addon.block_in_futex(4000);
  else if (what === 'atomics') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 4000);
  else if (what === 'idle') return setTimeout(() => console.log('done'), 3000);
  console.log('done');
}, 300);
`;

async function startApp(t, what, env = {}) {
  const dir = tempDir(t);
  const addon = buildAddon(dir);
  const script = writeScript(dir, 'app.js', APP);
  const app = startNode(script, [addon, what], { cwd: dir, env: childEnv({ NODEPROF_DIR: dir, ...env }) });
  t.after(() => app.kill('SIGKILL'));
  await app.ready;
  if (what !== 'idle') await sleep(700); // inside the call
  // The helper worker starts at the first loop turn 50 ms in, on the main thread: an idle
  // app's main thread waits in epoll only once that is done.
  else await waitFor(async () => /^helper thread: ready$/m.test(await ctlOk(app.pid, ['status'])), 'the helper thread');
  return { app, dir, script, addon };
}

// The frames of one thread's block ("  #N  0x... name+0x.. (module+0x..)").
const frames = (block) => block.split('\n').filter((l) => /^ {2}#\d+ +0x[0-9a-f]+ /.test(l));

function threadBlocks(text) {
  return text.split(/\n(?=thread \d+ )/).filter((b) => b.startsWith('thread '));
}

test('stack native on an idle app: the main thread waits in epoll, under uv__io_poll', T, async (t) => {
  const { app } = await startApp(t, 'idle');
  // The state is read the moment before the signal: a loaded machine can catch the thread just woken
  // (state R, still in epoll_wait). An idle thread is seen asleep within a few asks.
  const sleeping = new RegExp(`^thread ${app.pid} "[^"]+" \\(main thread\\), state S \\(sleeping\\)\\n`);
  let out;
  for (let i = 0; i < 5; i++) {
    out = await ctlOk(app.pid, ['stack', 'native']);
    assert.match(out, new RegExp(`^thread ${app.pid} "[^"]+" \\(main thread\\), state [SR] `), out);
    if (sleeping.test(out)) break;
    await sleep(50);
  }
  assert.match(out, sleeping);
  const f = frames(out);
  assert.match(f[0], /epoll_p?wait/, out);
  assert.ok(f.some((l) => / uv__io_poll\+0x[0-9a-f]+ \(node\+0x[0-9a-f]+\)$/.test(l)), out);
  assert.ok(f.some((l) => / uv_run\+/.test(l)), out);
  // `stack` itself still answers from JavaScript: the loop is free.
  assert.equal(await ctlOk(app.pid, ['stack']), '(idle: the main thread is waiting in its event loop)\n');
  const end = await app.closed;
  assert.equal(end.status, 0);
  assert.equal(app.out, 'ready\ndone\n');
});

test('stack while a C addon spins: the native stack names the addon function, within the bound', T, async (t) => {
  const { app } = await startApp(t, 'spin');
  const started = Date.now();
  const out = await ctlOk(app.pid, ['stack']);
  const took = Date.now() - started;
  assert.match(out, /^\(the main thread is not running JavaScript: stuck in native code or waiting; its native stack:\)\n/, out);
  // The spin reads the clock, so the signal may land in clock_gettime (libc, then the vDSO): the first
  // frame outside them is the addon's function.
  const f = frames(out).filter((l) => !/\((linux-vdso\.so\.1|libc\.so\.6)\+0x[0-9a-f]+\)$/.test(l));
  assert.match(f[0], / compute_digest\+0x[0-9a-f]+ \(stuck\.node\+0x[0-9a-f]+\)$/, out);
  assert.ok(f.some((l) => / spin_in_c\+/.test(l)), out);
  assert.ok(f.some((l) => /uv_run/.test(l)), `the stack goes down to the event loop:\n${out}`);
  // The design answers in about 60 ms (two looks, 15 ms apart, after 40 ms); the CLI's start and a loaded machine
  // add to that: generous, but far below the 30 s the CLI would wait.
  assert.ok(took < 3000, `took ${took} ms`);
  const end = await app.closed;
  assert.equal(end.status, 0, app.err);
  assert.equal(app.out, 'ready\ndone\n', 'the app computes and prints as without the stack');
});

test('stack while a C addon blocks in a futex: wait_in_futex, and the wait is not cut short', T, async (t) => {
  const { app } = await startApp(t, 'futex');
  const out = await ctlOk(app.pid, ['stack']);
  assert.match(out, /stuck in native code or waiting/, out);
  assert.ok(frames(out).some((l) => / wait_in_futex\+0x[0-9a-f]+ \(stuck\.node\+/.test(l)), out);
  assert.ok(frames(out).some((l) => / block_in_futex\+/.test(l)), out);
  const end = await app.closed;
  assert.equal(end.status, 0);
  assert.equal(app.out, 'ready\ndone\n');
});

test('Atomics.wait: stack answers (JavaScript through V8\'s interrupt, or the native wait), stack native shows the futex wait', T, async (t) => {
  const { app } = await startApp(t, 'atomics');
  const started = Date.now();
  const js = await ctlOk(app.pid, ['stack']);
  assert.ok(Date.now() - started < 3000);
  // V8 serves the rescue path's interrupt inside Atomics.wait: the
  // JavaScript stack, usually. On a loaded machine the fallback may come
  // first: then the native stack, in the wait.
  if (/stuck in native code or waiting/.test(js)) assert.ok(frames(js).some((l) => /FutexEmulation|AtomicsWait/.test(l)), js);
  else assert.match(js, /app\.js:\d+:\d+\)/, js);
  const native = await ctlOk(app.pid, ['stack', 'native']);
  assert.ok(frames(native).some((l) => /FutexEmulation|AtomicsWait/.test(l)), native);
  assert.ok(frames(native).slice(0, 4).some((l) => /pthread_cond|futex|syscall|\?\? \(libc/.test(l)), native);
  const end = await app.closed;
  assert.equal(end.status, 0);
  assert.equal(app.out, 'ready\ndone\n');
});

test('stack all (and threads): every thread, named, with its state and frames; a thread that blocks signals is marked', T, async (t) => {
  const { app } = await startApp(t, 'spin-deaf');
  const tids = fs.readdirSync(`/proc/${app.pid}/task`).map(Number).sort((a, b) => a - b);
  const started = Date.now();
  const out = await ctlOk(app.pid, ['stack', 'all']);
  const took = Date.now() - started;
  assert.match(out, new RegExp(`^\\d+ threads, pid ${app.pid} \\(native stacks, innermost frame first; signal \\d+\\)\\n`), out);
  const blocks = threadBlocks(out);
  const shown = blocks.map((b) => Number(/^thread (\d+)/.exec(b)[1]));
  for (const tid of tids) // threads may come and go (the helper's), but these were there before
    if (fs.existsSync(`/proc/${app.pid}/task/${tid}`)) assert.ok(shown.includes(tid), `thread ${tid} missing:\n${out}`);
  const find = (re) => blocks.filter((b) => re.test(b.split('\n')[0]));
  const main = find(/\(main thread\)/);
  assert.equal(main.length, 1, out);
  assert.ok(frames(main[0]).some((l) => / compute_digest\+/.test(l)), main[0]);
  const agent = find(/"nodeprof" \(nodeprof's agent thread, this dump\), state R/);
  assert.equal(agent.length, 1, out);
  assert.ok(frames(agent[0]).some((l) => /np_threads_write_all/.test(l)), agent[0]);
  // The libuv pool: named so by node 22 and 24, known by its stack on 20.
  const pool = find(/"libuv-worker"|\(libuv thread pool\)/);
  assert.ok(pool.length >= 1, `no libuv thread pool thread:\n${out}`);
  for (const b of pool) assert.ok(frames(b).some((l) => /uv_cond_wait|worker/.test(l)), b);
  const deaf = find(/"deaf-thread"/);
  assert.equal(deaf.length, 1, out);
  assert.match(deaf[0], /^thread \d+ "deaf-thread", state S \(sleeping\): did not answer: it blocks signal \d+ \(SIGRTMIN\+\d+\)$/m);
  // Every thread that answered has frames; each line says its state.
  for (const b of blocks) {
    assert.match(b.split('\n')[0], /, state [A-Za-z] \(/, b);
    if (!/did not answer|not asked/.test(b)) assert.ok(frames(b).length >= 2, b);
  }
  assert.ok(took < 5000, `took ${took} ms`);
  const threads = await ctlOk(app.pid, ['threads']);
  assert.match(threads, /\(main thread\)/);
  const end = await app.closed;
  assert.equal(end.status, 0, app.err);
  assert.equal(app.out, 'ready\ndone\n');
});

test('NODEPROF_SIGNAL_ACTION=stacks: SIGUSR2 writes every thread\'s stack to <name>.stacks.txt (0600), the app runs on', T, async (t) => {
  const { app, dir } = await startApp(t, 'idle', { NODEPROF_SIGNAL_ACTION: 'stacks', NODEPROF_CPU: 'off' });
  await sleep(500); // in its event loop by then, usually
  process.kill(app.pid, 'SIGUSR2');
  let files = [];
  for (let i = 0; i < 200 && files.length === 0; i++) {
    await sleep(25);
    files = filesIn(dir, '.stacks.txt');
  }
  assert.equal(files.length, 1, `no .stacks.txt in ${fs.readdirSync(dir)}`);
  assert.match(path.basename(files[0]), defaultNameRe('app', app.pid, '\\d+', '.stacks.txt'));
  assert.equal((fs.statSync(files[0]).mode & 0o777).toString(8), '600');
  const text = fs.readFileSync(files[0], 'utf8');
  const main = threadBlocks(text).find((b) => b.includes('(main thread)'));
  // The main thread's stack, down to node's start (uv__io_poll when idle).
  assert.ok(main && frames(main).some((l) => / node::Start\(/.test(l)), text);
  assert.ok(threadBlocks(text).some((b) => b.includes("(nodeprof's agent thread, this dump)")), text);
  const end = await app.closed;
  assert.equal(end.status, 0, 'SIGUSR2 did not kill the app');
  assert.equal(app.out, 'ready\ndone\n');
  assert.equal(app.err, '');
});

test('stack native and stack all parse; unknown words after them are refused', T, async (t) => {
  const { app } = await startApp(t, 'idle');
  const r = await ctl(app.pid, ['stack', 'sideways']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /unexpected argument/);
  const help = await ctlOk(app.pid, ['help']);
  assert.match(help, /^stack all +every thread's native stack/m);
  assert.match(help, /^stack native +the main thread's native stack now$/m);
  await app.closed;
});

test('a process that is not node pays nothing: the library maps no libunwind', T, () => {
  const r = run('/bin/sh', ['-c', 'cat /proc/$$/maps'], { env: childEnv() });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /libnodeprof\.so/);
  assert.doesNotMatch(r.stdout, /libunwind/);
});
