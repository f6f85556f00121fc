// A small real script for bench/startup.mjs --app: what a short CLI does.
// Requires a few modules, reads and parses a JSON file asynchronously,
// does a little work (about 10 ms), and writes its answer to a file.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { createHash } = require('node:crypto');

async function main() {
  const pkg = JSON.parse(await fs.promises.readFile(path.join(__dirname, '..', '..', 'package.json'), 'utf8')
    .catch(() => '{"name":"nodeprof"}'));
  let h = createHash('sha256');
  for (let i = 0; i < 20000; i++) h.update(`${pkg.name}:${i}`);
  const out = path.join(os.tmpdir(), `nodeprof-bench-small-${process.pid}.txt`);
  await fs.promises.writeFile(out, h.digest('hex'));
  await fs.promises.unlink(out);
}
main();
