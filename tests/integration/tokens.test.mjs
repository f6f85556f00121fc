// Every path on which the constructor or the loader decides not to profile
// takes our token out of NODE_OPTIONS, so that no child inherits it; the
// app's own options stay as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NODE, childEnv, run, loaderTokens, tempDir, filesIn } from './helpers.mjs';

const PRINT = 'console.log(JSON.stringify(process.env.NODE_OPTIONS ?? null))';
const STALE = '--require=/tmp/nodeprof-0/agent-0123456789abcdef.js';

function optionsSeen(env) {
  const r = run(NODE, ['-e', PRINT], { env });
  assert.equal(r.status, 0, r.stderr);
  return { options: JSON.parse(r.stdout), stderr: r.stderr };
}

test('profiled: exactly one token, the user\'s options kept in front of it', (t) => {
  const dir = tempDir(t);
  const { options } = optionsSeen(childEnv({ NODEPROF_DIR: dir, NODE_OPTIONS: '--no-warnings' }));
  assert.equal(loaderTokens(options).length, 1, options);
  assert.match(options, /^--no-warnings /);
  assert.equal(filesIn(dir, '.cpuprofile').length, 1);
});

test('NODEPROF_DISABLE=1 with a token inherited from a parent: the token is taken out', (t) => {
  const dir = tempDir(t);
  const inherited = optionsSeen(childEnv({ NODEPROF_DIR: dir, NODE_OPTIONS: '--no-warnings' })).options;
  const { options } = optionsSeen(childEnv({ NODEPROF_DISABLE: '1', NODE_OPTIONS: inherited }));
  assert.equal(options, '--no-warnings');
  // Alone, the variable goes altogether, as it was before the parent added it.
  assert.equal(optionsSeen(childEnv({ NODEPROF_DISABLE: '1', NODE_OPTIONS: STALE })).options, null);
});

test('NODEPROF_MATCH not matching: not profiled, and the loader takes the token out', (t) => {
  const dir = tempDir(t);
  const { options } = optionsSeen(childEnv({ NODEPROF_DIR: dir, NODEPROF_MATCH: '*/server.js', NODE_OPTIONS: '--no-warnings' }));
  assert.equal(options, '--no-warnings');
  assert.deepEqual(filesIn(dir, '.cpuprofile'), []);
});

test('the /tmp token of earlier versions is replaced, never followed', (t) => {
  const dir = tempDir(t);
  const { options } = optionsSeen(childEnv({ NODEPROF_DIR: dir, NODE_OPTIONS: `${STALE} --no-warnings` }));
  assert.doesNotMatch(options, /agent-0123456789abcdef/);
  assert.equal(loaderTokens(options).length, 1);
  // What a child without LD_PRELOAD inherits loads nothing and leaves.
  const plain = run(NODE, ['-e', PRINT], { env: childEnv({ NODE_OPTIONS: options }, { preload: false }) });
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(JSON.parse(plain.stdout), '--no-warnings');
});
