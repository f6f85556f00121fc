// NODEPROF_LEAK_WATCH: real node under the preload runs a leaking app and
// a steady one (tests/fixtures/leakwatch/app.js). The leaking one must
// leave exactly three snapshots, named by one line that also gives the
// `nodeprof heap leaks` command; that command, run as printed, must name
// the leaking class and the variable that holds it. The steady one writes
// none, and a snapshot the headroom check refuses stops the watch.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { CLI, FIXTURES, NODE, childEnv, filesIn, nodeprofLines, run, sleep, startProcess, tempDir } from './helpers.mjs';

const APP = path.join(FIXTURES, 'leakwatch/app.js');
const T = { timeout: 240000 };
const WATCH = { NODEPROF_CPU: 'off', NODEPROF_LEAK_WATCH: 'on', NODEPROF_LEAK_SETTLE: '1s', NODEPROF_LOG: 'info' };
const DONE = /nodeprof: leak watch: the heap after full GC grew from ([\d.]+) MB \(end of start-up\) to ([\d.]+) MB and is still growing; to see what leaks: nodeprof heap leaks (\S+) (\S+) (\S+)\n/;

async function waitFor(child, re, ms) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(200)) {
    if (re.test(child.err)) return child.err.match(re);
    if (child.exitCode !== null || child.signalCode !== null) break;
  }
  assert.fail(`no ${re} within ${ms} ms; stderr:\n${child.err}`);
  return null;
}

test('a leaking app: three snapshots, one line with the command, and the command names the leak', T, async (t) => {
  const dir = tempDir(t);
  const child = startProcess(NODE, ['--expose-gc', APP, 'leak', '200'], { env: childEnv({ NODEPROF_DIR: dir, ...WATCH }) });
  t.after(() => child.kill('SIGKILL'));
  await child.ready;
  const m = await waitFor(child, DONE, 180000);
  await sleep(3000); // the heap keeps growing: no fourth snapshot
  child.kill('SIGTERM');
  const end = await child.closed;
  assert.equal(end.signal, 'SIGTERM', 'the app dies of SIGTERM as without nodeprof');
  const [, from, to, ...files] = m;
  assert.ok(Number(to) > Number(from) * 1.5, `${from} -> ${to} MB`);
  assert.deepEqual(filesIn(dir, '.heapsnapshot'), files, 'exactly the three files named, in order');
  for (const f of files) assert.equal(fs.statSync(f).mode & 0o777, 0o600);
  assert.equal(nodeprofLines(child.err).filter((l) => /leak watch: the heap/.test(l)).length, 1, child.err);
  assert.match(child.err, /leak watch: heap after full GC at the end of start-up: [\d.]+ MB/);
  const snapLines = child.err.match(/leak watch: snapshot (\d) of 3 at ([\d.]+) MB after full GC: (\S+)/g) || [];
  assert.equal(snapLines.length, 3, child.err);

  const r = run(CLI, ['heap', 'leaks', ...files, '--json'], { env: childEnv({}, { preload: false }), timeout: 120000 });
  assert.equal(r.status, 0, r.stderr);
  const groups = JSON.parse(r.stdout).groups;
  const orders = groups.filter((g) => g.class === 'LeakedOrder');
  const count = orders.reduce((s, g) => s + g.count, 0);
  assert.ok(count >= 400, `LeakedOrder x ${count}`);
  assert.ok(orders.some((g) => /->orderBook Map|\.orderBook Map/.test(g.path)), orders.map((g) => g.path).join('\n'));
  // the class leaked most (by count) is the leaking one
  const top = [...groups].filter((g) => g.class !== '(array)' && g.class !== 'Array').sort((a, b) => b.count - a.count)[0];
  assert.equal(top.class, 'LeakedOrder', JSON.stringify(top));
  // the app ran between the snapshots: each holds orders the one before lacks
  for (const [a, b] of [[files[0], files[1]], [files[1], files[2]]]) {
    const d = run(CLI, ['heap', 'diff', a, b, '--json'], { env: childEnv({}, { preload: false }), timeout: 120000 });
    assert.equal(d.status, 0, d.stderr);
    const c = JSON.parse(d.stdout).classes.find((x) => x.name === 'LeakedOrder');
    assert.ok(c && c.new >= 400, `new LeakedOrders from ${path.basename(a)} to ${path.basename(b)}: ${c?.new}`);
  }
  const text = run(CLI, ['heap', 'leaks', ...files], { env: childEnv({}, { preload: false }), timeout: 120000 });
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /\d+ x LeakedOrder, .*\n {2}.*orderBook Map → .*LeakedOrder\n/);
});

test('a steady app: no snapshot, no leak-watch line', T, () => {
  const dir = tempDir();
  try {
    const r = run(NODE, ['--expose-gc', APP, 'steady', '12'], { env: childEnv({ NODEPROF_DIR: dir, ...WATCH }), timeout: 120000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'ready\ndone\n');
    assert.deepEqual(filesIn(dir, '.heapsnapshot'), []);
    assert.match(r.stderr, /leak watch: heap after full GC at the end of start-up/, 'the watch ran');
    assert.doesNotMatch(r.stderr, /leak watch: (snapshot|the heap|stopped|the process)/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a snapshot refused by the memory check stops the watch, with one line', T, async (t) => {
  const dir = tempDir(t);
  const env = childEnv({ NODEPROF_DIR: dir, ...WATCH, NODEPROF_LOG: 'warn', NODEPROF_SNAPSHOT_FACTOR: '1000000' });
  const child = startProcess(NODE, ['--expose-gc', APP, 'leak', '200'], { env });
  t.after(() => child.kill('SIGKILL'));
  await child.ready;
  await waitFor(child, /leak watch: stopped after 0 of 3 snapshots\n/, 180000);
  await sleep(2000);
  child.kill('SIGTERM');
  await child.closed;
  assert.deepEqual(filesIn(dir, '.heapsnapshot'), []);
  const lines = nodeprofLines(child.err);
  assert.equal(lines.filter((l) => /leak watch/.test(l)).length, 1, child.err);
  assert.ok(lines.some((l) => /heap snapshot|memory/i.test(l) && !/leak watch/.test(l)), 'the refusal says why: ' + child.err);
});

test('a leak that stops after the baseline: one snapshot, and one line at exit saying so', T, () => {
  const dir = tempDir();
  try {
    const r = run(NODE, ['--expose-gc', APP, 'first', '25'], { env: childEnv({ NODEPROF_DIR: dir, ...WATCH, NODEPROF_LOG: 'warn' }), timeout: 120000 });
    assert.equal(r.status, 0, r.stderr);
    const snaps = filesIn(dir, '.heapsnapshot');
    assert.equal(snaps.length, 1, r.stderr);
    const lines = nodeprofLines(r.stderr);
    assert.deepEqual(lines.filter((l) => /leak watch/.test(l)).map((l) => l.replace(/[\d.]+ MB/, 'N MB')),
      [`nodeprof: leak watch: the process ends with 1 of 3 snapshots (${snaps[0]}): the heap after full GC did not grow N MB more since the last one`]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
