// `nodeprof run`: preload prepended, files listed, exit status and signal
// death passed through, signals from other processes forwarded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLI, NODE, LIB, childEnv, run, tempDir, writeScript, readCpuProfile, selfShare, filesIn, sleep } from './helpers.mjs';

const HOT = `
function hotLoop(ms) { const end = Date.now() + ms, cpuEnd = cpuMs() + ms; let x = 0; while (Date.now() < end || cpuMs() < cpuEnd) for (let j = 0; j < 1000; j++) x += Math.sqrt(x + 1); return x; }
function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } // CPU time too: see tests/fixtures/apps/burn.js
console.log('ready', hotLoop(300) > 0);
`;

test('run: profiles the command, lists the files, keeps its status and output', (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', HOT + 'process.exitCode = 3;\n');
  const env = childEnv({}, { preload: false });
  env.LD_PRELOAD = '/nonexistent-but-kept.so';
  const r = run(CLI, ['run', '--dir', path.join(dir, 'out'), '--interval', '500', '--', NODE, app], { env });
  assert.equal(r.status, 3);
  assert.equal(r.stdout, 'ready true\n');
  const files = filesIn(path.join(dir, 'out'), '.cpuprofile');
  assert.equal(files.length, 1);
  assert.match(r.stderr, new RegExp(`nodeprof: wrote ${files[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const p = readCpuProfile(files[0]);
  assert.ok(selfShare(p, 'hotLoop') > 0.3, 'hotLoop is hot');
  // --interval takes effect: 500 µs samples come clearly closer together than
  // 4000 µs ones. (Absolute deltas stretch with the machine's load.)
  const slow = run(CLI, ['run', '--dir', path.join(dir, 'slow'), '--interval', '4000', '--', NODE, app], { env });
  assert.equal(slow.status, 3, slow.stderr);
  const medianDelta = (q) => { const d = q.timeDeltas.slice(1).sort((a, b) => a - b); return d[d.length >> 1]; };
  const fast = medianDelta(p), coarse = medianDelta(readCpuProfile(filesIn(path.join(dir, 'slow'), '.cpuprofile')[0]));
  assert.ok(fast < coarse / 2, `median delta ${fast} µs at --interval 500, ${coarse} µs at 4000`);
});

test('run: a plain program that is not node runs unchanged and nothing is written', (t) => {
  const dir = tempDir(t);
  const r = run(CLI, ['run', '--dir', dir, '--', 'sh', '-c', 'echo "$LD_PRELOAD" | tr : "\\n" | head -1; exit 7'],
    { env: childEnv({}, { preload: false }) });
  assert.equal(r.status, 7);
  assert.equal(r.stdout.trim(), fs.realpathSync(LIB));
  assert.match(r.stderr, /nodeprof: no profile was written/);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('run: dies of the signal the command died of', (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', HOT + "process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 5000);\n");
  const r = run(CLI, ['run', '-q', '--dir', dir, '--', NODE, app], { env: childEnv({}, { preload: false }) });
  assert.equal(r.signal, 'SIGTERM');
  assert.equal(r.stdout, 'ready true\n');
  assert.equal(filesIn(dir, '.cpuprofile').length, 1, 'profile written before the signal death');
});

test('run: a crash report is listed as a file written, and the run does not say that nothing was written', (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'abort.js', "console.log('aborting'); process.abort();\n");
  const r = run(CLI, ['run', '--', NODE, app], { cwd: dir, env: childEnv({}, { preload: false }) });
  assert.equal(r.signal, 'SIGABRT');
  assert.equal(r.stdout, 'aborting\n');
  const reports = filesIn(dir, '.crash.txt');
  assert.equal(reports.length, 1, fs.readdirSync(dir).join(' '));
  assert.match(fs.readFileSync(reports[0], 'utf8'), /SIGABRT/);
  const listed = r.stderr.split('\n').filter((l) => l.startsWith('nodeprof: wrote ')).map((l) => l.slice(16));
  const written = fs.readdirSync(dir).filter((f) => f !== 'abort.js' && !f.startsWith('.')).map((f) => path.join(dir, f));
  assert.deepEqual(listed.sort(), written.sort(), r.stderr);
  assert.doesNotMatch(r.stderr, /no profile was written/);
});

test('run: forwards a signal sent to it; the app handles it as usual', async (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', `
process.on('SIGUSR2', () => {}); // keep nodeprof's own SIGUSR2 action out of the way
process.on('SIGHUP', () => { console.log('app got SIGHUP'); setTimeout(() => process.exit(0), 20); });
console.log('ready'); setInterval(() => {}, 1000);
`);
  const child = spawn(CLI, ['run', '--dir', dir, '--', NODE, app], { env: childEnv({}, { preload: false }) });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  while (!out.includes('ready')) await sleep(20);
  child.kill('SIGHUP');
  const status = await new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  assert.deepEqual(status, { code: 0, signal: null });
  assert.match(out, /app got SIGHUP/);
  assert.equal(filesIn(dir, '.cpuprofile').length, 1);
});
