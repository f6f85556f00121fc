// The server and the load generator, shared by http.mjs and dump-latency.mjs.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { BENCH, variantCommand, startChild, nowMs, track } from './common.mjs';

export const SERVER = path.join(BENCH, 'lib/server.cjs');
const LOAD = path.join(BENCH, 'lib/load.mjs');

// Starts lib/server.cjs as variant v; resolves to the child (child.port set).
export async function startServer(opts, v, dir) {
  const args = ['--work', String(opts.work), ...(v.ballast ? ['--ballast', String(v.ballast)] : [])];
  const child = startChild(variantCommand(opts, v, SERVER, args, dir));
  const info = await child.ready;
  child.port = info.port;
  child.startedAt = nowMs();
  return child;
}

// Runs the load generator against port; resolves to its JSON summary. The
// generator always runs on the node running this script, whatever --node
// is, so that it is the same for every node measured.
export function runLoad(port, { concurrency, seconds, warmup, record = '' }) {
  const args = [LOAD, '--port', String(port), '--concurrency', String(concurrency),
    '--duration', String(seconds), '--warmup', String(warmup)];
  if (record) args.push('--record', record);
  return collect(process.execPath, args).then(({ status, out, err }) => {
    if (status !== 0) throw new Error(`load generator failed (${status}): ${err}`);
    return JSON.parse(out.trim().split('\n').pop());
  });
}

// The same numbers from wrk (one thread): a warm-up run, then the measured one.
export async function runWrk(port, { concurrency, seconds, warmup }) {
  const url = `http://127.0.0.1:${port}/`;
  let warmupRequests = 0;
  if (warmup > 0) {
    const w = await collect('wrk', ['-t1', `-c${concurrency}`, `-d${warmup}s`, url]);
    warmupRequests = Number((/(\d+) requests in/.exec(w.out) || [0, 0])[1]);
  }
  const { status, out, err } = await collect('wrk', ['-t1', `-c${concurrency}`, `-d${seconds}s`, '--latency', url]);
  if (status !== 0) throw new Error(`wrk failed (${status}): ${err}`);
  const ms = (s) => {
    const m = /^([\d.]+)(us|ms|s|m)$/.exec(s);
    return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60000 }[m[2]] : NaN;
  };
  const pct = (p) => ms((new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(out) || [])[1] ?? '');
  const lat = /Latency\s+(\S+)\s+(\S+)\s+(\S+)/.exec(out) || [];
  const n = Number((/(\d+) requests in/.exec(out) || [])[1]);
  const errors = Number((/Non-2xx or 3xx responses: (\d+)/.exec(out) || [0, 0])[1]) +
    [...out.matchAll(/(connect|read|write|timeout) (\d+)/g)].reduce((a, m) => a + Number(m[2]), 0);
  return {
    requests: n, seconds, rps: Number((/Requests\/sec:\s+([\d.]+)/.exec(out) || [])[1]),
    p50: pct(50), p90: pct(90), p99: pct(99), max: ms(lat[3] ?? ''), mean: ms(lat[1] ?? ''), errors, warmupRequests,
  };
}

function collect(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, out, err }));
  });
}
