// NODEPROF_EXPORT: every file written is uploaded to S3-compatible storage.
// The server is s3rver (the S3 REST API on disk), behind a front in this
// process that verifies every request's Signature V4 with AWS's own signer
// (@smithy/signature-v4) and the payload hash, and answers 403 as S3 does:
// s3rver itself does not verify V4 signatures. Objects are read back with
// an independent client (minio), through the front too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import S3rver from 's3rver';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import * as Minio from 'minio';
import {
  CLI, LIB, NODE, childEnv, startNode, sleep, tempDir, writeScript, nodeprofLines, withoutNodeprofLines,
} from './helpers.mjs';

const KEY = 'S3RVER';        // s3rver's account; the front checks the signature
const SECRET = 'S3RVER';
const BUCKET = 'profiles';
const TOKEN = 'session-token-of-the-test';

let s3rver, s3rverPort, root;

before(async () => {
  root = tempDir(null, 'nodeprof-s3-');
  s3rver = new S3rver({
    port: 0, address: '127.0.0.1', silent: true, directory: path.join(root, 'store'),
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await s3rver.run();
  s3rverPort = port;
});

after(async () => {
  await s3rver.close();
  fs.rmSync(root, { recursive: true, force: true });
});

// Like helpers' run(), but without blocking this process's event loop: the
// front and s3rver answer from it.
function runAsync(cmd, args, { env, timeout = 120000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', reject);
    child.on('close', (status, signal) => { clearTimeout(timer); resolve({ status, signal, stdout, stderr, pid: child.pid }); });
  });
}

const sha256hex = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

function parseAmzDate(s) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? '');
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null;
}

// Checks a request as S3 would: the V4 Authorization header, recomputed
// with AWS's signer over exactly the headers it names, and the body's hash.
// Returns null when it verifies, else why not.
export async function verifyV4(req, body, secret = SECRET) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/
    .exec(req.headers.authorization ?? '');
  if (!m) return 'no AWS4-HMAC-SHA256 Authorization header';
  const [, accessKey, , region, signedHeaders, signature] = m;
  if (accessKey !== KEY) return 'unknown access key';
  const date = parseAmzDate(req.headers['x-amz-date']);
  if (!date) return 'no x-amz-date';
  if (Math.abs(date - Date.now()) > 15 * 60 * 1000) return 'request time too skewed';
  const claimed = req.headers['x-amz-content-sha256'];
  if (!claimed) return 'no x-amz-content-sha256';
  if (claimed !== 'UNSIGNED-PAYLOAD' && claimed !== sha256hex(body)) return 'x-amz-content-sha256 does not match the body';
  const names = signedHeaders.split(';');
  for (const need of ['host', 'x-amz-date', 'x-amz-content-sha256'])
    if (!names.includes(need)) return `${need} not signed`;
  for (const h of Object.keys(req.headers))
    if ((h.startsWith('x-amz-') || h === 'host') && !names.includes(h)) return `${h} sent but not signed`;
  const headers = {};
  for (const h of names) {
    if (req.headers[h] === undefined) return `signed header ${h} missing`;
    headers[h] = req.headers[h];
  }
  const url = new URL(req.url, 'http://front');
  const query = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signer = new SignatureV4({
    credentials: { accessKeyId: accessKey, secretAccessKey: secret },
    region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false,
  });
  const signed = await signer.sign({
    method: req.method, protocol: 'http:', hostname: req.headers.host.replace(/:\d+$/, ''),
    path: url.pathname, query, headers, body,
  }, { signingDate: date });
  const expected = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization)?.[1];
  const expectedHeaders = /SignedHeaders=([^,]+)/.exec(signed.headers.authorization)?.[1];
  if (expectedHeaders !== signedHeaders) return `signed headers ${signedHeaders}, signer: ${expectedHeaders}`;
  return expected === signature ? null : 'SignatureDoesNotMatch';
}

// The front: verifies, then forwards to s3rver. Faults on demand:
// fail500 (answer the next N PUTs with 500), delayMs (answer PUTs that
// late), hang (never answer a PUT).
async function startFront({ port = 0 } = {}) {
  const front = { puts: [], rejected: [], answered500: 0, fail500: 0, delayMs: 0, hang: false, received: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const why = await verifyV4(req, body);
      if (why) {
        front.rejected.push({ method: req.method, url: req.url, why });
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>${why}</Message></Error>`);
        return;
      }
      if (req.method === 'PUT') {
        front.received++;
        if (front.hang) return;
        if (front.fail500 > 0) {
          front.fail500--;
          front.answered500++;
          res.writeHead(500, { 'content-type': 'application/xml' });
          res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code></Error>');
          return;
        }
        if (front.delayMs) await sleep(front.delayMs);
        front.puts.push({ url: req.url, headers: req.headers, signed: req.headers.authorization });
      }
      const fwd = http.request({ host: '127.0.0.1', port: s3rverPort, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      fwd.on('error', () => { res.writeHead(502); res.end(); });
      fwd.end(body);
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  front.port = server.address().port;
  front.close = () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); });
  return front;
}

// A port nothing listens on (yet).
async function freePort() {
  const s = http.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const client = (port) => new Minio.Client({
  endPoint: '127.0.0.1', port, useSSL: false, accessKey: KEY, secretKey: SECRET, region: 'us-east-1', pathStyle: true,
});

async function readObject(c, key) {
  const stream = await c.getObject(BUCKET, key);
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function objectKeys(c, prefix) {
  const keys = [];
  for await (const o of c.listObjectsV2(BUCKET, prefix, true)) keys.push(o.name);
  return keys.sort();
}

function exportEnv(port, prefix, extra = {}) {
  return childEnv({
    NODEPROF_EXPORT: `s3://${BUCKET}/${prefix}/`,
    NODEPROF_S3_ENDPOINT: `http://127.0.0.1:${port}`,
    AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET,
    ...extra,
  });
}

const profileFiles = (dir) => fs.readdirSync(dir).filter((f) => !f.startsWith('.')).sort();
const markers = (dir) => fs.readdirSync(dir).filter((f) => f.endsWith('.s3pending')).sort();

const APP = `
let x = 0;
const end = Date.now() + Number(process.argv[2] || 200);
while (Date.now() < end) x += Math.sqrt(x + 1);
console.log('done', typeof x);
`;

// Every local file is an object, byte-equal, with its metadata.
async function assertUploaded(c, dir, prefix, { names = profileFiles(dir), pid, labels } = {}) {
  assert.ok(names.length > 0, 'files were written');
  const keys = await objectKeys(c, `${prefix}/`);
  for (const name of names) {
    assert.ok(keys.includes(`${prefix}/${name}`), `${name} uploaded (objects: ${keys.join(', ')})`);
    const local = fs.readFileSync(path.join(dir, name));
    assert.deepEqual(await readObject(c, `${prefix}/${name}`), local, `${name}: the object is the file, byte for byte`);
    const stat = await c.statObject(BUCKET, `${prefix}/${name}`);
    const meta = stat.metaData;
    assert.equal(meta.host, (await import('node:os')).hostname());
    if (pid) assert.equal(meta.pid, String(pid));
    if (labels) assert.equal(meta.labels, labels, 'NODEPROF_LABELS, expanded');
    assert.match(meta['node-version'], /^v\d+\.\d+\.\d+$/);
    // The extension starts after the name's last '-' (a host name in the name may have dots).
    assert.equal(meta.kind, name.slice(name.indexOf('.', name.lastIndexOf('-')) + 1));
    assert.match(meta.start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(meta.end, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(meta.start <= meta.end, `${meta.start} <= ${meta.end}`);
  }
}

test('the front rejects a request signed with a wrong secret that s3rver alone accepts', async (t) => {
  const front = await startFront();
  t.after(front.close);
  const body = Buffer.from('not a profile');
  const put = async (port, secret) => {
    const signer = new SignatureV4({ credentials: { accessKeyId: KEY, secretAccessKey: secret }, region: 'us-east-1', service: 's3', sha256: Sha256, uriEscapePath: false });
    const req = await signer.sign({
      method: 'PUT', protocol: 'http:', hostname: '127.0.0.1', port, path: `/${BUCKET}/forged/x`, query: {},
      headers: { host: `127.0.0.1:${port}`, 'x-amz-content-sha256': sha256hex(body) }, body,
    });
    return new Promise((resolve, reject) => {
      const r = http.request({ host: '127.0.0.1', port, method: 'PUT', path: req.path, headers: req.headers }, (res) => { res.resume(); resolve(res.statusCode); });
      r.on('error', reject);
      r.end(body);
    });
  };
  assert.equal(await put(s3rverPort, 'wrong-secret'), 200, 's3rver alone accepts a wrong secret');
  assert.equal(await put(front.port, 'wrong-secret'), 403, 'the front refuses it');
  assert.equal(front.rejected.at(-1).why, 'SignatureDoesNotMatch');
  assert.equal(await put(front.port, SECRET), 200, 'the front accepts the right secret');
});

test('every file is uploaded, byte-equal, with metadata; the app is unchanged; libcurl is loaded only then', async (t) => {
  const front = await startFront();
  t.after(front.close);
  const dir = tempDir(t);
  const script = writeScript(dir, 'app.js', APP);
  const out = path.join(dir, 'out');
  const plain = await runAsync(NODE, [script], { env: childEnv({}, { preload: false }) });
  const r = await runAsync(NODE, [script], {
    env: exportEnv(front.port, 'basic', { NODEPROF_DIR: out, NODEPROF_FORMATS: 'cpuprofile,pprof', NODEPROF_HEAP: 'on', AWS_SESSION_TOKEN: TOKEN,
      NODEPROF_LABELS: 'service=checkout,version=%{GIT_SHA}', GIT_SHA: 'f00d' }),
  });
  assert.equal(r.stdout, plain.stdout);
  assert.equal(r.status, plain.status);
  assert.deepEqual(nodeprofLines(r.stderr), [], r.stderr);
  assert.deepEqual(front.rejected, []);
  assert.equal(markers(out).length, 0, 'no marker left');
  assert.equal(profileFiles(out).length, 4, profileFiles(out).join()); // CPU and heap, each .cpuprofile/.heapprofile and pprof
  assert.ok(front.puts.every((p) => p.headers['x-amz-security-token'] === TOKEN && /x-amz-security-token/.test(p.signed)),
    'the session token is sent and signed');
  await assertUploaded(client(front.port), out, 'basic', { pid: r.pid, labels: 'service=checkout,version=f00d' });

  // libnodeprof.so does not link libcurl; a process without NODEPROF_EXPORT does not load it.
  const ldd = spawnSync('ldd', [LIB], { encoding: 'utf8' }).stdout;
  assert.doesNotMatch(ldd, /curl/);
  const nm = spawnSync('nm', ['-D', '--undefined-only', LIB], { encoding: 'utf8' }).stdout;
  assert.doesNotMatch(nm, /curl/);
  const maps = 'setTimeout(() => { console.log(require("fs").readFileSync("/proc/self/maps", "utf8").includes("libcurl") ? "curl" : "no curl"); }, 300)';
  assert.equal((await runAsync(NODE, ['-e', maps], { env: childEnv({ NODEPROF_DIR: out }) })).stdout.trim(), 'no curl');
  assert.equal((await runAsync(NODE, ['-e', maps], { env: exportEnv(front.port, 'maps', { NODEPROF_DIR: path.join(dir, 'm') }) })).stdout.trim(), 'curl');
});

test('NODEPROF_EXPORT_KEEP_LOCAL=off deletes the local copy after the upload only', async (t) => {
  const front = await startFront();
  t.after(front.close);
  const dir = tempDir(t);
  const script = writeScript(dir, 'app.js', APP);
  const out = path.join(dir, 'out');
  const r = await runAsync(NODE, [script], { env: exportEnv(front.port, 'nolocal', { NODEPROF_DIR: out, NODEPROF_EXPORT_KEEP_LOCAL: 'off' }) });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(out), [], 'nothing left locally');
  const keys = await objectKeys(client(front.port), 'nolocal/');
  assert.equal(keys.length, 1, keys.join());
  const p = JSON.parse(await readObject(client(front.port), keys[0]));
  assert.ok(p.nodes.length > 0 && p.samples.length === p.timeDeltas.length, 'a whole CPU profile');
});

test('a wrong secret is refused (403): the file stays with its marker, and `nodeprof upload DIR` uploads it', async (t) => {
  const front = await startFront();
  t.after(front.close);
  const dir = tempDir(t);
  const script = writeScript(dir, 'app.js', APP);
  const out = path.join(dir, 'out');
  const r = await runAsync(NODE, [script], { env: exportEnv(front.port, 'refused', { NODEPROF_DIR: out, AWS_SECRET_ACCESS_KEY: 'wrong' }) });
  assert.equal(r.status, 0);
  assert.equal(withoutNodeprofLines(r.stderr), '');
  assert.match(r.stderr, /nodeprof: NODEPROF_EXPORT: upload of .* refused: HTTP 403 SignatureDoesNotMatch; left on disk/);
  assert.ok(front.rejected.length >= 1 && front.rejected.every((x) => x.why === 'SignatureDoesNotMatch'), JSON.stringify(front.rejected));
  assert.deepEqual(await objectKeys(client(front.port), 'refused/'), []);
  const names = profileFiles(out);
  assert.deepEqual(markers(out), names.map((n) => `.${n}.s3pending`));

  const up = await runAsync(CLI, ['upload', out], { env: exportEnv(front.port, 'refused') });
  assert.equal(up.status, 0, up.stderr);
  assert.match(up.stdout, /^uploaded .*\.cpuprofile to s3:\/\/profiles\/refused\//m);
  assert.deepEqual(markers(out), []);
  await assertUploaded(client(front.port), out, 'refused', { pid: r.pid });
  const again = await runAsync(CLI, ['upload', out], { env: exportEnv(front.port, 'refused') });
  assert.equal(again.status, 0);
  assert.match(again.stdout, /nothing to upload/);
});

// In a shared NODEPROF_DIR another user can put something of theirs under a waiting file's name
// (after the file was removed, before its marker was): it must never reach our bucket, nor block us.
test('a waiting file replaced by another user\'s file or by a FIFO: refused at once, not uploaded', {
  skip: process.getuid() !== 0 && 'needs root to own a file as another uid',
}, async (t) => {
  const front = await startFront();
  t.after(front.close);
  const dir = tempDir(t);
  const script = writeScript(dir, 'app.js', APP);
  const out = path.join(dir, 'out');
  const r = await runAsync(NODE, [script], { env: exportEnv(front.port, 'swapped', { NODEPROF_DIR: out, AWS_SECRET_ACCESS_KEY: 'wrong' }) });
  assert.equal(r.status, 0);
  const [name] = profileFiles(out);
  assert.deepEqual(markers(out), [`.${name}.s3pending`]);
  fs.chownSync(path.join(out, name), 12345, 12345);
  const started = Date.now();
  const up = await runAsync(CLI, ['upload', out], { env: exportEnv(front.port, 'swapped') });
  assert.equal(up.status, 1);
  assert.equal(up.stderr, `nodeprof: ${name}: not uploaded: not a regular file of uid 0\n`);
  fs.rmSync(path.join(out, name));
  assert.equal(spawnSync('mkfifo', [path.join(out, name)]).status, 0);
  const fifo = await runAsync(CLI, ['upload', out], { env: exportEnv(front.port, 'swapped') });
  assert.equal(fifo.status, 1);
  assert.equal(fifo.stderr, `nodeprof: ${name}: not uploaded: not a regular file of uid 0\n`);
  assert.ok(Date.now() - started < 20000, 'refused at once, not retried');
  assert.deepEqual(await objectKeys(client(front.port), 'swapped/'), []);
});

test('the server down at start-up and up later: the uploads happen', async (t) => {
  const port = await freePort();
  const dir = tempDir(t);
  const script = writeScript(dir, 'app.js', `
    console.log('ready');
    setInterval(() => {}, 1000);
    process.on('SIGINT', () => { console.log('done'); process.exit(0); });`);
  const out = path.join(dir, 'out');
  const child = startNode(script, [], {
    env: exportEnv(port, 'late', { NODEPROF_DIR: out, NODEPROF_PERIOD: '500ms', NODEPROF_EXPORT_EXIT_WAIT: '60s' }),
  });
  await child.ready;
  for (let i = 0; i < 200 && !(fs.existsSync(out) && markers(out).length); i++) await sleep(100);
  const first = markers(out)[0];
  assert.ok(first, 'files wait while the server is down');
  await sleep(1000); // a retry or two against nobody
  assert.ok(markers(out).includes(first), 'still waiting');
  const front = await startFront({ port });
  t.after(front.close);
  for (let i = 0; i < 600 && markers(out).includes(first); i++) await sleep(100);
  assert.ok(!markers(out).includes(first), 'uploaded while the process runs, once the server is up');
  child.kill('SIGINT');
  const end = await child.closed;
  assert.equal(end.status, 0, child.err);
  assert.equal(child.out, 'ready\ndone\n');
  assert.deepEqual(markers(out), []);
  await assertUploaded(client(port), out, 'late', { pid: child.pid });
});

test('500s are retried until the upload succeeds', async (t) => {
  const front = await startFront();
  t.after(front.close);
  front.fail500 = 2;
  const dir = tempDir(t);
  const script = writeScript(dir, 'app.js', APP);
  const out = path.join(dir, 'out');
  const r = await runAsync(NODE, [script], { env: exportEnv(front.port, 'retried', { NODEPROF_DIR: out, NODEPROF_EXPORT_EXIT_WAIT: '60s' }) });
  assert.equal(r.status, 0);
  assert.equal(front.answered500, 2);
  assert.match(r.stderr, /upload of .* failed: HTTP 500 InternalError; retrying in 1 s/);
  assert.deepEqual(markers(out), []);
  await assertUploaded(client(front.port), out, 'retried', { pid: r.pid });
});

test('slower than NODEPROF_EXPORT_EXIT_WAIT: the process exits in time, the file stays, `nodeprof upload` uploads it', async (t) => {
  const front = await startFront();
  t.after(front.close);
  front.delayMs = 30000;
  const dir = tempDir(t);
  const script = writeScript(dir, 'app.js', APP);
  const out = path.join(dir, 'out');
  const plain = await runAsync(NODE, [script], { env: childEnv({}, { preload: false }) });
  const began = Date.now();
  const r = await runAsync(NODE, [script], { env: exportEnv(front.port, 'slow', { NODEPROF_DIR: out, NODEPROF_EXPORT_EXIT_WAIT: '1s' }) });
  const took = Date.now() - began;
  assert.equal(r.stdout, plain.stdout);
  assert.equal(r.status, plain.status);
  assert.ok(took < 15000, `exited after ${took} ms, with the server 30 s late`);
  assert.match(r.stderr, /1 file\(s\) not uploaded within NODEPROF_EXPORT_EXIT_WAIT; left in .* for `nodeprof upload`/);
  assert.equal(markers(out).length, 1);
  front.delayMs = 0;
  const up = await runAsync(CLI, ['upload', out], { env: exportEnv(front.port, 'slow') });
  assert.equal(up.status, 0, up.stderr);
  assert.deepEqual(markers(out), []);
  await assertUploaded(client(front.port), out, 'slow', { pid: r.pid });
});

test('killed mid-upload: the next process with the same NODEPROF_DIR uploads what was left', async (t) => {
  const front = await startFront();
  t.after(front.close);
  front.hang = true;
  const dir = tempDir(t);
  const script = writeScript(dir, 'app.js', 'console.log("ready"); setInterval(() => {}, 1000);');
  const out = path.join(dir, 'out');
  const child = startNode(script, [], { env: exportEnv(front.port, 'killed', { NODEPROF_DIR: out, NODEPROF_PERIOD: '300ms' }) });
  await child.ready;
  for (let i = 0; i < 100 && front.received === 0; i++) await sleep(100);
  assert.ok(front.received >= 1, 'an upload is in flight');
  child.kill('SIGKILL');
  await child.closed;
  const left = profileFiles(out);
  assert.ok(left.length >= 1);
  assert.deepEqual(markers(out), left.map((n) => `.${n}.s3pending`), 'every file written waits');
  front.hang = false;
  const next = writeScript(dir, 'next.js', APP);
  const r = await runAsync(NODE, [next], { env: exportEnv(front.port, 'killed', { NODEPROF_DIR: out, NODEPROF_EXPORT_EXIT_WAIT: '60s' }) });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(markers(out), []);
  await assertUploaded(client(front.port), out, 'killed', { names: left });
  await assertUploaded(client(front.port), out, 'killed', { names: profileFiles(out).filter((n) => n.includes(`-${r.pid}-`)), pid: r.pid });
});

test('the memory timeline is uploaded once, complete, at exit; killed, its marker waits for `nodeprof upload`', async (t) => {
  const front = await startFront();
  t.after(front.close);
  const dir = tempDir(t);
  const script = writeScript(dir, 'app.js', 'console.log("ready"); const t = setInterval(() => {}, 100); setTimeout(() => clearInterval(t), Number(process.argv[2]));');
  const out = path.join(dir, 'out');
  const env = exportEnv(front.port, 'timeline', { NODEPROF_DIR: out, NODEPROF_CPU: 'off', NODEPROF_MEMORY: '100ms' });
  const r = await runAsync(NODE, [script, '1200'], { env });
  assert.equal(r.status, 0, r.stderr);
  const [timeline] = profileFiles(out).filter((n) => n.endsWith('.memory.jsonl'));
  assert.ok(timeline, profileFiles(out).join());
  const lines = fs.readFileSync(path.join(out, timeline), 'utf8').trim().split('\n');
  assert.ok(lines.length >= 5, `${lines.length} lines`);
  await assertUploaded(client(front.port), out, 'timeline', { names: [timeline], pid: r.pid });
  const puts = front.puts.filter((p) => p.url.includes('.memory.jsonl'));
  assert.equal(puts.length, 1, 'one upload, of the whole file, not one at its creation');

  // SIGKILLed (as by the OOM killer): the timeline so far stays on disk with its marker.
  const child = startNode(script, ['60000'], { env: exportEnv(front.port, 'timeline-killed', { NODEPROF_DIR: out, NODEPROF_CPU: 'off', NODEPROF_MEMORY: '100ms' }) });
  await child.ready;
  await sleep(800);
  child.kill('SIGKILL');
  await child.closed;
  const killed = profileFiles(out).filter((n) => n.includes(`-${child.pid}-`));
  assert.equal(killed.length, 1, killed.join());
  assert.deepEqual(markers(out), [`.${killed[0]}.s3pending`]);
  assert.deepEqual(await objectKeys(client(front.port), 'timeline-killed/'), [], 'not uploaded while it grew');
  const up = await runAsync(CLI, ['upload', out], { env: exportEnv(front.port, 'timeline-killed') });
  assert.equal(up.status, 0, up.stderr);
  await assertUploaded(client(front.port), out, 'timeline-killed', { names: killed, pid: child.pid });
});

test('NODEPROF_EXPORT_SPOOL_MAX: the oldest waiting files are dropped first, one line each', async (t) => {
  const port = await freePort(); // nobody there, ever
  const dir = tempDir(t);
  const script = writeScript(dir, 'app.js', 'setTimeout(() => console.log("done"), 4000);');
  const out = path.join(dir, 'out');
  const r = await runAsync(NODE, [script], {
    env: exportEnv(port, 'spool', { NODEPROF_DIR: out, NODEPROF_PERIOD: '300ms', NODEPROF_EXPORT_SPOOL_MAX: '2', NODEPROF_EXPORT_EXIT_WAIT: 'off', NODEPROF_LOG: 'info' }),
  });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, 'done\n');
  const seq = (n) => Number(/-(\d+)\.cpuprofile$/.exec(n)[1]);
  const files = profileFiles(out).sort((a, b) => seq(a) - seq(b));
  const waiting = markers(out);
  assert.ok(files.length >= 4, files.join());
  assert.ok(waiting.length >= 1 && waiting.length <= 3, `at most the bound (plus the one in flight) waits: ${waiting.join()}`);
  // The newest files wait; the dropped ones are the oldest, each named once.
  const dropped = [...r.stderr.matchAll(/NODEPROF_EXPORT_SPOOL_MAX=2 reached: (\S+) dropped without upload \(kept on disk\)/g)].map((m) => m[1]);
  assert.ok(dropped.length >= 1, r.stderr);
  assert.equal(new Set(dropped).size, dropped.length);
  const last = files.at(-1);
  assert.ok(waiting.includes(`.${last}.s3pending`), 'the newest file still waits');
  for (const d of dropped) assert.ok(!waiting.includes(`.${d}.s3pending`));
});

test('a SIGTERM death waits for the upload of the final profile, then dies of the signal', async (t) => {
  const front = await startFront();
  t.after(front.close);
  const dir = tempDir(t);
  const script = writeScript(dir, 'app.js', 'console.log("ready"); setInterval(() => {}, 1000);');
  const out = path.join(dir, 'out');
  const child = startNode(script, [], { env: exportEnv(front.port, 'sigterm', { NODEPROF_DIR: out, NODEPROF_EXPORT_EXIT_WAIT: '60s' }) });
  await child.ready;
  child.kill('SIGTERM');
  const end = await child.closed;
  assert.equal(end.signal, 'SIGTERM', child.err);
  assert.equal(child.out, 'ready\n');
  assert.deepEqual(nodeprofLines(child.err), []);
  assert.deepEqual(markers(out), []);
  await assertUploaded(client(front.port), out, 'sigterm', { pid: child.pid });
});

test('TLS: a certificate that does not verify is refused; node\'s own TLS in the same process still works', async (t) => {
  const https = await import('node:https');
  const tls = path.join(path.dirname(new URL(import.meta.url).pathname), '../fixtures/tls');
  let requests = 0;
  const server = https.createServer({
    key: fs.readFileSync(path.join(tls, 'selfsigned.key.pem')), cert: fs.readFileSync(path.join(tls, 'selfsigned.cert.pem')),
  }, (req, res) => { requests++; res.end('hi'); });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => { server.closeAllConnections(); server.close(r); }));
  const port = server.address().port;
  const dir = tempDir(t);
  const out = path.join(dir, 'out');
  const script = writeScript(dir, 'app.js', `
    require('https').get('https://127.0.0.1:${port}/', { rejectUnauthorized: false }, (r) => {
      let b = ''; r.on('data', (d) => { b += d; }); r.on('end', () => console.log('node says', b));
    });`);
  const r = await runAsync(NODE, [script], {
    env: childEnv({
      NODEPROF_DIR: out, NODEPROF_EXPORT: `s3://${BUCKET}/tls/`, NODEPROF_S3_ENDPOINT: `https://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, NODEPROF_EXPORT_EXIT_WAIT: '2s',
    }),
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'node says hi\n');
  assert.match(r.stderr, /upload of \S+ failed: SSL certificate problem: self-signed certificate; retrying/);
  assert.equal(requests, 1, 'only node\'s own request reached the server');
  assert.equal(markers(out).length, 1, 'the file waits for `nodeprof upload`');
});

test('libcurl missing: one line, the app runs on, the files wait for `nodeprof upload`', async (t) => {
  const lib = fs.realpathSync('/usr/lib/x86_64-linux-gnu/libcurl.so.4');
  if (process.getuid() !== 0 || spawnSync('unshare', ['-m', 'true']).status !== 0) {
    t.skip('needs root and unshare -m, to hide libcurl in a mount namespace');
    return;
  }
  const dir = tempDir(t);
  const out = path.join(dir, 'out');
  const env = exportEnv(9, 'nocurl', { NODEPROF_DIR: out });
  const r = await runAsync('unshare', ['-m', 'sh', '-c', `mount --bind /dev/null ${lib} && exec "$0" -e 'console.log(42)'`, NODE], { env });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '42\n');
  assert.deepEqual(nodeprofLines(r.stderr).map((l) => l.replace(/libcurl4\): [^;]*;/, 'libcurl4): …;')),
    [`nodeprof: NODEPROF_EXPORT: cannot load libcurl.so.4 (install libcurl4): …; files are left in ${out} for \`nodeprof upload\``]);
  assert.equal(markers(out).length, 1);
});

test('no AWS credentials: one line naming the directory the files are left in; the app runs on, the file waits for `nodeprof upload`', async (t) => {
  const out = path.join(tempDir(t), 'out');
  const env = exportEnv(9, 'nokeys', { NODEPROF_DIR: out });
  delete env.AWS_ACCESS_KEY_ID;
  delete env.AWS_SECRET_ACCESS_KEY;
  const r = await runAsync(NODE, ['-e', 'console.log(42)'], { env });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '42\n');
  assert.deepEqual(nodeprofLines(r.stderr), [
    `nodeprof: NODEPROF_EXPORT: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set; files are left in ${out} for \`nodeprof upload\``]);
  assert.equal(markers(out).length, 1);
});

test('the uploader thread takes no signal but its own faults, which the crash report hears', async (t) => {
  const front = await startFront();
  t.after(front.close);
  const dir = tempDir(t);
  const script = writeScript(dir, 'masks.js', `
const fs = require('node:fs');
setTimeout(() => {
  const masks = {};
  for (const tid of fs.readdirSync('/proc/self/task')) {
    const comm = fs.readFileSync('/proc/self/task/' + tid + '/comm', 'utf8').trim();
    if (comm === 'nodeprof-s3') masks[comm] = /SigBlk:\\s*([0-9a-f]+)/.exec(fs.readFileSync('/proc/self/task/' + tid + '/status', 'utf8'))[1];
  }
  console.log(JSON.stringify(masks));
}, 500);
`);
  const r = await runAsync(NODE, [script], { env: exportEnv(front.port, 'masks', { NODEPROF_DIR: path.join(dir, 'out') }) });
  assert.equal(r.status, 0, r.stderr);
  const mask = BigInt('0x' + JSON.parse(r.stdout)['nodeprof-s3']);
  const blocked = (sig) => (mask >> BigInt(sig - 1)) & 1n;
  for (const fault of [4, 7, 8, 11]) assert.equal(blocked(fault), 0n, `fault signal ${fault} unblocked: ${mask.toString(16)}`);
  for (const other of [1, 2, 10, 12, 15, 17]) assert.equal(blocked(other), 1n, `signal ${other} blocked: ${mask.toString(16)}`);
});
