#!/bin/sh
# The cost of the library in a process that is not node: N executions of a
# trivial binary (/bin/true) plain and with LD_PRELOAD of each library
# given, in ROUNDS interleaved rounds (the order rotated each round). Prints
# the median microseconds per exec, the ratio to plain and the time added.
#   bench/preload-exec.sh [-n N] [-r ROUNDS] [LIB...]     (default: build/libnodeprof.so)
# Issue 10's goal: at most 0.2 ms added per exec.
set -eu
n=1000 rounds=5
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- "$(cd "$(dirname "$0")/.." && pwd)/build/libnodeprof.so"
bin=/bin/true
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One batch: N execs with LD_PRELOAD=$1 ("" = plain); prints µs per exec.
batch() {
  start=$(date +%s%N)
  i=0
  if [ -z "$1" ]; then
    while [ $i -lt $n ]; do $bin; i=$((i + 1)); done
  else
    while [ $i -lt $n ]; do LD_PRELOAD=$1 $bin; i=$((i + 1)); done
  fi
  end=$(date +%s%N)
  echo $(( (end - start) / n / 1000 ))
}

variants=$(printf '%s\n' "" "$@")
count=$(printf '%s\n' "" "$@" | wc -l)
r=0
while [ $r -lt $rounds ]; do
  k=0
  # rotate: start at variant (r mod count)
  printf '%s\n' "" "$@" | awk -v s=$((r % count)) '{ a[NR-1]=$0 } END { for (i = 0; i < NR; i++) print (i + s) % NR "\t" a[(i + s) % NR] }' |
  while IFS="$(printf '\t')" read -r idx lib; do
    batch "$lib" >> "$tmp/v$idx"
  done
  r=$((r + 1))
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
plain=$(median "$tmp/v0")
printf '%-60s %12s %8s %10s\n' "variant ($n execs of $bin, $rounds rounds)" "µs/exec" "ratio" "added µs"
printf '%-60s %12s %8s %10s\n' "plain" "$plain" "1.00x" "0"
i=1
for lib in "$@"; do
  m=$(median "$tmp/v$i")
  printf '%-60s %12s %8s %10s\n' "LD_PRELOAD=$lib" "$m" "$(awk -v a="$m" -v b="$plain" 'BEGIN { printf "%.2fx", a / b }')" "$((m - plain))"
  i=$((i + 1))
done
