// NODEPROF_FIFO set to a path is inherited by children: %p gives each its
// own FIFO, and a FIFO another live process reads is never taken over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { NODE, childEnv, run, tempDir, writeScript, filesIn } from './helpers.mjs';

const PARENT = `
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const mine = process.argv[2].replace('%p', process.pid);
const child = spawnSync(process.execPath, ['-e', \`
  const fs = require('node:fs');
  const p = process.argv[1].replace('%p', process.pid);
  console.log('child fifo', fs.existsSync(p) && fs.lstatSync(p).isFIFO());
\`, process.argv[2]], { encoding: 'utf8' });
process.stdout.write(child.stdout);
process.stderr.write(child.stderr);
console.log('parent fifo', fs.existsSync(mine) && fs.lstatSync(mine).isFIFO());
`;

test('NODEPROF_FIFO with %p: parent and child each get their own FIFO, both removed at exit', (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'parent.js', PARENT);
  const fifo = path.join(dir, 'ctl-%p.fifo');
  const r = run(NODE, [app, fifo], { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_FIFO: fifo }) });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'child fifo true\nparent fifo true\n');
  assert.equal(r.stderr, '');
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.fifo')), [], 'both removed');
  assert.equal(filesIn(dir, '.cpuprofile').length, 2);
});

test('NODEPROF_FIFO without %p: the child refuses the live FIFO of its parent and runs on', (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'parent.js', PARENT);
  const fifo = path.join(dir, 'shared.fifo');
  const r = run(NODE, [app, fifo], { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_FIFO: fifo }) });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'child fifo true\nparent fifo true\n', 'the parent keeps its FIFO');
  assert.match(r.stderr, /^nodeprof: refusing control FIFO .*shared\.fifo: another process is reading it/m);
  assert.equal(filesIn(dir, '.cpuprofile').length, 2, 'both profiled all the same');
});
