// The memory timeline (NODEPROF_MEMORY): real node under the preload runs
// tests/fixtures/memory/app.js (a leak, a steady heap, a high-water mark);
// the .memory.jsonl it leaves is parsed line by line, `nodeprof memory`
// gives its verdict, `nodeprof ctl PID memory` answers, and the HTML page
// is opened in headless Chromium.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { CLI, FIXTURES, NODE, childEnv, filesIn, nodeprofLines, run, startProcess, tempDir } from './helpers.mjs';
import { ctl, sleep, startApp, waitFor } from '../fixtures/ondemand/support.mjs';

const APP = path.join(FIXTURES, 'memory/app.js');
const T = { timeout: 120000 };
const SPACES = ['new_space', 'old_space', 'code_space', 'large_object_space'];
const GC_KINDS = ['scavenge', 'markCompact', 'incremental', 'weak'];

// Runs the app to its end under the preload; returns the run and its one timeline.
function runApp(t, mode, ms, { env = {}, nodeArgs = [] } = {}) {
  const dir = tempDir(t);
  const r = run(NODE, [...nodeArgs, APP, mode, String(ms)],
    { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_CPU: 'off', NODEPROF_MEMORY: '200ms', ...env }) });
  const files = filesIn(dir, '.memory.jsonl');
  return { r, dir, files, file: files[0] };
}

function lines(file) {
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n'), 'the file ends with a whole line');
  return text.slice(0, -1).split('\n').map((l, i) => {
    try { return JSON.parse(l); } catch (e) { assert.fail(`line ${i + 1} is not JSON: ${l.slice(0, 200)}`); }
    return null;
  });
}

function summary(file, extra = []) {
  const r = run(CLI, ['memory', file, ...extra], { env: childEnv({}, { preload: false }) });
  assert.equal(r.status, 0, r.stderr);
  return r;
}

function checkSample(s, gcSource) {
  assert.equal(s.type, 'sample');
  for (const k of ['t', 'rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'])
    assert.ok(Number.isFinite(s[k]) && s[k] >= 0, `${k}: ${s[k]}`);
  assert.ok(s.heapUsed <= s.heapTotal && s.heapTotal < s.rss * 4, 'the figures are of one process');
  assert.ok(s.heapAfterGC === null || (s.heapAfterGC > 0 && s.heapAfterGC < s.rss), `heapAfterGC ${s.heapAfterGC}`);
  assert.equal(typeof s.afterGCFresh, 'boolean');
  for (const name of SPACES) {
    assert.ok(s.spaces[name], `space ${name}`);
    assert.ok(s.spaces[name].used >= 0 && s.spaces[name].committed >= 0);
  }
  const spaceSum = Object.values(s.spaces).reduce((a, x) => a + x.used, 0);
  assert.ok(Math.abs(spaceSum - s.heapUsed) < s.heapUsed * 0.5 + 2e6, `spaces ${spaceSum} ~ heapUsed ${s.heapUsed}`);
  if (gcSource) {
    for (const k of GC_KINDS) assert.ok(s.gc[k].count >= 0 && s.gc[k].ms >= 0, `gc.${k}`);
    assert.ok(s.gc.maxPauseMs >= 0);
  }
  for (const k of ['p50', 'p99', 'max']) assert.ok(s.loopDelayMs[k] === null || s.loopDelayMs[k] >= 0, `loop ${k}`);
}

test('a leaking app (full GCs): every line parses with every field, and the verdict is "likely a leak"', T, async (t) => {
  const { r, file, files } = runApp(t, 'leak', 5000, { nodeArgs: ['--expose-gc'] });
  const plain = run(NODE, ['--expose-gc', APP, 'leak', '300'], { env: childEnv({}, { preload: false }) });
  assert.equal(r.status, 7, r.stderr);
  assert.equal(plain.status, 7);
  assert.equal(r.stdout, 'ready\ndone leak\n', 'the app\'s stdout is unchanged');
  assert.deepEqual(nodeprofLines(r.stderr), []);
  assert.equal(files.length, 1);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const [header, ...samples] = lines(file);
  assert.equal(header.type, 'header');
  assert.equal(header.format, 'nodeprof-memory');
  assert.equal(header.pid, r.pid);
  assert.equal(header.node, run(NODE, ['-p', 'process.version'], { env: childEnv({}, { preload: false }) }).stdout.trim());
  assert.equal(header.periodMs, 200);
  assert.equal(header.gcSource, 'v8.GCProfiler');
  assert.ok(header.fields.heapAfterGC && header.units.bytes && header.units.ms);
  assert.ok(Math.abs(header.startMs - Date.now()) < 120000);
  assert.ok(samples.length >= 12 && samples.length <= 40, `${samples.length} samples in 5 s at 200 ms`);
  for (const s of samples) checkSample(s, true);
  for (let i = 1; i < samples.length; i++) assert.ok(samples[i].t >= samples[i - 1].t, 'in time order');
  // gc() every 200 ms: full GCs are counted and the after-GC figure rises
  const full = samples.reduce((a, s) => a + s.gc.markCompact.count, 0);
  assert.ok(full >= 8, `${full} mark-compact GCs counted`);
  const fresh = samples.filter((s) => s.afterGCFresh).map((s) => s.heapAfterGC);
  assert.ok(fresh.length >= 8 && fresh.at(-1) > fresh[0] + 10e6, `after-GC heap grows: ${fresh[0]} -> ${fresh.at(-1)}`);

  const text = summary(file).stdout;
  assert.match(text, /^verdict: growing [\d.]+ MB\/h for [\d.]+ s \(R² [01]\.\d\d\): likely a leak; take snapshots \(see `nodeprof heap leaks`\)$/m);
  assert.match(text, /fit over \d+ after-GC points/);
  const json = JSON.parse(summary(file, ['--json']).stdout);
  assert.equal(json.verdict, 'leak');
  assert.equal(json.fromFloor, false);
  assert.equal(json.pid, r.pid);
  assert.ok(json.slopeBytesPerHour > 1e9, `slope ${json.slopeBytesPerHour}`);
  assert.ok(json.r2 > 0.8, `R² ${json.r2}`);
  assert.ok(json.gc.markCompact.count >= 8 && json.gcShare > 0 && json.gcShare < 1);
  assert.ok(json.worstPauses.length > 0 && json.worstPauses[0].ms >= json.worstPauses.at(-1).ms);
});

test('a leaking app without forced GCs: the heapUsed floor still says "likely a leak"', T, async (t) => {
  const { r, file } = runApp(t, 'leak', 5000);
  assert.equal(r.status, 7, r.stderr);
  assert.match(summary(file).stdout, /likely a leak/);
});

test('a steady app: "steady"', T, async (t) => {
  const { r, file } = runApp(t, 'steady', 5000);
  assert.equal(r.status, 7, r.stderr);
  assert.equal(r.stdout, 'ready\ndone steady\n');
  const text = summary(file).stdout;
  assert.match(text, /^verdict: steady$/m, text);
});

// With forced full GCs: the after-GC points are exact. (Without them, the
// fallback floor also rises while the young objects of the growth are
// promoted, which a loaded machine can stretch over seconds: a real
// timeline spans hours, a test a few seconds.)
test('an app that grows, then stays flat: "a high-water mark, not a leak"', T, async (t) => {
  const { r, file } = runApp(t, 'highwater', 6000, { nodeArgs: ['--expose-gc'] });
  assert.equal(r.status, 7, r.stderr);
  const text = summary(file).stdout;
  assert.match(text, /^verdict: grew, then flat: a high-water mark, not a leak$/m, text);
});

test('NODEPROF_MEMORY unset: no timeline file; `ctl memory` says it is off', T, async (t) => {
  const { r, dir } = runApp(t, 'steady', 300, { env: { NODEPROF_MEMORY: undefined } });
  assert.equal(r.status, 7);
  assert.deepEqual(filesIn(dir, '.memory.jsonl'), []);
  const app = await startApp(t, ['steady', '60000'], { script: APP, env: { NODEPROF_CPU: 'off' } });
  const reply = await ctl(app.pid, ['memory']);
  assert.equal(reply.status, 1);
  assert.match(reply.stderr + reply.stdout, /the memory timeline is off/);
  app.kill('SIGKILL');
});

test('NODEPROF_MEMORY_FILE_SIZE starts new files, each with its header; NODEPROF_KEEP bounds them; no symlink is followed', T, (t) => {
  const dir = tempDir(t);
  const victim = path.join(tempDir(t), 'victim');
  fs.writeFileSync(victim, 'untouched\n');
  fs.symlinkSync(victim, path.join(dir, 'fixed.memory.jsonl'));
  const r = run(NODE, ['-e', 'setTimeout(() => {}, 3000)'], { env: childEnv({
    NODEPROF_DIR: dir, NODEPROF_CPU: 'off', NODEPROF_MEMORY: '100ms', NODEPROF_MEMORY_FILE_SIZE: '5k',
    NODEPROF_NAME: 'fixed', NODEPROF_KEEP: '3', NODEPROF_FILE_MODE: '0640' }) });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(nodeprofLines(r.stderr), []);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'untouched\n');
  // The planted link is left alone: its name is taken, so the files are numbered.
  assert.ok(fs.lstatSync(path.join(dir, 'fixed.memory.jsonl')).isSymbolicLink());
  const files = filesIn(dir, '.memory.jsonl').filter((f) => !fs.lstatSync(f).isSymbolicLink());
  assert.equal(files.length, 3, `NODEPROF_KEEP=3: ${files.map((f) => path.basename(f))}`);
  const numbers = files.map((f) => Number(path.basename(f).match(/^fixed-(\d+)\.memory\.jsonl$/)?.[1]));
  assert.ok(numbers.every((n) => n >= 1), `numbered after the first: ${files.map((f) => path.basename(f))}`);
  let samples = 0;
  for (const f of files) {
    const st = fs.lstatSync(f);
    assert.ok(st.isFile() && (st.mode & 0o777) === 0o640, `${f}: a regular file, 0640`);
    assert.ok(st.size <= 5 * 1024 + 4096, `${f}: ${st.size} bytes`);
    const [header, ...rest] = lines(f);
    assert.equal(header.type, 'header');
    assert.ok(rest.length >= 1);
    for (const s of rest) checkSample(s, true);
    samples += rest.length;
  }
  assert.ok(samples >= 5);
});

test('SIGKILL in the middle of the run leaves only whole lines', T, async (t) => {
  const dir = tempDir(t);
  const child = startProcess(NODE, [APP, 'leak', '60000'],
    { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_CPU: 'off', NODEPROF_MEMORY: '100ms' }) });
  t.after(() => child.kill('SIGKILL'));
  await child.ready;
  const file = await waitFor(() => {
    const f = filesIn(dir, '.memory.jsonl')[0];
    return f && fs.readFileSync(f, 'utf8').split('\n').length > 15 ? f : null;
  }, 'fifteen lines of timeline', 30000);
  child.kill('SIGKILL');
  const end = await child.exited;
  assert.equal(end.signal, 'SIGKILL');
  const all = lines(file);
  assert.equal(all[0].type, 'header');
  for (const s of all.slice(1)) checkSample(s, true);
  assert.match(summary(file).stdout, /verdict: /);
});

test('nodeprof ctl PID memory: the figures now and the trend', T, async (t) => {
  const app = await startApp(t, ['leak', '60000'], { script: APP, env: { NODEPROF_CPU: 'off', NODEPROF_MEMORY: '200ms' } });
  await sleep(2500);
  const reply = await ctl(app.pid, ['memory']);
  assert.equal(reply.status, 0, reply.stderr);
  const out = reply.stdout;
  assert.match(out, /^file: \/.*\.memory\.jsonl$/m);
  assert.ok(out.includes(app.dir), 'the file is in NODEPROF_DIR');
  assert.match(out, /^now: rss [\d.]+ MB, heap [\d.]+ \/ [\d.]+ MB, external [\d.]+ MB, arrayBuffers [\d.]+ MB$/m);
  assert.match(out, /^heap after the last full GC: /m);
  assert.match(out, /^spaces \(used \/ committed MB\):.* old_space [\d.]+\/[\d.]+/m);
  assert.match(out, /^gc since the last sample: scavenge \d+/m);
  assert.match(out, /^event loop delay since the last sample: p50/m);
  assert.match(out, /^trend over the last (\d+) samples \(every 200 ms\):$/m);
  assert.ok(Number(out.match(/trend over the last (\d+)/)[1]) >= 5);
  assert.match(out, /^verdict: /m);
  app.kill('SIGKILL');
});

test('NODEPROF_MEMORY=on is every 10 s; a period under 100ms is refused', T, () => {
  const env = (v) => childEnv({ NODEPROF_MEMORY: v }, { preload: false });
  assert.match(run(CLI, ['config'], { env: env('on') }).stdout, /^NODEPROF_MEMORY=10000ms$/m);
  assert.match(run(CLI, ['config'], { env: env('1s') }).stdout, /^NODEPROF_MEMORY=1000ms$/m);
  const bad = run(CLI, ['config'], { env: env('50ms') });
  assert.match(bad.stderr, /invalid NODEPROF_MEMORY=50ms: out of range 100ms\.\.168h; using off/);
  assert.match(bad.stdout, /^NODEPROF_MEMORY=off$/m);
});

test('nodeprof memory on what is not a timeline: one line, status 1', T, (t) => {
  const dir = tempDir(t);
  const empty = path.join(dir, 'empty.memory.jsonl');
  fs.writeFileSync(empty, '');
  const junk = path.join(dir, 'junk.memory.jsonl');
  fs.writeFileSync(junk, '{"a":1}\nnot json\n');
  const env = childEnv({}, { preload: false });
  for (const f of [empty, junk, path.join(dir, 'missing')]) {
    const r = run(CLI, ['memory', f], { env });
    assert.equal(r.status, 1, f);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^nodeprof memory: /);
  }
  assert.equal(run(CLI, ['memory'], { env }).status, 2);
});

// ---- the HTML page in headless Chromium -------------------------------------

const CHROMIUM = process.env.NP_CHROMIUM || '/usr/bin/chromium';
let browser = null;
let missing = '';

before(async () => {
  if (!fs.existsSync(CHROMIUM)) missing = `no Chromium at ${CHROMIUM}`;
  else {
    try {
      const { chromium } = await import('playwright-core');
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    } catch (e) { missing = `no playwright-core or Chromium failed: ${e.message}`; }
  }
});
after(async () => { if (browser) await browser.close(); });

test('nodeprof memory --html: a self-contained page with the five charts, no network', T, async (t) => {
  if (missing) {
    if (process.env.NP_TEST_OPTIONAL_TOOLS === 'skip') return t.skip(missing);
    assert.fail(`the browser test needs ${missing}; or set NP_TEST_OPTIONAL_TOOLS=skip`);
  }
  const { file, dir } = runApp(t, 'leak', 3000, { nodeArgs: ['--expose-gc'] });
  const html = path.join(dir, 'memory.html');
  summary(file, ['--html', html]);
  const text = fs.readFileSync(html, 'utf8');
  assert.doesNotMatch(text, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'the page names no web address');
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  const errors = [], requests = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('request', (r) => requests.push(r.url()));
  const url = pathToFileURL(html).href;
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
  const charts = await page.$$eval('section.chart', (els) => els.map((e) => ({
    title: e.getAttribute('data-chart'),
    paths: e.querySelectorAll('path.series').length,
    points: e.querySelectorAll('circle').length,
    fit: e.querySelectorAll('path.fit').length,
    width: e.querySelector('svg').getBoundingClientRect().width,
  })));
  assert.deepEqual(charts.map((c) => c.title),
    ['Heap after full GC', 'Heap spaces used', 'Process memory', 'GC pauses', 'Event loop delay']);
  for (const c of charts) assert.ok(c.paths >= 1 && c.width > 200, `${c.title} is drawn: ${JSON.stringify(c)}`);
  assert.ok(charts[0].points >= 5 && charts[0].fit === 1, 'after-GC points and the fit line');
  const verdict = await page.$eval('#verdict', (e) => [e.textContent, e.className]);
  assert.match(verdict[0], /likely a leak/);
  assert.equal(verdict[1], 'verdict leak');
  assert.deepEqual(errors, []);
  assert.deepEqual(requests.filter((u) => u !== url && !u.startsWith('data:')), []);
});
