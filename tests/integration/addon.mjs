// The test addon (tests/fixtures/addons/stuck.c), built with a plain
// `cc -shared` against the headers of the node under test, for the crash
// and native-stack tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { FIXTURES, NODE } from './helpers.mjs';

const NODE_INCLUDE = path.resolve(path.dirname(fs.realpathSync(NODE)), '../include/node');

// Builds stuck.node into dir; returns its path.
export function buildAddon(dir) {
  const out = path.join(dir, 'stuck.node');
  const r = spawnSync('cc', ['-shared', '-fPIC', '-O1', '-g', `-I${NODE_INCLUDE}`, '-o', out,
    path.join(FIXTURES, 'addons/stuck.c')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `cannot build the test addon: ${r.stderr}`);
  return out;
}
