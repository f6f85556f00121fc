// The nodeprof command against what another user controls:
// - `ctl --fifo PATH` where another user made PATH: refused before anything
//   is written, so they never learn the command nor its reply path;
// - text that a process chose (an agent's reply, a command line in
//   `list --all`) reaches the terminal without control characters, so an
//   escape sequence cannot retitle, clear or rewrite root's terminal.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { CLI, childEnv, reachableByAll, run, sleep, startProcess, tempDir } from './helpers.mjs';

const HOSTILE = 12345;
const as = (uid) => [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
const canSwitchUid = process.getuid() === 0 && run('setpriv', ['--version'], { env: process.env }).status === 0;
const ROOT_ONLY = { skip: !canSwitchUid && 'needs root and setpriv', timeout: 60000 };
const ESC = '\x1b';
const env = childEnv({}, { preload: false });

// A directory anyone can create files in (sticky, as /tmp).
function sharedDir(t) {
  const base = tempDir(t, 'nodeprof-clihostile-');
  fs.chmodSync(base, 0o755);
  const pub = path.join(base, 'pub');
  fs.mkdirSync(pub);
  fs.chmodSync(pub, 0o1777);
  return pub;
}

test('ctl --fifo to a FIFO another user made: refused with one line, and they read nothing', ROOT_ONLY, async (t) => {
  const pub = sharedDir(t);
  const fifo = path.join(pub, 'app.ctl');
  const captured = path.join(pub, 'captured.txt');
  // The hostile user's FIFO, and a reader of theirs that keeps what arrives.
  const reader = startProcess('setpriv', [...as(HOSTILE), '/bin/sh', '-c',
    `mkfifo -m 0622 ${fifo} && echo ready && exec cat ${fifo} > ${captured}`], { env: process.env, cwd: pub });
  t.after(() => reader.kill('SIGKILL'));
  await reader.ready;
  const target = startProcess('/bin/sh', ['-c', 'echo ready; exec sleep 30'], { env });
  t.after(() => target.kill('SIGKILL'));
  await target.ready;
  const r = run(CLI, ['ctl', '--timeout', '2', '--fifo', fifo, String(target.pid), 'heap', 'snapshot'], { env });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.trim().split('\n'), [`nodeprof: refusing ${fifo}: not a FIFO of uid 0`]);
  await sleep(200);
  assert.equal(fs.existsSync(captured) ? fs.readFileSync(captured, 'utf8') : '', '', 'the command reached their reader');
});

// A fake agent: makes its FIFO, reads one command from it, and answers `reply` on the reply FIFO
// the command names. Resolves to `nodeprof ctl --fifo FIFO PID status`'s result.
async function askFakeAgent(t, reply) {
  const fifo = path.join(tempDir(t), 'fake.ctl');
  const fake = startProcess(process.execPath, ['-e', `
const fs = require('fs');
require('child_process').execFileSync('mkfifo', ['-m', '0600', ${JSON.stringify(fifo)}]);
console.log('ready');
const line = fs.readFileSync(${JSON.stringify(fifo)}, 'utf8');
fs.writeFileSync(/ reply=(\\S+)/.exec(line)[1], ${JSON.stringify(reply)});
`], { env });
  t.after(() => fake.kill('SIGKILL'));
  await fake.ready;
  return run(CLI, ['ctl', '--timeout', '10', '--fifo', fifo, String(fake.pid), 'status'], { env });
}

test('a reply with escape sequences: shown with ? for each control character, lines kept', async (t) => {
  const r = await askFakeAgent(t, `ok\n${ESC}]0;PWNED\x07line one\n\tline two${ESC}[2J\n`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '?]0;PWNED?line one\n\tline two?[2J\n');
  assert.ok(!r.stdout.includes(ESC) && !r.stderr.includes(ESC));
});

test('an error reply with escape sequences: one nodeprof: line, no control characters', async (t) => {
  const r = await askFakeAgent(t, `error: bad${ESC}[31m thing\n`);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'nodeprof: bad?[31m thing\n');
});

test('list --all as root: another user\'s command line with escape sequences is shown without them', ROOT_ONLY, async (t) => {
  const { node } = reachableByAll(HOSTILE);
  const title = `${ESC}]0;PWNED\x07${ESC}[2J`;
  const app = startProcess('setpriv', [...as(HOSTILE), node, '-e', 'console.log("ready"); setTimeout(() => {}, 20000)', title],
    { env, cwd: '/' });
  t.after(() => app.kill('SIGKILL'));
  await app.ready;
  const r = run(CLI, ['list', '--all'], { env });
  assert.equal(r.status, 0, r.stderr);
  const line = r.stdout.split('\n').find((l) => l.includes(String(app.pid)) && l.includes('PWNED'));
  assert.ok(line, r.stdout);
  assert.ok(!r.stdout.includes(ESC) && !r.stdout.includes('\x07'), JSON.stringify(line));
  assert.match(line, / \]0;PWNED  \[2J$/);
});
