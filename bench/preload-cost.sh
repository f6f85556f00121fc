#!/bin/sh
# Where the library's load-time cost in a non-node process goes, in counts
# that a loaded machine does not blur (unlike preload-exec.sh's times):
# system calls (strace -c) and page faults (perf stat) per exec of
# /bin/true, for plain, an empty preloaded object, the same object with
# the library's DT_NEEDED dependencies (a row left out when it has none,
# as the preloaded object has had since it was split from its agent), and
# the library itself. The faults include the shell's fork, the same in
# every row: read the differences.
#   bench/preload-cost.sh [LIB]     (default: build/libnodeprof.so)
set -eu
lib=${1:-$(cd "$(dirname "$0")/.." && pwd)/build/libnodeprof.so}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo '__attribute__((constructor)) static void c(void) {}' > "$tmp/empty.c"
deps=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[lib\([a-z0-9_]*\)\.so.*/-l\1/p' | grep -v -e '^-lc$' -e '^-lld' | tr '\n' ' ')
cc -shared -fPIC -o "$tmp/empty.so" "$tmp/empty.c"
cc -shared -fPIC -o "$tmp/empty-deps.so" "$tmp/empty.c" -Wl,--no-as-needed $deps

n=200
syscalls() { LD_PRELOAD=$1 strace -c /bin/true 2>&1 | awk '$NF == "total" { print $(NF-2) }'; }
faults() {
  command -v perf >/dev/null || { echo '-'; return; }
  LIB=$1 perf stat -x, -e page-faults sh -c "i=0; while [ \$i -lt $n ]; do LD_PRELOAD=\$LIB /bin/true; i=\$((i+1)); done" 2>&1 >/dev/null |
    awk -F, -v n=$n '/page-faults/ { printf "%.1f", $1 / n }'
}
base=$(faults '')
printf '%-50s %9s %12s\n' "/bin/true with LD_PRELOAD=" "syscalls" "page faults"
for v in "" "$tmp/empty.so" "$tmp/empty-deps.so" "$lib"; do
  [ "$v" != "$tmp/empty-deps.so" ] || [ -n "$deps" ] || continue
  case "$v" in
    "") name="(nothing)" ;;
    "$tmp/empty.so") name="an empty object" ;;
    "$tmp/empty-deps.so") name="an empty object needing ${deps:-nothing}" ;;
    *) name=$v ;;
  esac
  printf '%-50s %9s %12s\n' "$name" "$(syscalls "$v")" "$([ -z "$v" ] && echo "$base" || faults "$v")"
done
