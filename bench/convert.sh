#!/bin/sh
# Benchmark: `nodeprof convert` to pprof against a JavaScript reference
# doing the same conversion with the pprof-format package
# (bench/pprof-reference.mjs), on a synthetic .cpuprofile of SIZE_MB
# (default 100). Prints time, MB/s and peak RSS of each, and the ratio.
#
# usage: bench/convert.sh [SIZE_MB]
# needs: make (build/nodeprof), node, npm ci --prefix tests, /usr/bin/time (Debian: time)
set -eu
cd "$(dirname "$0")/.."
size=${1:-100}
nodeprof=${NODEPROF:-build/nodeprof}
node=${NODE:-node}

[ -x "$nodeprof" ] || { echo "bench: $nodeprof missing: run make" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
[ -d tests/node_modules/pprof-format ] || { echo "bench: run npm ci --prefix tests" >&2; exit 1; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
"$node" bench/gen-cpuprofile.mjs "$dir/big.cpuprofile" "$size"
bytes=$(stat -c %s "$dir/big.cpuprofile")

# measure NAME CMD...: runs CMD under /usr/bin/time -v; sets secs (wall),
# cpu (user + system, steadier on a busy machine) and rss_mb.
measure() {
    name=$1; shift
    /usr/bin/time -v "$@" >/dev/null 2>"$dir/$name.time"
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$dir/$name.time")
    secs=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    rss_mb=$(awk '/Maximum resident set size/ { printf "%.0f", $NF / 1024 }' "$dir/$name.time")
    cpu=$(awk '/(User|System) time \(seconds\)/ { s += $NF } END { print s }' "$dir/$name.time")
}

measure nodeprof "$nodeprof" convert "$dir/big.cpuprofile" -o "$dir/nodeprof.pb.gz"
c_secs=$secs c_cpu=$cpu c_rss=$rss_mb
measure reference "$node" bench/pprof-reference.mjs "$dir/big.cpuprofile" "$dir/reference.pb.gz"
js_secs=$secs js_cpu=$cpu js_rss=$rss_mb

# Both outputs must hold the same samples and total time.
"$node" --input-type=module -e "
import fs from 'node:fs'; import zlib from 'node:zlib'; import { createRequire } from 'node:module';
const { Profile } = await import(createRequire(process.cwd() + '/tests/package.json').resolve('pprof-format'));
const totals = (f) => { const p = Profile.decode(zlib.gunzipSync(fs.readFileSync(f)));
  return [0, 1].map((k) => p.sample.reduce((a, s) => a + Number(s.value[k]), 0)).join(' '); };
const a = totals('$dir/nodeprof.pb.gz'), b = totals('$dir/reference.pb.gz');
if (a !== b) { console.error('outputs differ: ' + a + ' vs ' + b); process.exit(1); }
console.log('same totals in both outputs (samples, ns): ' + a);
"

awk -v bytes="$bytes" -v cs="$c_secs" -v cc="$c_cpu" -v cr="$c_rss" \
    -v js="$js_secs" -v jc="$js_cpu" -v jr="$js_rss" 'BEGIN {
    mb = bytes / 1e6
    printf "input: %.1f MB\n", mb
    printf "%-28s %8s %9s %8s %14s\n", "", "seconds", "MB/s", "CPU s", "peak RSS (MB)"
    printf "%-28s %8.2f %9.1f %8.2f %14d\n", "nodeprof convert (C)", cs, mb / cs, cc, cr
    printf "%-28s %8.2f %9.1f %8.2f %14d\n", "pprof-format reference (JS)", js, mb / js, jc, jr
    printf "nodeprof is %.1fx faster (wall), %.1fx less CPU, with %.2fx the memory\n", js / cs, jc / cc, cr / jr
}'
