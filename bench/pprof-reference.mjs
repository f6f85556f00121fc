// The reference: the same .cpuprofile -> gzipped pprof conversion as
// `nodeprof convert`, in JavaScript with the pprof-format package (the
// encoder the Node.js pprof tools use). Same semantics: one function and
// location per call frame, one sample per node with samples, each sample
// worth its preceding timeDelta.
//
// usage: node bench/pprof-reference.mjs IN.cpuprofile OUT.pb.gz
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'tests/package.json'));
const { Function, Line, Location, Profile, Sample, StringTable, ValueType } = await import(require.resolve('pprof-format'));

const [input, output] = process.argv.slice(2);
const prof = JSON.parse(fs.readFileSync(input, 'utf8'));
const { nodes } = prof;

const index = new Map(nodes.map((n, i) => [n.id, i]));
const parent = new Int32Array(nodes.length).fill(-1);
nodes.forEach((n, i) => { for (const c of n.children ?? []) parent[index.get(c)] = i; });

const strings = new StringTable();
const frameIds = new Map();
const functions = [];
const locations = [];
const locationOf = nodes.map(({ callFrame: cf }) => {
  const key = `${cf.functionName}\0${cf.url}\0${cf.lineNumber}\0${cf.columnNumber}`;
  let id = frameIds.get(key);
  if (id === undefined) {
    id = functions.length + 1;
    frameIds.set(key, id);
    const name = strings.dedup(cf.functionName || '(anonymous)');
    const line = cf.lineNumber + 1;
    functions.push(new Function({ id, name, systemName: name, filename: strings.dedup(cf.url), startLine: line }));
    locations.push(new Location({ id, line: [new Line({ functionId: id, line })] }));
  }
  return id;
});

const count = new Float64Array(nodes.length);
const time = new Float64Array(nodes.length);
prof.samples.forEach((id, s) => {
  const i = index.get(id);
  count[i]++;
  time[i] += prof.timeDeltas[s];
});

const sample = [];
for (let i = 0; i < nodes.length; i++) {
  if (!count[i]) continue;
  const locationId = [];
  for (let n = i; parent[n] !== -1; n = parent[n]) locationId.push(locationOf[n]);
  sample.push(new Sample({ locationId, value: [count[i], time[i] * 1000] }));
}

const cpu = strings.dedup('cpu'), ns = strings.dedup('nanoseconds');
const profile = new Profile({
  sampleType: [new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }), new ValueType({ type: cpu, unit: ns })],
  sample, location: locations, function: functions, stringTable: strings,
  timeNanos: prof.startTime * 1000, durationNanos: (prof.endTime - prof.startTime) * 1000,
  periodType: new ValueType({ type: cpu, unit: ns }), period: 1000000,
});
fs.writeFileSync(output, zlib.gzipSync(profile.encode()));
