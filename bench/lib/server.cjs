// The benchmarked HTTP server: a little CPU work per request (build an
// object, JSON round trip, a small hashing loop), keep-alive, loopback only.
//   node server.cjs [--work N] [--port P] [--ballast MB]
// --ballast MB keeps that much of small live objects on the heap (built
// before listening), like a server with caches.
// Prints {"port":P,"pid":PID} on its first stdout line once listening.
// SIGTERM (or SIGINT) exits through process.exit(0), so that `--cpu-prof`
// and nodeprof write their profiles the normal way.
'use strict';
const http = require('node:http');

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const WORK = opt('--work', 3000);
const PORT = opt('--port', 0);

let served = 0;

const ballast = [];
for (let n = 0; process.memoryUsage().heapUsed < opt('--ballast', 0) * 1048576; n++) {
  ballast.push({ id: n, key: `key-${n}`, value: { n, s: `v${n % 1000}-${n}` } });
}
globalThis.benchBallast = ballast;

function buildPayload(n, url) {
  const items = [];
  for (let i = 0; i < 20; i++) items.push({ i, name: `item-${n}-${i}`, score: (n * 31 + i) % 97, tags: ['a', 'b', String(i % 5)] });
  return { id: n, url, at: Date.now(), items };
}

function checksum(text, rounds) {
  let h = 0;
  for (let i = 0; i < rounds; i++) h = (Math.imul(h, 31) + text.charCodeAt(i % text.length)) | 0;
  return h;
}

function handle(req, res) {
  const n = ++served;
  const text = JSON.stringify(buildPayload(n, req.url));
  const back = JSON.parse(text);
  const body = JSON.stringify({ id: back.id, items: back.items.length, bytes: text.length, h: checksum(text, WORK) });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer({ keepAliveTimeout: 60000 }, handle);
server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port, pid: process.pid }) + '\n');
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
