// Crash reports (src/native/crash.c): a native addon that dereferences
// NULL, process.abort(), a heap out of memory; each dies exactly as under
// plain node and leaves <name>.crash.txt, whose frames `nodeprof symbolize`
// names, with the other threads' stacks; a native stack overflow too. A
// wasm out-of-bounds access still throws its RuntimeError and
// writes nothing. NODEPROF_CRASH=off writes nothing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { CLI, NODE, childEnv, controlFifo, defaultNameRe, filesIn, run, tempDir, writeScript } from './helpers.mjs';
import { buildAddon } from './addon.mjs';

const T = { timeout: 90000 };
// Runs the script under plain node and under the library (NODEPROF_DIR =
// a fresh directory); core dumps off. Returns { plain, lib, dir }.
function runBoth(t, script, args = [], nodeArgs = [], env = {}) {
  const dir = tempDir(t);
  const go = (preload) => run('/bin/sh', ['-c', 'ulimit -c 0; exec "$@"', 'sh', NODE, ...nodeArgs, script, ...args],
    { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_CPU: 'off', ...env }, { preload }), cwd: dir });
  return { plain: go(false), lib: go(true), dir };
}

function oneReport(dir) {
  const reports = filesIn(dir, '.crash.txt');
  assert.equal(reports.length, 1, `one .crash.txt in ${fs.readdirSync(dir)}`);
  assert.equal((fs.statSync(reports[0]).mode & 0o777).toString(8), '600');
  return reports[0];
}

test('a NULL dereference in an addon: the same SIGSEGV death, and a report whose frames name crash_now', T, (t) => {
  const dir = tempDir(t);
  const addon = buildAddon(dir);
  const script = writeScript(dir, 'crash.js', `const a = require(process.argv[2]); console.log('before'); setTimeout(() => a.crash_now(), 50);`);
  const { plain, lib, dir: out } = runBoth(t, script, [addon]);
  assert.equal(plain.signal, 'SIGSEGV');
  assert.equal(lib.signal, plain.signal);
  assert.equal(lib.stdout, plain.stdout);
  const file = oneReport(out);
  // The default name, with the script's name (prepared at start-up: the handler only copies it).
  assert.match(path.basename(file), defaultNameRe('crash', '\\d+', 0, '.crash.txt'));
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, /^nodeprof crash report\nsignal: 11 \(SIGSEGV\), code 1 \(raised by the CPU\)\naddress: 0x0\n/);
  assert.match(text, /^thread: \d+ "[^"]*" \(main thread\)$/m);
  assert.match(text, /^node: v\d+\.\d+\.\d+$/m);
  assert.match(text, /^command line: .*crash\.js .*stuck\.node$/m);
  assert.match(text, /^ {2}VmRSS:/m);
  assert.match(text, new RegExp(`^ {2}#0 +0x[0-9a-f]+ ${addon.replace(/[.]/g, '\\.')}\\+0x[0-9a-f]+$`, 'm'));
  const named = run(CLI, ['symbolize', file]);
  assert.equal(named.status, 0, named.stderr);
  assert.match(named.stdout, /^ {2}#0 .*stuck\.node\+0x[0-9a-f]+ {2}crash_now\+0x[0-9a-f]+$/m, named.stdout);
  assert.match(named.stdout, /^ {2}#1 .*stuck\.node\+0x[0-9a-f]+ {2}crash\+0x[0-9a-f]+$/m, named.stdout);
  assert.match(named.stdout, /uv_run\+0x/, named.stdout);
  assert.ok(!fs.existsSync(controlFifo(lib.pid)), 'the crash handler removed the FIFO');
});

test('the other threads\' stacks: a Worker blocked in a futex is named, a thread that blocks every signal is listed as such', T, (t) => {
  const dir = tempDir(t);
  const addon = buildAddon(dir);
  const script = writeScript(dir, 'threads.js', `
const { Worker } = require('node:worker_threads');
const a = require(process.argv[2]);
a.start_deaf_thread();
const w = new Worker('const a = require(process.argv[2]); require("node:worker_threads").parentPort.postMessage("in"); a.block_in_futex(60000);',
  { eval: true, argv: [process.argv[2]] });
w.on('message', () => setTimeout(() => a.crash_now(), 200));`);
  const { plain, lib, dir: out } = runBoth(t, script, [addon]);
  assert.equal(plain.signal, 'SIGSEGV');
  assert.equal(lib.signal, plain.signal);
  const file = oneReport(out);
  const text = fs.readFileSync(file, 'utf8');
  const head = text.match(/^other threads \((\d+), asked with signal (\d+), (\d+) ms of at most 200\):$/m);
  assert.ok(head, text);
  assert.ok(Number(head[1]) >= 3, text);
  assert.ok(Number(head[3]) <= 1000, `waited ${head[3]} ms`);
  assert.match(text, /^thread \d+ "deaf-thread", state S: did not answer: it blocks the signal$/m);
  const named = run(CLI, ['symbolize', file]);
  assert.equal(named.status, 0, named.stderr);
  // The worker's block: its frames after its "thread" line, up to the next one.
  const blocks = named.stdout.split(/^(?=thread \d+ )/m).slice(1);
  const worker = blocks.find((b) => /wait_in_futex\+0x/.test(b));
  assert.ok(worker, named.stdout);
  assert.match(worker, /^thread \d+ "[^"]*", state S\n {2}#0 /);
  assert.match(worker, /block_in_futex\+0x/);
  assert.match(worker, /node::worker::Worker::Run/);
});

test('a native stack overflow (infinite recursion in an addon): the same SIGSEGV death, and a report that names it', T, (t) => {
  const dir = tempDir(t);
  const addon = buildAddon(dir);
  const script = writeScript(dir, 'recurse.js', `const a = require(process.argv[2]); console.log('before'); setTimeout(() => a.recurse_forever(), 50);`);
  const { plain, lib, dir: out } = runBoth(t, script, [addon]);
  assert.equal(plain.signal, 'SIGSEGV');
  assert.equal(lib.signal, plain.signal);
  assert.equal(lib.stdout, plain.stdout);
  const file = oneReport(out);
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, /^signal: 11 \(SIGSEGV\), code \d+ \(raised by the CPU\)$/m);
  assert.match(text, /^thread: \d+ "[^"]*" \(main thread\)$/m);
  assert.match(text, /^other threads \(\d+, /m);
  const named = run(CLI, ['symbolize', file]);
  assert.equal(named.status, 0, named.stderr);
  assert.match(named.stdout, /^ {2}#0 .*stuck\.node\+0x[0-9a-f]+ {2}overflow_stack\+0x[0-9a-f]+$/m, named.stdout);
  assert.match(named.stdout, /^ {2}#100 .*stuck\.node\+0x[0-9a-f]+ {2}overflow_stack\+0x[0-9a-f]+$/m, named.stdout);
  assert.match(text, /^ {2}\.\.\. \(deeper frames not shown\)$/m);
  assert.ok(!fs.existsSync(controlFifo(lib.pid)), 'the crash handler removed the FIFO');
});

test('process.abort(): SIGABRT as plain node, node\'s own fatal output still printed, and a report', T, (t) => {
  const dir = tempDir(t);
  const script = writeScript(dir, 'abort.js', `console.log('before'); process.abort();`);
  const { plain, lib, dir: out } = runBoth(t, script);
  assert.equal(plain.signal, 'SIGABRT');
  assert.equal(lib.signal, 'SIGABRT');
  assert.equal(lib.stdout, plain.stdout);
  // node's own report of the abort: same lines (the addresses are the same binary's).
  const firstLines = (s) => s.split('\n').filter((l) => /Native stack trace|JavaScript stack trace|abort\.js/.test(l));
  assert.deepEqual(firstLines(lib.stderr), firstLines(plain.stderr));
  assert.match(fs.readFileSync(oneReport(out), 'utf8'), /^signal: 6 \(SIGABRT\), code -6 \(sent by a process or raise\/abort\)$/m);
});

test('a heap out of memory: the same death and message, and a report', T, (t) => {
  const dir = tempDir(t);
  const script = writeScript(dir, 'oom.js', `const keep = []; for (;;) keep.push(new Array(1e5).fill({ a: 1 }));`);
  const { plain, lib, dir: out } = runBoth(t, script, [], ['--max-old-space-size=24']);
  assert.equal(plain.signal, 'SIGABRT');
  assert.equal(lib.signal, plain.signal);
  assert.match(plain.stderr, /heap out of memory/);
  assert.match(lib.stderr, /heap out of memory/);
  assert.match(fs.readFileSync(oneReport(out), 'utf8'), /^signal: 6 \(SIGABRT\)/m);
});

test('a wasm out-of-bounds access throws its RuntimeError as under plain node, and writes no report', T, (t) => {
  const dir = tempDir(t);
  // (module (memory 1) (func (export "load") (param i32) (result i32) local.get 0 i32.load))
  const script = writeScript(dir, 'wasm.js', `
const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,6,1,96,1,127,1,127,3,2,1,0,5,3,1,0,1,7,8,1,4,108,111,97,100,0,0,10,9,1,7,0,32,0,40,2,0,11]);
const m = new WebAssembly.Instance(new WebAssembly.Module(bytes));
for (let i = 0; i < 50; i++) {
  try { m.exports.load(1e9 + i); console.log('no trap'); } catch (e) { if (i === 0) console.log(e.constructor.name, e.message); }
}
console.log('still here', m.exports.load(0));`);
  const { plain, lib, dir: out } = runBoth(t, script);
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stdout, /^RuntimeError memory access out of bounds\nstill here 0\n$/);
  assert.equal(lib.status, 0, lib.stderr);
  assert.equal(lib.stdout, plain.stdout);
  assert.equal(lib.stderr, '');
  assert.deepEqual(filesIn(out, '.crash.txt'), []);
});

test('NODEPROF_CRASH=off: no report, the same death', T, (t) => {
  const dir = tempDir(t);
  const script = writeScript(dir, 'abort.js', `process.abort();`);
  const { plain, lib, dir: out } = runBoth(t, script, [], [], { NODEPROF_CRASH: 'off' });
  assert.equal(lib.signal, plain.signal);
  assert.deepEqual(filesIn(out, '.crash.txt'), []);
});

// A NODEPROF_DIR that does not exist yet: the handler cannot create a path
// safely, so the directory is made at start-up (0700), as the first profile
// would make it; a crash before any profile then still leaves its report.
test('NODEPROF_DIR missing at start-up: created 0700, and a crash before any profile leaves its report', T, (t) => {
  const dir = tempDir(t);
  const script = writeScript(dir, 'abort.js', `setTimeout(() => process.abort(), 50);`);
  const out = path.join(dir, 'not', 'yet');
  const lib = run('/bin/sh', ['-c', 'ulimit -c 0; exec "$@"', 'sh', NODE, script],
    { env: childEnv({ NODEPROF_DIR: out, NODEPROF_CPU: 'off' }), cwd: dir });
  assert.equal(lib.signal, 'SIGABRT', lib.stderr);
  assert.equal((fs.statSync(out).mode & 0o777).toString(8), '700');
  oneReport(out);
});
