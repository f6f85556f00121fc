// Profile conversion on real node output: `node --cpu-prof` and
// `node --heap-prof` profiles converted by `nodeprof convert` to every
// format and read back by other tools (pprof-format, go tool pprof,
// speedscope's JSON schema), checking that totals survive the trip.
//
// Tools from outside (go, the npm packages of tests/package.json) must be
// installed: a missing one fails its test, unless NP_TEST_OPTIONAL_TOOLS=skip.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';

import { CLI, FIXTURES, NODE, ROOT, run, tempDir } from './helpers.mjs';

const OPTIONAL = process.env.NP_TEST_OPTIONAL_TOOLS === 'skip';
const HOT_CPU = 'burnCpu';
const HOT_HEAP = 'allocateLots';

const CPU_APP = `
function ${HOT_CPU}(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) for (let i = 0; i < 1e4; i++) x += Math.sqrt(i);
  return x;
}
const odd = { 'semi;colon name'() { return ${HOT_CPU}(30); } };
console.log(${HOT_CPU}(400) > 0, odd['semi;colon name']() > 0, [1, 2].map(() => ${HOT_CPU}(20)).length);
`;

const HEAP_APP = `
const keep = [];
function ${HOT_HEAP}(n) { for (let i = 0; i < n; i++) keep.push(new Array(64).fill(i)); }
for (let k = 0; k < 10; k++) ${HOT_HEAP}(2000);
console.log(keep.length);
`;

// The same allocations sampled through the inspector, stopped while they
// are alive: node --heap-prof writes its profile after the heap is torn
// down, when little of what the program kept is left in it.
const HEAP_INSPECTOR_APP = `
import { Session } from 'node:inspector/promises';
import fs from 'node:fs';
import os from 'node:os';
const session = new Session();
session.connect();
await session.post('HeapProfiler.startSampling', { samplingInterval: 4096 });
${HEAP_APP}
const { profile } = await session.post('HeapProfiler.stopSampling');
fs.writeFileSync(process.argv[2], JSON.stringify(profile));
`;

// The node binaries to profile with: the suite's node, plus the other
// majors where `make test-nodes` fetched them (scripts/fetch-node.sh puts
// them in build/nodes/MAJOR), or NP_TEST_EXTRA_NODES, ':'-separated.
// One binary per version.
function nodeBinaries() {
  const extra = process.env.NP_TEST_EXTRA_NODES?.split(':').filter(Boolean)
    ?? ['22', '24'].map((major) => path.join(ROOT, 'build/nodes', major, 'bin/node'));
  const byVersion = new Map();
  for (const bin of [NODE, ...extra.filter((n) => fs.existsSync(n))]) {
    const version = runTool(bin, ['--version']).stdout.trim();
    if (!byVersion.has(version)) byVersion.set(version, bin);
  }
  return [...byVersion].map(([version, bin]) => ({ version, bin }));
}

function runTool(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120000, maxBuffer: 64 << 20, ...opts });
  if (r.error) throw r.error;
  return r;
}

function nodeprof(...args) {
  return runTool(CLI, args);
}

function convert(file, format, out) {
  const r = nodeprof('convert', file, '--format', format, '-o', out);
  assert.equal(r.status, 0, `convert --format ${format}: ${r.stderr}`);
  return out;
}

// Loads an npm test dependency, or fails (skips with NP_TEST_OPTIONAL_TOOLS=skip).
async function need(t, pkg) {
  try {
    return await import(pkg);
  } catch {
    const msg = `npm package ${pkg} is missing: run npm ci --prefix tests`;
    if (OPTIONAL) { t.skip(msg); return null; }
    assert.fail(`${msg} (or set NP_TEST_OPTIONAL_TOOLS=skip)`);
  }
}

function haveGo() {
  try { return runTool('go', ['version']).status === 0; } catch { return false; }
}

function needGo(t) {
  if (haveGo()) return true;
  const msg = 'go is missing (apt-get install golang-go), needed for go tool pprof';
  if (OPTIONAL) { t.skip(msg); return false; }
  assert.fail(`${msg} (or set NP_TEST_OPTIONAL_TOOLS=skip)`);
}

// A temporary directory, removed after the enclosing suite.
function suiteDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-formats-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

// Each node of a .heapprofile tree, without recursion (trees can be deep).
function heapNodes(head) {
  const all = [];
  const stack = [head];
  while (stack.length) {
    const n = stack.pop();
    all.push(n);
    stack.push(...n.children);
  }
  return all;
}

// A profile written by `node --cpu-prof` (or --heap-prof) into dir.
function profileWith(node, dir, kind) {
  const app = path.join(dir, 'app.js');
  fs.writeFileSync(app, kind === 'cpu' ? CPU_APP : HEAP_APP);
  const flags = kind === 'cpu' ? ['--cpu-prof', `--cpu-prof-dir=${dir}`]
    : ['--heap-prof', `--heap-prof-dir=${dir}`, '--heap-prof-interval=4096'];
  const r = runTool(node, [...flags, app], { cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  const ext = kind === 'cpu' ? '.cpuprofile' : '.heapprofile';
  const file = fs.readdirSync(dir).find((f) => f.endsWith(ext));
  assert.ok(file, `${node} wrote no ${ext}`);
  return path.join(dir, file);
}

// "of 315.90ms total" from go tool pprof -top, in the profile's unit.
function goTotal(out) {
  const m = /of ([\d.]+)(ns|us|µs|ms|s|mins|hrs|B|kB|MB|GB)? total/.exec(out);
  assert.ok(m, `no total in go tool pprof output:\n${out}`);
  const scale = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, mins: 60e9, hrs: 3600e9, B: 1, kB: 1e3, MB: 1e6, GB: 1e9 };
  return { value: Number(m[1]) * (scale[m[2]] ?? 1), digits: m[1].replace('.', '').length };
}

function goPprofTop(file, ...args) {
  const r = runTool('go', ['tool', 'pprof', '-top', ...args, file], { env: { ...process.env, PPROF_TMPDIR: path.dirname(file) } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

// The first function row of `go tool pprof -top` (sorted by flat).
function goFirstRow(out) {
  const lines = out.split('\n');
  const header = lines.findIndex((l) => /flat%/.test(l));
  return lines[header + 1] ?? '';
}

for (const { version, bin: node } of nodeBinaries()) {

  describe(`cpu profile from node ${version}`, () => {
    const dir = suiteDir();
    let file, profile;
    before(() => {
      file = profileWith(node, dir, 'cpu');
      profile = JSON.parse(fs.readFileSync(file, 'utf8'));
    });

    test('pprof: values add up to the samples and their timeDeltas', async (t) => {
      const pf = await need(t, 'pprof-format');
      if (!pf) return;
      const out = convert(file, 'pprof', path.join(dir, 'cpu.pb.gz'));
      const p = pf.Profile.decode(zlib.gunzipSync(fs.readFileSync(out)));
      const str = (i) => p.stringTable.strings[Number(i)];
      assert.equal(str(0), '');
      assert.deepEqual(p.sampleType.map((v) => [str(v.type), str(v.unit)]),
        [['samples', 'count'], ['cpu', 'nanoseconds']]);
      assert.deepEqual([str(p.periodType.type), str(p.periodType.unit)], ['cpu', 'nanoseconds']);
      assert.ok(Number(p.period) > 0, 'sampling period');
      assert.equal(sum(p.sample.map((s) => Number(s.value[0]))), profile.samples.length);
      assert.equal(sum(p.sample.map((s) => Number(s.value[1]))), sum(profile.timeDeltas) * 1000);
      // startTime is V8's monotonic clock: the wall-clock start is taken as
      // the file's modification time less the profile's duration.
      const mtimeNs = Number(fs.statSync(file, { bigint: true }).mtimeNs);
      assert.ok(Math.abs(Number(p.timeNanos) - (mtimeNs - (profile.endTime - profile.startTime) * 1000)) < 1e6,
        `time ${p.timeNanos} vs mtime ${mtimeNs}`);
      assert.equal(Number(p.durationNanos), (profile.endTime - profile.startTime) * 1000);
      const names = new Set(p.function.map((f) => str(f.name)));
      assert.ok(names.has(HOT_CPU) && names.has('(anonymous)') && !names.has(''), 'function names');
    });

    test('go tool pprof reads it: hot function first, same totals', (t) => {
      if (!needGo(t)) return;
      const out = convert(file, 'pprof', path.join(dir, 'go.pb.gz'));
      const top = goPprofTop(out);
      assert.match(goFirstRow(top), new RegExp(HOT_CPU));
      const total = goTotal(top);
      const want = sum(profile.timeDeltas) * 1000;
      // go prints about four significant digits
      assert.ok(Math.abs(total.value - want) <= want * 10 ** -(total.digits - 1), `${total.value} vs ${want}`);
      const counts = goPprofTop(out, '-sample_index=samples');
      assert.equal(goTotal(counts).value, profile.samples.length);
    });

    test('collapsed: one line per stack, counts add up to the samples', () => {
      const out = convert(file, 'collapsed', path.join(dir, 'cpu.collapsed.txt'));
      const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\n');
      const stacks = lines.map((l) => /^(.+) (\d+)$/.exec(l));
      assert.ok(stacks.every(Boolean), 'every line is "stack count"');
      assert.equal(new Set(stacks.map((m) => m[1])).size, lines.length, 'stacks are distinct');
      assert.equal(sum(stacks.map((m) => Number(m[2]))), profile.samples.length);
      assert.ok(stacks.every((m) => !m[1].startsWith('(root)')), '(root) left out');
      const heaviest = stacks.reduce((a, b) => (Number(b[2]) > Number(a[2]) ? b : a));
      assert.match(heaviest[1], new RegExp(`;${HOT_CPU} \\(file://`));
      assert.ok(stacks.some((m) => m[1].includes('semi%3Bcolon name (file://')), '";" escaped, spaces kept');
    });

    test('speedscope: valid against its schema, weights add up', async (t) => {
      const Ajv = (await need(t, 'ajv'))?.default;
      if (!Ajv) return;
      const schemaFile = path.join(ROOT, 'tests/node_modules/speedscope/dist/release/file-format-schema.json');
      if (!fs.existsSync(schemaFile)) {
        if (OPTIONAL) return t.skip('npm package speedscope is missing');
        assert.fail('npm package speedscope is missing: run npm ci --prefix tests');
      }
      const out = convert(file, 'speedscope', path.join(dir, 'cpu.speedscope.json'));
      const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
      const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(fs.readFileSync(schemaFile, 'utf8')));
      assert.ok(validate(doc), JSON.stringify(validate.errors?.slice(0, 5)));
      const [prof] = doc.profiles;
      assert.equal(prof.type, 'sampled');
      assert.equal(prof.unit, 'microseconds');
      assert.equal(sum(prof.weights), sum(profile.timeDeltas));
      assert.equal(prof.endValue - prof.startValue, sum(profile.timeDeltas));
      assert.equal(prof.samples.length, prof.weights.length);
      assert.ok(prof.samples.flat().every((i) => i >= 0 && i < doc.shared.frames.length), 'frame indices');
    });

    test('nodeprof top names the hot function first by self', () => {
      const r = nodeprof('top', file, '-n', '5');
      assert.equal(r.status, 0, r.stderr);
      const rows = r.stdout.trimEnd().split('\n');
      assert.match(rows[0], new RegExp(`^CPU profile: ${profile.samples.length} samples`));
      assert.match(rows[2], new RegExp(`  ${HOT_CPU}  file://`));
      assert.equal(rows.length, 2 + 5);
      // --by total: ordered by the total column, which is never below self
      const byTotal = nodeprof('top', file, '--by', 'total', '-n', '10').stdout.trimEnd().split('\n').slice(2)
        .map((row) => row.trim().split(/\s+/).slice(0, 4).map(parseFloat));
      assert.ok(byTotal.every(([self, , total], i) => total >= self && (i === 0 || total <= byTotal[i - 1][2])),
        JSON.stringify(byTotal));
    });
  });
}

describe('heap profiles', () => {
  const dir = suiteDir();

  test('node --heap-prof: pprof and collapsed keep the bytes and objects', async (t) => {
    const pf = await need(t, 'pprof-format');
    if (!pf) return;
    for (const { bin: node } of nodeBinaries()) {
      const sub = fs.mkdtempSync(path.join(dir, 'heap-'));
      const file = profileWith(node, sub, 'heap');
      const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
      const nodes = heapNodes(profile.head);
      const ids = new Set(nodes.map((n) => n.id));
      const bytes = sum(nodes.map((n) => n.selfSize));
      const objects = profile.samples.filter((s) => ids.has(s.nodeId)).length;

      const p = pf.Profile.decode(zlib.gunzipSync(fs.readFileSync(convert(file, 'pprof', path.join(sub, 'h.pb.gz')))));
      const str = (i) => p.stringTable.strings[Number(i)];
      assert.deepEqual(p.sampleType.map((v) => [str(v.type), str(v.unit)]), [['inuse_objects', 'count'], ['inuse_space', 'bytes']]);
      assert.equal(sum(p.sample.map((s) => Number(s.value[1]))), bytes, `${node}: bytes`);
      assert.equal(sum(p.sample.map((s) => Number(s.value[0]))), objects, `${node}: objects`);

      const collapsed = fs.readFileSync(convert(file, 'collapsed', path.join(sub, 'h.txt')), 'utf8');
      assert.equal(sum(collapsed.trimEnd().split('\n').map((l) => Number(/ (\d+)$/.exec(l)[1]))), bytes);
    }
  });

  test('a heap profile of live objects: hot allocator first everywhere', async (t) => {
    const app = path.join(dir, 'live.mjs');
    const file = path.join(dir, 'live.heapprofile');
    fs.writeFileSync(app, HEAP_INSPECTOR_APP);
    const r = runTool(NODE, [app, file]);
    assert.equal(r.status, 0, r.stderr);

    const top = nodeprof('top', file);
    assert.equal(top.status, 0, top.stderr);
    assert.match(top.stdout.split('\n')[2], new RegExp(`  ${HOT_HEAP}  file://`));

    const speedscope = JSON.parse(fs.readFileSync(convert(file, 'speedscope', path.join(dir, 'live.json')), 'utf8'));
    assert.equal(speedscope.profiles[0].unit, 'bytes');
    const bytes = sum(heapNodes(JSON.parse(fs.readFileSync(file, 'utf8')).head).map((n) => n.selfSize));
    assert.equal(sum(speedscope.profiles[0].weights), bytes);

    if (!needGo(t)) return;
    const out = goPprofTop(convert(file, 'pprof', path.join(dir, 'live.pb.gz')));
    assert.match(out, /Type: inuse_space/);
    assert.match(goFirstRow(out), new RegExp(HOT_HEAP));
  });
});

describe('nodeprof convert and top: files and errors', () => {
  const dir = suiteDir();
  const file = path.join(dir, 'app.cpuprofile');
  before(() => {
    fs.copyFileSync(path.join(ROOT, 'tests/fixtures/profiles/small.cpuprofile'), file);
  });

  test('the default output replaces the extension with the format and kind; pprof is the default format', () => {
    const r = nodeprof('convert', file);
    assert.equal(r.status, 0, r.stderr);
    const gz = fs.readFileSync(path.join(dir, 'app.cpu.pb.gz'));
    assert.deepEqual([...gz.subarray(0, 2)], [0x1f, 0x8b]);
    for (const [format, ext] of [['collapsed', '.cpu.collapsed.txt'], ['speedscope', '.cpu.speedscope.json'], ['top', '.cpu.top.txt']]) {
      assert.equal(nodeprof('convert', file, '-f', format).status, 0);
      assert.ok(fs.existsSync(path.join(dir, `app${ext}`)), ext);
    }
    // A heap profile of the same name does not take the CPU profile's output.
    const heap = path.join(dir, 'app.heapprofile');
    fs.copyFileSync(path.join(ROOT, 'tests/fixtures/profiles/small.heapprofile'), heap);
    const h = nodeprof('convert', heap);
    assert.equal(h.status, 0, h.stderr);
    assert.equal(h.stdout, path.join(dir, 'app.heap.pb.gz') + '\n');
    assert.ok(fs.readFileSync(path.join(dir, 'app.cpu.pb.gz')).equals(gz), 'the CPU pprof is unchanged');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temporary file left');
  });

  test('-o - writes to standard output, - reads standard input', () => {
    const expected = fs.readFileSync(path.join(ROOT, 'tests/fixtures/profiles/small.cpuprofile.collapsed.txt'), 'utf8');
    assert.equal(nodeprof('convert', file, '--format=collapsed', '-o', '-').stdout, expected);
    const r = runTool(CLI, ['convert', '-', '--format', 'collapsed'], { input: fs.readFileSync(file) });
    assert.equal(r.stdout, expected);
    const top = runTool(CLI, ['top', '-'], { input: fs.readFileSync(file) });
    assert.equal(top.stdout, fs.readFileSync(path.join(ROOT, 'tests/fixtures/profiles/small.cpuprofile.top.txt'), 'utf8'));
  });

  test('errors: one line on stderr, exit status 1, nothing written', () => {
    const bad = path.join(dir, 'bad.cpuprofile');
    fs.writeFileSync(bad, '{"nodes":[{"id":1,"callFrame":{}}],"samples":[7],"timeDeltas":[1]}');
    // Status 1: the work failed; 2: the command line was wrong.
    const cases = [
      [['convert', path.join(dir, 'missing.cpuprofile')], /cannot open .*missing\.cpuprofile/, 1],
      [['convert', bad], /bad\.cpuprofile: sample 1 names node 7, which does not exist/, 1],
      [['convert', file, '--format', 'gif'], /unknown format/, 2],
      [['convert', file, '--format', 'pprof,collapsed'], /exactly one format/, 2],
      [['convert', file, '--bogus'], /unknown option --bogus/, 2],
      [['convert'], /no FILE/, 2],
      [['convert', file, file, '-o', path.join(dir, 'x.pb.gz')], /-o with one FILE only/, 2],
      [['convert', file, '-o', path.join(dir, 'no/such/dir/x.pb.gz')], /cannot create/, 1],
      [['convert', file, '-f', 'cpuprofile'], /overwrite the input/, 1],
      [['top', file, '-n', '0'], /-n 0: out of range/, 2],
      [['top', file, '-n0'], /-n 0: out of range/, 2],
      [['top', file, '--by', 'name'], /use self or total/, 2],
      [['top', bad], /names node 7/, 1],
    ];
    for (const [args, why, status] of cases) {
      const r = nodeprof(...args);
      assert.equal(r.status, status, `${args.join(' ')}: status ${r.status}`);
      assert.match(r.stderr, /^nodeprof: [^\n]*\n$/, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.equal(r.stdout, '');
    }
    assert.ok(!fs.existsSync(path.join(dir, 'bad.cpu.pb.gz')));
  });

  test('--help', () => {
    for (const cmd of ['convert', 'top']) {
      const r = nodeprof(cmd, '--help');
      assert.equal(r.status, 0);
      assert.match(r.stdout, new RegExp(`^usage: nodeprof ${cmd} FILE`));
    }
  });

  test('a FILE that starts with "-" after --, and -nN as getopt takes it', (t) => {
    const dir = tempDir(t);
    const dashed = path.join(dir, '-31617.cpuprofile');
    fs.copyFileSync(path.join(FIXTURES, 'profiles/small.cpuprofile'), dashed);
    const top = run(CLI, ['top', '-n1', '--', path.basename(dashed)], { env: process.env, cwd: dir });
    assert.equal(top.status, 0, top.stderr);
    assert.equal(top.stdout.trim().split('\n').length, 3, top.stdout); // header, columns, one row
    const conv = run(CLI, ['convert', '-fcollapsed', '--', path.basename(dashed)], { env: process.env, cwd: dir });
    assert.equal(conv.status, 0, conv.stderr);
    assert.ok(fs.existsSync(path.join(dir, '-31617.cpu.collapsed.txt')));
    // Without --, it is an unknown option: a usage error.
    assert.equal(run(CLI, ['top', path.basename(dashed)], { env: process.env, cwd: dir }).status, 2);
  });
});
