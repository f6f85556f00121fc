// A GC-heavy workload for bench/memory.mjs: node gc-app.cjs ITERATIONS [MODE]
// Each iteration allocates 20,000 short-lived objects and replaces one in 64 of them
// into a 20,000-object live set (old-generation garbage: scavenges and
// mark-compacts both run). MODE adds a GC accounting candidate inside the
// app, as the timeline would run it:
//   observer    a perf_hooks PerformanceObserver on 'gc' entries
//   gcprofiler  a v8.GCProfiler, drained (stop, start) every second
// Prints one JSON line: CPU µs per iteration (the whole process), the
// wall time, and the GCs the candidate saw.
const iterations = Number(process.argv[2] || 400);
const mode = process.argv[3] || 'none';
const v8 = require('node:v8');
const { PerformanceObserver } = require('node:perf_hooks');

let seen = 0, pauseMs = 0;
if (mode === 'observer') {
  const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) { seen++; pauseMs += e.duration; } });
  obs.observe({ entryTypes: ['gc'] });
} else if (mode === 'gcprofiler') {
  const prof = new v8.GCProfiler();
  prof.start();
  setInterval(() => {
    const data = prof.stop();
    prof.start();
    for (const s of data.statistics) { seen++; pauseMs += s.cost / 1000; }
  }, 1000).unref();
}

const live = Array.from({ length: 20000 }, (_, i) => ({ i, s: 'live' + i }));
let i = 0, sink = 0;
const cpu0 = process.cpuUsage(), t0 = process.hrtime.bigint();
function step() {
  for (let k = 0; k < 20000; k++) {
    const o = { k, s: 'tmp' + k, a: [k, i] };
    sink += o.s.length;
    if ((k & 63) === 0) live[(k * 7919 + i * 13) % live.length] = o;
  }
  if (++i < iterations) return setImmediate(step);
  const c = process.cpuUsage(cpu0);
  console.log(JSON.stringify({
    cpuUsPerIter: (c.user + c.system) / iterations,
    wallMs: Number(process.hrtime.bigint() - t0) / 1e6,
    gcSeen: seen, gcPauseMs: pauseMs, sink: sink > 0,
  }));
}
step();
