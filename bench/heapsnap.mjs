#!/usr/bin/env node
// `nodeprof heap summary` and `heap diff` against memlab's equivalent
// analysis (bench/lib/memlab-heap.mjs) on the same snapshots, side by side:
// wall time, CPU time and peak RSS (/usr/bin/time), and the ratios.
// Snapshots of a realistic object graph (bench/lib/heapsnap-app.cjs) are
// generated under $TMPDIR at each --sizes MB (approximate) and removed at
// the end unless --keep.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const usage = `usage: node bench/heapsnap.mjs [--sizes 100,500,1500] [--rounds N] [--no-memlab] [--memlab-max MB]
                               [--nodeprof PATH] [--node PATH] [--dir DIR] [--keep] [--quick]
  --sizes        snapshot sizes to generate, MB (default 100,500,1500; --quick 30)
  --rounds       runs of each tool per file, interleaved; medians reported (default 1)
  --memlab-max   largest snapshot memlab is run on, MB (default: all)
  --dir          where snapshots go (default a fresh directory under $TMPDIR)
  --keep         keep the snapshots (and reuse ones found in --dir)
Needs /usr/bin/time and memlab (npm ci --prefix tests).`;
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
if (args.includes('--help')) { console.log(usage); process.exit(0); }
const quick = args.includes('--quick');
const sizes = String(opt('--sizes', quick ? '30' : '100,500,1500')).split(',').map(Number);
const rounds = Number(opt('--rounds', 1));
const memlabMax = Number(opt('--memlab-max', Infinity));
const withMemlab = !args.includes('--no-memlab');
const nodeprof = opt('--nodeprof', path.join(ROOT, 'build/nodeprof'));
const node = opt('--node', process.execPath);
const keep = args.includes('--keep');
const dir = opt('--dir', null) ?? fs.mkdtempSync(path.join(os.tmpdir(), 'heapsnap-bench-'));
fs.mkdirSync(dir, { recursive: true });

function timed(cmd, argv) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', cmd, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
  // memlab's progress lines end without a newline: read the figures from the end
  const last = (r.stderr.match(/([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/) ?? []).slice(1).map(Number);
  if (r.status !== 0 || last.length !== 4) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr.slice(-500)}`);
  return { wall: last[0], cpu: last[1] + last[2], rssMb: last[3] / 1024, stdout: r.stdout };
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

function generate(mb) {
  const prefix = path.join(dir, `graph-${mb}`);
  const files = [`${prefix}-a.heapsnapshot`, `${prefix}-b.heapsnapshot`];
  if (keep && files.every((f) => fs.existsSync(f))) return files;
  // the snapshot text is about 1.7 times the heap it describes
  const heapMb = Math.max(5, Math.round(mb / 1.7));
  const r = spawnSync(node, [`--max-old-space-size=${Math.max(4096, heapMb * 4)}`, path.join(BENCH, 'lib/heapsnap-app.cjs'),
    '--mb', String(heapMb), '--out', prefix], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`generating a ${mb} MB snapshot failed`);
  return files;
}

const f = (x, d = 1) => Number.isNaN(x) ? '-' : x.toFixed(d);
const row = (r) => `| ${r.file} | ${r.what} | ${f(r.wall)} | ${f(r.cpu)} | ${f(r.rss, 0)} | ${f(r.mwall)} | ${f(r.mcpu)} | ${f(r.mrss, 0)} | ` +
  `${Number.isNaN(r.mwall) ? '-' : `${f(r.mwall / r.wall)}x`} | ${Number.isNaN(r.mcpu) ? '-' : `${f(r.mcpu / r.cpu)}x`} | ` +
  `${Number.isNaN(r.mrss) ? '-' : f(r.rss / r.mrss, 2)} |`;
const rows = [];
for (const mb of sizes) {
  console.error(`generating ~${mb} MB snapshots in ${dir} ...`);
  const [a, b] = generate(mb);
  const sizeMb = fs.statSync(a).size / 1048576;
  const tools = [['nodeprof', 'summary', () => timed(nodeprof, ['heap', 'summary', a, '--json'])],
    ['nodeprof', 'diff', () => timed(nodeprof, ['heap', 'diff', a, b, '--json'])]];
  if (withMemlab && mb <= memlabMax) {
    const ml = path.join(BENCH, 'lib/memlab-heap.mjs');
    tools.push(['memlab', 'summary', () => timed(node, ['--max-old-space-size=20000', ml, 'summary', a])]);
    tools.push(['memlab', 'diff', () => timed(node, ['--max-old-space-size=20000', ml, 'diff', a, b])]);
  }
  const runs = new Map(tools.map(([t, what]) => [`${t} ${what}`, []]));
  for (let r = 0; r < rounds; r++) {
    const order = tools.map((_, i) => tools[(i + r) % tools.length]);
    for (const [t, what, fn] of order) {
      console.error(`  round ${r + 1}: ${t} ${what} ...`);
      try { runs.get(`${t} ${what}`).push(fn()); } catch (e) { console.error(`  ${e.message.split('\n')[0]}`); }
    }
  }
  for (const what of ['summary', 'diff']) {
    const ours = runs.get(`nodeprof ${what}`), theirs = runs.get(`memlab ${what}`) ?? [];
    const m = (rs, k) => rs.length ? median(rs.map((x) => x[k])) : NaN;
    rows.push({ file: `${sizeMb.toFixed(0)} MB`, what, wall: m(ours, 'wall'), cpu: m(ours, 'cpu'), rss: m(ours, 'rssMb'),
      mwall: m(theirs, 'wall'), mcpu: m(theirs, 'cpu'), mrss: m(theirs, 'rssMb') });
    console.error(`  ${row(rows[rows.length - 1])}`); // as it comes: a long run can be cut short
  }
}
console.log(`nodeprof heap vs memlab ${withMemlab ? '(memlab 2.0.5)' : ''}, ${os.cpus().length} CPUs, node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}`);
console.log('| snapshot | analysis | nodeprof wall s | cpu s | peak RSS MB | memlab wall s | cpu s | peak RSS MB | memlab/nodeprof wall | memlab/nodeprof cpu | nodeprof/memlab RSS |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(row(r));
if (!keep) fs.rmSync(dir, { recursive: true, force: true });
