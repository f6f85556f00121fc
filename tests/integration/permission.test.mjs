// node's permission model denies reading our loader and loading addons: the
// library must stay out, so that the app runs exactly as without it. The
// same for --no-addons, where node refuses the loader's dlopen, and for
// node runs that execute none of the app's code (--check, --help).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { NODE, childEnv, run, tempDir, writeScript, filesIn } from './helpers.mjs';

const major = Number(process.versions.node.split('.')[0]);
const FLAG = major >= 22 ? '--permission' : '--experimental-permission';

// Also after options given their value as the next argument (`-r x`,
// `--allow-fs-read x`), which once ended the search for the flag: the
// loader was then denied and the app died before its first line.
test(`${FLAG}: the app runs as without the library, nothing is written`, (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', "console.log('sum', [1, 2, 3].reduce((a, b) => a + b));\n");
  const pre = writeScript(dir, 'pre.js', "globalThis.pre = 1;\n");
  for (const args of [[FLAG, `--allow-fs-read=${app}`, app],
    ['-r', pre, FLAG, `--allow-fs-read=${dir}`, app],
    ['--allow-fs-read', dir, FLAG, app]]) {
    const plain = run(NODE, args, { env: childEnv({}, { preload: false }), cwd: dir });
    const ours = run(NODE, args, { env: childEnv({ NODEPROF_DIR: dir }), cwd: dir });
    assert.equal(plain.stdout, 'sum 6\n', `${args.join(' ')}: ${plain.stderr}`);
    assert.equal(ours.status, plain.status, `${args.join(' ')}: ${ours.stderr}`);
    assert.equal(ours.stdout, plain.stdout);
    const unpid = (s) => s.replace(/\(node:\d+\)/g, '(node:PID)');
    assert.equal(unpid(ours.stderr.replace(/^nodeprof: node's permission model is on; not profiling this process\n/m, '')), unpid(plain.stderr));
  }
  assert.deepEqual(filesIn(dir, '.cpuprofile'), []);
});

test('a permission-model child of a profiled parent is not broken by the inherited NODE_OPTIONS', (t) => {
  const dir = tempDir(t);
  const child = writeScript(dir, 'child.js', "console.log('child ok', (process.env.NODE_OPTIONS ?? '').includes('nodeprof'));\n");
  const parent = writeScript(dir, 'parent.js', `
const { execFileSync } = require('node:child_process');
process.stdout.write(execFileSync(process.execPath, ['${FLAG}', '--allow-fs-read=${child}', '${child}'], { stdio: ['ignore', 'pipe', 'ignore'] }));
`);
  const r = run(NODE, [parent], { env: childEnv({ NODEPROF_DIR: dir }), cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'child ok false\n', 'the child ran, and our token was taken out of its NODE_OPTIONS');
  assert.equal(filesIn(dir, '.cpuprofile').length, 1, 'the parent is profiled');
});

// --no-addons: node refuses process.dlopen, so the loader cannot bind the
// agent. One line says so; the app runs as without the library.
const NO_ADDONS_LINE = 'nodeprof: node runs with --no-addons, so nodeprof cannot load its agent; not profiling this process\n';

test('--no-addons (argument or NODE_OPTIONS): one line, the app runs as without the library, nothing is written', (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', "console.log('sum', [1, 2, 3].reduce((a, b) => a + b)); console.error('to stderr'); process.exitCode = 4;\n");
  for (const [args, extra] of [[['--no-addons', app], {}], [[app], { NODE_OPTIONS: '--no-addons' }],
    [['--no-addons', app], { NODEPROF_LOG: 'debug' }]]) {
    const plain = run(NODE, args, { env: childEnv(extra, { preload: false }), cwd: dir });
    const ours = run(NODE, args, { env: childEnv({ NODEPROF_DIR: dir, ...extra }), cwd: dir });
    assert.equal(plain.stdout, 'sum 6\n');
    assert.equal(ours.status, plain.status);
    assert.equal(ours.stdout, plain.stdout);
    assert.equal(ours.stderr, NO_ADDONS_LINE + plain.stderr, JSON.stringify(extra));
  }
  assert.deepEqual(filesIn(dir, '.cpuprofile'), []);
});

test('addons allowed after all (--no-addons --addons), or --no-addons as an argument of the app: profiled, no line', (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', "console.log('ok');\n");
  for (const [i, args] of [['--no-addons', '--addons', app], [app, '--no-addons']].entries()) {
    const out = path.join(dir, `out${i}`);
    const r = run(NODE, args, { env: childEnv({ NODEPROF_DIR: out }), cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'ok\n');
    assert.equal(r.stderr, '');
    assert.equal(filesIn(out, '.cpuprofile').length, 1, args.join(' '));
  }
});

// node --check (a build step's syntax check), --help: no profile, no line,
// the same output and status; `-p` runs code and is profiled.
test('node --check, -c, --help: nothing written, no line, the same output and status', (t) => {
  const dir = tempDir(t);
  const good = writeScript(dir, 'good.js', "console.log('x');\n");
  const bad = writeScript(dir, 'bad.js', 'let = ;\n');
  for (const args of [['--check', good], ['-c', bad], ['-r', good, '--check', good], ['--help']]) {
    const plain = run(NODE, args, { env: childEnv({}, { preload: false }), cwd: dir });
    const ours = run(NODE, args, { env: childEnv({ NODEPROF_DIR: dir }), cwd: dir });
    assert.equal(ours.status, plain.status, args.join(' '));
    assert.equal(ours.stdout, plain.stdout, args.join(' '));
    assert.equal(ours.stderr.replaceAll(bad, 'F'), plain.stderr.replaceAll(bad, 'F'), args.join(' '));
  }
  assert.deepEqual(filesIn(dir, '.cpuprofile'), []);
  const p = run(NODE, ['-p', '1 + 1'], { env: childEnv({ NODEPROF_DIR: dir }), cwd: dir });
  assert.equal(p.stdout, '2\n');
  assert.equal(filesIn(dir, '.cpuprofile').length, 1);
});
