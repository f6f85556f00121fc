// The nodeprof command behaves like its neighbours (issue 8, section 5):
// convert refuses binary output to a terminal and prints what it wrote, top
// takes several files, a file that is not a profile says what it is, bare
// durations are named, no output line ends in a space, and NODEPROF_MATCH
// matches what a user types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { CLI, NODE, ROOT, FIXTURES, childEnv, run, tempDir, writeScript, startNode, sleep, cpuProfilesIn } from './helpers.mjs';

const nodeprof = (args, opts = {}) => run(CLI, args, { env: childEnv({}, { preload: false }), ...opts });
const SMALL = path.join(FIXTURES, 'profiles/small.cpuprofile');
const SMALL_HEAP = path.join(FIXTURES, 'profiles/small.heapprofile');

function copyTo(dir, name, from = SMALL) {
  const to = path.join(dir, name);
  fs.copyFileSync(from, to);
  return to;
}

// `script` (util-linux) gives the command a pseudo-terminal as stdout.
const hasScript = spawnSync('script', ['--version']).status === 0;
function inTerminal(args) {
  const quoted = [CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('script', ['-qec', quoted, '/dev/null'], { env: childEnv({}, { preload: false }), encoding: 'latin1' });
  return { status: r.status, out: r.stdout };
}

test('convert -o - of pprof to a terminal: refused with status 1, unless --force; text formats pass', { skip: !hasScript && 'no script(1)' }, (t) => {
  const dir = tempDir(t);
  const input = copyTo(dir, 'a.cpuprofile');
  const refused = inTerminal(['convert', input, '-o', '-']);
  assert.equal(refused.status, 1);
  assert.match(refused.out, /nodeprof: binary output not written to a terminal; use -o FILE or redirect \(or --force\)/);
  assert.ok(!refused.out.includes('\x1f\x8b'), 'no gzip bytes on the terminal');
  const forced = inTerminal(['convert', input, '-o', '-', '--force']);
  assert.equal(forced.status, 0);
  assert.ok(forced.out.includes('\x1f\x8b'), 'gzip written with --force');
  const text = inTerminal(['convert', input, '-o', '-', '-f', 'collapsed']);
  assert.equal(text.status, 0);
  assert.match(text.out, /hot/);
  // Not a terminal: written as before.
  const piped = spawnSync(CLI, ['convert', input, '-o', '-'], { env: childEnv({}, { preload: false }) });
  assert.equal(piped.status, 0);
  assert.deepEqual([...piped.stdout.subarray(0, 2)], [0x1f, 0x8b]);
});

test('convert prints the path of each file it wrote, one per line, and nothing for -o -', (t) => {
  const dir = tempDir(t);
  const a = copyTo(dir, 'a.cpuprofile');
  const b = copyTo(dir, 'b.cpuprofile');
  const one = nodeprof(['convert', a]);
  assert.equal(one.status, 0, one.stderr);
  assert.equal(one.stdout, path.join(dir, 'a.cpu.pb.gz') + '\n');
  assert.ok(fs.statSync(path.join(dir, 'a.cpu.pb.gz')).size > 0);
  // Relative input: the path as it can be used from the same directory.
  const rel = nodeprof(['convert', 'b.cpuprofile', '-f', 'html'], { cwd: dir });
  assert.equal(rel.stdout, 'b.cpu.html\n');
  assert.ok(fs.existsSync(path.join(dir, 'b.cpu.html')));
  const out = path.join(dir, 'x.txt');
  assert.equal(nodeprof(['convert', a, '-f', 'collapsed', '-o', out]).stdout, out + '\n');
  // Several files: each next to itself, each path printed.
  const both = nodeprof(['convert', a, b, '-f', 'speedscope']);
  assert.equal(both.status, 0, both.stderr);
  assert.deepEqual(both.stdout.split('\n'), [path.join(dir, 'a.cpu.speedscope.json'), path.join(dir, 'b.cpu.speedscope.json'), '']);
  const toStdout = nodeprof(['convert', a, '-f', 'collapsed', '-o', '-']);
  assert.ok(!toStdout.stdout.includes(dir), 'stdout holds the output only');
  assert.equal(toStdout.stdout, fs.readFileSync(path.join(ROOT, 'tests/fixtures/profiles/small.cpuprofile.collapsed.txt'), 'utf8'));
  const usage = nodeprof(['convert', a, b, '-o', out]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /-o with one FILE only/);
});

test('top of several files is the top of their merge; the README quick start holds on a second run', (t) => {
  const dir = tempDir(t);
  const app = writeScript(dir, 'app.js', `
function hotLoop(ms) { const end = Date.now() + ms, cpuEnd = cpuMs() + ms; let x = 0; while (Date.now() < end || cpuMs() < cpuEnd) for (let j = 0; j < 1000; j++) x += Math.sqrt(x + 1); return x; }
function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } // CPU time too: see tests/fixtures/apps/burn.js
hotLoop(200);
`);
  for (let i = 0; i < 2; i++) {
    const r = run(NODE, [app], { env: childEnv({ NODEPROF_DIR: dir }), cwd: dir });
    assert.equal(r.status, 0, r.stderr);
  }
  const files = cpuProfilesIn(dir);
  assert.equal(files.length, 2);
  // What the shell makes of nodeprof-*.cpuprofile.
  const names = fs.readdirSync(dir).filter((f) => /^nodeprof-.*\.cpuprofile$/.test(f)).sort();
  const merged = nodeprof(['top', ...names], { cwd: dir });
  assert.equal(merged.status, 0, merged.stderr);
  const lines = merged.stdout.split('\n');
  assert.equal(lines[0], '2 profiles merged');
  assert.match(lines[1], /^CPU profile: /);
  assert.equal(lines.filter((l) => /  hotLoop  /.test(l)).length, 1, 'one hotLoop row for both runs');
  // The merge's totals are the sum of each file's.
  const total = (out) => Number(/CPU profile: (\d+) samples, ([\d.]+) ms/.exec(out).slice(1, 3).join(' ').split(' ')[0]);
  const ms = (out) => Number(/CPU profile: \d+ samples, ([\d.]+) ms/.exec(out)[1]);
  const each = names.map((n) => nodeprof(['top', n], { cwd: dir }).stdout);
  assert.equal(total(merged.stdout), total(each[0]) + total(each[1]));
  assert.ok(Math.abs(ms(merged.stdout) - ms(each[0]) - ms(each[1])) < 0.15, `${ms(merged.stdout)} ms`);
  // The same file twice: every share as in the file alone.
  const twice = nodeprof(['top', files[0], files[0]]).stdout.split('\n').slice(3);
  const alone = each[0].split('\n').slice(2);
  const shares = (rows) => rows.filter(Boolean).map((r) => r.replace(/^\s*[\d.]+\s+([\d.]+%)\s+[\d.]+\s+([\d.]+%)/, '$1 $2'));
  assert.deepEqual(shares(twice), shares(alone));
  // Kinds do not mix.
  const mixed = nodeprof(['top', files[0], SMALL_HEAP]);
  assert.equal(mixed.status, 1);
  assert.match(mixed.stderr, /small\.heapprofile is a heap profile and .* a CPU profile: top merges profiles of one kind/);
});

test('a file that is not a profile says what it is and what reads it, in top and convert', (t) => {
  const dir = tempDir(t);
  const snapshot = path.join(dir, 'x.heapsnapshot');
  const w = run(NODE, ['-e', `require('v8').writeHeapSnapshot(${JSON.stringify(snapshot)})`], { env: childEnv({}, { preload: false }) });
  assert.equal(w.status, 0, w.stderr);
  const trace = path.join(dir, 'node_trace.1.log');
  fs.writeFileSync(trace, JSON.stringify({ traceEvents: [{ pid: 1, tid: 1, ph: 'X', name: 'x', ts: 0 }] }));
  const empty = path.join(dir, 'empty.cpuprofile');
  fs.writeFileSync(empty, '');
  const input = copyTo(dir, 'a.cpuprofile');
  assert.equal(nodeprof(['convert', input]).status, 0);
  const pprof = path.join(dir, 'a.cpu.pb.gz');
  const cases = [
    [snapshot, /x\.heapsnapshot: a V8 heap snapshot, not a profile: read it with `nodeprof heap summary`, or open it in Chrome DevTools \(Memory tab\)/],
    [trace, /node_trace\.1\.log: a trace-events file, not a profile/],
    [empty, /empty\.cpuprofile: an empty file: no profile in it/],
    [pprof, /a\.cpu\.pb\.gz: gzip-compressed \(a pprof profile\?\)/, ['convert']],
  ];
  for (const [file, why, cmds = ['top', 'convert']] of cases) {
    for (const cmd of cmds) {
      const r = nodeprof([cmd, file]);
      assert.equal(r.status, 1, `${cmd} ${file}`);
      assert.match(r.stderr, why);
      assert.match(r.stderr, /^nodeprof: [^\n]*\n$/, 'one line');
      assert.doesNotMatch(r.stderr, /malformed JSON/);
      assert.equal(r.stdout, '');
    }
  }
  assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.pb.gz')).length, 1, 'nothing more written');
  // top (and merge) read pprof: the same table as from the .cpuprofile.
  const fromPprof = nodeprof(['top', pprof]);
  assert.equal(fromPprof.status, 0, fromPprof.stderr);
  assert.equal(fromPprof.stdout, nodeprof(['top', input]).stdout);
});

test('NODEPROF_PERIOD=10 and NODEPROF_CPU_WINDOW=30: read as seconds, one line each, from the agent and from nodeprof config', (t) => {
  const dir = tempDir(t);
  const env = { NODEPROF_DIR: dir, NODEPROF_PERIOD: '10', NODEPROF_CPU_WINDOW: '30' };
  const cfg = nodeprof(['config'], { env: childEnv(env, { preload: false }) });
  assert.equal(cfg.status, 0);
  assert.match(cfg.stdout, /^NODEPROF_PERIOD=10000ms$/m);
  assert.match(cfg.stdout, /^NODEPROF_CPU_WINDOW=30000ms$/m);
  assert.deepEqual(cfg.stderr.split('\n').filter(Boolean).sort(), [
    'nodeprof: NODEPROF_CPU_WINDOW=30: no unit, read as 30s; write 30s',
    'nodeprof: NODEPROF_PERIOD=10: no unit, read as 10s; write 10s',
  ]);
  const agent = run(NODE, ['-e', 'console.log("ok")'], { env: childEnv(env) });
  assert.equal(agent.status, 0);
  assert.equal(agent.stdout, 'ok\n');
  assert.match(agent.stderr, /^nodeprof: NODEPROF_PERIOD=10: no unit, read as 10s; write 10s$/m);
  assert.match(agent.stderr, /^nodeprof: NODEPROF_CPU_WINDOW=30: no unit, read as 30s; write 30s$/m);
  const quiet = nodeprof(['config'], { env: childEnv({ NODEPROF_PERIOD: '10s', NODEPROF_CPU_WINDOW: 'off' }, { preload: false }) });
  assert.equal(quiet.stderr, '');
});

function assertNoTrailingSpace(what, text) {
  assert.ok(text.length > 0, `${what}: some output`);
  // Nor a tab-separated field (list: pid, command line, FIFO).
  text.split('\n').forEach((line, i) => assert.ok(!/[ \t]$| \t/.test(line), `${what}, line ${i + 1}: a field ends in a space: ${JSON.stringify(line)}`));
}

test('no line of list, top, config or ctl status output ends in a space', async (t) => {
  const dir = tempDir(t);
  // A long command line, and a process.title shorter than it: the argv area
  // is then padded, which `list` used to print as trailing spaces.
  const app = writeScript(dir, 'app.js', `
process.title = 'short';
console.log('ready'); setInterval(() => {}, 1000);
`);
  const child = startNode(app, ['x'.repeat(300), 'arg with  spaces ', ''], { env: childEnv({ NODEPROF_DIR: dir }) });
  t.after(() => child.kill('SIGKILL'));
  await child.ready;
  let listed = '';
  for (let i = 0; i < 50 && !listed.includes(`${child.pid}\t`); i++) {
    listed = nodeprof(['list']).stdout;
    if (!listed.includes(`${child.pid}\t`)) await sleep(100);
  }
  const line = listed.split('\n').find((l) => l.startsWith(`${child.pid}\t`));
  assert.ok(line, listed);
  assertNoTrailingSpace('list', listed);
  const status = nodeprof(['ctl', String(child.pid), 'status']);
  assert.equal(status.status, 0, status.stderr);
  assertNoTrailingSpace('ctl status', status.stdout);
  for (const args of [['top', SMALL], ['top', SMALL_HEAP, '--by', 'total'], ['top', SMALL, SMALL]])
    assertNoTrailingSpace(args.join(' '), nodeprof(args).stdout);
  assertNoTrailingSpace('config', nodeprof(['config']).stdout);
  assertNoTrailingSpace('config --markdown', nodeprof(['config', '--markdown']).stdout);
  for (const cmd of ['run', 'ctl', 'list', 'convert', 'top', 'config']) assertNoTrailingSpace(`${cmd} --help`, nodeprof([cmd, '--help']).stdout);
  assertNoTrailingSpace('--help', nodeprof(['--help']).stdout);
});

// ---- NODEPROF_MATCH -----------------------------------------------------------

function matchRun(t, pattern, { cwd, script = 'hello.js', args } = {}) {
  const dir = tempDir(t);
  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  writeScript(app, script, 'let x = 0; for (let i = 0; i < 1e6; i++) x += i; console.log("hello", x > 0);\n');
  const r = run(NODE, args ?? [path.join(app, script)], {
    env: childEnv({ NODEPROF_DIR: dir, NODEPROF_MATCH: pattern }),
    cwd: cwd === 'dir' ? dir : cwd === 'app' ? app : cwd,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'hello true\n');
  return { profiled: cpuProfilesIn(dir).length === 1, dir, app };
}

for (const [pattern, want, opts] of [
  ['hello.js', true], ['hello', true], ['hel*', true], ['*.js', true], ['bye.js', false], ['app', false],
  ['app/hello.js', true, { cwd: 'dir' }], ['./hello.js', true, { cwd: 'app' }], ['../app/hello.js', true, { cwd: 'app' }],
  ['app/hello.js', false, { cwd: 'app' }], ['*/app/hello.js', true], ['*/hello.js', true], ['*/bye.js', false],
  ['hello.js', true, { cwd: 'app', args: ['hello'] }], // node hello: node completes the name, so do we
  ['app/*.js', true, { cwd: 'dir', args: ['./app/hello.js'] }],
]) {
  test(`NODEPROF_MATCH=${pattern}${opts?.cwd ? ` from ${opts.cwd}/` : ''}${opts?.args ? ` (node ${opts.args.join(' ')})` : ''}: ${want ? 'profiled' : 'not profiled'}`, (t) => {
    assert.equal(matchRun(t, pattern, opts).profiled, want);
  });
}

test('NODEPROF_MATCH by the absolute path, and through a symlink to the script', (t) => {
  const dir = tempDir(t);
  writeScript(dir, 'real.js', 'console.log("hello", true);\n');
  fs.symlinkSync(path.join(dir, 'real.js'), path.join(dir, 'tool'));
  for (const [pattern, want] of [[path.join(fs.realpathSync(dir), 'real.js'), true], ['real.js', true], ['tool', true], ['other', false]]) {
    const out = path.join(dir, `out-${pattern.length}-${want}`);
    fs.mkdirSync(out);
    const r = run(NODE, [path.join(dir, 'tool')], { env: childEnv({ NODEPROF_DIR: out, NODEPROF_MATCH: pattern }) });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(cpuProfilesIn(out).length, want ? 1 : 0, pattern);
  }
});

test('the layers of README\'s module map hold (scripts/layers.sh), and formats/ includes nothing outside formats/', () => {
  const layers = (root) => run('sh', [path.join(ROOT, 'scripts/layers.sh'), root], { env: childEnv({}, { preload: false }) });
  const r = layers(ROOT);
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /no circle, no include upwards/);
  const dir = path.join(ROOT, 'src/formats');
  for (const f of fs.readdirSync(dir).filter((n) => /\.[ch]$/.test(n))) {
    for (const m of fs.readFileSync(path.join(dir, f), 'utf8').matchAll(/^#include "([^"]+)"/gm))
      assert.ok(m[1].startsWith('formats/') || m[1] === 'html_assets.h', `${f} includes ${m[1]}`);
  }
  // The checker finds a circle, an include upwards and a file missing from the map.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nodeprof-layers-'));
  try {
    for (const d of ['src', 'preload', 'cli']) fs.cpSync(path.join(ROOT, d), path.join(tmp, d), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'README.md'), path.join(tmp, 'README.md'));
    fs.appendFileSync(path.join(tmp, 'src/formats/intern.h'), '#include "formats/tree.h"\n');
    fs.appendFileSync(path.join(tmp, 'src/common/log.c'), '#include "wake.h"\n');
    fs.writeFileSync(path.join(tmp, 'src/stray.c'), '#include "agent.h"\n');
    const bad = layers(tmp);
    assert.equal(bad.status, 1, bad.stdout);
    assert.match(bad.stdout, /include circle: .*formats\/intern.*formats\/tree/);
    assert.match(bad.stdout, /common\/log includes wake, of a later layer/);
    assert.match(bad.stdout, /stray: not in README.md's module map/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
