// Synthetic profiles for the HTML flame graph tests: large, deep and heap.
// A small deterministic generator (no Math.random) so failures reproduce.

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function frame(name, url, line) {
  return { functionName: name, scriptId: url ? '1' : '0', url, lineNumber: line, columnNumber: 4 };
}

// A .cpuprofile with n nodes, every one a distinct function (the worst
// case: no stack merges), a bushy tree of depth ~log n with a few long
// chains, node_modules and node: frames, (program), (idle) and GC.
export function wideCpuProfile(n = 100000, seed = 7) {
  const rand = rng(seed);
  const nodes = [{ id: 1, callFrame: frame('(root)', '', -1), hitCount: 0, children: [] }];
  const special = ['(program)', '(idle)', '(garbage collector)'];
  for (const name of special) {
    const id = nodes.length + 1;
    nodes.push({ id, callFrame: frame(name, '', -1), hitCount: 0, children: [] });
    nodes[0].children.push(id);
  }
  while (nodes.length < n) {
    const i = nodes.length;
    // Prefer recent nodes as parents: gives depth as well as breadth.
    const back = Math.floor(rand() * rand() * Math.min(i - 5, 400));
    const parent = i === 4 || rand() < 0.02 ? 0 : i - 1 - back;
    const r = rand();
    const url = r < 0.6 ? `file:///srv/app/src/module${i % 300}.js`
      : r < 0.85 ? `file:///srv/app/node_modules/pkg${i % 40}/lib/index.js`
        : r < 0.97 ? `node:internal/mod${i % 30}` : '';
    nodes.push({ id: i + 1, callFrame: frame(`fn_${i}`, url, i % 900), hitCount: 0, children: [] });
    nodes[parent].children.push(i + 1);
  }
  const samples = [], timeDeltas = [];
  for (let k = 0; k < 2 * n; k++) {
    const j = 1 + Math.floor(rand() * (n - 1));
    samples.push(j + 1);
    nodes[j].hitCount++;
    timeDeltas.push(500 + Math.floor(rand() * 1000));
  }
  const total = timeDeltas.reduce((a, b) => a + b, 0);
  return { nodes, startTime: 1000, endTime: 1000 + total + 1000, samples, timeDeltas };
}

// A .cpuprofile whose one stack is depth frames deep (all samples in the leaf
// and in its parent).
export function deepCpuProfile(depth = 10000) {
  const nodes = [{ id: 1, callFrame: frame('(root)', '', -1), hitCount: 0, children: [] }];
  for (let d = 1; d <= depth; d++) {
    nodes.push({ id: d + 1, callFrame: frame(`recurse_${d}`, 'file:///srv/app/deep.js', d), hitCount: 0, children: [] });
    nodes[d - 1].children.push(d + 1);
  }
  nodes[depth].callFrame.functionName = 'deepestLeaf';
  const samples = [], timeDeltas = [];
  for (let k = 0; k < 200; k++) {
    samples.push(k % 4 ? depth + 1 : depth);
    timeDeltas.push(1000);
  }
  return { nodes, startTime: 0, endTime: 201000, samples, timeDeltas };
}

// A .heapprofile nested depth levels deep, as JSON text: JSON.stringify
// recurses and cannot write it.
export function deepHeapProfileText(depth = 10000) {
  const open = [], close = [];
  for (let d = 0; d <= depth; d++) {
    const name = d === 0 ? '(root)' : d === depth ? 'allocateLots' : `alloc_${d}`;
    const cf = frame(name, d ? 'file:///srv/app/heap.js' : '', d ? d : -1);
    const size = d === depth ? 1 << 20 : d && d % 100 === 0 ? 4096 : 0;
    open.push(`{"callFrame":${JSON.stringify(cf)},"selfSize":${size},"id":${d + 1},"children":[`);
    close.push(']}');
  }
  const head = open.join('') + close.join('');
  return `{"head":${head},"samples":[{"size":${1 << 20},"nodeId":${depth + 1},"ordinal":1}]}`;
}
