// The single .so works wherever it is copied, under any name, and
// `make install` honours PREFIX and DESTDIR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AGENT, LIB, NODE, ROOT, childEnv, run, tempDir, writeScript, filesIn, readCpuProfile, selfShare } from './helpers.mjs';

const APP = `
function copiedHot(ms) { const end = Date.now() + ms, cpuEnd = cpuMs() + ms; let x = 0; while (Date.now() < end || cpuMs() < cpuEnd) for (let j = 0; j < 1000; j++) x += Math.sqrt(x + 1); return x; }
function cpuMs() { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } // CPU time too: see tests/fixtures/apps/burn.js
console.log('ok', copiedHot(300) > 0);
`;

test('a copy of the .so under another name, with only its agent beside it, profiles node', (t) => {
  const dir = tempDir(t);
  const optDir = path.join(dir, 'opt', 'nodeprof');
  fs.mkdirSync(optDir, { recursive: true });
  const copy = path.join(optDir, 'profiler-agent.so');
  fs.copyFileSync(LIB, copy);
  fs.copyFileSync(AGENT, path.join(optDir, 'libnodeprof-agent.so'));
  const app = writeScript(dir, 'app.js', APP);
  const out = path.join(dir, 'out');
  const r = run(NODE, [app], { env: childEnv({ LD_PRELOAD: copy, NODEPROF_DIR: out }) });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ok true\n');
  assert.equal(r.stderr, '');
  const files = filesIn(out, '.cpuprofile');
  assert.equal(files.length, 1);
  assert.ok(selfShare(readCpuProfile(files[0]), 'copiedHot') > 0.3);
  assert.deepEqual(fs.readdirSync(optDir).sort(), ['libnodeprof-agent.so', 'profiler-agent.so'], 'no other file needed or made');
});

test('make install honours PREFIX and DESTDIR; the installed command finds the installed library', (t) => {
  const dest = tempDir(t);
  const r = run('make', ['-s', 'install', `DESTDIR=${dest}`, 'PREFIX=/opt/np'], { env: process.env, cwd: ROOT, timeout: 120000 });
  assert.equal(r.status, 0, r.stderr);
  const lib = path.join(dest, 'opt/np/lib/libnodeprof.so');
  const cli = path.join(dest, 'opt/np/bin/nodeprof');
  const loader = path.join(dest, 'opt/np/lib/nodeprof-loader.cjs');
  const agent = path.join(dest, 'opt/np/lib/libnodeprof-agent.so');
  assert.ok(fs.statSync(lib).isFile() && fs.statSync(cli).isFile() && fs.statSync(agent).isFile());
  // The loader beside the library, readable by all, writable only by its owner.
  assert.equal(fs.statSync(loader).mode & 0o777, 0o644);
  assert.equal(fs.readFileSync(loader, 'utf8'), fs.readFileSync(path.join(ROOT, 'src/loader/nodeprof-loader.cjs'), 'utf8'));
  for (const page of ['man1/nodeprof.1', 'man7/libnodeprof.7'])
    assert.ok(fs.statSync(path.join(dest, 'opt/np/share/man', page)).isFile(), page);
  const app = writeScript(dest, 'app.js', APP);
  const ran = run(cli, ['run', '--dir', path.join(dest, 'out'), '--', NODE, app], { env: childEnv({}, { preload: false }) });
  assert.equal(ran.status, 0, ran.stderr);
  assert.match(ran.stderr, /nodeprof: wrote .*\.cpuprofile/);
  const u = run('make', ['-s', 'uninstall', `DESTDIR=${dest}`, 'PREFIX=/opt/np'], { env: process.env, cwd: ROOT });
  assert.equal(u.status, 0);
  assert.ok(!fs.existsSync(lib) && !fs.existsSync(cli) && !fs.existsSync(loader) && !fs.existsSync(agent));
  assert.ok(!fs.existsSync(path.join(dest, 'opt/np/share/man/man1/nodeprof.1')));
});
