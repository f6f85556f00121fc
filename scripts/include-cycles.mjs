#!/usr/bin/env node
// Import circles among the modules of one directory: a module is x.c with
// x.h, and `#include "dir/y.h"` (or "y.h") in either is an arrow x -> y.
// Prints each circle found and exits 1, or prints nothing and exits 0.
//   node scripts/include-cycles.mjs src/formats
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: include-cycles.mjs DIR\n');
  process.exit(2);
}
const arrows = new Map(); // module -> Set of modules
for (const file of readdirSync(dir)) {
  if (!/\.[ch]$/.test(file)) continue;
  const mod = file.slice(0, -2);
  if (!arrows.has(mod)) arrows.set(mod, new Set());
  for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/^\s*#\s*include\s+"([^"]+)\.h"/gm)) {
    const target = basename(m[1]);
    if (target !== mod && (m[1] === target || m[1].startsWith(basename(dir) + '/'))) arrows.get(mod).add(target);
  }
}
const state = new Map(); // 1: on the path, 2: done
const path = [];
const circles = [];
function visit(mod) {
  state.set(mod, 1);
  path.push(mod);
  for (const next of arrows.get(mod) ?? []) {
    if (!arrows.has(next)) continue;
    if (state.get(next) === 1) circles.push([...path.slice(path.indexOf(next)), next].join(' -> '));
    else if (!state.get(next)) visit(next);
  }
  path.pop();
  state.set(mod, 2);
}
for (const mod of [...arrows.keys()].sort()) if (!state.get(mod)) visit(mod);
for (const c of circles) process.stdout.write(c + '\n');
process.exit(circles.length ? 1 : 0);
