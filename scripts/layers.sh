#!/bin/sh
# Checks the code's layering against README.md's "Module map": every
# module (a .c and its .h) of src/, preload/ and cli/ is in the table; each
# includes only modules of its own layer or of layers listed before it; and
# no include circle exists. Prints what is wrong and fails. `make test`
# runs it; by hand: sh scripts/layers.sh [ROOT] (default: this checkout).
set -eu
cd "${1:-$(dirname "$0")/..}"
exec python3 - <<'PY'
import os, re, sys

def module_of(path):
    base = os.path.splitext(path)[0]
    return base[len('src/'):] if base.startswith('src/') else base

rows = re.findall(r'^\| (\w+) \| `([\w/]+)` \|', open('README.md').read().split('## Module map', 1)[1], re.M)
layer_rank, rank = {}, {}
for layer, mod in rows:
    layer_rank.setdefault(layer, len(layer_rank))
    rank[mod] = layer_rank[layer]

includes = {}
for root in ('src', 'preload', 'cli'):
    for d, _, files in os.walk(root):
        for f in files:
            if not f.endswith(('.c', '.h')): continue
            path = os.path.join(d, f)
            mod = module_of(path)
            deps = includes.setdefault(mod, set())
            for inc in re.findall(r'^#include "([^"]+)\.h"', open(path).read(), re.M):
                if inc in ('html_assets', 'loader_asset'): continue   # generated
                # As the compiler finds it: beside the file, then in src/ (-Isrc).
                if os.path.exists(os.path.join(d, inc + '.h')) and d != 'src':
                    inc = module_of(os.path.join(d, inc))
                if inc != mod: deps.add(inc)

problems = []
for mod in sorted(includes):
    if mod not in rank: problems.append(f'{mod}: not in README.md\'s module map')
for mod in sorted(rank):
    if mod not in includes: problems.append(f'{mod}: in the module map, but no such file')
for mod, deps in sorted(includes.items()):
    for dep in sorted(deps):
        if mod in rank and dep in rank and rank[dep] > rank[mod]:
            problems.append(f'{mod} includes {dep}, of a later layer')

index, low, stack, on, n = {}, {}, [], set(), [0]
def visit(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in includes.get(v, ()):
        if w not in index: visit(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        scc = []
        while True:
            w = stack.pop(); on.discard(w); scc.append(w)
            if w == v: break
        if len(scc) > 1: problems.append('include circle: ' + ', '.join(sorted(scc)))
sys.setrecursionlimit(10000)
for v in sorted(includes):
    if v not in index: visit(v)

for p in problems: print('layers:', p)
print(f'layers: {len(includes)} modules in {len(layer_rank)} layers' + ('' if problems else ', no circle, no include upwards'))
sys.exit(1 if problems else 0)
PY
