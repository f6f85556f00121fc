// `nodeprof heap` on snapshots of real node programs, checked against an
// independent reader: memlab (@memlab/heap-analysis, tests/package.json)
// parses the same files and computes its own dominator tree. Per class, the
// counts and shallow sizes must equal what memlab's nodes give under
// DevTools' Summary rules (class name by node type; nodes of zero self
// size left out unless native); the retained sizes must equal memlab's,
// per object and per class (DevTools' class rule applied to memlab's
// dominators). The leak app leaks four ways (a Map cache, closures, event
// listeners, a growing array of Buffers); `heap leaks` must name the
// leaking class and a path through the variable that holds it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { CLI, ROOT, run, runNode, tempDir, writeScript } from './helpers.mjs';

const OPTIONAL = process.env.NP_TEST_OPTIONAL_TOOLS === 'skip';
const require = createRequire(path.join(ROOT, 'tests/package.json'));

const LEAK_APP = `
const v8 = require('v8');
const { EventEmitter } = require('events');
class LeakedSession { constructor(i) { this.id = i; this.user = 'user-' + i; this.items = new Array(20).fill(i); } }
class ClosureState { constructor(i) { this.blob = 'state-' + i + '-'.repeat(64); } }
class DetachedWidget { constructor(i) { this.label = 'widget' + i; this.rows = [i, i + 1, i + 2]; } }
const sessionCache = new Map();
const handlers = [];
const bus = new EventEmitter();
bus.setMaxListeners(0);
const buffers = [];
function makeHandler(i) { const state = new ClosureState(i); return () => state.blob.length; }
function attachWidget(i) { const w = new DetachedWidget(i); bus.on('refresh', () => w.rows.length); }
function grow(from, to) {
  for (let i = from; i < to; i++) {
    sessionCache.set('s' + i, new LeakedSession(i));
    handlers.push(makeHandler(i));
    attachWidget(i);
    if (i % 10 === 0) buffers.push(Buffer.alloc(2048, i));
  }
}
// Held from the global object, as a service's state is. Otherwise only
// this script's running frame roots it, and node 24 sometimes reports a
// handle scope holding the Map itself: a path that names no variable.
globalThis.leakApp = { grow };
const dir = process.argv[2];
grow(0, 100);
v8.writeHeapSnapshot(dir + '/baseline.heapsnapshot');
grow(100, 1100);
v8.writeHeapSnapshot(dir + '/target.heapsnapshot');
grow(1100, 2100);
v8.writeHeapSnapshot(dir + '/final.heapsnapshot');
console.log('ready');
`;

let dir;
let memlab;

function heap(args, opts = {}) {
  return run(CLI, ['heap', ...args], { timeout: 120000, ...opts });
}

function heapJson(args) {
  const r = heap([...args, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

// DevTools' _propagateDOMState over the raw file: native nodes of known
// detachedness pass it to the natives they reach (not over hidden or weak
// edges), attached first. memlab 2.0.5 means to do the same, but looks the
// edge types up in edge_fields (never found), so it follows hidden and weak
// edges too and marks fewer natives detached than DevTools: the class names
// below are DevTools', computed here independently of nodeprof.
function devtoolsDetached(file) {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  const m = raw.snapshot.meta, nf = m.node_fields.length, ef = m.edge_fields.length;
  const off = m.node_fields.indexOf('detachedness');
  const detached = new Set();
  if (off < 0) return detached;
  const typeOff = m.node_fields.indexOf('type'), ecOff = m.node_fields.indexOf('edge_count');
  const native = m.node_types[typeOff].indexOf('native');
  const et = m.edge_types[m.edge_fields.indexOf('type')];
  const skip = new Set([et.indexOf('hidden'), et.indexOf('weak')]);
  const n = raw.nodes.length / nf, first = new Uint32Array(n + 1), state = new Uint8Array(n), visited = new Uint8Array(n);
  for (let i = 0, e = 0; i < n; i++) { first[i] = e; e += raw.nodes[i * nf + ecOff]; first[i + 1] = e; }
  const attached = [], det = [];
  const set = (v, st) => {
    if (visited[v]) return;
    visited[v] = 1;
    if (raw.nodes[v * nf + typeOff] !== native) return;
    state[v] = st;
    if (st === 1) attached.push(v); else if (st === 2) det.push(v);
  };
  for (let i = 0; i < n; i++) if (raw.nodes[i * nf + off]) set(i, raw.nodes[i * nf + off]);
  const propagate = (v, st) => {
    for (let e = first[v]; e < first[v + 1]; e++) {
      if (skip.has(raw.edges[e * ef + m.edge_fields.indexOf('type')])) continue;
      set(raw.edges[e * ef + m.edge_fields.indexOf('to_node')] / nf, st);
    }
  };
  while (attached.length) propagate(attached.pop(), 1);
  while (det.length) { const v = det.pop(); if (state[v] !== 1) propagate(v, 2); }
  for (let i = 0; i < n; i++) if (state[i] === 2 && raw.nodes[i * nf + typeOff] === native) detached.add(i);
  return detached;
}

// DevTools' JSHeapSnapshotNode.className().
let detachedNatives = new Set();
function className(node) {
  switch (node.type) {
    case 'hidden': return '(system)';
    case 'object': return node.name;
    case 'native': {
      const raw = node.is_detached ? node.name.replace(/^Detached /, '') : node.name;
      return (detachedNatives.has(node.nodeIndex) ? 'Detached ' : '') + raw;
    }
    case 'code': return '(compiled code)';
    default: return `(${node.type})`;
  }
}
const inSummary = (node) => node.self_size !== 0 || node.type === 'native';

// Per class from memlab's parse: count, shallow, and retained as DevTools
// sums it (objects with no dominator of the same class in the Summary).
function memlabClasses(snapshot) {
  const classes = new Map();
  snapshot.nodes.forEach((node) => {
    if (!inSummary(node)) return;
    const name = className(node);
    let c = classes.get(name);
    if (!c) classes.set(name, c = { count: 0, shallow: 0, retained: 0 });
    c.count++;
    c.shallow += node.self_size;
    for (let d = node.dominatorNode; d && d.nodeIndex !== 0; d = d.dominatorNode) {
      if (inSummary(d) && className(d) === name) return;
    }
    c.retained += node.retainedSize;
  });
  return classes;
}

describe('nodeprof heap on real snapshots', { timeout: 600000 }, () => {
  before(async () => {
    dir = tempDir(null, 'nodeprof-heap-');
    const app = writeScript(dir, 'leak.js', LEAK_APP);
    const r = runNode(app, [dir], { timeout: 120000 });
    assert.equal(r.status, 0, r.stderr);
    try {
      memlab = require('@memlab/heap-analysis');
    } catch (e) {
      if (!OPTIONAL) throw new Error(`@memlab/heap-analysis missing: npm ci --prefix tests (${e.message})`);
    }
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('summary: counts, shallow and retained sizes equal memlab\'s', async (t) => {
    if (!memlab) return t.skip('memlab not installed');
    const file = path.join(dir, 'final.heapsnapshot');
    const ours = heapJson(['summary', file, '-n', '300']);
    const snapshot = await memlab.getFullHeapFromFile(file);
    detachedNatives = devtoolsDetached(file);
    const theirs = memlabClasses(snapshot);
    assert.equal(ours.classes.length, theirs.size, 'number of classes');
    assert.equal(ours.classes_total, theirs.size);
    for (const c of ours.classes) {
      const m = theirs.get(c.name);
      assert.ok(m, `class ${c.name} unknown to memlab`);
      assert.deepEqual({ name: c.name, count: c.count, shallow: c.shallow_size, retained: c.retained_size },
        { name: c.name, count: m.count, shallow: m.shallow, retained: m.retained });
    }
    let nodes = 0, total = 0;
    const byId = new Map();
    snapshot.nodes.forEach((n) => { nodes++; total += n.self_size; byId.set(n.id, n); });
    assert.equal(ours.nodes, nodes);
    assert.equal(ours.total_size, total, 'the root retains every byte');
    assert.equal(ours.largest.length, 300);
    for (const o of ours.largest) {
      const n = byId.get(o.id);
      assert.equal(o.retained_size, n.retainedSize, `retained size of @${o.id} (${o.class})`);
      assert.equal(o.shallow_size, n.self_size);
    }
    const sessions = ours.classes.find((c) => c.name === 'LeakedSession');
    assert.equal(sessions.count, 2100);
    for (const cls of ['ClosureState', 'DetachedWidget']) assert.equal(ours.classes.find((c) => c.name === cls).count, 2100);
  });

  test('diff: new and deleted objects per class, matched by id as memlab sees them', async (t) => {
    if (!memlab) return t.skip('memlab not installed');
    const a = path.join(dir, 'baseline.heapsnapshot'), b = path.join(dir, 'target.heapsnapshot');
    const ours = heapJson(['diff', a, b]);
    const [sa, sb] = [await memlab.getFullHeapFromFile(a), await memlab.getFullHeapFromFile(b)];
    const ids = (s, file) => {
      detachedNatives = devtoolsDetached(file);
      const m = new Map();
      s.nodes.forEach((n) => { if (inSummary(n)) m.set(n.id, { cls: className(n), size: n.self_size }); });
      return m;
    };
    const [ia, ib] = [ids(sa, a), ids(sb, b)];
    const want = new Map();
    const get = (name) => want.get(name) ?? want.set(name, { new: 0, deleted: 0, alloc: 0, freed: 0 }).get(name);
    for (const [id, x] of ib) if (ia.get(id)?.cls !== x.cls) { const w = get(x.cls); w.new++; w.alloc += x.size; }
    for (const [id, x] of ia) if (ib.get(id)?.cls !== x.cls) { const w = get(x.cls); w.deleted++; w.freed += x.size; }
    assert.equal(ours.classes.length, want.size);
    for (const c of ours.classes) {
      const w = want.get(c.name);
      assert.deepEqual({ name: c.name, new: c.new, deleted: c.deleted, alloc: c.alloc_size, freed: c.freed_size },
        { name: c.name, ...w });
      assert.equal(c.delta, c.new - c.deleted);
      assert.equal(c.size_delta, c.alloc_size - c.freed_size);
    }
    const s = ours.classes.find((c) => c.name === 'LeakedSession');
    assert.deepEqual([s.new, s.deleted], [1000, 0]);
    for (let i = 1; i < ours.classes.length; i++) assert.ok(ours.classes[i - 1].size_delta >= ours.classes[i].size_delta);
  });

  test('leaks: the leaking classes, with paths through the variables that hold them', () => {
    const files = ['baseline', 'target', 'final'].map((n) => path.join(dir, `${n}.heapsnapshot`));
    const ours = heapJson(['leaks', ...files]);
    const group = (cls) => ours.groups.filter((g) => g.class === cls);
    const sessions = group('LeakedSession');
    assert.equal(sessions.reduce((s, g) => s + g.count, 0), 1000, JSON.stringify(sessions));
    assert.ok(sessions.some((g) => g.count === 1000 && /->sessionCache Map → \{table\} \(array\) → \{\} LeakedSession$/.test(g.path)), sessions.map((g) => g.path).join('\n'));
    assert.ok(/^(\(GC roots\)|global) → /.test(sessions[0].path), sessions[0].path);
    const closures = group('ClosureState');
    assert.ok(closures.some((g) => g.count === 1000 && /->handlers/.test(g.path)), closures.map((g) => g.path).join('\n'));
    const widgets = group('DetachedWidget');
    // the listeners array of the 'refresh' event, in the emitter's _events
    assert.ok(widgets.some((g) => g.count === 1000 && /\.refresh Array → \[\] \(closure\) → .*->w DetachedWidget$/.test(g.path)),
      widgets.map((g) => g.path).join('\n'));
    // nothing from before the baseline, nothing freed by the final snapshot
    assert.ok(!ours.groups.some((g) => g.count > 1000 && /Leaked|Closure|Detached/.test(g.class)));
    const text = heap(['leaks', ...files, '-n', '5']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /1000 x LeakedSession/);
  });

  // Given out of order, leaks answered "none", as if nothing leaked: refused, unless --force.
  test('leaks: snapshots out of the order they were taken are refused, saying which', () => {
    const [base, target, fin] = ['baseline', 'target', 'final'].map((n) => path.join(dir, `${n}.heapsnapshot`));
    for (const [files, older, newer] of [[[fin, target, base], target, fin], [[base, fin, target], target, fin]]) {
      const r = heap(['leaks', ...files]);
      assert.equal(r.status, 1, r.stdout);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.split(older).length, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^nodeprof: ${older.replace(/[.]/g, '\\.')} looks older than ` +
        `${newer.replace(/[.]/g, '\\.')} \\(its newest object is @\\d+, against @\\d+\\): give BASELINE TARGET FINAL ` +
        'in the order they were taken \\(--force compares them anyway\\)\\n$'));
      const forced = heap(['leaks', ...files, '--force']);
      assert.equal(forced.status, 0, forced.stderr);
    }
  });

  test('retainers: by class and by id', () => {
    const file = path.join(dir, 'final.heapsnapshot');
    const r = heap(['retainers', file, '--class', 'LeakedSession', '-n', '3']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 6, r.stdout);
    assert.match(lines[1], /^ {2}(\(GC roots\)|global) → .*->sessionCache Map → .* LeakedSession$/);
    const id = lines[0].match(/^@(\d+) LeakedSession/)[1];
    const one = heap(['retainers', file, '--id', id]);
    assert.equal(one.status, 0, one.stderr);
    assert.equal(one.stdout.trim().split('\n')[1], lines[1]);
    const none = heap(['retainers', file, '--class', 'NoSuchClass']);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /^nodeprof: .*no object of class NoSuchClass\n$/);
  });

  test('bad input: one clear line and a non-zero exit, never a crash', (t) => {
    const tmp = tempDir(t);
    const good = fs.readFileSync(path.join(dir, 'final.heapsnapshot'));
    const cases = {
      'empty.heapsnapshot': ['', /empty file/],
      'truncated.heapsnapshot': [good.subarray(0, Math.floor(good.length * 0.6)), /truncated/],
      'cut-strings.heapsnapshot': [good.subarray(0, good.length - 200), /truncated/],
      'profile.heapsnapshot': ['{"nodes":[],"startTime":0,"endTime":1,"samples":[],"timeDeltas":[]}', /not a V8 heap snapshot/],
      'array.heapsnapshot': ['[1,2,3]', /not a V8 heap snapshot/],
      'garbage.heapsnapshot': [Buffer.from([0xff, 0x00, 0x7b, 0x22]), /not a V8 heap snapshot|malformed/],
    };
    for (const [name, [content, re]] of Object.entries(cases)) {
      const f = path.join(tmp, name);
      fs.writeFileSync(f, content);
      for (const args of [['summary', f], ['diff', f, f], ['retainers', f, '--id', '1']]) {
        const r = heap(args);
        assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.signal, null);
        assert.match(r.stderr, re, name);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.equal(r.stdout, '');
      }
    }
    const missing = heap(['summary', path.join(tmp, 'nope')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /No such file/);
    assert.equal(heap(['summary']).status, 2);
    assert.equal(heap(['frobnicate', 'x']).status, 2);
  });

  test('diff refuses snapshots of different processes', (t) => {
    const tmp = tempDir(t);
    const other = writeScript(tmp, 'other.js', `
const keep = [];
for (let i = 0; i < 3000; i++) keep.push({ ['k' + (i % 7)]: 'other-' + i });
require('v8').writeHeapSnapshot(process.argv[2] + '/other.heapsnapshot');
console.log(keep.length);
`);
    assert.equal(runNode(other, [tmp]).status, 0);
    // and a second run of the same leaking app: same start-up, same code
    const again = writeScript(tmp, 'leak.js', LEAK_APP);
    assert.equal(runNode(again, [tmp]).status, 0);
    for (const [a, b] of [[path.join(dir, 'final.heapsnapshot'), path.join(tmp, 'other.heapsnapshot')],
      [path.join(dir, 'final.heapsnapshot'), path.join(tmp, 'final.heapsnapshot')]]) {
      const r = heap(['diff', a, b]);
      assert.equal(r.status, 1, r.stdout);
      assert.match(r.stderr, /^nodeprof: .* are not snapshots of one process: \d+ of the \d+ object ids they share \(strings and numbers aside\) name different objects; .*--force.*\n$/);
      assert.equal(r.stdout, '');
      const forced = heap(['diff', a, b, '--force', '--json']);
      assert.equal(forced.status, 0, forced.stderr);
      assert.ok(JSON.parse(forced.stdout).classes.length > 0);
    }
    const leaks = heap(['leaks', path.join(dir, 'baseline.heapsnapshot'), path.join(dir, 'target.heapsnapshot'), path.join(tmp, 'final.heapsnapshot')]);
    assert.equal(leaks.status, 1);
    assert.match(leaks.stderr, /are not snapshots of one process/);
  });
});

// An old Map whose table was reallocated between the baseline and the
// target, and not since: the table is new and alive, and dominates the
// leaked objects it holds. It is how the Map holds them, not the leak:
// the objects come first, each class with its own retained size, and the
// table counts only what they do not.
test('leaks: a Map\'s new table does not hide the objects it holds', { timeout: 120000 }, (t) => {
  const tmp = tempDir(t);
  const app = writeScript(tmp, 'maptable.js', `
const v8 = require('v8');
class Session { constructor(n) { this.id = n; this.data = 'x'.repeat(64) + n; this.tags = [n, n + 1]; } }
const sessions = new Map();
globalThis.sessions = sessions;
let i = 0;
const grow = (k) => { for (let j = 0; j < k; j++) sessions.set(i, new Session(i++)); };
grow(1000);
v8.writeHeapSnapshot(process.argv[2] + '/1.heapsnapshot');
grow(20000);
v8.writeHeapSnapshot(process.argv[2] + '/2.heapsnapshot');
grow(5000);
v8.writeHeapSnapshot(process.argv[2] + '/3.heapsnapshot');
`);
  assert.equal(runNode(app, [tmp]).status, 0);
  const ours = heapJson(['leaks', ...['1', '2', '3'].map((n) => path.join(tmp, `${n}.heapsnapshot`))]);
  const table = ours.groups.find((g) => g.class === '(array)' && /\.sessions Map → \{table\} \(array\)$/.test(g.path));
  assert.ok(table, `the table is new in the target and alive in the final snapshot: ${ours.groups.map((g) => g.path).join('\n')}`);
  const session = ours.groups.find((g) => g.class === 'Session');
  assert.equal(session.count, 20000);
  assert.equal(ours.groups[0], session, `Session first: ${JSON.stringify(ours.groups.slice(0, 3))}`);
  assert.ok(session.retained_size > 20000 * 64, JSON.stringify(session));
  assert.ok(table.retained_size < session.retained_size, JSON.stringify(table));
});
