#!/usr/bin/env node
// Heap snapshot of a process with a big heap (lib/heap-app.cjs): time, peak
// RSS and file size of `nodeprof ctl PID heap snapshot` (library in the
// process) against v8.writeHeapSnapshot() called in the process (no
// library, asked over IPC). Variants interleave round by round.
import fs from 'node:fs';
import path from 'node:path';
import {
  BENCH, parseArgs, commonUsage, requireFiles, header, tempDir, emptyDir, roundOrder, sleep, nowMs,
  baseEnv, variantCommand, startChild, stopChild, died, failure, printFailures, runTimed, procStatus, resetPeakRss, median, fmt, ratio, mb,
  table, writeJson, log,
} from './lib/common.mjs';

const usage = `usage: node bench/snapshot.mjs [options]
Time, peak RSS and file size of one heap snapshot of a process holding
--mb MB of small objects and strings:
  v8.writeHeapSnapshot   plain node; the app calls v8.writeHeapSnapshot()
                         when asked over IPC (the baseline)
  nodeprof ctl           LD_PRELOAD=libnodeprof.so NODEPROF_CPU=off;
                         \`nodeprof ctl PID heap snapshot\` (NODEPROF_SNAPSHOT_FACTOR=0)
  nodeprof ctl, cpu on   the same with CPU profiling on (only with --cpu-variant)
Time is measured by this script from the request to the answer (the ctl
command's wall time; the IPC round trip). Peak RSS is the process's VmHWM
after resetting it (/proc/PID/clear_refs) just before the snapshot.
options:
  --mb N           heap to build, MB of heapUsed (default 200, quick 50)
  --rounds N       rounds, each snapshots every variant once (default 2, quick 1)
  --cpu-variant    add the variant with CPU profiling on
${commonUsage}`;

const opts = parseArgs({ mb: [200, 50], rounds: [2, 1], cpuVariant: false }, usage);
requireFiles(opts, { cli: true });
const APP = path.join(BENCH, 'lib/heap-app.cjs');

const variants = [
  { name: 'v8.writeHeapSnapshot', nodeArgs: ['--expose-gc'], how: 'ipc' },
  { name: 'nodeprof ctl', nodeArgs: ['--expose-gc'], lib: { CPU: 'off', SNAPSHOT_FACTOR: 0 }, how: 'ctl' },
];
if (opts.cpuVariant) variants.push({ name: 'nodeprof ctl, cpu on', nodeArgs: ['--expose-gc'], lib: { SNAPSHOT_FACTOR: 0 }, how: 'ctl' });
for (const v of variants) Object.assign(v, { dir: tempDir('snapshot'), runs: [], failures: [] });

header('snapshot', opts, `heap ${opts.mb} MB, ${opts.rounds} rounds`);
const t0 = Date.now();

function ask(child, msg) {
  return new Promise((resolve) => { child.once('message', resolve); child.send(msg); });
}

// A heap snapshot file: JSON that starts with {"snapshot": and ends with }.
function checkSnapshot(file) {
  const fd = fs.openSync(file, 'r');
  const size = fs.fstatSync(fd).size;
  const head = Buffer.alloc(16), tail = Buffer.alloc(16);
  fs.readSync(fd, head, 0, 16, 0);
  fs.readSync(fd, tail, 0, 16, Math.max(0, size - 16));
  fs.closeSync(fd);
  const ok = head.toString().startsWith('{"snapshot":') && tail.toString().trimEnd().endsWith('}');
  return { size, ok };
}

async function once(v) {
  const child = startChild(variantCommand(opts, v, APP, ['--mb', String(opts.mb)], v.dir), { ipc: true });
  const info = await child.ready;
  await sleep(500); // past the helper's start (300 ms)
  const before = procStatus(child.pid);
  const peakReset = resetPeakRss(child.pid);
  let polled = before.rss;
  const poll = setInterval(() => { const s = procStatus(child.pid); if (s.rss > polled) polled = s.rss; }, 20);
  const start = nowMs();
  let file = '', inProcessMs = NaN, error = '';
  if (v.how === 'ipc') {
    const r = await ask(child, { cmd: 'snapshot', path: path.join(v.dir, 'bench.heapsnapshot') });
    file = r.path;
    inProcessMs = r.ms;
  } else {
    const r = await runTimed(opts.nodeprof, ['ctl', String(child.pid), 'heap', 'snapshot'], baseEnv(), { timeoutMs: 600000 });
    file = r.stdout.trim().split('\n').find((l) => l.endsWith('.heapsnapshot')) ?? '';
    if (r.status !== 0) error = `ctl exit ${r.status ?? r.signal}: ${r.stderr.trim()}`;
  }
  const ms = nowMs() - start;
  clearInterval(poll);
  const after = procStatus(child.pid);
  const dead = died(child) && `the process died (${child.exitCode ?? child.signalCode})`;
  await stopChild(child);
  const check = file && fs.existsSync(file) ? checkSnapshot(file) : { size: 0, ok: false };
  if (dead || error || !check.ok || child.err.includes('nodeprof:')) {
    v.failures.push(failure([dead, error, !check.ok && `bad or missing snapshot file '${file}' (${check.size} bytes)`].filter(Boolean).join('; '), child.err));
  }
  v.runs.push({
    ms, inProcessMs, fileBytes: check.size, objects: info.objects, heapUsed: info.heapUsed,
    rssBefore: before.rss, peakRss: peakReset ? after.hwm : Math.max(polled, after.rss), polledPeak: Math.max(polled, after.rss),
    rssAfter: after.rss,
  });
  emptyDir(v.dir);
}

for (let r = 0; r < opts.rounds; r++) {
  for (const i of roundOrder(variants.length, r)) {
    await once(variants[i]);
    log(`round ${r + 1}/${opts.rounds}: ${variants[i].name} ${fmt(variants[i].runs.at(-1).ms / 1000, 1)} s`);
  }
}
for (const v of variants) fs.rmSync(v.dir, { recursive: true, force: true });

const m = (v, k) => median(v.runs.map((x) => x[k]));
const base = variants[0];
console.log(`\nheap snapshot of ${fmt(m(base, 'heapUsed') / 1048576, 0)} MB heapUsed (${fmt(m(base, 'objects') / 1000, 0)}k records), ` +
  `median of ${opts.rounds}; time in s, RSS in MB, ratios to v8.writeHeapSnapshot, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
table(['variant', 'time', 'ratio', 'RSS before', 'peak RSS', 'peak ratio', 'peak - before', 'RSS after', 'file MB', 'failures'],
  variants.map((v) => [
    v.name, fmt(m(v, 'ms') / 1000, 2), ratio(m(v, 'ms') / m(base, 'ms')), mb(m(v, 'rssBefore')), mb(m(v, 'peakRss')),
    ratio(m(v, 'peakRss') / m(base, 'peakRss')), mb(m(v, 'peakRss') - m(v, 'rssBefore')), mb(m(v, 'rssAfter')),
    fmt(m(v, 'fileBytes') / 1048576, 1), String(v.failures.length),
  ]));
if (Number.isFinite(m(base, 'inProcessMs'))) console.log(`v8.writeHeapSnapshot inside the process: ${fmt(m(base, 'inProcessMs') / 1000, 2)} s`);
printFailures(variants);
writeJson(opts, { bench: 'snapshot', opts, variants: variants.map(({ dir, ...v }) => v) });
process.exitCode = variants.some((v) => v.failures.length) ? 1 : 0;
