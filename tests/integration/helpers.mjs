// Shared helpers for integration tests: run real node processes under the
// real library and read what they wrote.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const LIB = path.join(ROOT, 'build/libnodeprof.so');
export const CLI = path.join(ROOT, 'build/nodeprof');
export const NODE = process.env.NP_TEST_NODE && process.env.NP_TEST_NODE !== 'node'
  ? process.env.NP_TEST_NODE : process.execPath;
export const FIXTURES = path.join(ROOT, 'tests/fixtures');

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
    env[k] = v;
  }
  if (preload) env.LD_PRELOAD = LIB;
  return { ...env, ...extra };
}

// Runs a command to completion. Returns { status, signal, stdout, stderr }.
export function run(cmd, args, { env = childEnv(), cwd, timeout = 60000, input } = {}) {
  const r = spawnSync(cmd, args, { env, cwd, timeout, input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

// Runs `node script args` with and without the library, in the same way.
export function runNode(script, args = [], opts = {}) {
  return run(NODE, [script, ...args], opts);
}

// Starts a long-running child; resolves once its stdout contains `ready`.
export function startNode(script, args = [], { env = childEnv(), cwd, ready = 'ready' } = {}) {
  const child = spawn(NODE, [script, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.out = '';
  child.err = '';
  child.stdout.on('data', (d) => { child.out += d; });
  child.stderr.on('data', (d) => { child.err += d; });
  child.exited = new Promise((resolve) => child.on('exit', (status, signal) => resolve({ status, signal })));
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
