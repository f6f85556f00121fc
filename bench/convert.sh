#!/bin/sh
# Benchmark: `nodeprof convert` against a JavaScript reference doing the
# same conversion to pprof with the pprof-format package
# (bench/pprof-reference.mjs), on a synthetic .cpuprofile of SIZE_MB
# (default 100). One interleaved run: ROUNDS rounds (default 5), each
# running every variant once, the order rotated each round:
#
#   reference            node bench/pprof-reference.mjs (pprof)
#   nodeprof FORMAT      build/nodeprof convert -f FORMAT, for each FORMAT
#   baseline FORMAT      the same with $BASELINE (another nodeprof binary,
#                        e.g. an older commit built elsewhere), if set
#
# Prints per variant the median wall time, MB/s (input MB / median wall),
# the median of the per-round ratios reference wall / variant wall (and
# their min..max), median CPU seconds (user + system) and peak RSS, and
# RSS / file size.
#
# usage: bench/convert.sh [SIZE_MB] [ROUNDS]
# env:   NODE (node, default node), NODEPROF (default build/nodeprof),
#        BASELINE (a second nodeprof, optional),
#        FORMATS (default "pprof collapsed speedscope top")
# needs: make (build/nodeprof), node, npm ci --prefix tests, /usr/bin/time (Debian: time)
set -eu
cd "$(dirname "$0")/.."
size=${1:-100}
rounds=${2:-5}
nodeprof=${NODEPROF:-build/nodeprof}
baseline=${BASELINE:-}
node=${NODE:-node}
formats=${FORMATS:-pprof collapsed speedscope top}

[ -x "$nodeprof" ] || { echo "bench: $nodeprof missing: run make" >&2; exit 1; }
[ -z "$baseline" ] || [ -x "$baseline" ] || { echo "bench: BASELINE $baseline is not executable" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
[ -d tests/node_modules/pprof-format ] || { echo "bench: run npm ci --prefix tests" >&2; exit 1; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
"$node" bench/gen-cpuprofile.mjs "$dir/big.cpuprofile" "$size"
bytes=$(stat -c %s "$dir/big.cpuprofile")
echo "nodeprof: $nodeprof ($(sha256sum "$nodeprof" | cut -c1-12))${baseline:+; baseline: $baseline ($(sha256sum "$baseline" | cut -c1-12))}"

variants="reference"
for f in $formats; do variants="$variants nodeprof:$f"; done
if [ -n "$baseline" ]; then for f in $formats; do variants="$variants baseline:$f"; done; fi
nvariants=$(echo $variants | wc -w)

# run VARIANT ROUND: one timed run; appends "variant round wall cpu rss_kb"
# to $dir/results. Outputs are kept from round 1 only (for the check below).
run() {
    v=$1 r=$2
    out=$dir/out.$r.$(echo "$v" | tr : .)
    case $v in
        reference) set -- "$node" bench/pprof-reference.mjs "$dir/big.cpuprofile" "$out" ;;
        nodeprof:*) set -- "$nodeprof" convert "$dir/big.cpuprofile" -f "${v#*:}" -o "$out" ;;
        baseline:*) set -- "$baseline" convert "$dir/big.cpuprofile" -f "${v#*:}" -o "$out" ;;
    esac
    /usr/bin/time -f '%e %U %S %M' -o "$dir/time" "$@" >/dev/null \
        || { echo "bench: $v failed" >&2; exit 1; }
    awk -v v="$v" -v r="$r" '{ printf "%s %d %s %.3f %s\n", v, r, $1, $2 + $3, $4 }' "$dir/time" >> "$dir/results"
    [ "$r" -eq 1 ] || rm -f "$out"
}

: > "$dir/results"
r=1
while [ "$r" -le "$rounds" ]; do
    # this round's order: the variants rotated by r - 1
    set -- $variants
    k=1
    while [ "$k" -lt "$r" ] && [ "$nvariants" -gt 1 ]; do first=$1; shift; set -- "$@" "$first"; k=$((k + 1)); done
    for v in "$@"; do run "$v" "$r"; done
    printf 'round %d/%d done\n' "$r" "$rounds" >&2
    r=$((r + 1))
done

# The pprof outputs must hold the same samples and total time.
"$node" --input-type=module -e "
import fs from 'node:fs'; import zlib from 'node:zlib'; import { createRequire } from 'node:module';
const { Profile } = await import(createRequire(process.cwd() + '/tests/package.json').resolve('pprof-format'));
const totals = (f) => { const p = Profile.decode(zlib.gunzipSync(fs.readFileSync(f)));
  return [0, 1].map((k) => p.sample.reduce((a, s) => a + Number(s.value[k]), 0)).join(' '); };
const files = ['$dir/out.1.reference', '$dir/out.1.nodeprof.pprof', '$dir/out.1.baseline.pprof'].filter((f) => fs.existsSync(f));
if (files.length < 2) { console.error('no pprof output to compare'); process.exit(1); }
const t = files.map(totals);
if (t.some((x) => x !== t[0])) { console.error('outputs differ: ' + t.join(' vs ')); process.exit(1); }
console.log('same totals in the pprof outputs (samples, ns): ' + t[0]);
"

# Medians per variant, and of the per-round ratios to the reference.
awk -v bytes="$bytes" -v order="$variants" '
function median(list,    n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function minmax(list,    n, a, i, lo, hi) {
    n = split(list, a, " "); lo = hi = a[1]
    for (i = 2; i <= n; i++) { if (a[i] + 0 < lo + 0) lo = a[i]; if (a[i] + 0 > hi + 0) hi = a[i] }
    return sprintf("%.1f..%.1f", lo, hi)
}
{ wall[$1] = wall[$1] " " $3; cpu[$1] = cpu[$1] " " $4; rss[$1] = rss[$1] " " $5; w[$1, $2] = $3 }
END {
    mb = bytes / 1e6
    printf "input: %.1f MB; medians over the rounds; ratio = reference wall / variant wall, per round\n", mb
    printf "%-22s %8s %8s %8s %11s %7s %9s %9s\n", "variant", "wall s", "MB/s", "ratio", "min..max", "CPU s", "RSS MB", "RSS/file"
    n = split(order, v, " ")
    for (i = 1; i <= n; i++) {
        ratios = ""
        for (k = 1; (v[i], k) in w; k++) ratios = ratios " " w["reference", k] / w[v[i], k]
        mw = median(wall[v[i]]); rs = median(rss[v[i]]) / 1024
        printf "%-22s %8.2f %8.1f %7.2fx %11s %7.2f %9.0f %8.2fx\n", v[i], mw, mb / mw, median(ratios), minmax(ratios),
            median(cpu[v[i]]), rs, rs * 1048576 / bytes
    }
}' "$dir/results"
