// Profiles from many processes (issue 11 §3): pprof times on the wall clock,
// a period for every kind, NODEPROF_LABELS on every sample (files and the
// HTTP endpoints), and `nodeprof merge`, whose totals are the inputs' sums.
// Profiles are written by real node runs under the preload and read back with
// pprof-format (an independent reader) and, where installed, `go tool pprof`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { CLI, NODE, childEnv, run, runNode, startNode, tempDir, writeScript, filesIn, nodeprofLines, sleep } from './helpers.mjs';

const require = createRequire(path.join(path.dirname(new URL(import.meta.url).pathname), '../package.json'));
const hasGo = spawnSync('go', ['version']).status === 0;
const hasScript = spawnSync('script', ['--version']).status === 0;

const APP = `
function fleetHot(ms) { const end = Date.now() + ms, cpuEnd = cpuMs() + ms; let x = 0; while (Date.now() < end || cpuMs() < cpuEnd) for (let j = 0; j < 1000; j++) x += Math.sqrt(x + 1); return x; }
function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } // CPU time too: see tests/fixtures/apps/burn.js
const keep = globalThis.fleetKept = [];
function fleetAlloc(n) { for (let i = 0; i < n; i++) keep.push({ i, s: 'x'.repeat(i % 50) }); }
fleetAlloc(Number(process.argv[3] || 20000));
console.log(fleetHot(Number(process.argv[2] || 300)) > 0, keep.length);
`;

// A decoded pprof file: its fields, string labels per sample, and sums.
function readPprof(file) {
  const { Profile } = require('pprof-format');
  const buf = fs.readFileSync(file);
  const p = Profile.decode(buf[0] === 0x1f ? zlib.gunzipSync(buf) : buf);
  const str = (i) => p.stringTable.strings[Number(i)];
  const types = p.sampleType.map((v) => `${str(v.type)}/${str(v.unit)}`);
  const sums = types.map((_, k) => p.sample.reduce((a, s) => a + Number(s.value[k]), 0));
  const labels = p.sample.map((s) => Object.fromEntries(s.label.map((l) => [str(l.key), str(l.str)])));
  const names = new Set(p.function.map((f) => str(f.name)));
  return {
    types, sums, labels, names,
    timeNanos: Number(p.timeNanos), durationNanos: Number(p.durationNanos), period: Number(p.period),
    periodType: p.periodType ? `${str(p.periodType.type)}/${str(p.periodType.unit)}` : '',
    comments: (p.comment || []).map(str),
  };
}

function profiles(dir, env, args = []) {
  const app = path.join(dir, 'app.js');
  if (!fs.existsSync(app)) writeScript(dir, 'app.js', APP);
  const out = fs.mkdtempSync(path.join(dir, 'out-'));
  const r = runNode(app, args, { env: childEnv({ NODEPROF_DIR: out, ...env }) });
  return { r, out };
}

const byExt = (dir, ext) => filesIn(dir, ext).filter((f) => !f.endsWith('.' + ext));

test('pprof files: wall-clock time, duration, period for CPU and heap; labels on every sample', (t) => {
  const dir = tempDir(t);
  const before = Date.now();
  const { r, out } = profiles(dir, {
    NODEPROF_FORMATS: 'cpuprofile,pprof', NODEPROF_HEAP: 'on', NODEPROF_HEAP_INTERVAL: '4k',
    NODEPROF_LABELS: 'service=checkout,version=%{GIT_SHA},region=eu-1', GIT_SHA: '0a1b2c3',
  });
  const after = Date.now();
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(nodeprofLines(r.stderr), []);
  const pb = filesIn(out, '.pb.gz').sort();
  assert.equal(pb.length, 2, pb.join());
  const want = { service: 'checkout', version: '0a1b2c3', region: 'eu-1' };
  for (const f of pb) {
    const p = readPprof(f);
    const heap = p.types[1] === 'inuse_space/bytes';
    // The start is within the run (V8's monotonic clock would be 1970).
    assert.ok(p.timeNanos / 1e6 >= before - 1000 && p.timeNanos / 1e6 <= after, `${f}: time ${new Date(p.timeNanos / 1e6).toISOString()} within the run`);
    assert.ok(p.durationNanos > 0 && p.timeNanos / 1e6 + p.durationNanos / 1e6 <= after + 1000, `${f}: duration ${p.durationNanos}`);
    if (heap) {
      assert.equal(p.periodType, 'space/bytes');
      assert.equal(p.period, 4096, 'the heap period is the sampling interval in bytes');
    } else {
      assert.equal(p.periodType, 'cpu/nanoseconds');
      assert.ok(p.period > 0, 'CPU period');
      assert.ok(p.durationNanos >= 250e6, `the CPU profile covers the 300 ms of work: ${p.durationNanos}`);
    }
    assert.ok(p.labels.length > 0);
    for (const l of p.labels) assert.deepEqual(l, want, 'every sample carries the labels');
    assert.deepEqual(p.comments, ['labels: service=checkout,version=0a1b2c3,region=eu-1']);
  }
  if (!hasGo) return t.diagnostic('go not installed: go tool pprof not run');
  for (const f of pb) {
    const raw = spawnSync('go', ['tool', 'pprof', '-raw', f], { encoding: 'utf8' });
    assert.equal(raw.status, 0, raw.stderr);
    const year = new Date(before).getUTCFullYear();
    assert.match(raw.stdout, new RegExp(`^Time: ${year}-`, 'm'), 'go tool pprof reads the wall-clock time');
    assert.match(raw.stdout, /service:\[checkout\] .*version:\[0a1b2c3\]|region:\[eu-1\] service:\[checkout\] version:\[0a1b2c3\]/);
    const tags = spawnSync('go', ['tool', 'pprof', '-tags', f], { encoding: 'utf8' });
    assert.equal(tags.status, 0, tags.stderr);
    // " service: Total 72.2ms\n   72.2ms (  100%): checkout": every sample has it
    for (const [k, v] of Object.entries(want)) assert.match(tags.stdout, new RegExp(`^ ${k}: Total .*\\n\\s+\\S+ \\(\\s*100%\\): ${v}$`, 'm'));
  }
});

test('a bad NODEPROF_LABELS: one nodeprof line, the app runs on as without us, profiles without labels', (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', APP);
  const plain = runNode(app, ['50', '100'], { env: childEnv({}, { preload: false }) });
  for (const [labels, why] of [
    ['service=checkout,version=%{NODEPROF_TEST_UNSET_VAR}', /label version: %\{NODEPROF_TEST_UNSET_VAR\} is not set/],
    ['9lives=x', /'9lives=x': expected key=value/],
    ['a=1,a=2', /label a given twice/],
    [Array.from({ length: 17 }, (_, i) => `k${i}=v`).join(','), /more than 16 labels/],
    ['a=' + 'v'.repeat(200), /value longer than 127 bytes/],
  ]) {
    const { r, out } = profiles(dir, { NODEPROF_FORMATS: 'pprof', NODEPROF_LABELS: labels }, ['50', '100']);
    assert.equal(r.status, plain.status);
    assert.equal(r.stdout, plain.stdout);
    const lines = nodeprofLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^nodeprof: invalid NODEPROF_LABELS=.*; using \(empty\)$/);
    assert.match(lines[0], why);
    const pb = filesIn(out, '.pb.gz');
    assert.equal(pb.length, 1);
    const p = readPprof(pb[0]);
    assert.ok(p.labels.every((l) => Object.keys(l).length === 0), 'no labels');
  }
});

// A free port below Linux's ephemeral range (as http.test.mjs picks them).
async function freePort() {
  for (;;) {
    const port = 20000 + crypto.randomInt(12000);
    const s = net.createServer();
    const ok = await new Promise((r) => { s.once('error', () => r(false)); s.listen(port, '127.0.0.1', () => r(true)); });
    if (ok) { await new Promise((r) => s.close(r)); return port; }
  }
}

test('the HTTP endpoints serve labelled pprof with wall-clock times', async (t) => {
  const dir = tempDir(t);
  const script = writeScript(dir, 'server.js', `
const keep = [];
function serverHot() { const end = Date.now() + 20; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); keep.push(new Array(1000).fill(x)); if (keep.length > 500) keep.shift(); }
setInterval(serverHot, 25);
console.log('ready');
`);
  const port = await freePort();
  const child = startNode(script, [], { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_HTTP: `127.0.0.1:${port}`, NODEPROF_HEAP_INTERVAL: '8k', NODEPROF_LABELS: 'service=http-test,pod=%{POD}', POD: 'pod-7' }) });
  t.after(() => { try { child.kill('SIGKILL'); } catch {} });
  await child.ready;
  for (const [what, periodType, period] of [['profile', 'cpu/nanoseconds', null], ['heap', 'space/bytes', 8192]]) {
    const before = Date.now();
    const res = await fetch(`http://127.0.0.1:${port}/debug/pprof/${what}?seconds=1`);
    const after = Date.now();
    assert.equal(res.status, 200, what);
    const file = path.join(dir, `${what}.pb.gz`);
    fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const p = readPprof(file);
    assert.equal(p.periodType, periodType);
    if (period) assert.equal(p.period, period);
    else assert.ok(p.period > 0);
    assert.ok(p.timeNanos / 1e6 >= before - 1000 && p.timeNanos / 1e6 <= after, `${what}: time ${p.timeNanos}`);
    assert.ok(p.durationNanos >= 0.9e9 && p.durationNanos <= (after - before + 1000) * 1e6, `${what}: duration ${p.durationNanos}`);
    assert.ok(p.labels.length > 0, `${what}: samples`);
    for (const l of p.labels) assert.deepEqual(l, { service: 'http-test', pod: 'pod-7' });
    if (hasGo) {
      const raw = spawnSync('go', ['tool', 'pprof', '-raw', file], { encoding: 'utf8' });
      assert.match(raw.stdout, /pod:\[pod-7\] service:\[http-test\]/);
    }
  }
  child.kill('SIGTERM');
  await child.exited;
});

test('the heap endpoint on a process that samples all along (NODEPROF_HEAP=on) dates its profile from the sampling\'s start', async (t) => {
  const dir = tempDir(t);
  const script = writeScript(dir, 'server.js', `
const keep = [];
setInterval(() => { keep.push(new Array(100).fill(keep.length)); if (keep.length > 500) keep.shift(); }, 5);
console.log('ready');
`);
  const port = await freePort();
  const started = Date.now();
  const child = startNode(script, [], { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_HTTP: `127.0.0.1:${port}`, NODEPROF_HEAP: 'on', NODEPROF_HEAP_INTERVAL: '8k' }) });
  t.after(() => { try { child.kill('SIGKILL'); } catch {} });
  await child.ready;
  await sleep(1500);
  const res = await fetch(`http://127.0.0.1:${port}/debug/pprof/heap`);
  const after = Date.now();
  assert.equal(res.status, 200);
  const file = path.join(dir, 'heap.pb.gz');
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  const p = readPprof(file);
  // The profile runs from the agent's start, not from the request: at least the 1.5 s waited.
  assert.ok(p.timeNanos / 1e6 >= started - 1000 && p.timeNanos / 1e6 <= after - 1400, `time ${p.timeNanos}`);
  assert.ok(p.durationNanos >= 1.4e9 && p.durationNanos <= (after - started + 1000) * 1e6, `duration ${p.durationNanos}`);
  child.kill('SIGTERM');
  await child.exited;
});

// Two "pods" writing .cpuprofile, .heapprofile and pprof; then merged.
function twoPods(t) {
  const dir = tempDir(t);
  const pods = ['a', 'b'].map((pod, k) => {
    const { r, out } = profiles(dir, {
      NODEPROF_FORMATS: 'cpuprofile,pprof', NODEPROF_HEAP: 'on', NODEPROF_HEAP_INTERVAL: '4k',
      NODEPROF_LABELS: 'service=checkout,pod=%{POD}', POD: pod,
    }, [String(200 + 100 * k), String(10000 * (k + 1))]);
    assert.equal(r.status, 0, r.stderr);
    const cpuprofile = filesIn(out, '.cpuprofile')[0];
    const heapprofile = filesIn(out, '.heapprofile')[0];
    return {
      cpuprofile, heapprofile,
      cpuPprof: cpuprofile.replace(/\.cpuprofile$/, '.cpu.pb.gz'),
      heapPprof: heapprofile.replace(/\.heapprofile$/, '.heap.pb.gz'),
    };
  });
  return { dir, pods };
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

test('merge: mixed .cpuprofile and pprof inputs; the totals are the sums; shared labels kept; the span covers both', (t) => {
  const { dir, pods } = twoPods(t);
  const [a, b] = pods;
  const inputs = [a.cpuPprof, b.cpuPprof].map(readPprof);
  // a as its .cpuprofile (its pprof twin gives its totals), b as pprof
  const out = path.join(dir, 'fleet.pb.gz');
  const m = run(CLI, ['merge', a.cpuprofile, b.cpuPprof, '-o', out], { env: childEnv({}, { preload: false }) });
  assert.equal(m.status, 0, m.stderr);
  assert.equal(m.stdout, out + '\n');
  assert.equal(m.stderr, '');
  const p = readPprof(out);
  assert.deepEqual(p.types, ['samples/count', 'cpu/nanoseconds']);
  assert.equal(p.sums[0], sum(inputs.map((i) => i.sums[0])), 'sample counts add up');
  assert.equal(p.sums[1], sum(inputs.map((i) => i.sums[1])), 'CPU time adds up');
  assert.ok(p.names.has('fleetHot'));
  // A .cpuprofile (V8's JSON) has no labels: none is shared.
  for (const l of p.labels) assert.deepEqual(l, {}, 'no labels shared with a .cpuprofile');
  // a's start comes from its file's time less its duration: within a few ms of its pprof's
  const start = Math.min(...inputs.map((i) => i.timeNanos));
  const end = Math.max(...inputs.map((i) => i.timeNanos + i.durationNanos));
  assert.ok(Math.abs(p.timeNanos - start) < 200e6, `start ${p.timeNanos} vs ${start}`);
  assert.ok(Math.abs(p.timeNanos + p.durationNanos - end) < 200e6, `end ${p.timeNanos + p.durationNanos} vs ${end}`);

  // All four forms at once: a and b each twice, so twice the sums.
  const out2 = path.join(dir, 'twice.pb.gz');
  const m2 = run(CLI, ['merge', a.cpuprofile, a.cpuPprof, b.cpuprofile, b.cpuPprof, '-o', out2]);
  assert.equal(m2.status, 0, m2.stderr);
  const p2 = readPprof(out2);
  assert.equal(p2.sums[0], 2 * p.sums[0]);
  assert.equal(p2.sums[1], 2 * p.sums[1]);

  // pprof inputs only: service is on both and kept, pod differs and goes.
  const out1 = path.join(dir, 'pprofs.pb.gz');
  assert.equal(run(CLI, ['merge', a.cpuPprof, b.cpuPprof, '-o', out1]).status, 0);
  const p1 = readPprof(out1);
  assert.equal(p1.sums[1], p.sums[1]);
  assert.ok(p1.labels.length > 0);
  for (const l of p1.labels) assert.deepEqual(l, { service: 'checkout' }, 'the shared label only');
  assert.deepEqual(p1.comments, ['labels: service=checkout']);

  // speedscope: a pprof input has no timeline, so the merge has none, and
  // its weights (µs) are the CPU time of both inputs.
  const ss = run(CLI, ['merge', a.cpuprofile, b.cpuPprof, '-o', '-', '--format', 'speedscope']);
  assert.equal(ss.status, 0, ss.stderr);
  const sp = JSON.parse(ss.stdout).profiles[0];
  assert.equal(sum(sp.weights) * 1000, p.sums[1], 'speedscope weights are the summed CPU time');

  // Another format: collapsed counts are the samples.
  const m3 = run(CLI, ['merge', a.cpuPprof, b.cpuprofile, '-o', '-', '--format', 'collapsed']);
  assert.equal(m3.status, 0, m3.stderr);
  const counts = m3.stdout.trim().split('\n').map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
  assert.equal(sum(counts), p.sums[0]);
});

test('merge: heap profiles, .heapprofile and pprof; totals add up; the period is the interval', (t) => {
  const { dir, pods } = twoPods(t);
  const [a, b] = pods;
  const inputs = [a.heapPprof, b.heapPprof].map(readPprof);
  const out = path.join(dir, 'heap.pb.gz');
  const m = run(CLI, ['merge', a.heapPprof, b.heapprofile, '-o', out]);
  assert.equal(m.status, 0, m.stderr);
  const p = readPprof(out);
  assert.deepEqual(p.types, ['inuse_objects/count', 'inuse_space/bytes']);
  assert.equal(p.sums[0], sum(inputs.map((i) => i.sums[0])), 'objects add up');
  assert.equal(p.sums[1], sum(inputs.map((i) => i.sums[1])), 'bytes add up');
  assert.ok(p.names.has('fleetAlloc'));
  assert.equal(p.periodType, 'space/bytes');
  assert.ok(p.period >= 4096, `period ${p.period}`);
  assert.ok(p.timeNanos > 0);
});

test('merge refuses: an existing OUT, binary to a terminal, kinds mixed, bad input; no OUT is left', { skip: !hasScript && 'no script(1)' }, (t) => {
  const { dir, pods } = twoPods(t);
  const [a, b] = pods;
  const out = path.join(dir, 'exists.pb.gz');
  fs.writeFileSync(out, 'mine');
  const r1 = run(CLI, ['merge', a.cpuprofile, b.cpuprofile, '-o', out]);
  assert.equal(r1.status, 1);
  assert.match(r1.stderr, /^nodeprof: .*exists\.pb\.gz exists: not replaced/);
  assert.equal(fs.readFileSync(out, 'utf8'), 'mine', 'the existing file is untouched');
  // A symlink is not followed either.
  const link = path.join(dir, 'link.pb.gz');
  fs.symlinkSync(path.join(dir, 'target'), link);
  assert.equal(run(CLI, ['merge', a.cpuprofile, '-o', link]).status, 1);
  assert.ok(!fs.existsSync(path.join(dir, 'target')));

  const quoted = [CLI, 'merge', a.cpuprofile, b.cpuprofile, '-o', '-'].map((x) => `'${x}'`).join(' ');
  const tty = spawnSync('script', ['-qec', quoted, '/dev/null'], { env: childEnv({}, { preload: false }), encoding: 'latin1' });
  assert.equal(tty.status, 1);
  assert.match(tty.stdout, /binary output not written to a terminal/);
  assert.ok(!tty.stdout.includes('\x1f\x8b'));

  const mixed = path.join(dir, 'mixed.pb.gz');
  const r2 = run(CLI, ['merge', a.cpuprofile, b.heapPprof, '-o', mixed]);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /is a heap profile and .* a CPU profile: merge merges profiles of one kind/);
  const bad = path.join(dir, 'bad.pb.gz');
  fs.writeFileSync(bad, zlib.gzipSync(Buffer.from([0x0a, 0x05, 0x08])));
  const r3 = run(CLI, ['merge', a.cpuprofile, bad, '-o', mixed]);
  assert.equal(r3.status, 1);
  assert.match(r3.stderr, /bad\.pb\.gz: malformed/);
  assert.ok(!fs.existsSync(mixed), 'no output');
  const r4 = run(CLI, ['merge', a.cpuprofile, '-o', a.cpuprofile]);
  assert.equal(r4.status, 2);
  const r5 = run(CLI, ['merge', a.cpuprofile]);
  assert.equal(r5.status, 2);
  assert.match(r5.stderr, /-o OUT is required/);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temporary file left');
});
