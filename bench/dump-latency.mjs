#!/usr/bin/env node
// Request latency while `nodeprof ctl PID cpu dump` runs every second
// against the HTTP server of http.mjs under load (library in the server,
// CPU profiling on), against the same server with no dumps. Variants
// interleave round by round.
import fs from 'node:fs';
import path from 'node:path';
import {
  parseArgs, commonUsage, requireFiles, header, tempDir, emptyDir, filesIn, roundOrder, sleep, nowMs,
  baseEnv, stopChild, runTimed, died, failure, printFailures, median, p90, max, sortedQuantile, fmt, ratio, table, writeJson, log,
} from './lib/common.mjs';
import { startServer, runLoad } from './lib/http-common.mjs';

const usage = `usage: node bench/dump-latency.mjs [options]
The server of http.mjs with LD_PRELOAD=libnodeprof.so (CPU profiling on),
under the same load, in two variants:
  no dumps      nothing else happens (the baseline)
  dumps         \`nodeprof ctl PID cpu dump\` every --every seconds
and the same pair again with --ballast MB of live objects on the server's
heap (a dump starts a new CPU profile, and V8 walks the heap to log the
existing code then, so its pause grows with the heap).
Reports request latency (all requests; those in flight during a dump
command; the others) and the wall time of each dump command.
options:
  --rounds N        rounds, each runs every variant (default 3, quick 1)
  --seconds S       measured load per variant and round (default 10, quick 4)
  --ballast MB      heap of the second pair; 0: no second pair (default 200, quick 100)
  --warmup S        unmeasured load before it (default 1)
  --every S         seconds between dump commands (default 1)
  --concurrency C   connections (default 8)
  --work N          server's per-request loop (default 30000)
${commonUsage}`;

const opts = parseArgs({ rounds: [3, 1], seconds: [10, 4], warmup: 1, every: 1, concurrency: 8, work: 30000, ballast: [200, 100] }, usage);
requireFiles(opts, { cli: true });

const variants = [
  { name: 'no dumps', lib: {}, dumps: false, ballast: 0 },
  { name: 'dumps', lib: {}, dumps: true, ballast: 0 },
];
if (opts.ballast > 0) {
  variants.push({ name: `no dumps, +${opts.ballast} MB heap`, lib: {}, dumps: false, ballast: opts.ballast },
    { name: `dumps, +${opts.ballast} MB heap`, lib: {}, dumps: true, ballast: opts.ballast });
}
for (const v of variants) Object.assign(v, { dir: tempDir('dump'), runs: [], failures: [], lats: [], during: [], outside: [], cmds: [] });

header('dump-latency', opts, `concurrency ${opts.concurrency}, work ${opts.work}, ${opts.rounds} rounds x ${opts.warmup}+${opts.seconds} s, dump every ${opts.every} s`);
const t0 = Date.now();

async function once(v) {
  const server = await startServer(opts, v, v.dir);
  const record = path.join(v.dir, 'requests.f64');
  const loading = runLoad(server.port, { concurrency: opts.concurrency, seconds: opts.seconds, warmup: opts.warmup, record });
  const windows = [];
  if (v.dumps) {
    let done = false;
    loading.finally(() => { done = true; });
    await sleep(opts.warmup * 1000);
    let next = nowMs();
    while (!done && !died(server)) {
      const a = nowMs();
      const r = await runTimed(opts.nodeprof, ['ctl', '--timeout', '10', String(server.pid), 'cpu', 'dump'], baseEnv());
      const b = nowMs();
      const file = r.stdout.trim().split('\n').find((l) => l.endsWith('.cpuprofile'));
      const bytes = file && fs.existsSync(file) ? fs.statSync(file).size : 0;
      if (r.status !== 0 || !bytes) v.failures.push(`cpu dump: exit ${r.status ?? r.signal}, file '${file}': ${r.stderr.trim()}`);
      windows.push([a, b]);
      v.cmds.push({ ms: b - a, bytes });
      if (file) fs.rmSync(file, { force: true });
      next += opts.every * 1000;
      const wait = next - nowMs();
      if (wait > 0) await sleep(wait);
    }
  }
  const res = await loading;
  const dead = died(server) && `the server died (${server.exitCode ?? server.signalCode}) under load`;
  await stopChild(server);
  if (dead || res.errors || server.err.includes('nodeprof:')) {
    v.failures.push(failure(`${dead || 'server alive'}; ${res.errors} request errors ${res.lastError}`, server.err));
  }
  const buf = fs.readFileSync(record);
  const pairs = new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  let during = 0;
  for (let i = 0; i < pairs.length; i += 2) {
    const s = pairs[i], lat = pairs[i + 1], e = s + lat;
    v.lats.push(lat);
    // In flight while a dump command ran (windows never overlap).
    if (windows.some(([a, b]) => s < b && e > a)) { v.during.push(lat); during++; } else v.outside.push(lat);
  }
  v.runs.push({ rps: res.rps, p50: res.p50, p99: res.p99, max: res.max, requests: res.requests, during, dumps: windows.length });
  emptyDir(v.dir);
}

for (let r = 0; r < opts.rounds; r++) {
  for (const i of roundOrder(variants.length, r)) await once(variants[i]);
  log(`round ${r + 1}/${opts.rounds}`);
}
for (const v of variants) fs.rmSync(v.dir, { recursive: true, force: true });

const stats = (lats) => {
  const s = Float64Array.from(lats).sort();
  return { n: s.length, p50: sortedQuantile(s, 0.5), p99: sortedQuantile(s, 0.99), max: s.length ? s[s.length - 1] : NaN };
};
const rows = [], cmdRows = [];
for (let k = 0; k < variants.length; k += 2) {
  const [nod, dmp] = [variants[k], variants[k + 1]];
  const base = stats(nod.lats);
  const heap = nod.ballast ? `+${nod.ballast} MB heap` : 'small heap';
  for (const [label, v, st] of [
    [`${heap}, no dumps: all requests`, nod, base],
    [`${heap}, dumps: all requests`, dmp, stats(dmp.lats)],
    [`${heap}, dumps: in flight during a dump`, dmp, stats(dmp.during)],
    [`${heap}, dumps: the others`, dmp, stats(dmp.outside)],
  ]) {
    rows.push([
      label, String(st.n), label.endsWith('all requests') ? fmt(median(v.runs.map((x) => x.rps)), 0) : '',
      fmt(st.p50, 2), fmt(st.p99, 2), fmt(st.max, 1), ratio(st.p50 / base.p50), ratio(st.p99 / base.p99), ratio(st.max / base.max),
    ]);
  }
  const ms = dmp.cmds.map((c) => c.ms);
  cmdRows.push([heap, String(ms.length), fmt(median(ms), 1), fmt(p90(ms), 1), fmt(max(ms), 1),
    fmt(median(dmp.cmds.map((c) => c.bytes)) / 1024, 1), String(dmp.failures.length + nod.failures.length)]);
}
console.log(`\nrequest latency (ms), requests of all rounds pooled; ratios to the same heap's "no dumps: all requests"; ${((Date.now() - t0) / 1000).toFixed(0)} s`);
table(['requests', 'count', 'req/s', 'p50', 'p99', 'max', 'p50 ratio', 'p99 ratio', 'max ratio'], rows);
console.log(`\n\`nodeprof ctl PID cpu dump\` wall time (ms) under load, every ${opts.every} s`);
table(['server', 'commands', 'median', 'p90', 'max', 'profile KB', 'failures'], cmdRows);
printFailures(variants);
writeJson(opts, { bench: 'dump-latency', opts, variants: variants.map(({ dir, lats, during, outside, ...v }) => v), summary: rows });
process.exitCode = variants.some((v) => v.failures.length) ? 1 : 0;
