// Shared helpers for integration tests: run real node processes under the
// real library and read what they wrote.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// NP_TEST_LIB runs the suite against another build of the library.
export const LIB = process.env.NP_TEST_LIB ? path.resolve(process.env.NP_TEST_LIB)
  : path.join(ROOT, 'build/libnodeprof.so');
export const CLI = path.join(ROOT, 'build/nodeprof');
// The agent, which the library loads from its own directory (preload/agentload.h).
export const AGENT = path.join(path.dirname(LIB), 'libnodeprof-agent.so');
// A copy of the library works with a copy of its agent beside it.
export function copyAgentBeside(lib) {
  const to = path.join(path.dirname(lib), 'libnodeprof-agent.so');
  fs.copyFileSync(AGENT, to);
  fs.chmodSync(to, 0o755);
  return to;
}
export const NODE = process.env.NP_TEST_NODE && process.env.NP_TEST_NODE !== 'node'
  ? process.env.NP_TEST_NODE : process.execPath;
export const FIXTURES = path.join(ROOT, 'tests/fixtures');
export const APPS = path.join(FIXTURES, 'apps');

// A fresh directory under the system temp dir, removed by cleanup().
export function tempDir(t, prefix = 'nodeprof-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t?.after?.(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Environment for a child: ours without NODEPROF_* and NODE_OPTIONS noise,
// plus `extra`. `preload: false` runs plain node for comparison.
export function childEnv(extra = {}, { preload = true } = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('NODEPROF_') || k === 'NODE_OPTIONS' || k === 'LD_PRELOAD' || k === 'NODE_TEST_CONTEXT') continue;
    // node parses this CA bundle at every start (80 ms a process on a CI
    // machine that sets it); no test speaks TLS.
    if (k === 'NODE_EXTRA_CA_CERTS') continue;
    env[k] = v;
  }
  if (preload) env.LD_PRELOAD = LIB;
  return { ...env, ...extra };
}

// Runs a command to completion. Returns { status, signal, stdout, stderr, pid }.
export function run(cmd, args, { env = childEnv(), cwd, timeout = 60000, input } = {}) {
  const r = spawnSync(cmd, args, { env, cwd, timeout, input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, pid: r.pid };
}

// Runs `node script args` with and without the library, in the same way.
export function runNode(script, args = [], opts = {}) {
  return run(NODE, [script, ...args], opts);
}

// Starts a long-running child; resolves once its stdout contains `ready`.
export function startNode(script, args = [], { env = childEnv(), cwd, ready = 'ready' } = {}) {
  return startProcess(NODE, [script, ...args], { env, cwd, ready });
}

// startNode for any command. child.exited resolves to { status, signal, at }
// (`at`: Date.now() when the exit was seen); child.closed to the same, once
// the child's stdout and stderr are closed.
export function startProcess(cmd, args = [], { env = childEnv(), cwd, ready = 'ready' } = {}) {
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.out = '';
  child.err = '';
  child.stdout.on('data', (d) => { child.out += d; });
  child.stderr.on('data', (d) => { child.err += d; });
  child.exited = new Promise((resolve) => child.on('exit', (status, signal) => resolve({ status, signal, at: Date.now() })));
  // Like exited, once out and err hold everything the child wrote.
  const closed = new Promise((resolve) => child.on('close', resolve));
  child.closed = Promise.all([child.exited, closed]).then(([e]) => e);
  child.ready = new Promise((resolve, reject) => {
    const check = () => { if (child.out.includes(ready)) resolve(); };
    child.stdout.on('data', check);
    child.on('exit', () => reject(new Error(`exited before ready: ${child.err}`)));
  });
  return child;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Files in dir whose names end with ext (full paths, sorted).
export function filesIn(dir, ext = '') {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith(ext)).sort().map((f) => path.join(dir, f));
}

// Parses a .cpuprofile and checks its structure; throws on any defect.
export function readCpuProfile(file) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const key of ['nodes', 'samples', 'timeDeltas', 'startTime', 'endTime'])
    if (!(key in p)) throw new Error(`${file}: no ${key}`);
  const ids = new Set(p.nodes.map((n) => n.id));
  for (const n of p.nodes)
    for (const c of n.children ?? []) if (!ids.has(c)) throw new Error(`${file}: child ${c} of ${n.id} missing`);
  for (const s of p.samples) if (!ids.has(s)) throw new Error(`${file}: sample ${s} is not a node`);
  if (p.samples.length !== p.timeDeltas.length) throw new Error(`${file}: samples/timeDeltas lengths differ`);
  if (!(p.endTime >= p.startTime)) throw new Error(`${file}: endTime < startTime`);
  return p;
}

// Share of samples whose leaf frame is `name` (0..1).
export function selfShare(profile, name) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let hits = 0;
  for (const s of profile.samples) if (byId.get(s).callFrame.functionName === name) hits++;
  return profile.samples.length ? hits / profile.samples.length : 0;
}

// True if any node of the profile is a call of `name`.
export function hasFunction(profile, name) {
  return profile.nodes.some((n) => n.callFrame.functionName === name);
}

// Writes a small program into dir and returns its path.
export function writeScript(dir, name, source) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, source);
  return file;
}

// Leftover temporary files of ours (".name.tmp.XXXXXX") in dir.
export function tempLeftovers(dir) {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.includes('.tmp.')) : [];
}

// ---- added for the core integration tests -----------------------------------

// The `nodeprof:` lines of a stderr text, and the rest of it.
export function nodeprofLines(text) {
  return text.split('\n').filter((l) => l.startsWith('nodeprof:'));
}
export function withoutNodeprofLines(text) {
  return text.split('\n').filter((l) => !l.startsWith('nodeprof:')).join('\n');
}

// The .cpuprofile files of dir (full paths, sorted).
export const cpuProfilesIn = (dir) => filesIn(dir, '.cpuprofile');

// Every entry of dir, recursively, as paths relative to dir (sorted).
export function treeOf(dir) {
  const out = [];
  const walk = (d, rel) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory()) walk(path.join(d, e.name), r);
    }
  };
  if (fs.existsSync(dir)) walk(dir, '');
  return out.sort();
}

// NODE_OPTIONS tokens that are a nodeprof loader (src/loader.h: --require=/.../nodeprof-loader.cjs,
// the --import=data: loader, or the /tmp loader of earlier versions).
export function loaderTokens(nodeOptions) {
  return (nodeOptions ?? '').split(/\s+/).filter((t) => /^--require=\/\S*\/nodeprof-loader\.cjs$/.test(t) ||
    t.startsWith('--import=data:text/javascript;base64,Ly8gbm9kZXByb2YgbG9hZGVy') ||
    /^--require=.*\/nodeprof-\d+\/agent-[0-9a-f]+\.js$/.test(t));
}

// NODE_OPTIONS with the loader tokens taken out (what the user had).
export function withoutLoader(nodeOptions) {
  const ours = new Set(loaderTokens(nodeOptions));
  return (nodeOptions ?? '').split(/\s+/).filter((t) => t && !ours.has(t)).join(' ');
}

// The sampling interval a profile was taken with, in microseconds: the 75th
// percentile of its timeDeltas. (Not the median: node 24 adds samples of its
// own at short deltas, up to a third of them.)
export function intervalOf(profile) {
  const d = [...profile.timeDeltas].sort((a, b) => a - b);
  return d.length ? d[Math.floor(d.length * 0.75)] : NaN;
}

export function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)] : NaN;
}

// Names of the functions whose self samples are the largest share of p.
export function topSelf(p, n = 5) {
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const count = new Map();
  for (const s of p.samples) {
    const f = byId.get(s).callFrame.functionName || '(anonymous)';
    count.set(f, (count.get(f) ?? 0) + 1);
  }
  return [...count].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([f, c]) => `${f} ${(100 * c / p.samples.length).toFixed(0)}%`).join(', ');
}

// Inodes of the sockets the process holds open (from /proc/<pid>/fd).
export function socketInodes(pid) {
  const inodes = new Set();
  const fdDir = `/proc/${pid}/fd`;
  for (const fd of fs.readdirSync(fdDir)) {
    let target;
    try { target = fs.readlinkSync(path.join(fdDir, fd)); } catch { continue; }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]);
  }
  return inodes;
}

// The TCP/UDP sockets of pid's network namespace that pid holds, as
// "tcp 0.0.0.0:1234 LISTEN"-like strings (tcp, tcp6, udp, udp6).
export function inetSocketsOf(pid) {
  const mine = socketInodes(pid);
  const found = [];
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let text;
    try { text = fs.readFileSync(`/proc/${pid}/net/${proto}`, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      if (mine.has(f[9])) found.push(`${proto} ${f[1]} state=${f[3]}`);
    }
  }
  return found;
}

// Runs cmd twice in the same way, once under the library (cwd: a fresh
// directory, libDir) and once without it (cwd: another, plainDir). `env` is
// added for both runs, `libEnv` for the library's only.
export function runPair(t, cmd, args, { env = {}, libEnv = {}, timeout } = {}) {
  const libDir = tempDir(t);
  const plainDir = tempDir(t);
  const lib = run(cmd, args, { env: childEnv({ ...env, ...libEnv }), cwd: libDir, timeout });
  const plain = run(cmd, args, { env: childEnv(env, { preload: false }), cwd: plainDir, timeout });
  return { lib, plain, libDir, plainDir };
}

// What an observer of the process sees: how it ended and what it printed.
export const outcome = (r) => ({ status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr });

// Asserts that the two runs ended the same way and printed the same.
export function assertSameOutcome(lib, plain, what = '') {
  assert.deepEqual(outcome(lib), outcome(plain), `${what} under the library differs from plain node`);
}

// Reads one .cpuprofile (structure checked by readCpuProfile) and asserts
// that `fn` holds more than `min` of its samples as self time.
// With { busy: true }, the share is of the samples in JavaScript (see
// busyShare), for a program that mostly waits, or a loaded machine.
export function assertHotProfile(file, fn, min = 0.3, { busy = false } = {}) {
  const p = readCpuProfile(file);
  assert.ok(p.samples.length >= 10, `${file}: only ${p.samples.length} samples`);
  const share = busy ? busyShare(p, fn) : selfShare(p, fn);
  assert.ok(share > min, `${file}: ${fn} has ${(share * 100).toFixed(1)}% of the ${busy ? 'JavaScript ' : ''}` +
    `samples as self time; top: ${topSelf(p)}`);
  return p;
}

// Share of the samples whose leaf is `name`, among those in JavaScript:
// "(idle)", "(program)" and "(garbage collector)" samples are not counted.
const VM_STATES = new Set(['(idle)', '(program)', '(garbage collector)']);
export function busyShare(profile, name) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let hits = 0;
  let busy = 0;
  for (const s of profile.samples) {
    const f = byId.get(s).callFrame.functionName;
    if (VM_STATES.has(f)) continue;
    busy++;
    if (f === name) hits++;
  }
  return busy ? hits / busy : 0;
}

// The default name (NODEPROF_NAME=nodeprof-%s-%t-%h-%p-%n):
// "nodeprof-<script>-<YYYYMMDDTHHMMSSZ>-<host>-<pid>-<n><ext>", the host this
// machine's. script, pid and seq are regular expressions (or plain values).
const reEscape = (s) => String(s).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
export function defaultNameRe(script, pid, seq = '\\d+', ext = '.cpuprofile') {
  return new RegExp(`^nodeprof-(${script})-(\\d{8}T\\d{6}Z)-${reEscape(os.hostname())}-(${pid})-(${seq})${reEscape(ext)}$`);
}

// The parts of a default name: { script, time, pid, seq }, or null.
export function parseDefaultName(name, ext = '.cpuprofile') {
  const m = defaultNameRe('[A-Za-z0-9_+-]+', '\\d+', '\\d+', ext).exec(name);
  return m && { script: m[1], time: m[2], pid: Number(m[3]), seq: Number(m[4]) };
}

// The control FIFO a profiled process opens (NODEPROF_FIFO=on); it must be
// gone once the process has ended, however it ended.
export const controlFifo = (pid) => `/tmp/nodeprof-${process.getuid()}/${pid}.ctl`;

// The library, node and the CLI as any uid can load and run them: a clone may sit in
// a private (0700) directory, such as mktemp's. Copies, made once per test
// file into a 0755 directory, when the originals are out of reach of uid.
let sharedCopies = null;
export function reachableByAll(uid = 65534) {
  if (sharedCopies) return sharedCopies;
  // Through sh: setpriv looks the program up before it drops root's
  // capabilities, so only a second exec shows what the uid can reach.
  const canRun = (file, args) => spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups',
    '/bin/sh', '-c', 'exec "$@"', 'sh', ...file, ...args], { env: process.env, cwd: '/' }).status === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-shared-'));
  fs.chmodSync(dir, 0o755);
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const copy = (file, name) => {
    const to = path.join(dir, name);
    fs.copyFileSync(file, to);
    fs.chmodSync(to, 0o755);
    return to;
  };
  const node = canRun([NODE], ['-e', '0']) ? NODE : copy(NODE, 'node');
  const lib = canRun(['/bin/cat'], [LIB]) ? LIB : (copy(AGENT, 'libnodeprof-agent.so'), copy(LIB, 'libnodeprof.so'));
  const cli = canRun([CLI], ['version']) ? CLI : copy(CLI, 'nodeprof');
  sharedCopies = { node, lib, cli };
  return sharedCopies;
}
