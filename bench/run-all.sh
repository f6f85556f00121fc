#!/bin/sh
# Runs every benchmark in turn, passing the arguments on to each
# (e.g. --quick, --node build/nodes/22/bin/node). The library and CLI must
# be built (make). Each benchmark prints its own table; a failing one does
# not stop the others, but makes this script exit non-zero.
#   bench/run-all.sh [--quick] [--node PATH] [...]
# BENCH_NODE: the node that runs the scripts themselves (default: node).
set -u
here=$(cd "$(dirname "$0")" && pwd)
runner=${BENCH_NODE:-node}
status=0
for b in startup http snapshot dump-latency memory; do
  echo "=== $b"
  "$runner" "$here/$b.mjs" "$@" || status=1
  echo
done
# bench/convert.* belongs to someone else; run it if it is there. convert.sh
# takes SIZE_MB and $NODE rather than our options: --node becomes NODE=,
# --quick a 20 MB profile.
node_arg=node quick=""
prev=""
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    --node=*) node_arg=${a#--node=} ;;
  esac
  [ "$prev" = "--node" ] && node_arg=$a
  prev=$a
done
for f in "$here"/convert.*; do
  [ -f "$f" ] || continue
  echo "=== $(basename "$f")"
  case "$f" in
    *.sh) NODE=$node_arg sh "$f" ${quick:+20} ;;
    *.mjs|*.js|*.cjs) "$runner" "$f" "$@" ;;
    *) [ -x "$f" ] && "$f" "$@" ;;
  esac || status=1
  echo
done
exit $status
