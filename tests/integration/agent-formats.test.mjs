// NODEPROF_FORMATS: every profile the library writes (at exit, on a command,
// on a signal) comes in each listed format, and the formats agree on totals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { CLI, childEnv, runNode, startNode, tempDir, writeScript, filesIn, readCpuProfile, run, sleep } from './helpers.mjs';

const require = createRequire(path.join(path.dirname(new URL(import.meta.url).pathname), '../package.json'));
const ALL = 'cpuprofile,pprof,collapsed,speedscope,html,top';
// Every format has an extension of its own for each kind.
const DERIVED = ['.pb.gz', '.collapsed.txt', '.speedscope.json', '.html', '.top.txt'];

const APP = `
function formatsHot(ms) { const end = Date.now() + ms, cpuEnd = cpuMs() + ms; let x = 0; while (Date.now() < end || cpuMs() < cpuEnd) for (let j = 0; j < 1000; j++) x += Math.sqrt(x + 1); return x; }
function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } // CPU time too: see tests/fixtures/apps/burn.js
// Kept alive to the end: a heap profile shows the sampled objects still alive.
const keep = globalThis.formatsKept = [];
function formatsAlloc() { for (let i = 0; i < 20000; i++) keep.push({ i, s: 'x'.repeat(i % 50) }); }
formatsAlloc();
console.log(formatsHot(400) > 0, keep.length);
`;

function pprofTotals(file) {
  const { Profile } = require('pprof-format');
  const p = Profile.decode(zlib.gunzipSync(fs.readFileSync(file)));
  const str = (i) => p.stringTable.strings[Number(i)];
  const types = p.sampleType.map((v) => `${str(v.type)}/${str(v.unit)}`);
  const sums = types.map((_, k) => p.sample.reduce((a, s) => a + Number(s.value[k]), 0));
  const names = new Set(p.function.map((f) => str(f.name)));
  return { types, sums, names };
}

test('exit: a CPU and a heap profile in every format, with the same totals', (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', APP);
  const r = runNode(app, [], { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_FORMATS: ALL, NODEPROF_HEAP: 'on', NODEPROF_HEAP_INTERVAL: '4k' }) });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const cpu = filesIn(dir, '.cpuprofile');
  const heap = filesIn(dir, '.heapprofile');
  assert.equal(cpu.length, 1);
  assert.equal(heap.length, 1);
  for (const [base, kind] of [[cpu[0].slice(0, -'.cpuprofile'.length), '.cpu'], [heap[0].slice(0, -'.heapprofile'.length), '.heap']])
    for (const ext of DERIVED) assert.ok(fs.existsSync(base + kind + ext), `${base}${kind}${ext} written`);
  assert.equal(fs.readdirSync(dir).filter((f) => f.startsWith('nodeprof-')).length, 12, 'six formats, two kinds, nothing else');

  const profile = readCpuProfile(cpu[0]);
  const base = cpu[0].slice(0, -'.cpuprofile'.length);
  const pp = pprofTotals(base + '.cpu.pb.gz');
  assert.deepEqual(pp.types, ['samples/count', 'cpu/nanoseconds']);
  assert.equal(pp.sums[0], profile.samples.length, 'pprof sample count = samples');
  const deltaSum = profile.timeDeltas.reduce((a, d) => a + d, 0);
  assert.ok(Math.abs(pp.sums[1] / 1000 - deltaSum) <= profile.samples.length, `pprof cpu ${pp.sums[1]} ns vs deltas ${deltaSum} µs`);
  assert.ok(pp.names.has('formatsHot'));

  const collapsed = fs.readFileSync(base + '.cpu.collapsed.txt', 'utf8').trim().split('\n');
  const count = collapsed.reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  assert.equal(count, profile.samples.length, 'collapsed counts = samples');
  assert.ok(collapsed.some((l) => /formatsHot \(.*app\.js:2\) \d+$/.test(l)));

  const ss = JSON.parse(fs.readFileSync(base + '.cpu.speedscope.json', 'utf8'));
  assert.equal(ss.$schema, 'https://www.speedscope.app/file-format-schema.json');
  assert.ok(ss.shared.frames.some((f) => f.name === 'formatsHot'));
  assert.equal(ss.profiles[0].samples.length, ss.profiles[0].weights.length);

  const html = fs.readFileSync(base + '.cpu.html', 'utf8');
  assert.match(html, /^<!DOCTYPE html>/i);
  assert.ok(html.includes('formatsHot'));
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=["']?https?:/i, 'no external resources');

  const top = fs.readFileSync(base + '.cpu.top.txt', 'utf8');
  assert.match(top.split('\n').find((l) => /%/.test(l) && !/Self/.test(l)), /formatsHot/, 'hot function first');

  const hbase = heap[0].slice(0, -'.heapprofile'.length);
  const hp = pprofTotals(hbase + '.heap.pb.gz');
  assert.deepEqual(hp.types, ['inuse_objects/count', 'inuse_space/bytes']);
  assert.ok(hp.sums[1] > 0 && hp.names.has('formatsAlloc'), 'heap pprof has bytes and the allocator');
});

test('a command and a signal write every format too; a bad format list falls back', async (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', `
function serveHot() { let x = 0; for (let i = 0; i < 2e5; i++) x += Math.sqrt(i); return x; }
console.log('ready'); setInterval(serveHot, 5);
`);
  const child = startNode(app, [], { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_FORMATS: 'cpuprofile,pprof,top' }) });
  t.after(() => child.kill('SIGKILL'));
  await child.ready;
  await sleep(300);
  const r = run(CLI, ['ctl', String(child.pid), 'cpu', 'dump'], { env: process.env });
  assert.equal(r.status, 0, r.stderr);
  const written = r.stdout.trim().split('\n');
  assert.deepEqual(written.map((p) => p.slice(p.indexOf('.', p.lastIndexOf('-'))).replace(/^\.\d+/, '')).sort(),
    ['.cpuprofile', '.cpu.pb.gz', '.cpu.top.txt'].sort(), r.stdout);
  child.kill('SIGUSR2');
  for (let i = 0; i < 100 && filesIn(dir, '.cpu.top.txt').length < 2; i++) await sleep(50);
  assert.equal(filesIn(dir, '.cpu.top.txt').length, 2, 'the signal dump has its top table');
  child.kill('SIGTERM');
  const end = await child.exited;
  assert.deepEqual([end.status, end.signal], [null, 'SIGTERM']);
  assert.equal(filesIn(dir, '.cpu.pb.gz').length, 3, 'dump, signal, exit');

  const quick = writeScript(dir, 'quick.js', 'console.log(1)');
  const bad = runNode(quick, [], { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_FORMATS: 'pprof,flamegraph' }) });
  assert.match(bad.stderr, /^nodeprof: invalid NODEPROF_FORMATS=pprof,flamegraph: unknown format .*; using cpuprofile$/m);
});
