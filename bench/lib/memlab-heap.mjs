// memlab's side of bench/heapsnap.mjs: the same analyses as `nodeprof heap
// summary` and `heap diff`, done with memlab (tests/node_modules, npm ci
// --prefix tests).
//   node memlab-heap.mjs summary FILE   getFullHeapFromFile (parse, dominators,
//                                       retained sizes), then per-class count,
//                                       shallow and summed retained size (the
//                                       same-class exclusion is left out: it
//                                       would cost memlab more, not less)
//   node memlab-heap.mjs diff A B       memlab's plain parse of both
//                                       (utils.getSnapshotFromFile), then per
//                                       class new/deleted by node id
// Prints one line of JSON (classes, time) so the bench can check it ran.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(ROOT, 'tests/package.json'));
const [mode, a, b] = process.argv.slice(2);
const className = (n) => n.type === 'hidden' ? '(system)' : n.type === 'object' || n.type === 'native' ? n.name
  : n.type === 'code' ? '(compiled code)' : `(${n.type})`;
const inSummary = (n) => n.self_size !== 0 || n.type === 'native';
const t0 = performance.now();
const quiet = { ...console };
console.log = () => {}; // memlab's progress lines

if (mode === 'summary') {
  const { getFullHeapFromFile } = require('@memlab/heap-analysis');
  const heap = await getFullHeapFromFile(a);
  const classes = new Map();
  heap.nodes.forEach((n) => {
    if (!inSummary(n)) return;
    const name = className(n);
    const c = classes.get(name) ?? classes.set(name, { count: 0, shallow: 0, retained: 0 }).get(name);
    c.count++;
    c.shallow += n.self_size;
    c.retained += n.retainedSize;
  });
  quiet.log(JSON.stringify({ classes: classes.size, ms: performance.now() - t0 }));
} else if (mode === 'diff') {
  const { utils } = require('@memlab/core');
  const ids = async (file) => {
    const heap = await utils.getSnapshotFromFile(file, { buildNodeIdIndex: true });
    const m = new Map();
    heap.nodes.forEach((n) => { if (inSummary(n)) m.set(n.id, [className(n), n.self_size]); });
    return m;
  };
  const [ia, ib] = [await ids(a), await ids(b)];
  const d = new Map();
  const get = (k) => d.get(k) ?? d.set(k, { added: 0, removed: 0, addedSize: 0, removedSize: 0 }).get(k);
  for (const [id, [c, s]] of ib) if (ia.get(id)?.[0] !== c) { const x = get(c); x.added++; x.addedSize += s; }
  for (const [id, [c, s]] of ia) if (ib.get(id)?.[0] !== c) { const x = get(c); x.removed++; x.removedSize += s; }
  quiet.log(JSON.stringify({ classes: d.size, ms: performance.now() - t0 }));
} else {
  quiet.error('usage: node memlab-heap.mjs summary FILE | diff A B');
  process.exit(2);
}
