// NODEPROF_CPU_WINDOW: the CPU profile is folded every window, so V8 never
// holds more than a window of samples, and the profile written at exit (or
// on a dump) still accounts for every sample: each stack's samples and
// time, the whole span, the formats derived from it, and readers we did not
// write (pprof-format, go tool pprof).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { childEnv, runNode, tempDir, writeScript, filesIn, readCpuProfile, startNode, sleep } from './helpers.mjs';

const require = createRequire(path.join(path.dirname(new URL(import.meta.url).pathname), '../package.json'));
const OPTIONAL = process.env.NP_TEST_OPTIONAL_TOOLS === 'skip';

// Known work: cbHot runs 30 ms and cbCold 10 ms, in turns, between which the
// event loop runs (so folds can). Each measures its own time.
const APP = `
let hotMs = 0, coldMs = 0;
function cbHot(ms) { const t = performance.now(), end = t + ms; let x = 0; while (performance.now() < end) x += Math.sqrt(x + 1); hotMs += performance.now() - t; return x; }
function cbCold(ms) { const t = performance.now(), end = t + ms; let x = 0; while (performance.now() < end) x += Math.sqrt(x + 2); coldMs += performance.now() - t; return x; }
const started = performance.now();
const RUN = Number(process.argv[2] || 3000);
function round() {
  if (performance.now() - started > RUN) { console.log(JSON.stringify({ hotMs, coldMs })); return; }
  cbHot(30); cbCold(10);
  setTimeout(round, 1);
}
round();
`;

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

// Self and total time per function name, each sample weighted by the delta
// before it (as our converters count), and self samples from hitCount.
function costs(p) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const time = new Map(), total = new Map();
  p.samples.forEach((id, i) => {
    const name = byId.get(id).callFrame.functionName;
    time.set(name, (time.get(name) ?? 0) + p.timeDeltas[i]);
    const seen = new Set();
    for (let n = id; n !== undefined; n = parent.get(n)) seen.add(byId.get(n).callFrame.functionName);
    for (const f of seen) total.set(f, (total.get(f) ?? 0) + p.timeDeltas[i]);
  });
  const hits = new Map();
  for (const n of p.nodes) hits.set(n.callFrame.functionName, (hits.get(n.callFrame.functionName) ?? 0) + (n.hitCount ?? 0));
  return { time, total, hits };
}

function foldLines(logFile) {
  const text = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
  return text.split('\n').filter((l) => l.includes('CPU profile folded'));
}

function pprofSummary(file) {
  let Profile;
  try { ({ Profile } = require('pprof-format')); } catch {
    const msg = 'npm package pprof-format is missing: run npm ci --prefix tests';
    if (OPTIONAL) return null;
    assert.fail(`${msg} (or set NP_TEST_OPTIONAL_TOOLS=skip)`);
  }
  const p = Profile.decode(zlib.gunzipSync(fs.readFileSync(file)));
  const str = (i) => p.stringTable.strings[Number(i)];
  const flat = new Map();
  for (const s of p.sample) {
    const loc = p.location.find((l) => l.id === s.locationId[0]);
    const fn = p.function.find((f) => f.id === loc.line[0].functionId);
    const name = str(fn.name);
    const v = flat.get(name) ?? [0, 0];
    flat.set(name, [v[0] + Number(s.value[0]), v[1] + Number(s.value[1])]);
  }
  return {
    types: p.sampleType.map((v) => `${str(v.type)}/${str(v.unit)}`),
    count: sum(p.sample.map((s) => Number(s.value[0]))),
    nanos: sum(p.sample.map((s) => Number(s.value[1]))),
    flat,
  };
}

function goPprofTotal(file) {
  const r = spawnSync('go', ['tool', 'pprof', '-top', '-unit=us', file], { encoding: 'utf8', env: { ...process.env, PPROF_TMPDIR: path.dirname(file) } });
  if (r.error?.code === 'ENOENT') return null; // golang-go is not installed
  assert.equal(r.status, 0, r.stderr);
  const m = /of ([\d.]+)us total/.exec(r.stdout);
  assert.ok(m, `no total in go tool pprof output:\n${r.stdout}`);
  return { total: Number(m[1]), out: r.stdout };
}

test('a folded exit profile accounts for every sample, in every format', (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', APP);
  const log = path.join(dir, 'log.txt');
  const began = Date.now();
  const r = runNode(app, ['3000'], { env: childEnv({
    NODEPROF_DIR: dir, NODEPROF_CPU_INTERVAL: '250', NODEPROF_CPU_WINDOW: '300ms', NODEPROF_LOG: 'debug',
    NODEPROF_LOG_FILE: log, NODEPROF_FORMATS: 'cpuprofile,pprof,collapsed,speedscope,top,html',
  }) });
  const wall = (Date.now() - began) * 1000;
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const measured = JSON.parse(r.stdout);
  const folds = foldLines(log);
  assert.ok(folds.length >= 4, `only ${folds.length} folds in 3 s with a 300 ms window:\n${fs.readFileSync(log, 'utf8')}`);

  const [file] = filesIn(dir, '.cpuprofile');
  const p = readCpuProfile(file);
  const meta = p.nodeprofFolded;
  assert.ok(meta, 'the exit profile says it is folded');
  assert.equal(meta.folds, folds.length);
  // The samples the last fold reported are in the file, and the window's after them.
  const lastFolded = Number(/, (\d+) samples;/.exec(folds.at(-1))[1]);
  assert.equal(meta.foldedSamples, lastFolded);
  const hits = sum(p.nodes.map((n) => n.hitCount));
  assert.equal(hits, meta.foldedSamples + p.samples.length - meta.standInSamples);
  // No time lost: the deltas run from startTime to the last sample, which is
  // within a window of endTime; the span is the process's profiled life.
  const deltas = sum(p.timeDeltas);
  assert.ok(p.timeDeltas.every((d) => d >= 0), 'no negative delta');
  const tail = p.endTime - p.startTime - deltas;
  assert.ok(tail >= 0 && tail < 100000, `deltas end ${tail} us before endTime`);
  assert.ok(p.endTime - p.startTime >= 3000 * 1000, `span ${p.endTime - p.startTime} us for 3 s of work`);
  assert.ok(p.endTime - p.startTime <= wall, `span ${p.endTime - p.startTime} us, process lived ${wall} us`);
  // The sampling rate holds over the whole span (the folded samples count).
  const interval = deltas / hits;
  assert.ok(interval > 100 && interval < 5000, `mean interval ${interval} us for a 250 us setting`);

  // Per-line costs (positionTicks, DevTools' source view) are kept across
  // folds. V8 counts a sample there when it knows its line, so an app
  // function's ticks are at most its hitCount (not nodeprof's start-up
  // frames: V8 ticks the first sample, which it leaves out of hitCount);
  // cbHot's are nearly all of them, where a profile that kept only the last
  // window's would have a tenth.
  const ticks = (n) => sum((n.positionTicks ?? []).map((x) => x.ticks));
  for (const n of p.nodes.filter((x) => ['cbHot', 'cbCold'].includes(x.callFrame.functionName)))
    assert.ok(ticks(n) <= n.hitCount, `${n.callFrame.functionName}: ${ticks(n)} ticks, ${n.hitCount} hits`);
  const hotNodes = p.nodes.filter((n) => n.callFrame.functionName === 'cbHot');
  const hotTicks = sum(hotNodes.map(ticks)), hotHits = sum(hotNodes.map((n) => n.hitCount));
  assert.ok(hotHits > 0 && hotTicks >= 0.5 * hotHits, `cbHot: positionTicks ${hotTicks} of ${hotHits} hits`);

  // The hot function's share of the known work is what the app measured.
  const c = costs(p);
  // (total time: performance.now() has a JavaScript frame of its own)
  const hot = c.total.get('cbHot') ?? 0, cold = c.total.get('cbCold') ?? 0;
  const want = measured.hotMs / (measured.hotMs + measured.coldMs);
  assert.ok(hot + cold > 0.5 * (measured.hotMs + measured.coldMs) * 1000,
    `cbHot + cbCold: ${hot + cold} us of ${(measured.hotMs + measured.coldMs) * 1000} us measured`);
  assert.ok(Math.abs(hot / (hot + cold) - want) < 0.12, `cbHot share ${hot / (hot + cold)}, measured ${want}`);

  // pprof, read by pprof-format: samples/count are the hits, cpu/nanoseconds the deltas.
  const base = file.slice(0, -'.cpuprofile'.length);
  const pp = pprofSummary(`${base}.cpu.pb.gz`);
  if (pp) {
    assert.deepEqual(pp.types, ['samples/count', 'cpu/nanoseconds']);
    assert.equal(pp.count, hits);
    assert.equal(pp.nanos, deltas * 1000);
    assert.equal(pp.flat.get('cbHot')?.[1], c.time.get('cbHot') * 1000);
    assert.equal(pp.flat.get('cbHot')?.[0], c.hits.get('cbHot'));
  }
  const go = goPprofTotal(`${base}.cpu.pb.gz`);
  if (go) {
    assert.ok(Math.abs(go.total - deltas) <= deltas * 0.001 + 1, `go tool pprof total ${go.total} us, deltas ${deltas} us`);
    const row = go.out.split('\n').find((l) => / cbHot$/.test(l.trim()) || /\scbHot\s/.test(l));
    assert.ok(row, `cbHot not in go tool pprof -top:\n${go.out}`);
    const flat = Number(row.trim().split(/\s+/)[0].replace(/us$/, ''));
    const want = c.time.get('cbHot');
    assert.ok(Math.abs(flat - want) <= want * 0.01 + 1, `go tool pprof: cbHot flat ${flat} us, profile ${want} us`);
  }
  // collapsed counts samples, speedscope weighs by time, top says both.
  const collapsed = fs.readFileSync(`${base}.cpu.collapsed.txt`, 'utf8').trim().split('\n');
  assert.equal(sum(collapsed.map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)))), hits);
  const ss = JSON.parse(fs.readFileSync(`${base}.cpu.speedscope.json`, 'utf8'));
  assert.equal(sum(ss.profiles[0].weights), deltas);
  const top = fs.readFileSync(`${base}.cpu.top.txt`, 'utf8');
  assert.match(top, new RegExp(`^CPU profile: ${hits} samples, ${(deltas / 1000).toFixed(1)} ms`));
  assert.match(top, /cbHot/);
  assert.ok(fs.statSync(`${base}.cpu.html`).size > 0);
});

test('dumps write what was folded since the last one; consecutive files are contiguous', async (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', `
    ${APP.replace("console.log(JSON.stringify({ hotMs, coldMs }));", "console.log('done');")}
    console.log('ready');`);
  const log = path.join(dir, 'log.txt');
  const child = startNode(app, ['2400'], { env: childEnv({
    NODEPROF_DIR: dir, NODEPROF_CPU_INTERVAL: '500', NODEPROF_CPU_WINDOW: '200ms', NODEPROF_LOG: 'debug',
    NODEPROF_LOG_FILE: log,
  }) });
  await child.ready;
  await sleep(1200);
  process.kill(child.pid, 'SIGUSR2'); // NODEPROF_SIGNAL: dump
  const end = await child.exited;
  assert.equal(end.status, 0);
  const files = filesIn(dir, '.cpuprofile').map(readCpuProfile).sort((a, b) => a.startTime - b.startTime);
  assert.equal(files.length, 2, fs.readFileSync(log, 'utf8'));
  const [first, second] = files;
  assert.ok(first.nodeprofFolded && second.nodeprofFolded, 'both hold folded windows');
  const gap = second.startTime - first.endTime;
  // (generous: on a loaded machine the switch, which serialises the window, took 23 ms)
  assert.ok(gap >= 0 && gap < 250000, `${gap} us between the two files`);
  assert.ok(foldLines(log).length >= first.nodeprofFolded.folds + second.nodeprofFolded.folds);
  for (const p of files) {
    const c = costs(p);
    assert.ok((c.time.get('cbHot') ?? 0) > 0, 'cbHot in each file');
  }
});

test('a worker folds its own profile and ends cleanly', (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', `
    const { Worker } = require('node:worker_threads');
    const w = new Worker(${JSON.stringify(APP.replace('Number(process.argv[2] || 3000)', '1200'))}, { eval: true });
    w.on('exit', (code) => console.log('worker exit', code));
  `);
  const log = path.join(dir, 'log.txt');
  const r = runNode(app, [], { env: childEnv({
    NODEPROF_DIR: dir, NODEPROF_WORKERS: 'on', NODEPROF_CPU_INTERVAL: '500', NODEPROF_CPU_WINDOW: '200ms',
    NODEPROF_LOG: 'debug', NODEPROF_LOG_FILE: log,
  }) });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /worker exit 0/);
  const profiles = filesIn(dir, '.cpuprofile').map(readCpuProfile);
  assert.equal(profiles.length, 2);
  const worker = profiles.find((p) => p.nodes.some((n) => n.callFrame.functionName === 'cbHot'));
  assert.ok(worker?.nodeprofFolded?.folds >= 2, `worker profile folds: ${JSON.stringify(worker?.nodeprofFolded)}`);
});

test('NODEPROF_CPU_WINDOW=off keeps the old single profile', (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', APP);
  const log = path.join(dir, 'log.txt');
  const r = runNode(app, ['800'], { env: childEnv({
    NODEPROF_DIR: dir, NODEPROF_CPU_INTERVAL: '250', NODEPROF_CPU_WINDOW: 'off', NODEPROF_LOG: 'debug', NODEPROF_LOG_FILE: log,
  }) });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(foldLines(log).length, 0);
  const [file] = filesIn(dir, '.cpuprofile');
  const p = readCpuProfile(file);
  assert.equal(p.nodeprofFolded, undefined);
  assert.ok(p.samples.length > 100);
});
