// nodeprof convert under pressure: killed by a signal in the middle of a
// write it leaves no temporary file, and an output that explodes (stacks
// nested very deep make collapsed and speedscope output grow as depth
// squared) stops at --max-output with a message naming the flag.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { CLI, childEnv, run, sleep, tempDir, treeOf } from './helpers.mjs';

// A .heapprofile whose allocations sit at every level of one chain `depth`
// calls deep: its collapsed output is about depth²/2 frames.
function deepHeapProfile(dir, depth) {
  const frame = (d) => `{"callFrame":{"functionName":"f${d}","scriptId":"1","url":"file:///deep.js",` +
    `"lineNumber":${d},"columnNumber":0},"selfSize":64,"id":${d + 2},"children":[`;
  // Written as text: JSON.stringify recurses as deep as the object.
  const text = '{"head":{"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,' +
    '"columnNumber":-1},"selfSize":0,"id":1,"children":[' +
    Array.from({ length: depth }, (_, d) => frame(d)).join('') + ']}'.repeat(depth) + ']},"samples":[]}';
  const file = path.join(dir, 'deep.heapprofile');
  fs.writeFileSync(file, text);
  return file;
}

const nodeprof = (...args) => run(CLI, args, { env: childEnv({}, { preload: false }) });

for (const format of ['collapsed', 'speedscope']) {
  test(`--max-output: a deep profile to ${format} stops at the cap, names the flag, leaves nothing`, (t) => {
    const dir = tempDir(t);
    const input = deepHeapProfile(dir, 2000);
    const out = path.join(dir, `deep.${format}`);
    const r = nodeprof('convert', input, '--format', format, '-o', out, '--max-output', '1m');
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'nodeprof: the output is larger than --max-output 1m: given up ' +
      '(raise the cap with --max-output SIZE, or 0 for no limit)\n');
    assert.deepEqual(treeOf(dir), ['deep.heapprofile'], 'nothing but the input is left');
    // Raised past what it needs: the whole output, as without a cap.
    const full = nodeprof('convert', input, '--format', format, '-o', out, '--max-output=1g');
    assert.equal(full.status, 0, full.stderr);
    const uncapped = nodeprof('convert', input, '--format', format, '-o', `${out}.2`, '--max-output', '0');
    assert.equal(uncapped.status, 0, uncapped.stderr);
    const size = fs.statSync(out).size;
    assert.ok(size > 1 << 20, `only ${size} bytes: the cap was not what stopped the first run`);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(`${out}.2`)), 'capped and uncapped outputs differ');
    if (format === 'collapsed') {
      const lines = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
      assert.equal(lines.length, 2000);
      assert.equal(lines.at(-1).split(';').length, 2000, 'the deepest stack');
    }
  });
}

test('--max-output: the same cap on standard output; bad values are refused', (t) => {
  const dir = tempDir(t);
  const input = deepHeapProfile(dir, 3000);
  const r = nodeprof('convert', input, '--format', 'collapsed', '-o', '-', '--max-output', '64k');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--max-output 64k/);
  assert.ok(r.stdout.length <= 64 * 1024, `${r.stdout.length} bytes on stdout`);
  for (const bad of ['abc', '-5', '1x']) {
    const b = nodeprof('convert', input, '--max-output', bad);
    assert.equal(b.status, 2, 'a usage error');
    assert.match(b.stderr, new RegExp(`^nodeprof: --max-output ${bad}: `));
  }
  assert.deepEqual(treeOf(dir), ['deep.heapprofile']);
  assert.match(nodeprof('convert', '--help').stdout, /--max-output SIZE/);
});

// Starts a convert that writes hundreds of MB, waits until its temporary
// file has passed 1 MB, then sends sig.
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  test(`convert killed by ${sig} in the middle of a write: dies of it, no temporary file left`, async (t) => {
    const dir = tempDir(t);
    const input = deepHeapProfile(dir, 6000);
    const child = spawn(CLI, ['convert', input, '--format', 'speedscope', '-o', path.join(dir, 'out.json')],
      { env: childEnv({}, { preload: false }), stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', (status, signal) => resolve({ status, signal })));
    let temp = null;
    const end = Date.now() + 30000;
    while (!temp && Date.now() < end && child.exitCode === null) {
      const f = fs.readdirSync(dir).find((n) => n.includes('.tmp.'));
      if (f) {
        try { if (fs.statSync(path.join(dir, f)).size > 1 << 20) temp = f; } catch { /* renamed */ }
      }
      if (!temp) await sleep(5);
    }
    assert.ok(temp, 'never saw the temporary file grow past 1 MB');
    child.kill(sig);
    assert.deepEqual(await exited, { status: null, signal: sig });
    assert.deepEqual(treeOf(dir), ['deep.heapprofile'], 'something was left');
  });
}

test('convert started with SIGTERM ignored (nohup-like) keeps ignoring it', async (t) => {
  const dir = tempDir(t);
  const input = deepHeapProfile(dir, 200);
  const r = run('/bin/sh', ['-c', `trap '' TERM; exec "${CLI}" convert "${input}" --format collapsed -o "${dir}/o" & ` +
    'p=$!; kill -TERM $p; wait $p'], { env: childEnv({}, { preload: false }) });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.readFileSync(path.join(dir, 'o'), 'utf8').split('\n').filter(Boolean).length, 200);
});
