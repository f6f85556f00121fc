// nodeprof ctl on a node process started without nodeprof (no LD_PRELOAD,
// no FIFO): the CLI opens node's inspector with SIGUSR1, speaks the DevTools
// protocol to it, and closes it again. The targets are plain `node`; each
// gets its own --inspect-port (a free one) so that parallel tests do not
// meet on 9229; one test uses 9229 itself when it is free.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  CLI, LIB, NODE, childEnv, defaultNameRe, hasFunction, readCpuProfile, reachableByAll, run, sleep, startProcess, tempDir, writeScript,
} from './helpers.mjs';

const plainEnv = (extra = {}) => childEnv(extra, { preload: false });

// The hot function is too large for V8 to inline (over 460 bytes of
// bytecode): a profiler started after the code was optimized, as an attached
// one is, credits an inlined function to its caller.
const SERVER = `
const http = require('http');
function attachHotCompute(n) {
  let x = 0;
  for (let i = 0; i < n; i++) x += Math.sqrt(i) * Math.sin(i);
  ${'x = x * 1.0000001 + 1e-9;'.repeat(80)}
  return x;
}
http.createServer((req, res) => res.end(String(attachHotCompute(300000))))
  .listen(0, '127.0.0.1', function () { console.log('ready ' + this.address().port); });
`;
const BUSY = `
function attachBusyLoop() { let x = 0; for (;;) x += Math.sqrt(x + 1); }
console.log('ready');
setTimeout(attachBusyLoop, 50);
`;
const HOLDER = `
require('net').createServer().listen(+process.argv[2], '127.0.0.1', () => console.log('ready'));
`;

// A TCP port free right now.
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// Whether anything listens on TCP port (what `ss -ltn` reads).
function listening(port) {
  const hex = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  for (const proto of ['tcp', 'tcp6']) {
    const lines = fs.readFileSync(`/proc/net/${proto}`, 'utf8').split('\n').slice(1);
    if (lines.some((l) => { const f = l.trim().split(/\s+/); return f[1]?.endsWith(hex) && f[3] === '0A'; })) return true;
  }
  return false;
}

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

// Runs the CLI without blocking this loop (the load below runs meanwhile),
// under `wrap` (valgrind and its options) if given.
function cli(args, { env = plainEnv(), cwd, wrap = [] } = {}) {
  const child = spawn(wrap[0] ?? CLI, [...wrap.slice(1), ...(wrap.length ? [CLI] : []), ...args],
    { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.out = '';
  child.err = '';
  child.stdout.on('data', (d) => { child.out += d; });
  child.stderr.on('data', (d) => { child.err += d; });
  child.done = new Promise((resolve) => child.on('close', (status, signal) =>
    resolve({ status, signal, stdout: child.out, stderr: child.err })));
  return child;
}

async function startTarget(t, source, { inspectPort, cwd, env = plainEnv(), prefix = [] } = {}) {
  const dir = cwd ?? tempDir(t);
  const script = writeScript(dir, 'app.js', source);
  const args = [...(inspectPort ? [`--inspect-port=${inspectPort}`] : []), script];
  const child = startProcess(prefix[0] ?? NODE, [...prefix.slice(1), ...(prefix.length ? [NODE] : []), ...args], { env, cwd: dir });
  t.after(() => child.kill('SIGKILL'));
  await child.ready;
  return child;
}

// Requests in a loop until stop(); counts what succeeded and what failed.
function load(port) {
  const stats = { ok: 0, failed: 0, running: true };
  stats.done = (async () => {
    while (stats.running) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/`);
        await r.text();
        if (r.ok) stats.ok++; else stats.failed++;
      } catch { stats.failed++; }
    }
  })();
  stats.stop = async () => { stats.running = false; await stats.done; return stats; };
  return stats;
}

test('cpu dump 2 on a plain node server under load: a valid profile with its hot function; the server serves throughout; the port is closed after', async (t) => {
  const out = tempDir(t);
  const port = await freePort();
  const server = await startTarget(t, SERVER, { inspectPort: port });
  const httpPort = +/ready (\d+)/.exec(server.out)[1];
  const traffic = load(httpPort);
  await sleep(300);
  const before = traffic.ok;
  const r = await cli(['ctl', String(server.pid), 'cpu', 'dump', '2'], { cwd: out }).done;
  const during = traffic.ok - before;
  const stats = await traffic.stop();
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`opening its inspector on 127\\.0\\.0\\.1:${port} .*for the time of this command`));
  const file = r.stdout.trim();
  assert.equal(path.dirname(file), fs.realpathSync(out));
  // The default name; the script found in its command line past --inspect-port=N.
  assert.match(path.basename(file), defaultNameRe('app', server.pid, 1));
  const profile = readCpuProfile(file);
  assert.ok(hasFunction(profile, 'attachHotCompute'), 'the hot function is in the profile');
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  assert.ok(seconds >= 1.9 && seconds < 30, `the profile covers the 2 s asked for (${seconds} s)`);
  assert.equal((fs.statSync(file).mode & 0o777), 0o600);
  assert.equal(stats.failed, 0, 'no request failed');
  assert.ok(during > 0, 'requests were served while the profile was taken');
  assert.equal(listening(port), false, 'nothing listens on the inspector port after');
  const ss = run('ss', ['-ltnH', `sport = :${port}`], { env: process.env });
  if (ss.status === 0) assert.equal(ss.stdout.trim(), '', 'ss -ltn shows no listener');
  const after = await fetch(`http://127.0.0.1:${httpPort}/`);
  assert.equal(after.status, 200, 'the server still serves after');
  assert.equal(fs.readdirSync(`/tmp/nodeprof-${process.getuid()}`).filter((f) => f.startsWith(`attach-${server.pid}-`)).length, 0,
    'no marker left');
});

test('heap snapshot of a plain node process: a parseable snapshot, written atomically; the port is closed after', async (t) => {
  const out = tempDir(t);
  const port = await freePort();
  // The port from the process's NODE_OPTIONS this time.
  const server = await startTarget(t, SERVER, { env: plainEnv({ NODE_OPTIONS: `--inspect-port=${port}` }) });
  const r = await cli(['ctl', String(server.pid), 'heap', 'snapshot'], { cwd: out }).done;
  assert.match(r.stderr, new RegExp(`on 127\\.0\\.0\\.1:${port} `));
  assert.equal(r.status, 0, r.stderr);
  const file = r.stdout.trim();
  assert.match(file, /\.heapsnapshot$/);
  const snap = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.ok(snap.snapshot.meta.node_fields.length > 0 && snap.nodes.length > 1000, 'a real heap snapshot');
  assert.ok(snap.strings.includes('attachHotCompute'), 'the app\'s function is in the snapshot');
  assert.deepEqual(fs.readdirSync(out), [path.basename(file)], 'no temporary file left');
  assert.equal(listening(port), false);
});

test('stack of a main thread busy in a loop names the busy function; the process runs on', async (t) => {
  const port = await freePort();
  const busy = await startTarget(t, BUSY, { inspectPort: port });
  await sleep(200);
  const r = await cli(['ctl', String(busy.pid), 'stack']).done;
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.split('\n')[0], /^(Timeout\.)?attachBusyLoop \(.*app\.js:2:\d+\)$/);
  assert.equal(listening(port), false);
  assert.equal(busy.exitCode, null, 'still running');
});

for (const host of ['127.0.0.1', '::']) {
  test(`the inspector port held by another process (on ${host}): refused with a clear message, nothing sent to the target`, async (t) => {
    const port = await freePort();
    await startTarget(t, HOLDER.replace('+process.argv[2]', String(port)).replace("'127.0.0.1'", `'${host}'`));
    const target = await startTarget(t, SERVER, { inspectPort: port });
    const r = await cli(['ctl', String(target.pid), 'stack']).done;
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`port ${port}, where process ${target.pid} would open its inspector, is held by another process: refusing \\(nothing was sent`));
    await sleep(300);
    assert.doesNotMatch(target.err, /Debugger|inspector/i, 'the target got no SIGUSR1');
    assert.equal(target.exitCode, null);
    const l = run(CLI, ['list', '--all'], { env: plainEnv() });
    assert.match(l.stdout, new RegExp(`^${target.pid}\\tport-taken:${port}\\t`, 'm'));
  });
}

test('a nodeprof ctl killed (SIGKILL) mid-command leaves the inspector open; the next `nodeprof list` and `nodeprof ctl` close it', async (t) => {
  const port = await freePort();
  const server = await startTarget(t, SERVER, { inspectPort: port });
  for (const next of [['list'], ['ctl', String(server.pid), 'stack']]) {
    const doomed = cli(['ctl', String(server.pid), 'cpu', 'dump', '60']);
    await until(() => listening(port) && doomed.err.includes('opening its inspector'), 20000, 'the inspector to open');
    await sleep(300); // connected, profiling
    const all = run(CLI, ['list', '--all'], { env: plainEnv() });
    assert.match(all.stdout, new RegExp(`^${server.pid}\tattached:${port}\t`, 'm'), 'a live nodeprof ctl\'s inspector is left alone');
    assert.equal(listening(port), true);
    doomed.kill('SIGKILL');
    await doomed.done;
    await sleep(200);
    assert.equal(listening(port), true, 'SIGKILL leaves the inspector open');
    const r = await cli(next).done;
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`closed the inspector that an interrupted nodeprof left open on 127\\.0\\.0\\.1:${port} in process ${server.pid}`));
    assert.equal(listening(port), false, `${next[0]} closed it`);
    if (next[0] === 'ctl') assert.match(r.stdout, /idle|attachHotCompute/);
  }
});

test('SIGINT or SIGTERM mid-command: the inspector is closed first, then nodeprof dies of the signal', async (t) => {
  const port = await freePort();
  const server = await startTarget(t, SERVER, { inspectPort: port });
  for (const sig of ['SIGINT', 'SIGTERM']) {
    const c = cli(['ctl', String(server.pid), 'cpu', 'dump', '60']);
    await until(() => listening(port) && c.err.includes('opening its inspector'), 20000, 'the inspector to open');
    await sleep(300);
    c.kill(sig);
    const r = await c.done;
    assert.equal(r.signal, sig, r.stderr);
    assert.equal(listening(port), false, `closed before dying of ${sig}`);
  }
  assert.equal(server.exitCode, null);
});

test('a process that exits during cpu dump: node waits for the debugger to disconnect, so nodeprof writes the profile so far and goes at once', async (t) => {
  const out = tempDir(t);
  const port = await freePort();
  const app = await startTarget(t, `
    function attachUntilExit() { let x = 0; for (let i = 0; i < 1e5; i++) x += Math.sqrt(i); return x; }
    const end = Date.now() + 1500;
    setInterval(() => { attachUntilExit(); if (Date.now() > end) process.exit(3); }, 5);
    console.log('ready');`, { inspectPort: port });
  const started = Date.now();
  const r = await cli(['ctl', String(app.pid), 'cpu', 'dump', '60'], { cwd: out }).done;
  const exit = await app.exited;
  assert.equal(exit.status, 3, 'the app\'s own exit status');
  assert.ok(Date.now() - started < 30000, 'nodeprof did not hold the exit for the 60 s asked');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`process ${app.pid} is exiting: writing the profile so far`));
  assert.ok(readCpuProfile(r.stdout.trim()).samples.length > 0);
});

const hasDisableSigusr1 = spawnSync(NODE, ['--disable-sigusr1', '-e', '0']).status === 0;
test('a process started with --disable-sigusr1 is refused, and listed as not attachable', { skip: !hasDisableSigusr1 && 'this node has no --disable-sigusr1' }, async (t) => {
  const app = await startTarget(t, SERVER, { env: plainEnv({ NODE_OPTIONS: '--disable-sigusr1' }) });
  const r = await cli(['ctl', String(app.pid), 'stack']).done;
  assert.equal(r.status, 1);
  assert.match(r.stderr, /started with --disable-sigusr1/);
  const l = run(CLI, ['list', '--all'], { env: plainEnv() });
  assert.match(l.stdout, new RegExp(`^${app.pid}\tnot-attachable\t`, 'm'));
});

test('root acts as the owner of another user\'s process (as asprof does); another user is refused; only node', { skip: process.getuid() !== 0 && 'needs root (setpriv)' }, async (t) => {
  const { node, cli: sharedCli } = reachableByAll(65534);
  const dir = tempDir(t);
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  // nobody's node, root's nodeprof.
  const script = writeScript(dir, 'app.js', SERVER);
  fs.chmodSync(script, 0o644);
  const theirs = startProcess('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', node, `--inspect-port=${port}`, script],
    { env: plainEnv(), cwd: '/' });
  t.after(() => theirs.kill('SIGKILL'));
  await theirs.ready;
  // Root's directory is not nobody's to write in: refused before anything is sent.
  const refused = await cli(['ctl', String(theirs.pid), 'cpu', 'dump', '1'], { cwd: dir }).done;
  assert.equal(refused.status, 1, refused.stderr);
  assert.match(refused.stderr, new RegExp(`cannot write in ${dir} as uid 65534`));
  await sleep(200);
  assert.doesNotMatch(theirs.err, /Debugger/, 'nothing was sent');
  // A directory nobody can write in: the profile is theirs, the inspector closed after.
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  fs.chownSync(out, 65534, 65534);
  const r = await cli(['ctl', String(theirs.pid), 'cpu', 'dump', '1'], { cwd: out }).done;
  assert.equal(r.status, 0, r.stderr);
  const file = r.stdout.trim();
  assert.equal(path.dirname(file), out);
  const st = fs.statSync(file);
  assert.equal(st.uid, 65534);
  assert.equal(st.mode & 0o777, 0o600);
  assert.ok(readCpuProfile(file).samples.length > 0);
  assert.ok(!listening(port), 'the inspector is closed after');
  // Another (non-root) user is refused, and nothing is sent.
  const errBefore = theirs.err.length;
  const other = spawnSync('setpriv', ['--reuid=65533', '--regid=65533', '--clear-groups', sharedCli, 'ctl', String(theirs.pid), 'stack'],
    { env: plainEnv(), cwd: '/', encoding: 'utf8' });
  assert.equal(other.status, 1, other.stderr);
  assert.match(other.stderr, new RegExp(`process ${theirs.pid} belongs to uid 65534: nodeprof attaches only to processes of its own uid`));
  await sleep(200);
  assert.doesNotMatch(theirs.err.slice(errBefore), /Debugger/, 'nothing was sent');
  const notNode = startProcess('sh', ['-c', 'echo ready; exec sleep 60'], { env: plainEnv() });
  t.after(() => notNode.kill('SIGKILL'));
  await notNode.ready;
  await sleep(100);
  const s = await cli(['ctl', String(notNode.pid), 'stack']).done;
  assert.equal(s.status, 1);
  assert.match(s.stderr, /is not node/);
});

test('root reaches another user\'s profiled process through that user\'s FIFO', { skip: process.getuid() !== 0 && 'needs root (setpriv)' }, async (t) => {
  const { node, lib } = reachableByAll(65534);
  const dir = tempDir(t);
  fs.chmodSync(dir, 0o777);
  const script = writeScript(dir, 'idle.js', "console.log('ready'); setInterval(() => {}, 1000);");
  fs.chmodSync(script, 0o644);
  const theirs = startProcess('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', node, script],
    { env: childEnv({ NODEPROF_DIR: dir, LD_PRELOAD: lib }), cwd: '/' });
  t.after(() => theirs.kill('SIGKILL'));
  await theirs.ready;
  const fifo = `/tmp/nodeprof-65534/${theirs.pid}.ctl`;
  await until(() => fs.existsSync(fifo), 10000, 'the control FIFO');
  const r = await cli(['ctl', String(theirs.pid), 'cpu', 'dump']).done;
  assert.equal(r.status, 0, r.stderr);
  const file = r.stdout.trim();
  assert.equal(fs.statSync(file).uid, 65534);
  assert.ok(readCpuProfile(file).samples.length > 0);
  // Root's list and list --all show it too, with the state its owner would see.
  const list = await cli(['list', '--all']).done;
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`^${theirs.pid}\tprofiled\t`, 'm'));
  const plainList = await cli(['list']).done;
  assert.equal(plainList.status, 0, plainList.stderr);
  assert.match(plainList.stdout, new RegExp(`^${theirs.pid}\t.*\t${fifo}$`, 'm'));
  assert.ok(fs.existsSync(fifo), 'root changes nothing in their directory');
});

test('a process in another network namespace is refused: the 127.0.0.1 we would connect to is not its', { skip: process.getuid() !== 0 && 'needs root (unshare --net)' }, async (t) => {
  const app = await startTarget(t, "setInterval(() => {}, 1000); console.log('ready');", { prefix: ['unshare', '--net'] });
  const r = await cli(['ctl', String(app.pid), 'stack']).done;
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`process ${app.pid} is in another network namespace`));
  await sleep(200);
  assert.doesNotMatch(app.err, /Debugger/, 'nothing was sent');
});

test('list --all: every node process of the user, profiled or not, with whether it can be attached', async (t) => {
  const port = await freePort();
  const plain = await startTarget(t, SERVER, { inspectPort: port });
  const profiled = await startTarget(t, SERVER, { env: childEnv() });
  const r = run(CLI, ['list', '--all'], { env: plainEnv() });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').filter(Boolean);
  for (const line of lines) {
    assert.doesNotMatch(line, /\s$/, 'no trailing space');
    assert.equal(line.split('\t').length, 3, `pid, state, command line: ${JSON.stringify(line)}`);
  }
  const of = (pid) => lines.find((l) => l.startsWith(`${pid}\t`))?.split('\t');
  assert.deepEqual(of(plain.pid)?.slice(0, 2), [String(plain.pid), `attachable:${port}`]);
  assert.match(of(plain.pid)[2], /app\.js$/);
  assert.deepEqual(of(profiled.pid)?.slice(0, 2), [String(profiled.pid), 'profiled']);
  // Plain `nodeprof list` still lists only the profiled one.
  const l = run(CLI, ['list'], { env: plainEnv() });
  assert.ok(l.stdout.includes(`${profiled.pid}\t`) && !l.stdout.includes(`${plain.pid}\t`));
});

test('an inspector the process opened itself (--inspect) is used and left open', async (t) => {
  const port = await freePort();
  const app = await startTarget(t, "setInterval(() => {}, 1000); console.log('ready');", { env: plainEnv({ NODE_OPTIONS: `--inspect=127.0.0.1:${port}` }) });
  assert.equal(listening(port), true);
  const l = run(CLI, ['list', '--all'], { env: plainEnv() });
  assert.match(l.stdout, new RegExp(`^${app.pid}\tinspector-open:${port}\t`, 'm'));
  const r = await cli(['ctl', String(app.pid), 'stack']).done;
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /has its inspector open on 127\.0\.0\.1:\d+ already \(not by nodeprof\): using it, and leaving it open/);
  assert.match(r.stdout, /idle/);
  assert.equal(listening(port), true, 'still open, as its owner left it');
});

const hasValgrind = spawnSync('valgrind', ['--version']).status === 0;
test('the attach path under valgrind: no memory error, nothing lost', { skip: !hasValgrind && 'no valgrind' }, async (t) => {
  const out = tempDir(t);
  const port = await freePort();
  const server = await startTarget(t, SERVER, { inspectPort: port });
  for (const cmd of [['stack'], ['cpu', 'dump', '1']]) {
    const r = await cli(['ctl', String(server.pid), ...cmd], { cwd: out,
      wrap: ['valgrind', '--error-exitcode=99', '--leak-check=full', '--errors-for-leak-kinds=definite', '-q'] }).done;
    assert.equal(r.status, 0, r.stderr);
    assert.equal(listening(port), false);
  }
});

test('the default port 9229, when free: opened for the command and closed after', { skip: listening(9229) && '9229 is in use here' }, async (t) => {
  const server = await startTarget(t, SERVER);
  const r = await cli(['ctl', String(server.pid), 'stack']).done;
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /on 127\.0\.0\.1:9229 /);
  assert.equal(listening(9229), false);
});

test('libwebsockets is loaded only on the attach path: neither the CLI nor the library links it', () => {
  for (const file of [CLI, LIB]) {
    const ldd = spawnSync('ldd', [file], { encoding: 'utf8' });
    assert.equal(ldd.status, 0);
    assert.doesNotMatch(ldd.stdout, /websockets/, file);
  }
  const nm = spawnSync('nm', ['-D', '--undefined-only', LIB], { encoding: 'utf8' });
  assert.doesNotMatch(nm.stdout, /\blws_/);
});
