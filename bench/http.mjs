#!/usr/bin/env node
// Throughput and latency of a small HTTP server (lib/server.cjs) under a
// fixed-concurrency keep-alive load on 127.0.0.1, for plain node, the
// library idle, CPU profiling, and node --cpu-prof; then the RSS of the
// server with the helper worker on and off.
import fs from 'node:fs';
import {
  parseArgs, commonUsage, requireFiles, header, tempDir, emptyDir, filesIn, roundOrder, sleep,
  procStatus, cpuMs, stopChild, died, failure, printFailures, median, max, fmt, ratio, mb, table, writeJson, log, die,
} from './lib/common.mjs';
import { startServer, runLoad, runWrk } from './lib/http-common.mjs';

const usage = `usage: node bench/http.mjs [options]
Requests/s and latency (p50, p99) of lib/server.cjs under load, variants
interleaved round by round:
  plain         node server.cjs
  lib idle      LD_PRELOAD=libnodeprof.so NODEPROF_CPU=off
  lib cpu       LD_PRELOAD=libnodeprof.so (CPU profiling, the default)
  lib cpu, crash off   the same with NODEPROF_CRASH=off: no fault handlers,
                no libunwind, no native-stack signal (the cost of native
                stacks and crash reports while nobody asks for them)
  --cpu-prof    node --cpu-prof --cpu-prof-dir=TMP
then the RSS of the server (idle 1 s after start, and after load) for plain,
the library with NODEPROF_HELPER=off, and with NODEPROF_HELPER=on (default),
both with CPU profiling on (the default).
A fresh server per variant and round; the first --warmup seconds of load
are not counted in req/s and latency. "CPU us/req" is the server's CPU
time (all its threads, /proc/PID/stat) over the whole load, warm-up
included, per request: less sensitive than req/s to other processes
competing for the CPUs.
options:
  --rounds N        throughput rounds (default 8, quick 2)
  --seconds S       measured load per variant and round (default 3, quick 2)
  --warmup S        unmeasured load before it (default 1)
  --concurrency C   connections, each with one request in flight (default 8)
  --work N          iterations of the per-request checksum loop (default 30000)
  --rss-rounds N    rounds of the helper RSS phase (default 3, quick 1)
  --loader NAME     node (lib/load.mjs, default) or wrk (needs wrk installed)
${commonUsage}`;

const opts = parseArgs({
  rounds: [8, 2], seconds: [3, 2], warmup: 1, concurrency: 8, work: 30000, rssRounds: [3, 1], loader: 'node',
}, usage);
requireFiles(opts);
if (!['node', 'wrk'].includes(opts.loader)) die('--loader is node or wrk');
const load = opts.loader === 'wrk' ? runWrk : runLoad;

const variants = [
  { name: 'plain' },
  { name: 'lib idle', lib: { CPU: 'off' } },
  { name: 'lib cpu', lib: {}, expect: 1 },
  { name: 'lib cpu, crash off', lib: { CRASH: 'off' }, expect: 1 },
  { name: '--cpu-prof', nodeArgs: ['--cpu-prof', '--cpu-prof-dir={DIR}'], expect: 1 },
  { name: 'lib memory 10s', lib: { CPU: 'off', MEMORY: '10s' } },
  { name: 'lib memory 1s', lib: { CPU: 'off', MEMORY: '1s' } },
];
const rssVariants = [
  { name: 'plain' },
  { name: 'lib, helper off', lib: { HELPER: 'off' } },
  { name: 'lib, helper on', lib: { HELPER: 'on' } },
];
for (const v of [...variants, ...rssVariants]) Object.assign(v, { dir: tempDir('http'), runs: [], failures: [] });

header('http', opts, `loader ${opts.loader}, concurrency ${opts.concurrency}, work ${opts.work}, ` +
  `${opts.rounds} rounds x ${opts.warmup}+${opts.seconds} s`);
const t0 = Date.now();

// One server life under load: numbers of the load, RSS after it, and how
// long the exit took (profilers write their file then).
async function segment(v) {
  const server = await startServer(opts, v, v.dir);
  const cpu0 = cpuMs(server.pid);
  const res = await load(server.port, { concurrency: opts.concurrency, seconds: opts.seconds, warmup: opts.warmup });
  const cpuUsPerReq = ((cpuMs(server.pid) - cpu0) * 1000) / (res.requests + res.warmupRequests);
  const st = procStatus(server.pid);
  const dead = died(server) && `the server died (${server.exitCode ?? server.signalCode}) under load`;
  const exitMs = await stopChild(server);
  const files = filesIn(v.dir, '.cpuprofile');
  const bad = dead || res.errors > 0 || files.length !== (v.expect ?? 0) || server.err.includes('nodeprof:');
  if (bad) v.failures.push(failure(`${dead || 'server alive'}; ${res.errors} request errors ${res.lastError ?? ''}; ${files.length} profiles`, server.err));
  v.runs.push({ ...res, cpuUsPerReq, rss: st.rss, hwm: st.hwm, threads: st.threads, exitMs, profileBytes: files.length ? fs.statSync(files[0]).size : 0 });
  emptyDir(v.dir);
}

for (let r = 0; r < opts.rounds; r++) {
  for (const i of roundOrder(variants.length, r)) await segment(variants[i]);
  log(`throughput round ${r + 1}/${opts.rounds}`);
}

// Helper RSS: idle 1 s (the helper starts at 300 ms), then 2 s of load.
for (let r = 0; r < opts.rssRounds; r++) {
  for (const i of roundOrder(rssVariants.length, r)) {
    const v = rssVariants[i];
    const server = await startServer(opts, v, v.dir);
    await sleep(1000);
    const idle = procStatus(server.pid);
    const res = await load(server.port, { concurrency: opts.concurrency, seconds: 2, warmup: 0 });
    const loaded = procStatus(server.pid);
    const dead = died(server) && `the server died (${server.exitCode ?? server.signalCode})`;
    await stopChild(server);
    if (dead || res.errors || server.err.includes('nodeprof:')) v.failures.push(failure(`${dead || 'server alive'}; ${res.errors} request errors`, server.err));
    v.runs.push({ idleRss: idle.rss, idleThreads: idle.threads, rss: loaded.rss, hwm: loaded.hwm, threads: loaded.threads, rps: res.rps });
    emptyDir(v.dir);
  }
}
for (const v of [...variants, ...rssVariants]) fs.rmSync(v.dir, { recursive: true, force: true });

const col = (v, k) => v.runs.map((x) => x[k]);
const m = (v, k) => median(col(v, k));
const base = variants[0];
console.log(`\nthroughput: median over ${opts.rounds} rounds of ${opts.seconds} s; ratio = req/s / plain's; ` +
  `latency in ms; RSS after the load; exit = SIGTERM to exit (profile written), ${((Date.now() - t0) / 1000).toFixed(0)} s`);
table(['variant', 'req/s', 'ratio', 'min..max ratio', 'CPU us/req', 'CPU ratio', 'p50', 'p99', 'p99 ratio', 'max', 'RSS MB', 'exit ms', 'failures'],
  variants.map((v) => [
    v.name, fmt(m(v, 'rps'), 0), ratio(m(v, 'rps') / m(base, 'rps')),
    // Per-round paired ratios: how much the rounds agree.
    (() => {
      const rs = v.runs.map((x, k) => x.rps / base.runs[k].rps);
      return `${Math.min(...rs).toFixed(2)}..${Math.max(...rs).toFixed(2)}`;
    })(),
    fmt(m(v, 'cpuUsPerReq'), 0), ratio(m(v, 'cpuUsPerReq') / m(base, 'cpuUsPerReq')),
    fmt(m(v, 'p50'), 2), fmt(m(v, 'p99'), 2), ratio(m(v, 'p99') / m(base, 'p99')), fmt(max(col(v, 'max')), 1),
    mb(m(v, 'rss')), fmt(m(v, 'exitMs'), 0), String(v.failures.length),
  ]));

const rb = rssVariants[0];
console.log(`\nserver RSS (MB): idle = 1 s after start (the helper starts at 300 ms), loaded = after 2 s of load; median of ${opts.rssRounds}`);
table(['variant', 'idle RSS', 'threads', 'loaded RSS', 'peak RSS', 'idle ratio', 'loaded ratio', '+MB idle vs plain', 'failures'],
  rssVariants.map((v) => [
    v.name, mb(m(v, 'idleRss')), fmt(m(v, 'idleThreads'), 0), mb(m(v, 'rss')), mb(m(v, 'hwm')),
    ratio(m(v, 'idleRss') / m(rb, 'idleRss')), ratio(m(v, 'rss') / m(rb, 'rss')),
    mb(m(v, 'idleRss') - m(rb, 'idleRss')), String(v.failures.length),
  ]));
printFailures([...variants, ...rssVariants]);
writeJson(opts, { bench: 'http', opts, variants: variants.map(({ dir, ...v }) => v), rss: rssVariants.map(({ dir, ...v }) => v) });
process.exitCode = [...variants, ...rssVariants].some((v) => v.failures.length) ? 1 : 0;
