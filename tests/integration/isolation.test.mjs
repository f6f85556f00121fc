// What the library must not do: touch processes that are not node, open a
// network port, or show the host more symbols than node looks up.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  AGENT, APPS, LIB, NODE, assertHotProfile, assertSameOutcome, childEnv, cpuProfilesIn, inetSocketsOf,
  run, runPair, socketInodes, startNode, tempDir, treeOf,
} from './helpers.mjs';

const ENDS = path.join(APPS, 'ends.js');

// ---- non-node processes ------------------------------------------------------

const commands = [
  ['sh', ['-c', 'echo hi']],
  ['sh', ['-c', 'echo "NODE_OPTIONS=[$NODE_OPTIONS]"']],
  ['ls', ['-1A', '.', '/']],
  ['python3', ['-c', 'import os; print(1, os.environ.get("NODE_OPTIONS"))']],
];

for (const bindNow of [false, true]) {
  for (const [cmd, args] of commands) {
    for (const userOptions of [undefined, '--max-old-space-size=200']) {
      const label = `${cmd} ${args.join(' ')}${bindNow ? ' with LD_BIND_NOW=1' : ''}` +
        `${userOptions ? ` and NODE_OPTIONS=${userOptions}` : ''}`;
      test(`not node: ${label}: same output and status, no files`, (t) => {
        const outDir = tempDir(t);
        const env = {
          ...(bindNow ? { LD_BIND_NOW: '1' } : {}),
          ...(userOptions ? { NODE_OPTIONS: userOptions } : {}),
        };
        const { lib, plain, libDir } = runPair(t, cmd, args, {
          env, libEnv: { NODEPROF_DIR: outDir, NODEPROF_LOG: 'debug' },
        });
        assert.equal(plain.status, 0, plain.stderr);
        assertSameOutcome(lib, plain, label);
        assert.deepEqual(treeOf(libDir), []);
        assert.deepEqual(treeOf(outDir), []);
      });
    }
  }
}

test('not node: the whole environment seen by a child of sh is unchanged (but LD_PRELOAD)', (t) => {
  const { lib, plain } = runPair(t, 'sh', ['-c', 'env | sort'], { env: { NODE_OPTIONS: '--no-warnings' } });
  const strip = (out) => out.split('\n').filter((l) => !l.startsWith('LD_PRELOAD=') && !l.startsWith('PWD=')
    && !l.startsWith('OLDPWD=')).join('\n');
  assert.equal(lib.status, 0);
  assert.equal(strip(lib.stdout), strip(plain.stdout));
  assert.match(lib.stdout, /^LD_PRELOAD=/m);
  assert.match(lib.stdout, /^NODE_OPTIONS=--no-warnings$/m);
});

test('node with LD_BIND_NOW=1: profiled as usual', (t) => {
  const { lib, plain, libDir } = runPair(t, NODE, [ENDS, 'drain'], { env: { LD_BIND_NOW: '1' } });
  assertSameOutcome(lib, plain);
  const files = cpuProfilesIn(libDir);
  assert.equal(files.length, 1, `files: ${treeOf(libDir)}`);
  assertHotProfile(files[0], 'hotLoop');
});

// ---- no port -------------------------------------------------------------------

// Listening unix sockets of the process (from /proc/<pid>/net/unix).
function listeningUnixSockets(pid) {
  const mine = socketInodes(pid);
  const out = [];
  for (const line of fs.readFileSync(`/proc/${pid}/net/unix`, 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode [Path]; flag 00010000 = listening
    if (f.length >= 7 && mine.has(f[6]) && (parseInt(f[3], 16) & 0x10000)) out.push(line);
  }
  return out;
}

test('no port: a profiled process holds no TCP/UDP socket and listens on nothing plain node does not', async (t) => {
  const seen = {};
  for (const preload of [true, false]) {
    const cwd = tempDir(t);
    const child = startNode(ENDS, ['wait'], { env: childEnv({}, { preload }), cwd });
    await child.ready;
    const sockets = {
      inet: inetSocketsOf(child.pid),
      unixListening: listeningUnixSockets(child.pid),
    };
    child.kill('SIGINT');
    const end = await child.closed;
    assert.equal(end.signal, 'SIGINT');
    seen[preload ? 'lib' : 'plain'] = { sockets, files: cpuProfilesIn(cwd) };
  }
  assert.deepEqual(seen.plain.sockets, { inet: [], unixListening: [] });
  assert.deepEqual(seen.lib.sockets, seen.plain.sockets);
  // And it was profiling all along.
  assert.equal(seen.lib.files.length, 1);
  assertHotProfile(seen.lib.files[0], 'hotLoop', 0.3, { busy: true });
});

test('no port: ss lists no listening socket of a profiled process', async (t) => {
  const probe = run('ss', ['-V'], { env: process.env });
  if (probe.status !== 0) {
    t.skip('ss is not available');
    return;
  }
  const cwd = tempDir(t);
  const child = startNode(ENDS, ['wait'], { env: childEnv(), cwd });
  await child.ready;
  const ss = run('ss', ['-lntupxH'], { env: process.env });
  child.kill('SIGINT');
  await child.closed;
  assert.equal(ss.status, 0, ss.stderr);
  const ours = ss.stdout.split('\n').filter((l) => l.includes(`pid=${child.pid},`));
  assert.deepEqual(ours, []);
});

// ---- exported symbols -----------------------------------------------------------

test('exports: only napi_register_module_v1 and node_api_module_get_api_version_v1 (the agent: and its np_agent_attach)', () => {
  for (const [file, extra] of [[LIB, []], [AGENT, ['np_agent_attach']]]) {
    const r = run('nm', ['-D', '--defined-only', file], { env: process.env });
    assert.equal(r.status, 0, r.stderr);
    const names = r.stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/).pop()).sort();
    assert.deepEqual(names, ['napi_register_module_v1', 'node_api_module_get_api_version_v1', ...extra], file);
  }
});

test('imports: no strong undefined napi_/uv_/node symbols (only weak ones), in the library and its agent', () => {
  for (const [file, minWeak] of [[LIB, 2], [AGENT, 5]]) {
    const r = run('nm', ['-D', file], { env: process.env });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/));
    const strong = lines.filter((f) => f[0] === 'U' && /^(napi_|node_api_|uv_|_ZN4node)/.test(f[1]));
    assert.deepEqual(strong.map((f) => f[1]), [], file);
    // It does use them, weakly: the check above is not vacuous.
    const weak = lines.filter((f) => (f[0] === 'w' || f[0] === 'v') && /^(napi_|uv_)/.test(f[1]));
    assert.ok(weak.length >= minWeak, `${file}: weak napi_/uv_ references: ${weak.length}`);
  }
});
