#!/usr/bin/env node
// CPU profile memory over a long life: an idle HTTP server (lib/server.cjs,
// a request every 100 ms) profiled with a short sampling interval, side by
// side with the same server without nodeprof, with NODEPROF_CPU_WINDOW=off
// (V8 keeps every sample) and with folding. RSS over time, the exit file's
// size, how long the exit took, and whether the exit profile accounts for
// every sample.
import fs from 'node:fs';
import http from 'node:http';
import {
  parseArgs, commonUsage, requireFiles, header, tempDir, filesIn, sleep, nowMs, procStatus,
  startChild, variantCommand, stopChild, died, failure, printFailures, fmt, mb, table, writeJson, log, BENCH,
} from './lib/common.mjs';

const usage = `usage: node bench/cpu-soak.mjs [options]
Runs these servers at the same time, for --seconds, all profiled (but the
first) at NODEPROF_CPU_INTERVAL=--interval:
  plain         node server.cjs
  window off    NODEPROF_CPU_WINDOW=off: one profile, every sample kept
  folded        NODEPROF_CPU_WINDOW=--window: folded every window
  default       the default window (1m), so the 60,000-interval cap folds
Every --every seconds the RSS of each; at the end SIGTERM, then the exit
file's size and samples. "Simulated" time is the samples taken at the
default 1 ms interval: V8's memory grows per sample, not per second. The
folds, at one a minute by default, give a second measure: 1440 folds
are 24 hours of the default window.
options:
  --seconds S    how long the servers run (default 180, quick 30)
  --interval US  sampling interval (default 10)
  --window W     the folded variant's NODEPROF_CPU_WINDOW (default 300ms)
  --every S      RSS reading period (default 15, quick 5)
  --rate N       requests per second to each server (default 10)
${commonUsage}`;

const opts = parseArgs({ seconds: [180, 30], interval: 10, window: '300ms', every: [15, 5], rate: 10 }, usage);
requireFiles(opts);
header('cpu-soak', opts, `interval ${opts.interval} us, window ${opts.window}, ${opts.seconds} s`);

const SERVER = `${BENCH}/lib/server.cjs`;
const lib = (extra) => ({ CPU_INTERVAL: opts.interval, ...extra });
const variants = [
  { name: 'plain', lib: null },
  { name: 'window off', lib: lib({ CPU_WINDOW: 'off' }) },
  { name: `folded (${opts.window})`, lib: lib({ CPU_WINDOW: opts.window }) },
  { name: 'default (1m, cap)', lib: lib({}) },
];

function get(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/soak', agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', resolve);
  });
}

// The exit profile: its size, samples (hitCount, which counts folded ones),
// folds, and whether its deltas cover its span.
function exitProfile(dir) {
  const [file] = filesIn(dir, '.cpuprofile');
  if (!file) return null;
  const size = fs.statSync(file).size;
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  let hits = 0, deltas = 0;
  for (const n of p.nodes) hits += n.hitCount ?? 0;
  for (const d of p.timeDeltas) deltas += d;
  return {
    size, hits, nodes: p.nodes.length, folds: p.nodeprofFolded?.folds ?? 0,
    span: p.endTime - p.startTime, uncovered: p.endTime - p.startTime - deltas,
  };
}

async function main() {
  for (const v of variants) {
    v.dir = tempDir('soak');
    v.failures = [];
    v.child = startChild(variantCommand(opts, v, SERVER, ['--work', '3000'], v.dir));
  }
  for (const v of variants) v.port = (await v.child.ready).port;
  const t0 = nowMs();
  const readings = [];
  let nextReading = 0;
  const tick = 1000 / opts.rate;
  while (nowMs() - t0 < opts.seconds * 1000) {
    const t = (nowMs() - t0) / 1000;
    if (t >= nextReading) {
      readings.push({ t, rss: variants.map((v) => procStatus(v.child.pid).rss) });
      nextReading += opts.every;
    }
    await Promise.all(variants.map((v) => get(v.port)));
    await sleep(tick);
  }
  readings.push({ t: (nowMs() - t0) / 1000, rss: variants.map((v) => procStatus(v.child.pid).rss) });
  for (const v of variants) {
    if (died(v.child)) v.failures.push(failure('server died', v.child.err));
    v.exitMs = await stopChild(v.child, 120000);
    if (v.lib) {
      v.profile = exitProfile(v.dir);
      if (!v.profile) v.failures.push(failure('no exit profile', v.child.err));
      if (/nodeprof: /.test(v.child.err)) v.failures.push(failure('nodeprof printed a warning', v.child.err));
    }
  }
  report(readings);
  printFailures(variants);
  writeJson(opts, { opts, readings, variants: variants.map(({ child, ...v }) => v) });
  process.exitCode = variants.some((v) => v.failures.length) ? 1 : 0;
}

function report(readings) {
  const head = ['t (s)', ...variants.map((v) => `${v.name} MB`)];
  table(head, readings.map((r) => [fmt(r.t, 0), ...r.rss.map((kb, i) => (i === 0 ? mb(kb) : `${mb(kb)} (+${mb(kb - r.rss[0])})`))]));
  console.log('');
  const rows = variants.filter((v) => v.lib).map((v) => {
    const p = v.profile ?? {};
    const i = variants.indexOf(v);
    const last = readings.at(-1), mid = readings[Math.floor(readings.length / 2)];
    return [v.name, fmt(p.hits / 1e6, 2), fmt(p.hits / 3.6e6, 2), String(p.folds ?? '-'), fmt(p.size / 1048576, 2),
      String(p.nodes ?? '-'), fmt(p.uncovered / 1000, 1), fmt(v.exitMs, 0),
      mb(last.rss[i] - last.rss[0]), mb((last.rss[i] - last.rss[0]) - (mid.rss[i] - mid.rss[0]))];
  });
  table(['variant', 'Msamples', 'sim. h', 'folds', 'exit file MB', 'nodes', 'uncovered ms', 'exit ms',
    'RSS over plain MB', 'growth 2nd half MB'], rows);
  const off = variants[1], offP = off.profile;
  if (offP?.hits) {
    const i = 1, last = readings.at(-1), first = readings[1] ?? readings[0];
    const perM = ((last.rss[i] - last.rss[0]) - (first.rss[i] - first.rss[0])) / 1024 / ((offP.hits * (last.t - first.t) / last.t) / 1e6);
    console.log(`\nwindow off: RSS grows ${fmt(perM, 1)} MB and the file ${fmt(offP.size / 1048576 / (offP.hits / 1e6), 1)} MB ` +
      `per million samples: ${fmt(perM * 3.6, 0)} MB an hour, ${fmt(perM * 86.4, 0)} MB a day at the default 1 ms interval.`);
  }
}

main();
