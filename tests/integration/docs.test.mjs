// The README tells the truth: its configuration table is the code's table,
// every NODEPROF_* name the code reads is documented, and the CLI's help works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, CLI, run } from './helpers.mjs';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

test('README configuration table equals `nodeprof config --markdown`', () => {
  const m = readme.match(/<!-- config-table:begin[^\n]*-->\n([\s\S]*?)<!-- config-table:end -->/);
  assert.ok(m, 'README has the config-table markers');
  const generated = run(CLI, ['config', '--markdown'], { env: process.env }).stdout;
  assert.equal(m[1], generated, 'regenerate with: build/nodeprof config --markdown');
});

test('every NODEPROF_* name in the code is in the README', () => {
  const names = new Set();
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(c|h|sh)$/.test(e.name)) for (const n of fs.readFileSync(p, 'utf8').match(/NODEPROF_[A-Z0-9_]+/g) ?? []) names.add(n);
    }
  };
  for (const d of ['src', 'preload', 'scripts']) walk(path.join(ROOT, d));
  // Config table rows are built as "NODEPROF_" + suffix in config.c; read the table for those.
  const table = run(CLI, ['config'], { env: process.env }).stdout;
  for (const line of table.split('\n')) if (line) names.add(line.split('=')[0]);
  const missing = [...names].filter((n) => n !== 'NODEPROF_' && !readme.includes(n));
  assert.deepEqual(missing, []);
  assert.ok(names.size > 15, `found ${names.size} names`);
});

test('nodeprof --help and each subcommand --help', () => {
  const top = run(CLI, ['--help'], { env: process.env });
  assert.equal(top.status, 0);
  for (const sub of ['run', 'ctl', 'list', 'convert', 'top', 'config']) {
    assert.match(top.stdout, new RegExp(`\\b${sub}\\b`));
    const r = run(CLI, [sub, '--help'], { env: process.env });
    assert.equal(r.status, 0, `${sub} --help: ${r.stderr}`);
    assert.match(r.stdout, /usage: nodeprof/);
  }
  const bad = run(CLI, ['frobnicate'], { env: process.env });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^nodeprof: unknown command 'frobnicate'/);
});

// nodeprof(1) and libnodeprof(7): no warnings from man itself, and every
// command of `nodeprof --help` has its entry.
test('the man pages format without warnings and name every command', () => {
  for (const page of ['man/nodeprof.1', 'man/libnodeprof.7']) {
    const r = run('man', ['--warnings', '-E', 'UTF-8', '-l', path.join(ROOT, page)],
      { env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '', LC_ALL: 'C.UTF-8' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', `${page}: ${r.stderr}`);
    assert.ok(r.stdout.length > 1000, page);
  }
  const help = run(CLI, ['--help'], { env: process.env }).stdout;
  const commands = [...help.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]);
  assert.ok(commands.length >= 6, help);
  const page = fs.readFileSync(path.join(ROOT, 'man/nodeprof.1'), 'utf8');
  for (const c of commands) assert.match(page, new RegExp(`^\\.B nodeprof ${c}\\b`, 'm'), `nodeprof(1) lacks ${c}`);
});
