// NODEPROF_HTTP: the Go-style pprof endpoints, fetched with real clients
// (go tool pprof, curl, raw sockets) from a real server under the preload.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';

import {
  childEnv, cpuProfilesIn, hasFunction, inetSocketsOf, nodeprofLines, reachableByAll, readCpuProfile, sleep,
  startNode, startProcess, tempDir, writeScript,
} from './helpers.mjs';

// A server whose requests spend their time in hotFunction; it prints
// "ready <port>" and, at SIGTERM, "served N" then exits.
const APP = `
const http = require('node:http');
function hotFunction(n) {
  let x = 0;
  for (let i = 0; i < n; i++) { x += Math.sqrt(i) * Math.sin(i); if (x > 1e12) x = 0; }
  return x;
}
let served = 0;
const srv = http.createServer((req, res) => { served++; res.end(String(hotFunction(300000))); });
srv.listen(0, '127.0.0.1', () => console.log('ready ' + srv.address().port));
process.on('SIGTERM', () => { console.log('served ' + (served > 0)); srv.close(); process.exit(0); });
`;

// A free port below Linux's ephemeral range (32768 and up), so that no
// process of another test takes it by connecting or listening on port 0.
async function freePort() {
  for (;;) {
    const port = 20000 + crypto.randomInt(12000);
    const s = net.createServer();
    const ok = await new Promise((r) => { s.once('error', () => r(false)); s.listen(port, '127.0.0.1', () => r(true)); });
    if (ok) { await new Promise((r) => s.close(r)); return port; }
  }
}

// Runs a command without blocking our event loop (the load runs on it).
function exec(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { env: process.env, ...opts });
    let stdout = Buffer.alloc(0), stderr = '';
    c.stdout.on('data', (d) => { stdout = Buffer.concat([stdout, d]); });
    c.stderr.on('data', (d) => { stderr += d; });
    c.on('close', (status) => resolve({ status, stdout, stderr, text: stdout.toString() }));
  });
}

// curl -i: { status, headers (lower-case names), body (Buffer) }.
async function curl(url, args = []) {
  const r = await exec('curl', ['-s', '-i', '--max-time', '60', ...args, url]);
  const raw = r.stdout;
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: raw, raw: raw.toString() };
  const head = raw.subarray(0, end).toString().split('\r\n');
  const headers = {};
  for (const l of head.slice(1)) { const i = l.indexOf(':'); headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim(); }
  return { status: Number(head[0].split(' ')[1]), headers, body: raw.subarray(end + 4) };
}

// Requests to the app until stopped; counts its answers.
function load(port) {
  const state = { stop: false, answers: 0, errors: 0 };
  state.done = (async () => {
    while (!state.stop) {
      try { const r = await fetch(`http://127.0.0.1:${port}/`); await r.text(); if (r.ok) state.answers++; } catch { state.errors++; await sleep(10); }
    }
  })();
  return state;
}

async function startApp(t, env) {
  const dir = tempDir(t);
  const script = writeScript(dir, 'app.js', APP);
  const child = startNode(script, [], { env: childEnv({ NODEPROF_DIR: dir, ...env }), cwd: dir });
  t.after(() => { try { child.kill('SIGKILL'); } catch {} });
  await child.ready;
  assert.doesNotMatch(child.err, /address already in use/);
  return { child, dir, port: Number(/ready (\d+)/.exec(child.out)[1]) };
}

const listening = (pid, port) => inetSocketsOf(pid).filter((s) => s.includes(`:${port.toString(16).toUpperCase().padStart(4, '0')} state=0A`));

test('go tool pprof fetches a CPU profile of a loaded server; the exit profile is still whole', async (t) => {
  const port = await freePort();
  const { child, dir, port: appPort } = await startApp(t, { NODEPROF_HTTP: `127.0.0.1:${port}` });
  assert.equal(listening(child.pid, port).length, 1, 'the endpoint listens');
  const traffic = load(appPort);
  const pprofDir = tempDir(t);
  const base = `http://127.0.0.1:${port}/debug/pprof`;
  const raw = exec('go', ['tool', 'pprof', '-raw', `${base}/profile?seconds=4`], { env: { ...process.env, PPROF_TMPDIR: pprofDir } });
  await sleep(1500);
  // One CPU profile request at a time.
  const busy = await curl(`${base}/profile?seconds=1`);
  assert.equal(busy.status, 429);
  assert.match(busy.body.toString(), /already running/);
  // A `cpu dump` of the main profile meanwhile disturbs neither.
  const dump = await curl(`http://127.0.0.1:${port}/nodeprof/ctl`, ['--data-binary', 'cpu dump']);
  assert.equal(dump.status, 200, dump.body.toString());
  const r = await raw;
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.text, /PeriodType: cpu nanoseconds/);
  assert.match(r.text, /hotFunction/);
  const saved = fs.readdirSync(pprofDir).filter((f) => f.endsWith('.pb.gz'));
  assert.equal(saved.length, 1, r.stderr);
  const top = await exec('go', ['tool', 'pprof', '-top', path.join(pprofDir, saved[0])]);
  assert.equal(top.status, 0, top.stderr);
  assert.match(top.text, /Type: cpu/);
  assert.match(top.text, /hotFunction/);

  // The headers Go's net/http/pprof sends, and a gzipped profile.proto.
  const p = await curl(`${base}/profile?seconds=1`);
  assert.equal(p.status, 200);
  assert.equal(p.headers['content-type'], 'application/octet-stream');
  assert.equal(p.headers['content-disposition'], 'attachment; filename="profile"');
  assert.equal(p.headers['x-content-type-options'], 'nosniff');
  assert.ok(zlib.gunzipSync(p.body).length > 0);
  assert.equal((await curl(`${base}/profile?seconds=301`)).status, 400);

  traffic.stop = true;
  await traffic.done;
  assert.ok(traffic.answers > 0);
  child.kill('SIGTERM');
  const end = await child.closed;
  assert.equal(end.status, 0, child.err);
  assert.equal(child.out, `ready ${appPort}\nserved true\n`);
  const files = cpuProfilesIn(dir);
  assert.equal(files.length, 2, child.err); // the dump's, the exit's
  const exitProfile = readCpuProfile(files[1]);
  assert.ok(hasFunction(exitProfile, 'hotFunction'));
  assert.ok(hasFunction(readCpuProfile(files[0]), 'hotFunction'));
});

test('heap, index, stack and ctl answer as documented', async (t) => {
  const port = await freePort();
  const { child } = await startApp(t, { NODEPROF_HTTP: `127.0.0.1:${port}`, NODEPROF_HEAP_INTERVAL: '1k' });
  const base = `http://127.0.0.1:${port}`;
  const heap = await curl(`${base}/debug/pprof/heap?seconds=1`);
  assert.equal(heap.status, 200, heap.body.toString());
  assert.equal(heap.headers['content-disposition'], 'attachment; filename="heap"');
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'heap.pb.gz'), heap.body);
  const top = await exec('go', ['tool', 'pprof', '-raw', path.join(dir, 'heap.pb.gz')]);
  assert.equal(top.status, 0, top.stderr);
  assert.match(top.text, /inuse_objects\/count inuse_space\/bytes/);
  const bad = await curl(`${base}/debug/pprof/heap?seconds=x`);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.toString(), 'invalid value for "seconds" - must be a positive integer\n');

  const index = await curl(`${base}/debug/pprof/`);
  assert.equal(index.status, 200);
  assert.match(index.headers['content-type'], /^text\/html/);
  for (const name of ['profile', 'heap', 'stack']) assert.match(index.body.toString(), new RegExp(`href="${name}`));
  assert.equal((await curl(`${base}/debug/pprof/goroutine`)).status, 404);

  const stack = await curl(`${base}/debug/pprof/stack`);
  assert.equal(stack.status, 200);
  assert.match(stack.body.toString(), /idle|\(/);

  const status = await curl(`${base}/nodeprof/ctl`, ['--data-binary', 'status']);
  assert.equal(status.status, 200);
  assert.match(status.body.toString(), new RegExp(`^ok\\npid: ${child.pid}\\n`));
  const dump = await curl(`${base}/nodeprof/ctl`, ['--data-binary', 'cpu dump\n']);
  assert.equal(dump.status, 200);
  const written = dump.body.toString().split('\n')[1];
  assert.ok(written.endsWith('.cpuprofile') && fs.existsSync(written), dump.body.toString());
  const unknown = await curl(`${base}/nodeprof/ctl`, ['--data-binary', 'frobnicate']);
  assert.equal(unknown.status, 400);
  assert.match(unknown.body.toString(), /^error: unknown command/);
  assert.equal((await curl(`${base}/nodeprof/ctl`)).status, 405);
  child.kill('SIGTERM');
  await child.closed;
});

test('a token: 401 without it or with a wrong one, 200 with it; refused configurations open no port', async (t) => {
  const dir = tempDir(t);
  const token = crypto.randomBytes(24).toString('hex');
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  const port = await freePort();
  const { child } = await startApp(t, { NODEPROF_HTTP: `0.0.0.0:${port}`, NODEPROF_HTTP_TOKEN_FILE: tokenFile });
  const url = `http://127.0.0.1:${port}/debug/pprof/`;
  for (const auth of [[], ['-H', 'Authorization: Bearer wrong'], ['-H', `Authorization: Bearer ${token}x`],
    ['-H', `Authorization: Basic ${token}`]]) {
    const r = await curl(url, auth);
    assert.equal(r.status, 401, auth.join(' '));
    assert.equal(r.body.toString(), 'Unauthorized\n');
  }
  // Nothing is told without the token, not even what does not exist.
  assert.equal((await curl(`http://127.0.0.1:${port}/nope`)).status, 401);
  const ok = await curl(url, ['-H', `Authorization: Bearer ${token}`]);
  assert.equal(ok.status, 200);
  child.kill('SIGTERM');
  await child.closed;

  // Refused: a non-loopback address without a token; a token file others may read.
  fs.chmodSync(tokenFile, 0o644);
  for (const [env, line] of [
    [{ NODEPROF_HTTP: `0.0.0.0:${port}` }, /not a loopback address: it needs NODEPROF_HTTP_TOKEN_FILE/],
    [{ NODEPROF_HTTP: `127.0.0.1:${port}`, NODEPROF_HTTP_TOKEN_FILE: tokenFile }, /readable or writable by group or others/],
    [{ NODEPROF_HTTP: `localhost:${port}` }, /numeric IPv4 or IPv6 address/],
  ]) {
    const app = await startApp(t, env);
    const lines = nodeprofLines(app.child.err);
    assert.equal(lines.length, 1, app.child.err);
    assert.match(lines[0], line);
    assert.match(lines[0], /no HTTP endpoints/);
    assert.deepEqual(listening(app.child.pid, port), []);
    const r = await fetch(`http://127.0.0.1:${app.port}/`);
    assert.equal(r.status, 200, 'the app runs on');
    app.child.kill('SIGTERM');
    assert.equal((await app.child.closed).status, 0);
  }
});

// Loopback without a token is reachable by every local user: only the app's own user and root
// are served, anyone else is closed before a byte is read (and holds no connection slot).
const canSwitchUid = process.getuid() === 0 &&
  spawnSync('setpriv', ['--version'], { env: process.env }).status === 0;
test('loopback without a token: another uid is closed unanswered, with one line; the app\'s own user and root are served', {
  skip: !canSwitchUid && 'needs root and setpriv',
}, async (t) => {
  const port = await freePort();
  const { child } = await startApp(t, { NODEPROF_HTTP: `127.0.0.1:${port}` });
  const url = `http://127.0.0.1:${port}/debug/pprof/`;
  const as = (uid) => ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', 'curl', '-s', '-i', '--max-time', '20', url];
  for (let i = 0; i < 12; i++) {
    const r = await exec('setpriv', as(12345));
    assert.equal(r.text, '', 'answered another uid');
  }
  // Its refused connections held no slot: the owner is served at once, many times.
  for (let i = 0; i < 10; i++) assert.equal((await curl(url)).status, 200);
  const lines = nodeprofLines(child.err);
  assert.ok(lines.length >= 1 && lines.length <= 3, child.err);
  for (const l of lines) assert.match(l, /^nodeprof: HTTP connection from uid 12345 refused: on loopback without NODEPROF_HTTP_TOKEN_FILE only root is served/);
  child.kill('SIGTERM');
  assert.equal((await child.closed).status, 0);

  // The app as uid 23456: that uid and root are served, 12345 is not.
  const { node, lib } = reachableByAll(23456);
  const dir = tempDir(t);
  fs.chmodSync(dir, 0o777);
  const script = writeScript(dir, 'app.js', APP);
  fs.chmodSync(script, 0o644);
  const port2 = await freePort();
  const app = startProcess('setpriv', ['--reuid', '23456', '--regid', '23456', '--clear-groups', node, script], {
    env: childEnv({ LD_PRELOAD: lib, NODEPROF_DIR: dir, NODEPROF_HTTP: `127.0.0.1:${port2}` }), cwd: dir,
  });
  t.after(() => { try { app.kill('SIGKILL'); } catch {} });
  await app.ready;
  const url2 = `http://127.0.0.1:${port2}/debug/pprof/`;
  assert.equal((await curl(url2)).status, 200, 'root');
  const own = await exec('setpriv', ['--reuid', '23456', '--regid', '23456', '--clear-groups', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', url2]);
  assert.equal(own.text, '200', 'the app\'s own uid');
  const other = await exec('setpriv', ['--reuid', '12345', '--regid', '12345', '--clear-groups', 'curl', '-s', '-i', '--max-time', '20', url2]);
  assert.equal(other.text, '');
  assert.match(app.err, /nodeprof: HTTP connection from uid 12345 refused: .* only uid 23456 and root are served/);
  app.kill('SIGTERM');
  await app.closed;
});

// Opens a raw connection; resolves { sock, closed } once connected.
function connect(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (d) => { data += d; });
    sock.on('error', () => {});
    const closed = new Promise((r) => sock.on('close', () => r(data)));
    sock.on('connect', () => resolve({ sock, closed }));
  });
}

test('garbage, slow and too many clients leave the app alone, and the agent answers after', async (t) => {
  const port = await freePort();
  const { child, port: appPort } = await startApp(t, { NODEPROF_HTTP: `127.0.0.1:${port}` });
  const traffic = load(appPort);
  const before = Date.now();
  // Random bytes, and requests llhttp refuses: 400 or closed.
  for (let i = 0; i < 30; i++) {
    const c = await connect(port);
    c.sock.end(crypto.randomBytes(1 + (i * 97) % 3000));
    const answer = await c.closed;
    assert.ok(answer === '' || /^HTTP\/1\.1 (400|404|405|413|414|431) /.test(answer), answer.slice(0, 80));
  }
  // Oversized headers: 431; too many headers: 431; a long URL: 414.
  const big = await connect(port);
  big.sock.write(`GET /debug/pprof/ HTTP/1.1\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`);
  assert.match(await big.closed, /^HTTP\/1\.1 431 /);
  const many = await connect(port);
  many.sock.write('GET /debug/pprof/ HTTP/1.1\r\n' + Array.from({ length: 60 }, (_, i) => `H${i}: v\r\n`).join('') + '\r\n');
  assert.match(await many.closed, /^HTTP\/1\.1 431 /);
  const long = await connect(port);
  long.sock.write(`GET /${'u'.repeat(3000)} HTTP/1.1\r\n\r\n`);
  assert.match(await long.closed, /^HTTP\/1\.1 414 /);
  const body = await connect(port);
  body.sock.write(`POST /nodeprof/ctl HTTP/1.1\r\nContent-Length: 5000\r\n\r\n${'s'.repeat(5000)}`);
  assert.match(await body.closed, /^HTTP\/1\.1 413 /);

  // Slowloris: a request that never ends is closed after NP_HTTP_READ_MS
  // (10 s); meanwhile more connections than allowed are closed at once.
  const slow = await connect(port);
  slow.sock.write('GET /debug/pprof/ HTTP/1.1\r\nX-Slow: ');
  const drip = setInterval(() => slow.sock.write('a'), 500);
  const holders = await Promise.all(Array.from({ length: 20 }, () => connect(port)));
  const refused = await Promise.race([Promise.any(holders.map((h) => h.closed)), sleep(5000).then(() => null)]);
  assert.equal(refused, '', 'a connection over the limit is closed without an answer');
  const slowEnd = await Promise.race([slow.closed.then(() => Date.now()), sleep(30000).then(() => null)]);
  clearInterval(drip);
  assert.ok(slowEnd, 'the slow client was cut off');
  assert.ok(slowEnd - before < 30000);
  for (const h of holders) h.sock.destroy();
  await sleep(300);

  // The agent answers; the app answered throughout and printed nothing more.
  const index = await curl(`http://127.0.0.1:${port}/debug/pprof/`);
  assert.equal(index.status, 200);
  traffic.stop = true;
  await traffic.done;
  assert.ok(traffic.answers > 10, `app answers: ${traffic.answers}`);
  assert.equal(traffic.errors, 0);
  child.kill('SIGTERM');
  const end = await child.closed;
  assert.equal(end.status, 0);
  assert.equal(child.out, `ready ${appPort}\nserved true\n`);
  assert.deepEqual(nodeprofLines(child.err), []);
});

test('NODEPROF_HEAP=on: the heap endpoint answers the running sampler at once, which goes on', async (t) => {
  const port = await freePort();
  const { child, dir } = await startApp(t, { NODEPROF_HTTP: `127.0.0.1:${port}`, NODEPROF_HEAP: 'on', NODEPROF_HEAP_INTERVAL: '1k' });
  const began = Date.now();
  const heap = await curl(`http://127.0.0.1:${port}/debug/pprof/heap`);
  assert.equal(heap.status, 200, heap.body.toString());
  assert.ok(Date.now() - began < 4000, 'not the 5 s of a sampling of its own');
  const file = path.join(dir, 'heap.pb.gz');
  fs.writeFileSync(file, heap.body);
  const raw = await exec('go', ['tool', 'pprof', '-raw', file]);
  assert.equal(raw.status, 0, raw.stderr);
  assert.match(raw.text, /inuse_objects\/count inuse_space\/bytes/);
  assert.match(raw.text, /^\s+\d+\s+\d+: /m, 'samples');
  child.kill('SIGTERM');
  assert.equal((await child.closed).status, 0);
  assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.heapprofile')).length, 1, 'the exit heap profile');
});

test('a child that inherits NODEPROF_HTTP finds the port taken: one line, and it runs on', async (t) => {
  const port = await freePort();
  const dir = tempDir(t);
  const script = writeScript(dir, 'parent.js', `
const { spawnSync } = require('node:child_process');
const net = require('node:net');
// The child starts once our endpoint listens (on a loaded machine, later
// than any fixed delay).
(function whenListening() {
  const s = net.connect(${port}, '127.0.0.1', () => { s.destroy(); spawnChild(); });
  s.on('error', () => setTimeout(whenListening, 50));
})();
function spawnChild() {
  const c = spawnSync(process.execPath, ['-e', 'console.log("child ran")'], { encoding: 'utf8' });
  console.log(c.status, c.stdout.trim());
  console.log(JSON.stringify(c.stderr));
}
`);
  const r = await exec(process.env.NP_TEST_NODE && process.env.NP_TEST_NODE !== 'node' ? process.env.NP_TEST_NODE : process.execPath,
    [script], { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_HTTP: `127.0.0.1:${port}` }), cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  const [ran, err] = r.text.split('\n');
  assert.equal(ran, '0 child ran');
  const lines = JSON.parse(err).split('\n').filter(Boolean);
  assert.equal(lines.length, 1, err);
  assert.match(lines[0], /^nodeprof: cannot listen on NODEPROF_HTTP=127\.0\.0\.1:\d+: address already in use; no HTTP endpoints$/);
  assert.deepEqual(nodeprofLines(r.stderr), []);
});
