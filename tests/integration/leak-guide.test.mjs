// README's "Finding a memory leak" cannot drift from the tool: every `$`
// command of that section, read from README.md itself, is run in order
// (in a scratch directory where build/ and examples/ are the repository's
// and `node` is the node under test), and its output (stdout and stderr
// together) must hold the lines the README shows after it, in order. In
// the shown lines `…` stands for any text, every size (`3.4 MB`, `0 B`)
// for any size, every duration (`27.9 s`, `2 min`) for any duration and
// every other number for any number (pids, times, sizes vary from run to
// run); a line that is only `…` marks lines left out. The host in the
// README's file names (web-1) stands for this machine's.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { NODE, ROOT, childEnv, run, tempDir } from './helpers.mjs';

function guide() {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = readme.match(/\n## Finding a memory leak\n([\s\S]*?)\n## /);
  assert.ok(m, 'README has the section');
  const steps = [];
  for (const [, block] of m[1].matchAll(/```\n([\s\S]*?)```/g)) {
    for (const line of block.split('\n')) {
      if (line.startsWith('$ ')) steps.push({ command: line.slice(2), shown: [] });
      else if (line && steps.length) steps.at(-1).shown.push(line.replaceAll('Z-web-1-', `Z-${os.hostname()}-`));
    }
  }
  return steps;
}

const SIZE = '\\d+(?:\\.\\d+)? (?:B|kB|MB|GB)';
const TIME = '\\d+(?:\\.\\d+)? (?:ms|s|min|h)';
const NUMBER = '\\d+(?:\\.\\d+)?';

function pattern(line) {
  const parts = line.split(/(…|\d+(?:\.\d+)? (?:B|kB|MB|GB|ms|s|min|h)\b|\d+(?:\.\d+)?)/);
  const re = parts.map((p, i) => {
    if (i % 2 === 0) return p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return p === '…' ? '.*' : / [kMG]?B$/.test(p) ? SIZE : / \w+$/.test(p) ? TIME : NUMBER;
  });
  return new RegExp(`^${re.join('')}$`);
}

// The shown lines, in order, each matching a line of the output after the previous match.
function assertShows(output, shown, command) {
  const lines = output.split('\n');
  let at = 0;
  for (const want of shown.filter((l) => l !== '…')) {
    const re = pattern(want);
    const found = lines.findIndex((l, i) => i >= at && re.test(l));
    assert.ok(found >= 0, `\`${command}\` does not show\n  ${want}\n(as ${re})\nafter line ${at} of its output:\n${output}`);
    at = found + 1;
  }
}

test('every command of "Finding a memory leak" runs and shows what the README shows', { timeout: 300000 }, (t) => {
  const steps = guide();
  assert.ok(steps.length >= 4, `${steps.length} commands`);
  assert.ok(steps.every((s) => s.shown.length), 'each command shows its output');
  const dir = tempDir(t);
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(NODE, path.join(bin, 'node'));
  fs.symlinkSync(path.join(ROOT, 'build'), path.join(dir, 'build'));
  fs.symlinkSync(path.join(ROOT, 'examples'), path.join(dir, 'examples'));
  const env = childEnv({ PATH: `${bin}:${process.env.PATH}` }, { preload: false });
  for (const { command, shown } of steps) {
    const r = run('bash', ['-c', `${command} 2>&1`], { cwd: dir, env, timeout: 240000 });
    assert.equal(r.status, 0, `\`${command}\` exited ${r.status}:\n${r.stdout}`);
    assertShows(r.stdout, shown, command);
  }
  // and the pattern itself can fail: a shown line the output lacks
  assert.throws(() => assertShows('verdict: steady\n', ['verdict: growing 1.0 MB/h'], 'x'));
  assert.throws(() => assertShows('b\na\n', ['a', 'b'], 'x'), 'in order');
  assertShows('9 x Session, retained 0 B\n', ['12 x Session, retained 3.4 MB'], 'x');
  assertShows('duration: 2.0 min (94 samples)\n', ['duration: 27.9 s (27 samples)'], 'x');
  assert.throws(() => assertShows('duration: 2.0 MB\n', ['duration: 27.9 s'], 'x'), 'a size is not a duration');
});
