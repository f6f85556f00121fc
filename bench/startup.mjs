#!/usr/bin/env node
// Start-up cost: wall time and peak RSS of `node -e 0` (or of a small real
// script, --app) for plain node, node with the library idle, with CPU
// profiling (profile written at exit), node's own --cpu-prof, and the same
// two library variants of another build (--before). Variants interleave
// round by round; ratios are to --cpu-prof, in the same run.
import fs from 'node:fs';
import path from 'node:path';
import {
  parseArgs, commonUsage, requireFiles, header, variantCommand, tempDir, emptyDir, filesIn,
  roundOrder, runTimed, failure, printFailures, quantile, median, p90, fmt, ratio, mb, table, writeJson, log,
} from './lib/common.mjs';

const usage = `usage: node bench/startup.mjs [options]
Wall time (median, p90) and peak RSS of \`node -e 0\`, as ratios to --cpu-prof:
  plain         node -e 0
  lib idle      LD_PRELOAD=libnodeprof.so NODEPROF_CPU=off
  lib cpu       LD_PRELOAD=libnodeprof.so (CPU profile written at exit)
  --cpu-prof    node --cpu-prof --cpu-prof-dir=TMP
  before idle, before cpu   the same with the library given by --before
options:
  --before PATH    another libnodeprof.so (an older build) to compare with
  --app FILE       run node FILE instead of node -e CODE
  --rounds N       timed rounds, each runs every variant once (default 100, quick 15)
  --rss-rounds N   rounds under /usr/bin/time -f %M for peak RSS (default 20, quick 5)
  --script CODE    the code given to -e (default 0)
${commonUsage}`;

const opts = parseArgs({ rounds: [100, 15], rssRounds: [20, 5], script: '0', before: '', app: '' }, usage);
requireFiles(opts);

const variants = [
  { name: 'plain' },
  { name: 'lib idle', lib: { CPU: 'off' } },
  { name: 'lib cpu', lib: {}, expect: '.cpuprofile' },
  { name: '--cpu-prof', nodeArgs: ['--cpu-prof', '--cpu-prof-dir={DIR}'], expect: '.cpuprofile' },
];
if (opts.before) {
  const libPath = path.resolve(opts.before);
  variants.push({ name: 'before idle', lib: { CPU: 'off' }, libPath },
    { name: 'before cpu', lib: {}, libPath, expect: '.cpuprofile' });
}
const REF = variants.findIndex((v) => v.name === '--cpu-prof');
const runArgs = opts.app ? [path.resolve(opts.app)] : ['-e', opts.script];

header('startup', opts, `${opts.rounds} rounds + ${opts.rssRounds} RSS rounds`);
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
if (!TIME) log('no /usr/bin/time (apt-get install time): peak RSS not measured');

for (const v of variants) {
  v.dir = tempDir('startup');
  v.ms = [];
  v.rss = [];
  v.failures = [];
  v.files = [];
}

// One run of v; checks that exactly the expected profile was written.
async function once(v, withTime) {
  const { cmd, args, env } = variantCommand(opts, v, null, runArgs, v.dir);
  const rssFile = path.join(v.dir, 'rss.txt');
  const r = withTime
    ? await runTimed(TIME, ['-f', '%M', '-o', rssFile, cmd, ...args], env)
    : await runTimed(cmd, args, env);
  const written = filesIn(v.dir, '.cpuprofile');
  const want = v.expect ? 1 : 0;
  if (r.status !== 0 || written.length !== want || r.stderr.includes('nodeprof:')) {
    v.failures.push(failure(`exit ${r.status ?? r.signal}, ${written.length} profiles`, r.stderr));
  }
  if (written.length) v.files.push(fs.statSync(written[0]).size);
  if (withTime) v.rss.push(Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()));
  else v.ms.push(r.ms);
  emptyDir(v.dir);
}

// A few unmeasured runs: page cache, the library's loader file in its run dir.
for (const v of variants) await once(v, false);
for (const v of variants) v.ms = [];

const t0 = Date.now();
for (let r = 0; r < opts.rounds; r++) {
  for (const i of roundOrder(variants.length, r)) await once(variants[i], false);
  if ((r + 1) % 25 === 0) log(`round ${r + 1}/${opts.rounds}`);
}
if (TIME) for (let r = 0; r < opts.rssRounds; r++) for (const i of roundOrder(variants.length, r)) await once(variants[i], true);
for (const v of variants) fs.rmSync(v.dir, { recursive: true, force: true });

const base = variants[REF];
const bMed = median(base.ms), bP90 = p90(base.ms), bRss = median(base.rss);
// The ratio of each round's run to --cpu-prof's run of the same round: the
// pairs share the machine's state, which load changes from round to round.
const paired = (v) => median(v.ms.map((ms, r) => ms / base.ms[r]));
console.log(`\nnode ${runArgs.join(' ')}: wall time from spawn to exit (ms; p10, the fastest runs, is the least disturbed by other ` +
  `processes), ratios to --cpu-prof (paired: median of the per-round ratios), peak RSS (MB, /usr/bin/time %M), ` +
  `${((Date.now() - t0) / 1000).toFixed(0)} s`);
table(['variant', 'median', 'p90', 'p10', 'ratio', 'paired ratio', 'p10 ratio', '+ms', 'vs plain', 'peak RSS', 'RSS ratio', 'profile KB', 'failures'],
  variants.map((v) => [
    v.name, fmt(median(v.ms), 1), fmt(p90(v.ms), 1), fmt(quantile(v.ms, 0.1), 1),
    ratio(median(v.ms) / bMed), ratio(paired(v)), ratio(quantile(v.ms, 0.1) / quantile(base.ms, 0.1)),
    fmt(median(v.ms) - bMed, 1), ratio(median(v.ms) / median(variants[0].ms)), mb(median(v.rss)), ratio(median(v.rss) / bRss),
    v.files.length ? fmt(median(v.files) / 1024, 1) : '-', String(v.failures.length),
  ]));
printFailures(variants);
writeJson(opts, { bench: 'startup', opts, variants: variants.map(({ dir, ...v }) => v) });
process.exitCode = variants.some((v) => v.failures.length) ? 1 : 0;
