// Closed-loop HTTP load generator: a fixed number of keep-alive connections
// (http.Agent keepAlive), each sending its next request as soon as the last
// answer arrived, to 127.0.0.1 only, for a bounded time.
//
//   node load.mjs --port P [--concurrency 16] [--duration 10] [--warmup 1]
//                 [--path /] [--record FILE]
//
// Requests that start during the warm-up are not counted (but their number
// is reported). Prints one JSON line: requests, seconds, rps, latency
// quantiles (ms), errors, warmupRequests, and the
// measured window [t0, t1] on CLOCK_MONOTONIC (ms, the same clock as
// process.hrtime in every process). --record FILE writes every counted
// request as a Float64 pair (start ms on that clock, latency ms).
import http from 'node:http';
import fs from 'node:fs';

const args = process.argv.slice(2);
const get = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const port = Number(get('--port'));
const concurrency = Number(get('--concurrency', 16));
const duration = Number(get('--duration', 10)) * 1000;
const warmup = Number(get('--warmup', 1)) * 1000;
const reqPath = get('--path', '/');
const record = get('--record', '');
if (!port) { console.error('load.mjs: --port is required'); process.exit(2); }

const now = () => Number(process.hrtime.bigint()) / 1e6;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });

let starts = new Float64Array(1 << 16), lats = new Float64Array(1 << 16), n = 0;
let errors = 0, lastError = '', warmupRequests = 0;
const begin = now();
const t0 = begin + warmup, t1 = t0 + duration;

function push(start, lat) {
  if (n === lats.length) {
    const s = new Float64Array(n * 2), l = new Float64Array(n * 2);
    s.set(starts); l.set(lats);
    starts = s; lats = l;
  }
  starts[n] = start;
  lats[n++] = lat;
}

function loop(done) {
  const start = now();
  if (start >= t1) return done();
  const req = http.request({ host: '127.0.0.1', port, path: reqPath, agent }, (res) => {
    res.on('data', () => {});
    res.on('end', () => {
      if (res.statusCode !== 200) { errors++; lastError = `HTTP ${res.statusCode}`; }
      else if (start >= t0) push(start, now() - start);
      else warmupRequests++;
      loop(done);
    });
  });
  req.on('error', (e) => {
    errors++;
    lastError = e.message;
    setTimeout(() => loop(done), 10);
  });
  req.end();
}

await Promise.all(Array.from({ length: concurrency }, () => new Promise((r) => loop(r))));
agent.destroy();

const sorted = lats.slice(0, n).sort();
const q = (p) => (n ? sorted[Math.min(n - 1, Math.round((n - 1) * p))] : NaN);
let sum = 0;
for (let i = 0; i < n; i++) sum += sorted[i];
if (record) {
  const pairs = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) { pairs[2 * i] = starts[i]; pairs[2 * i + 1] = lats[i]; }
  fs.writeFileSync(record, pairs);
}
console.log(JSON.stringify({
  requests: n, seconds: duration / 1000, rps: n / (duration / 1000),
  p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: n ? sorted[n - 1] : NaN, mean: n ? sum / n : NaN,
  errors, lastError, warmupRequests, t0, t1,
}));
