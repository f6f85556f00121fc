#!/usr/bin/env node
// The cost of the memory timeline (NODEPROF_MEMORY) and of its GC
// accounting candidates on a GC-heavy workload (lib/gc-app.cjs: about 80
// GCs a second, half the time in GC). Variants interleaved round by round:
//   plain            node gc-app.cjs (the baseline)
//   observer         plain node, the app runs a PerformanceObserver('gc')
//   gcprofiler       plain node, the app drains a v8.GCProfiler every second
//   lib idle         LD_PRELOAD=libnodeprof.so NODEPROF_CPU=off
//   lib memory 10s   ... NODEPROF_MEMORY=10s (the default period of `on`)
//   lib memory 1s    ... NODEPROF_MEMORY=1s
//   lib memory 100ms ... NODEPROF_MEMORY=100ms (the shortest period)
// "CPU µs/iter" is the whole process's CPU time (all threads: GC helpers,
// the agent) per iteration of the workload, measured by the app itself.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  BENCH, parseArgs, commonUsage, requireFiles, header, variantCommand, tempDir, emptyDir, filesIn,
  roundOrder, failure, printFailures, median, quantile, fmt, ratio, table, writeJson, log,
} from './lib/common.mjs';

const usage = `usage: node bench/memory.mjs [options]
CPU per iteration of a GC-heavy app, timeline on vs off and the GC
accounting candidates, interleaved round by round; ratios to plain node.
options:
  --rounds N       rounds (default 7, quick 2)
  --iterations N   workload iterations per run (default 1500, about 3 s; quick 400)
${commonUsage}`;

const opts = parseArgs({ rounds: [7, 2], iterations: [1500, 400] }, usage);
requireFiles(opts, { cli: true });
const APP = path.join(BENCH, 'lib/gc-app.cjs');

const variants = [
  { name: 'plain' },
  { name: 'observer', mode: 'observer' },
  { name: 'gcprofiler', mode: 'gcprofiler' },
  { name: 'lib idle', lib: { CPU: 'off' } },
  { name: 'lib memory 10s', lib: { CPU: 'off', MEMORY: '10s' }, timeline: true },
  { name: 'lib memory 1s', lib: { CPU: 'off', MEMORY: '1s' }, timeline: true },
  { name: 'lib memory 100ms', lib: { CPU: 'off', MEMORY: '100ms' }, timeline: true },
];
for (const v of variants) Object.assign(v, { dir: tempDir('memory'), runs: [], failures: [] });

header('memory', opts, `${opts.rounds} rounds of ${opts.iterations} iterations`);
const t0 = Date.now();

function once(v) {
  const { cmd, args, env } = variantCommand(opts, v, APP, [String(opts.iterations), v.mode ?? 'none'], v.dir);
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 300000 });
  let res = null;
  try { res = JSON.parse(r.stdout.trim().split('\n').pop()); } catch {}
  const files = filesIn(v.dir, '.memory.jsonl');
  let samples = 0, gcCounted = 0;
  for (const f of files) {
    for (const line of fs.readFileSync(f, 'utf8').trim().split('\n').slice(1)) {
      const s = JSON.parse(line);
      samples++;
      gcCounted += Object.values(s.gc).reduce((a, k) => a + (k.count ?? 0), 0);
    }
  }
  const bad = r.status !== 0 || !res || (r.stderr || '').includes('nodeprof:') || (v.timeline ? samples < 1 : files.length);
  if (bad) v.failures.push(failure(`status ${r.status}; ${files.length} timelines, ${samples} samples`, r.stderr));
  if (res) v.runs.push({ ...res, samples, gcCounted });
  emptyDir(v.dir);
}

for (let r = 0; r < opts.rounds; r++) {
  for (const i of roundOrder(variants.length, r)) once(variants[i]);
  log(`round ${r + 1}/${opts.rounds} done`);
}

const base = median(variants[0].runs.map((x) => x.cpuUsPerIter));
table(['variant', 'CPU µs/iter', 'p10', 'p90', 'ratio', 'wall ms', 'GCs seen', 'samples', 'failures'],
  variants.map((v) => {
    const cpu = v.runs.map((x) => x.cpuUsPerIter);
    const gcs = v.runs.map((x) => (v.timeline ? x.gcCounted : x.gcSeen));
    return [v.name, fmt(median(cpu)), fmt(quantile(cpu, 0.1)), fmt(quantile(cpu, 0.9)), ratio(median(cpu) / base),
      fmt(median(v.runs.map((x) => x.wallMs)), 0), v.mode || v.timeline ? fmt(median(gcs), 0) : '-',
      v.timeline ? fmt(median(v.runs.map((x) => x.samples)), 0) : '-', String(v.failures.length)];
  }));
printFailures(variants);
writeJson(opts, { opts, variants: variants.map(({ name, runs, failures }) => ({ name, runs, failures })) });
log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exitCode = variants.some((v) => v.failures.length) ? 1 : 0;
