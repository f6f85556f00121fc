// Source maps: a real TypeScript build (tsc --sourceMap) and real esbuild
// bundles (an external map, and a minified one with its map inline) run
// under the library with NODEPROF_SOURCEMAPS=on. The derived formats name
// the hot function in its .ts file and line, each position being what the
// source-map package's own originalPositionFor says for the generated
// position the .cpuprofile keeps; `nodeprof convert` and `top` agree with
// the agent, find moved maps with --source-maps DIR, and a missing or
// malformed map leaves the frames as they are, with one line.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { CLI, NODE, ROOT, childEnv, run, runNode, tempDir, filesIn, readCpuProfile } from './helpers.mjs';

const require = createRequire(path.join(ROOT, 'tests/package.json'));
const { SourceMapConsumer } = require('source-map');
const esbuild = require('esbuild');
const TSC = path.join(ROOT, 'tests/node_modules/typescript/bin/tsc');

const HOT_TS = `// The hot path, in TypeScript.
interface Totals { total: number; rounds: number }

const seed: Totals = { total: 0, rounds: 0 };

export function smHotSpin(ms: number): number {
  const end = Date.now() + ms;
  const acc: Totals = { ...seed };
  while (Date.now() < end) {
    acc.total += Math.sqrt(acc.total + 1);
    acc.rounds++;
  }
  return acc.total;
}
`;
const MAIN_TS = `import { smHotSpin } from './hot';

declare const process: { argv: string[] }; // no @types/node here

const result: number = smHotSpin(Number(process.argv[2] ?? 400));
console.log(result > 0 ? 'ok' : 'no');
`;
const HOT_LINE = HOT_TS.split('\n').findIndex((l) => l.includes('function smHotSpin')) + 1;

let work, project;

before(() => {
  work = tempDir(null, 'np-sourcemaps-');
  project = path.join(work, 'proj');
  fs.mkdirSync(path.join(project, 'src'), { recursive: true });
  fs.writeFileSync(path.join(project, 'src/hot.ts'), HOT_TS);
  fs.writeFileSync(path.join(project, 'src/main.ts'), MAIN_TS);
  fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'es2020', module: 'commonjs', sourceMap: true, outDir: 'dist', rootDir: 'src', strict: true, types: [] },
  }));
  const r = run(NODE, [TSC, '-p', project], { env: childEnv({}, { preload: false }) });
  assert.equal(r.status, 0, `tsc: ${r.stdout}${r.stderr}`);
  const common = { entryPoints: [path.join(project, 'src/main.ts')], bundle: true, platform: 'node', logLevel: 'silent' };
  esbuild.buildSync({ ...common, outfile: path.join(project, 'bundle/external.js'), sourcemap: true });
  esbuild.buildSync({ ...common, outfile: path.join(project, 'bundle/inline.min.js'), sourcemap: 'inline', minify: true });
});

process.on('exit', () => { if (work) fs.rmSync(work, { recursive: true, force: true }); });

const BUILDS = [
  { label: 'tsc --sourceMap', script: () => path.join(project, 'dist/main.js'), hotJs: () => path.join(project, 'dist/hot.js') },
  { label: 'esbuild, external map', script: () => path.join(project, 'bundle/external.js') },
  { label: 'esbuild --minify, inline map', script: () => path.join(project, 'bundle/inline.min.js') },
];

// The hot function's node in the .cpuprofile: the one with the most self samples.
function hotFrame(profile) {
  const self = new Map();
  for (const s of profile.samples) self.set(s, (self.get(s) ?? 0) + 1);
  let best = null;
  for (const n of profile.nodes)
    if (n.callFrame.url.startsWith('file:') && (!best || (self.get(n.id) ?? 0) > (self.get(best.id) ?? 0))) best = n;
  return best.callFrame;
}

// The map of a generated script as source-map reads it: from the file its
// comment names, or the inline data: URL.
function mapOf(scriptPath) {
  const text = fs.readFileSync(scriptPath, 'utf8');
  const url = [...text.matchAll(/\/\/# sourceMappingURL=(\S+)/g)].pop()[1];
  if (url.startsWith('data:')) {
    return { raw: JSON.parse(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64').toString()), url: pathToFileURL(scriptPath).href };
  }
  const file = path.resolve(path.dirname(scriptPath), url);
  return { raw: JSON.parse(fs.readFileSync(file, 'utf8')), url: pathToFileURL(file).href };
}

// What source-map says for a V8 call frame (0-based line and column).
async function originalOf(callFrame) {
  const { raw, url } = mapOf(new URL(callFrame.url).pathname);
  return SourceMapConsumer.with(raw, url, (c) => c.originalPositionFor({ line: callFrame.lineNumber + 1, column: callFrame.columnNumber }));
}

function pprofFunction(file, name) {
  const { Profile } = require('pprof-format');
  const p = Profile.decode(zlib.gunzipSync(fs.readFileSync(file)));
  const str = (i) => p.stringTable.strings[Number(i)];
  const fn = p.function.find((f) => str(f.name) === name);
  if (!fn) return null;
  const loc = p.location.find((l) => l.line.some((ln) => Number(ln.functionId) === Number(fn.id)));
  return { filename: str(fn.filename), startLine: Number(fn.startLine), line: Number(loc.line[0].line) };
}

function topRow(text, name) {
  return text.split('\n').find((l) => l.includes(`  ${name}  `));
}

function profileRun(t, script, extraEnv = {}) {
  const dir = tempDir(t);
  const r = runNode(script, ['400'], { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_SOURCEMAPS: 'on', NODEPROF_FORMATS: 'cpuprofile,pprof,collapsed,top,html', ...extraEnv }) });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ok\n');
  const [cpu] = filesIn(dir, '.cpuprofile');
  assert.ok(cpu, `no .cpuprofile in ${dir}: ${r.stderr}`);
  const base = cpu.slice(0, -'.cpuprofile'.length);
  return { dir, r, cpu, base, profile: readCpuProfile(cpu) };
}

for (const build of BUILDS) {
  test(`${build.label}: the derived formats name the hot function in hot.ts, as source-map maps it`, { timeout: 120000 }, async (t) => {
    const { r, cpu, base, profile } = profileRun(t, build.script());
    assert.equal(r.stderr, '');
    // The .cpuprofile keeps V8's generated positions, for DevTools to map.
    const gen = hotFrame(profile);
    assert.match(gen.url, /\.js$/);
    if (build.hotJs) assert.equal(gen.url, pathToFileURL(build.hotJs()).href);
    const orig = await originalOf(gen);
    const hotTs = pathToFileURL(path.join(project, 'src/hot.ts')).href;
    assert.equal(orig.source, hotTs, `source-map maps ${JSON.stringify(gen)} to ${JSON.stringify(orig)}`);
    assert.equal(orig.line, HOT_LINE, 'source-map puts the function on its line of hot.ts');
    const where = `${hotTs}:${orig.line}`;

    const top = fs.readFileSync(`${base}.cpu.top.txt`, 'utf8');
    assert.ok(topRow(top, 'smHotSpin')?.endsWith(`  ${where}`), top);
    assert.ok(!topRow(top, 'smHotSpin').includes(gen.url), top);
    const collapsed = fs.readFileSync(`${base}.cpu.collapsed.txt`, 'utf8');
    assert.ok(collapsed.includes(`;smHotSpin (${where}) `), collapsed.slice(0, 2000));
    const fn = pprofFunction(`${base}.cpu.pb.gz`, 'smHotSpin');
    assert.deepEqual(fn, { filename: hotTs, startLine: orig.line, line: orig.line });
    // The HTML page gets the rewritten frame beside the unchanged profile text.
    const html = fs.readFileSync(`${base}.cpu.html`, 'utf8');
    const frameMap = JSON.parse(html.match(/id="frame-map">([^<]*)</)[1]);
    const entry = frameMap.find((m) => m[1] === gen.url && m[2] === gen.lineNumber && m[3] === gen.columnNumber);
    assert.deepEqual(entry?.slice(4), ['smHotSpin', hotTs, orig.line - 1, orig.column]);

    // The command, from the .cpuprofile, says the same as the agent.
    const cliTop = run(CLI, ['top', cpu], { env: childEnv({}, { preload: false }) });
    assert.equal(cliTop.status, 0, cliTop.stderr);
    assert.equal(cliTop.stdout, top);
    const cliCollapsed = run(CLI, ['convert', cpu, '--format', 'collapsed', '-o', '-'], { env: childEnv({}, { preload: false }) });
    assert.equal(cliCollapsed.stdout, collapsed);
    const plain = run(CLI, ['top', cpu, '--no-source-maps'], { env: childEnv({}, { preload: false }) });
    assert.ok(plain.stdout.includes(gen.url), plain.stdout);
  });
}

test('tsc: every frame of the build maps where source-map maps it', { timeout: 120000 }, async (t) => {
  const { cpu, profile } = profileRun(t, path.join(project, 'dist/main.js'));
  const out = run(CLI, ['convert', cpu, '--format', 'collapsed', '-o', '-'], { env: childEnv({}, { preload: false }) });
  const dist = pathToFileURL(path.join(project, 'dist')).href;
  const frames = profile.nodes.map((n) => n.callFrame).filter((f) => f.url.startsWith(dist));
  assert.ok(frames.length >= 2, 'main.js and hot.js frames');
  for (const f of frames) {
    const orig = await originalOf(f);
    const name = f.functionName || '(anonymous)';
    const mapped = orig.source ? `${name} (${orig.source}:${orig.line})` : `${name} (${f.url}:${f.lineNumber + 1})`;
    assert.ok(out.stdout.includes(mapped), `${JSON.stringify(f)} -> ${mapped} not in\n${out.stdout}`);
  }
});

test('maps moved away: one line and generated positions, and --source-maps DIR finds them', { timeout: 120000 }, (t) => {
  const { cpu, base } = profileRun(t, path.join(project, 'dist/main.js'));
  const env = childEnv({}, { preload: false });
  const mapped = run(CLI, ['top', cpu], { env }).stdout;
  const maps = tempDir(t);
  fs.mkdirSync(path.join(maps, 'dist'));
  const dist = path.join(project, 'dist');
  const moved = [];
  t.after(() => { for (const [from, to] of moved) fs.renameSync(to, from); });
  for (const f of fs.readdirSync(dist).filter((f) => f.endsWith('.map'))) {
    moved.push([path.join(dist, f), path.join(maps, 'dist', f)]);
    fs.renameSync(path.join(dist, f), path.join(maps, 'dist', f));
  }
  const without = run(CLI, ['top', cpu], { env });
  assert.equal(without.status, 0);
  const lines = without.stderr.split('\n').filter(Boolean);
  const hotJs = pathToFileURL(path.join(dist, 'hot.js')).href;
  assert.equal(lines.filter((l) => l.includes(`${hotJs} left as they are`)).length, 1, without.stderr);
  assert.ok(lines.every((l) => l.startsWith('nodeprof: source map not used')), without.stderr);
  assert.ok(topRow(without.stdout, 'smHotSpin').includes(`${hotJs}:`), without.stdout);
  const withDir = run(CLI, ['top', cpu, '--source-maps', maps], { env });
  assert.equal(withDir.stderr, '');
  assert.equal(withDir.stdout, mapped);
  // And convert with the maps in place, with and without DIR, agree.
  for (const [from, to] of moved.splice(0)) fs.renameSync(to, from);
  const a = run(CLI, ['convert', cpu, '--format', 'collapsed', '-o', '-'], { env }).stdout;
  const b = run(CLI, ['convert', cpu, '--format', 'collapsed', '-o', '-', '--source-maps', path.join(project, 'dist')], { env }).stdout;
  assert.equal(a, b);
  assert.equal(a, fs.readFileSync(`${base}.cpu.collapsed.txt`, 'utf8'));
  const bad = run(CLI, ['top', cpu, '--source-maps', path.join(work, 'no-such-dir')], { env });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^nodeprof: --source-maps .*no-such-dir/);
});

test('a malformed map: the app runs as before, one line, frames as they were', { timeout: 120000 }, (t) => {
  const dir = tempDir(t);
  fs.cpSync(path.join(project, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'dist/hot.js.map'), '{"version":3,"sources":["../src/hot.ts"],"mappings":"AAAA,!!!"}');
  const { r, base } = profileRun(t, path.join(dir, 'dist/main.js'));
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^nodeprof: source map not used, frames of file:.*\/dist\/hot\.js left as they are: .*hot\.js\.map: mappings: bad VLQ/);
  const hotJs = pathToFileURL(path.join(dir, 'dist/hot.js')).href;
  assert.ok(topRow(fs.readFileSync(`${base}.cpu.top.txt`, 'utf8'), 'smHotSpin').includes(`${hotJs}:`));
  // Off by default: no map is read, no line.
  const off = runNode(path.join(dir, 'dist/main.js'), ['50'], { env: childEnv({ NODEPROF_DIR: dir, NODEPROF_FORMATS: 'top' }) });
  assert.equal(off.status, 0);
  assert.equal(off.stderr, '');
});

// The HTML page, in a real browser: its table names the mapped function and
// location (the page applies the frame map to the profile text it reads).
test('the HTML page shows the mapped frames', { timeout: 180000 }, async (t) => {
  const CHROMIUM = process.env.NP_CHROMIUM || '/usr/bin/chromium';
  let chromium = null;
  try { ({ chromium } = require('playwright-core')); } catch { /* below */ }
  if (!chromium || !fs.existsSync(CHROMIUM)) {
    const why = `no Chromium at ${CHROMIUM} or no playwright-core`;
    if (process.env.NP_TEST_OPTIONAL_TOOLS === 'skip') return t.skip(why);
    assert.fail(`${why}; or set NP_TEST_OPTIONAL_TOOLS=skip`);
  }
  const { base } = profileRun(t, path.join(project, 'bundle/inline.min.js'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(`${base}.cpu.html`).href);
  await page.waitForFunction(() => (window.nodeprof && window.nodeprof.ready) || document.querySelector('.status.error'), null, { timeout: 120000 });
  const rows = await page.$$eval('#table tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert.deepEqual(errors, []);
  const row = rows.find((r) => r.includes('smHotSpin'));
  assert.ok(row, rows.slice(0, 5).join('\n'));
  assert.match(row, new RegExp(`src/hot\\.ts:${HOT_LINE}`));
  assert.ok(!rows.some((r) => /inline\.min\.js:1/.test(r) && /smHotSpin/.test(r)));
});

test('a periodic writer reads each map once: later periods map from the cache, with the same result', { timeout: 120000 }, (t) => {
  const dir = tempDir(t);
  // The hot function in turns of the event loop, so that each period writes.
  const entry = path.join(dir, 'loop.ts');
  fs.writeFileSync(entry, `import { smHotSpin } from '${path.join(project, 'src/hot')}';
const end = Date.now() + Number(process.argv[2]);
(function turn() { smHotSpin(20); if (Date.now() < end) setImmediate(turn); })();
`);
  const bundle = path.join(dir, 'loop.js');
  esbuild.buildSync({ entryPoints: [entry], bundle: true, platform: 'node', logLevel: 'silent', outfile: bundle, sourcemap: true });
  const r = runNode(bundle, ['4500'], {
    env: childEnv({
      NODEPROF_DIR: dir, NODEPROF_SOURCEMAPS: 'on', NODEPROF_FORMATS: 'cpuprofile,collapsed', NODEPROF_PERIOD: '1s', NODEPROF_LOG: 'debug',
    }),
  });
  assert.equal(r.status, 0, r.stderr);
  const stats = [...r.stderr.matchAll(/source maps: (\d+) scripts kept \([\d.]+ MB\), (\d+) read, (\d+) from the cache since start/g)]
    .map((m) => ({ kept: +m[1], read: +m[2], hits: +m[3] }));
  assert.ok(stats.length >= 3, `${stats.length} writes: ${r.stderr}`);
  // The first write read the scripts; none was read again, and every later write took its scripts from the cache.
  assert.ok(stats[0].read >= 1 && stats[0].hits === 0, JSON.stringify(stats));
  for (let i = 1; i < stats.length; i++) {
    assert.equal(stats[i].read, stats[0].read, JSON.stringify(stats));
    assert.ok(stats[i].hits > stats[i - 1].hits, JSON.stringify(stats));
  }
  const hotTs = pathToFileURL(path.join(project, 'src/hot.ts')).href;
  const collapsed = filesIn(dir, '.cpu.collapsed.txt');
  assert.ok(collapsed.length >= 3, collapsed.join());
  const mapped = collapsed.filter((f) => fs.readFileSync(f, 'utf8').includes(`;smHotSpin (${hotTs}:${HOT_LINE}) `));
  assert.ok(mapped.length >= collapsed.length - 1, `${mapped.length} of ${collapsed.length} periods name hot.ts`);
});
