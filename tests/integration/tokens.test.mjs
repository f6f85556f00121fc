// Every path on which the constructor or the loader decides not to profile
// takes our token out of NODE_OPTIONS, so that no child inherits it; the
// app's own options stay as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { NODE, childEnv, filesIn, loaderTokens, readCpuProfile, run, tempDir } from './helpers.mjs';

const PRINT = 'console.log(JSON.stringify(process.env.NODE_OPTIONS ?? null))';
const STALE = '--require=/tmp/nodeprof-0/agent-0123456789abcdef.js';

function optionsSeen(env) {
  const r = run(NODE, ['-e', PRINT], { env });
  assert.equal(r.status, 0, r.stderr);
  return { options: JSON.parse(r.stdout), stderr: r.stderr };
}

test('profiled: exactly one token, in front of the user\'s options, which are kept', (t) => {
  const dir = tempDir(t);
  const { options } = optionsSeen(childEnv({ NODEPROF_DIR: dir, NODE_OPTIONS: '--no-warnings' }));
  assert.equal(loaderTokens(options).length, 1, options);
  assert.match(options, / --no-warnings$/);
  assert.equal(options.split(' ')[0], loaderTokens(options)[0]);
  assert.equal(filesIn(dir, '.cpuprofile').length, 1);
});

// An APM agent or dotenv given as NODE_OPTIONS=--require runs after our loader, as on the
// command line: its start-up is in the profile, and its 'exit' listener runs after ours.
test('a --require of the user\'s in NODE_OPTIONS runs after our loader: its start-up is profiled', (t) => {
  const dir = tempDir(t);
  const pre = path.join(dir, 'pre.js');
  fs.writeFileSync(pre, `function preloadedHot() { const t = Date.now(); while (Date.now() - t < 300); }
preloadedHot();
process.on('exit', function preloadExitWork() { const t = Date.now(); while (Date.now() - t < 300); });
`);
  const app = path.join(dir, 'app.js');
  fs.writeFileSync(app, 'setTimeout(() => {}, 50);\n');
  const r = run(NODE, [app], { env: childEnv({ NODEPROF_DIR: dir, NODE_OPTIONS: `--require ${pre}` }), cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  const [file] = filesIn(dir, '.cpuprofile');
  const profile = readCpuProfile(file);
  const names = new Set(profile.nodes.map((n) => n.callFrame.functionName));
  assert.ok(names.has('preloadedHot'), 'the preload\'s start-up is in the profile');
  assert.ok(!names.has('preloadExitWork'), 'its exit listener ran after ours');
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

// node takes NODE_OPTIONS from its --env-file files when the environment has none; our token in
// the environment made node drop them (a heap limit, an APM agent's --require). They are kept,
// after our token, as node would read them; a pipe (--env-file=<(...)) is left for node to read.
test('NODE_OPTIONS from --env-file files is kept, after our token, as plain node applies it', (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'pre.js'), 'globalThis.preRan = true;\n');
  fs.writeFileSync(path.join(dir, 'first.env'), 'NODE_OPTIONS=--title=first\n');
  fs.writeFileSync(path.join(dir, 'app.env'), `# settings
export NODE_OPTIONS="--require ./pre.js --max-old-space-size=123 --title=fromfile"
GREETING=hi # a comment
`);
  const app = path.join(dir, 'app.js');
  fs.writeFileSync(app, `const v8 = require('v8');
console.log(process.title, !!globalThis.preRan, process.env.GREETING,
  v8.getHeapStatistics().heap_size_limit >> 20, process.env.NODE_OPTIONS);
`);
  const strip = (out) => out.replace(/--require=\/\S*\/nodeprof-loader\.cjs /, '');
  const args = ['--env-file=first.env', '--env-file', 'app.env', app];
  const plain = run(NODE, args, { env: childEnv({}, { preload: false }), cwd: dir });
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stdout, /^fromfile true hi \d+ --require \.\/pre\.js --max-old-space-size=123 --title=fromfile\n$/);
  const lib = run(NODE, args, { env: childEnv({ NODEPROF_DIR: path.join(dir, 'out') }), cwd: dir });
  assert.equal(lib.status, 0, lib.stderr);
  assert.equal(lib.stderr, plain.stderr);
  assert.equal(strip(lib.stdout), plain.stdout);
  assert.equal(loaderTokens(lib.stdout).length, 1, lib.stdout);
  assert.equal(filesIn(path.join(dir, 'out'), '.cpuprofile').length, 1);

  // A pipe is not read (node would find it empty): its other variables reach the app.
  const piped = run('bash', ['-c', `exec "${NODE}" --env-file=<(cat app.env) "${app}"`],
    { env: childEnv({ NODEPROF_DIR: path.join(dir, 'pipe') }), cwd: dir });
  assert.equal(piped.status, 0, piped.stderr);
  assert.match(piped.stdout, / false hi /);
  assert.equal(filesIn(path.join(dir, 'pipe'), '.cpuprofile').length, 1);
});
