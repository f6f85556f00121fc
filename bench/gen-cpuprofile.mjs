// Writes a synthetic .cpuprofile of about SIZE_MB megabytes, shaped like
// V8's: a call tree of a few hundred thousand nodes over some thousands of
// functions (recursion and 80-deep stacks included), then millions of
// samples with ~1 ms timeDeltas. Deterministic (seeded).
//
// usage: node bench/gen-cpuprofile.mjs OUT [SIZE_MB]
import fs from 'node:fs';

const [out, sizeArg = '100'] = process.argv.slice(2);
if (!out) throw new Error('usage: gen-cpuprofile.mjs OUT [SIZE_MB]');
const target = Number(sizeArg) * 1e6;

// mulberry32
let seed = 0x6e6f6465;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (n) => Math.floor(random() * n);

// Roughly 40% of the bytes in nodes (~150 bytes each), 60% in samples
// (~10.5 bytes each with their delta).
const nNodes = Math.max(10, Math.round((target * 0.4) / 150));
const nSamples = Math.max(10, Math.round((target * 0.6) / 10.5));
const nFunctions = Math.max(4, Math.round(nNodes / 50));

const special = ['(root)', '(program)', '(idle)', '(garbage collector)'];
const fnName = (f) => (f % 13 === 0 ? '' : `fn_${f}`); // some anonymous
const fnUrl = (f) => `file:///srv/app/src/module_${f % 400}.js`;

// Tree: node 0 is (root), 1-3 its special children; each other node hangs
// under a recent node (deep chains) or any node (bushy), up to depth 80.
const parent = new Int32Array(nNodes);
const depth = new Int32Array(nNodes);
const frame = new Int32Array(nNodes);
parent[0] = -1;
for (let i = 1; i < nNodes; i++) {
  let p = i < 4 ? 0 : random() < 0.7 ? i - 1 - pick(Math.min(i - 4, 50)) : pick(i);
  if (p >= 1 && p <= 3) p = 0;
  while (depth[p] >= 80) p = parent[p];
  parent[i] = p;
  depth[i] = depth[p] + 1;
  // a third of the time call the parent's function again (recursion)
  frame[i] = i < 4 ? -i : random() < 0.1 && p >= 4 ? frame[p] : pick(nFunctions);
}

// Samples: skewed towards a few hot nodes.
const samples = new Int32Array(nSamples);
const hits = new Int32Array(nNodes);
for (let s = 0; s < nSamples; s++) {
  const r = random();
  const n = r < 0.3 ? 1 + pick(3) : 4 + Math.floor(((r - 0.3) / 0.7) ** 3 * (nNodes - 4));
  samples[s] = n;
  hits[n]++;
}

const fd = fs.openSync(out, 'w');
let buf = '';
const emit = (s) => {
  buf += s;
  if (buf.length > 1 << 20) { fs.writeSync(fd, buf); buf = ''; }
};

const children = Array.from({ length: nNodes }, () => []);
for (let i = 1; i < nNodes; i++) children[parent[i]].push(i + 1);

emit('{"nodes":[');
for (let i = 0; i < nNodes; i++) {
  const f = frame[i];
  const cf = f <= 0
    ? `{"functionName":"${special[-f]}","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1}`
    : `{"functionName":"${fnName(f)}","scriptId":"${10 + (f % 400)}","url":"${fnUrl(f)}","lineNumber":${f % 997},"columnNumber":${f % 71}}`;
  const kids = children[i].length ? `,"children":[${children[i].join(',')}]` : '';
  emit(`${i ? ',' : ''}{"id":${i + 1},"callFrame":${cf},"hitCount":${hits[i]}${kids}}`);
}
const start = 3.5e11;
let t = start;
emit(`],"startTime":${start},"endTime":`);
const deltas = new Int32Array(nSamples);
for (let s = 0; s < nSamples; s++) { deltas[s] = 950 + pick(300); t += deltas[s]; }
emit(`${t + 1000},"samples":[`);
for (let s = 0; s < nSamples; s++) emit(`${s ? ',' : ''}${samples[s] + 1}`);
emit('],"timeDeltas":[');
for (let s = 0; s < nSamples; s++) emit(`${s ? ',' : ''}${deltas[s]}`);
emit(']}');
fs.writeSync(fd, buf);
fs.closeSync(fd);
console.log(`${out}: ${nNodes} nodes, ${nFunctions} functions, ${nSamples} samples, ${(fs.statSync(out).size / 1e6).toFixed(1)} MB`);
