// Shared pieces of the benchmarks: options, variants, child processes,
// /proc readings, statistics and the result table.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.resolve(BENCH, '..');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// CLOCK_MONOTONIC in ms; the same clock in every process of the machine.
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// ---- options -------------------------------------------------------------

// parseArgs(spec): spec maps option names to defaults ({name: [full, quick]}
// for numbers that --quick changes). Every benchmark also takes --node,
// --lib, --nodeprof, --quick, --json FILE and --help.
export function parseArgs(spec, usage) {
  const opts = {
    node: 'node',
    lib: path.join(ROOT, 'build/libnodeprof.so'),
    nodeprof: path.join(ROOT, 'build/nodeprof'),
    quick: false,
    json: '',
  };
  const quickDefaults = {};
  for (const [k, v] of Object.entries(spec)) {
    if (Array.isArray(v)) { opts[k] = v[0]; quickDefaults[k] = v[1]; } else opts[k] = v;
  }
  const given = new Set();
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (a === '-h' || a === '--help') { process.stdout.write(usage); process.exit(0); }
    if (!a.startsWith('--')) die(`unexpected argument ${a}\n${usage}`);
    let val;
    const eq = a.indexOf('=');
    if (eq > 0) { val = a.slice(eq + 1); a = a.slice(0, eq); }
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in opts)) die(`unknown option ${a}\n${usage}`);
    if (typeof opts[key] === 'boolean') { opts[key] = val === undefined ? true : !/^(0|no|off|false)$/.test(val); given.add(key); continue; }
    if (val === undefined) { if (i + 1 >= argv.length) die(`${a} needs a value`); val = argv[++i]; }
    opts[key] = typeof opts[key] === 'number' ? Number(val) : val;
    if (typeof opts[key] === 'number' && !Number.isFinite(opts[key])) die(`${a}: not a number`);
    given.add(key);
  }
  if (opts.quick) for (const [k, v] of Object.entries(quickDefaults)) if (!given.has(k)) opts[k] = v;
  opts.node = resolveNode(opts.node);
  opts.lib = path.resolve(opts.lib);
  opts.nodeprof = path.resolve(opts.nodeprof);
  return opts;
}

export const commonUsage = `common options:
  --node PATH      node binary to measure (default: node on PATH)
  --lib PATH       libnodeprof.so (default: ../build/libnodeprof.so)
  --nodeprof PATH  the nodeprof CLI (default: ../build/nodeprof)
  --quick          a short smoke run (fewer rounds, shorter phases)
  --json FILE      also write every raw measurement to FILE
`;

export function die(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

function resolveNode(node) {
  if (node.includes('/')) return path.resolve(node);
  for (const dir of (process.env.PATH || '').split(':')) {
    const p = path.join(dir || '.', node);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch {}
  }
  die(`${node} not found on PATH`);
}

export function requireFiles(opts, { cli = false } = {}) {
  if (!fs.existsSync(opts.lib)) die(`${opts.lib} missing: run make first (or pass --lib)`);
  if (cli && !fs.existsSync(opts.nodeprof)) die(`${opts.nodeprof} missing: run make first (or pass --nodeprof)`);
}

export function nodeVersion(node) {
  return spawnSync(node, ['--version'], { encoding: 'utf8', env: baseEnv() }).stdout.trim();
}

export function header(name, opts, extra = '') {
  console.log(`# ${name}: node ${nodeVersion(opts.node)} (${opts.node}), ${os.cpus().length} CPUs, ` +
    `${os.cpus()[0]?.model?.trim() ?? '?'}${opts.quick ? ', --quick' : ''}${extra ? ', ' + extra : ''}`);
  console.log(`# library: ${describeFile(opts.lib)}`);
}

// Path, build time and a short hash: which build these numbers are of.
function describeFile(file) {
  try {
    const hash = createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 12);
    return `${file} (built ${fs.statSync(file).mtime.toISOString().slice(0, 19)}Z, sha256 ${hash})`;
  } catch { return `${file} (missing)`; }
}

// ---- environment and variants --------------------------------------------

// Our environment without anything that would profile or alter a child.
// NODE_EXTRA_CA_CERTS goes too: node parses the whole bundle at start-up
// (a CI machine's took 80 ms of node -e 0's 120), which would dilute every
// start-up ratio into the cost of OpenSSL.
export function baseEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('NODEPROF_') || k === 'NODE_OPTIONS' || k === 'LD_PRELOAD' || k === 'NODE_EXTRA_CA_CERTS') continue;
    env[k] = v;
  }
  return env;
}

// A variant's command line and environment. `lib`: preload the library with
// these NODEPROF_* settings (null: plain node); `nodeArgs`: extra node flags.
export function variantCommand(opts, variant, script, scriptArgs = [], outDir = null) {
  const env = baseEnv();
  const nodeArgs = [...(variant.nodeArgs ?? [])].map((a) => a.replace('{DIR}', outDir ?? os.tmpdir()));
  if (variant.lib) {
    env.LD_PRELOAD = variant.libPath ?? opts.lib;
    env.NODEPROF_DIR = outDir ?? os.tmpdir();
    for (const [k, v] of Object.entries(variant.lib)) env[`NODEPROF_${k}`] = String(v);
  }
  return { cmd: opts.node, args: [...nodeArgs, ...(script ? [script] : []), ...scriptArgs], env };
}

// Children and directories to clean up if the benchmark is interrupted.
const liveChildren = new Set();
const tempDirs = new Set();
function cleanUp() {
  for (const c of liveChildren) { try { c.kill('SIGKILL'); } catch {} }
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { cleanUp(); process.exit(130); });
}
process.on('uncaughtException', (e) => { cleanUp(); console.error(e); process.exit(1); });
process.on('unhandledRejection', (e) => { cleanUp(); console.error(e); process.exit(1); });

function track(child) {
  liveChildren.add(child);
  child.on('exit', () => liveChildren.delete(child));
  return child;
}

export function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nodeprof-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export { track };

export function emptyDir(dir) {
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
}

export function filesIn(dir, ext) {
  return fs.readdirSync(dir).filter((f) => f.endsWith(ext)).map((f) => path.join(dir, f));
}

// Round r's order of the variants: rotated each round, so that no variant
// always runs first (after an idle pause) or right after a heavy one.
export function roundOrder(n, r) {
  return Array.from({ length: n }, (_, i) => (i + r) % n);
}

// ---- child processes -----------------------------------------------------

// Starts a long-running child; `ready` resolves with the first stdout line
// that parses as JSON (the apps print one when they are ready).
export function startChild({ cmd, args, env }, { ipc = false } = {}) {
  const child = track(spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc'] : [])] }));
  child.out = '';
  child.err = '';
  child.stderr.on('data', (d) => { child.err += d; });
  child.exited = new Promise((resolve) => child.on('exit', (status, signal) => resolve({ status, signal, at: nowMs() })));
  // Once stdout and stderr are drained too.
  child.closed = new Promise((resolve) => child.on('close', resolve));
  child.ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      child.out += d;
      const nl = child.out.indexOf('\n');
      if (nl >= 0 && !child.readyInfo) {
        try { child.readyInfo = JSON.parse(child.out.slice(0, nl)); resolve(child.readyInfo); } catch {}
      }
    });
    child.on('exit', (s, sig) => reject(new Error(`${cmd} ${args.join(' ')} exited (${s ?? sig}) before ready: ${child.err}`)));
  });
  return child;
}

// Stops a child with SIGTERM (the apps exit through process.exit, so
// profilers write their files); returns ms from signal to exit.
export async function stopChild(child, timeoutMs = 30000) {
  if (child.exitCode !== null || child.signalCode !== null) return 0;
  const t0 = nowMs();
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const e = await child.exited;
  clearTimeout(timer);
  await Promise.race([child.closed, sleep(2000)]);
  if (e.signal === 'SIGKILL') process.stderr.write(`bench: pid ${child.pid} did not exit within ${timeoutMs} ms of SIGTERM; killed\n`);
  return e.at - t0;
}

// True if the child has already exited (before we asked it to).
export function died(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

// A failure's text: what went wrong, and the child's stderr (kept whole, up
// to 8000 characters, in --json; printed shortened).
export function failure(what, stderr = '') {
  const err = stderr.trim();
  return err ? `${what}; stderr:\n${err.slice(0, 8000)}` : what;
}

export function printFailures(variants) {
  for (const v of variants) {
    if (!v.failures.length) continue;
    const first = v.failures[0];
    console.log(`${v.name}: ${v.failures.length} failed runs; the first:\n  ${first.slice(0, 1500).replace(/\n/g, '\n  ')}${first.length > 1500 ? ' ...' : ''}`);
  }
}

// Runs a command to completion; resolves { status, signal, ms, stdout, stderr }.
export function runTimed(cmd, args, env, { timeoutMs = 120000 } = {}) {
  return new Promise((resolve) => {
    const t0 = nowMs();
    const child = track(spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (status, signal) => {
      const ms = nowMs() - t0;
      clearTimeout(timer);
      child.on('close', () => resolve({ status, signal, ms, stdout, stderr, pid: child.pid }));
    });
  });
}

// ---- /proc ---------------------------------------------------------------

// VmRSS, VmHWM (peak) in KiB and the thread count of a live process.
export function procStatus(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number((s.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm')) || [])[1] ?? NaN);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), threads: kb('Threads') };
  } catch { return { rss: NaN, hwm: NaN, threads: NaN }; }
}

// CPU time (user + system, all threads) a live process has used, in ms.
const CLK_TCK = 100; // USER_HZ: 100 on every Linux ABI node runs on
export function cpuMs(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // fields 14 and 15 of stat(5)
  } catch { return NaN; }
}

// Resets VmHWM to the current RSS (Linux >= 4.0); false if refused.
export function resetPeakRss(pid) {
  try { fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'); return true; } catch { return false; }
}

// ---- statistics ------------------------------------------------------------

export function quantile(values, q) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const pos = (v.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}
export const median = (v) => quantile(v, 0.5);
export const p90 = (v) => quantile(v, 0.9);
export const max = (v) => v.reduce((a, b) => (b > a ? b : a), -Infinity);

// Quantiles of a large Float64Array (sorted in place).
export function sortedQuantile(sorted, q) {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

// ---- output ----------------------------------------------------------------

export function fmt(x, digits = 1) {
  if (typeof x === 'string') return x;
  if (x === undefined || x === null || Number.isNaN(x)) return '-';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (digits === 'ratio') return x.toFixed(a >= 10 ? 1 : 2) + 'x';
  if (a >= 1000) return Math.round(x).toString();
  if (a >= 100) return x.toFixed(Math.min(digits, 0 + (digits > 1 ? 1 : 0)));
  return x.toFixed(digits);
}
export const ratio = (x) => fmt(x, 'ratio');
export const mb = (kib) => (Number.isFinite(kib) ? (kib / 1024).toFixed(1) : '-');

// Prints rows (arrays of strings) under a header, columns aligned; the first
// column left-aligned, the others right-aligned.
export function table(head, rows) {
  const all = [head, ...rows].map((r) => r.map((c) => String(c)));
  const w = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  for (const r of all) {
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : (c ?? '').padStart(w[i]))).join('  ').trimEnd());
  }
}

export function writeJson(opts, data) {
  if (!opts.json) return;
  fs.writeFileSync(opts.json, JSON.stringify(data, null, 1));
  console.log(`raw measurements: ${opts.json}`);
}

export function log(msg) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}
