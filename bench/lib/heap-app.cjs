// A process with a big heap of many small objects and strings, for the heap
// snapshot benchmark.   node --expose-gc heap-app.cjs [--mb 200]
// Builds the heap, collects garbage, prints {"pid","heapUsed","rss",...}
// on stdout, then idles. Over its IPC channel (when it has one):
//   {cmd: 'snapshot', path}  -> v8.writeHeapSnapshot(path), answers {ms, path}
//   {cmd: 'stats'}           -> answers process.memoryUsage()
// SIGTERM exits through process.exit(0).
'use strict';
const v8 = require('node:v8');

const argv = process.argv.slice(2);
const i = argv.indexOf('--mb');
const targetMb = i >= 0 ? Number(argv[i + 1]) : 200;

const t0 = performance.now();
const keep = [];
let n = 0;
while (process.memoryUsage().heapUsed < targetMb * 1048576) {
  for (let k = 0; k < 10000; k++, n++) {
    keep.push({
      id: n,
      name: `user-${n}`,
      email: `u${n}.${(n * 7919) % 10007}@example.com`,
      tags: ['t' + (n % 100), n % 7],
      pos: { x: n * 0.5, y: n & 255 },
    });
  }
}
globalThis.benchHeap = keep; // reachable for the life of the process
globalThis.gc?.();
const buildMs = performance.now() - t0;

const mu = process.memoryUsage();
process.stdout.write(JSON.stringify({ pid: process.pid, objects: n, heapUsed: mu.heapUsed, rss: mu.rss, buildMs }) + '\n');

process.on('message', (msg) => {
  if (msg.cmd === 'snapshot') {
    const s = performance.now();
    const path = v8.writeHeapSnapshot(msg.path);
    process.send({ ms: performance.now() - s, path });
  } else if (msg.cmd === 'stats') {
    process.send(process.memoryUsage());
  }
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
// Idle, but alive even without an IPC channel.
setInterval(() => {}, 1 << 30);
