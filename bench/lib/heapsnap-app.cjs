// Builds a realistic object graph and writes heap snapshots of it, for the
// `nodeprof heap` benchmark.
//   node --max-old-space-size=... heapsnap-app.cjs --mb HEAP_MB --out PREFIX
// Users with sessions in a Map cache, orders with item arrays, closures
// over per-request state, event listeners, Buffers, interned and built
// strings; then writes PREFIX-a.heapsnapshot, churns (frees a quarter,
// allocates as many again) and writes PREFIX-b.heapsnapshot, so that the
// pair has new, deleted and kept objects for `heap diff`.
'use strict';
const v8 = require('node:v8');
const { EventEmitter } = require('node:events');

const argv = process.argv.slice(2);
const arg = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : dflt; };
const targetMb = Number(arg('--mb', 50));
const out = arg('--out', '/tmp/heapsnap-bench');

class User { constructor(i) { this.id = i; this.name = `user-${i}`; this.email = `u${i}@example.com`; this.roles = ['r' + (i % 5)]; } }
class Session { constructor(user, i) { this.user = user; this.token = 'tok' + i.toString(36); this.created = i; this.data = { hits: i % 13, path: '/p/' + (i % 97) }; } }
class Order { constructor(user, i) { this.user = user; this.items = []; for (let k = 0; k < 1 + (i % 4); k++) this.items.push({ sku: 'sku' + ((i * 31 + k) % 5000), qty: k + 1, price: (i % 100) * 1.25 }); } }

const users = [], sessions = new Map(), orders = [], handlers = [], buffers = [];
const bus = new EventEmitter();
bus.setMaxListeners(0);
let n = 0;
function addOne() {
  const i = n++;
  const u = new User(i);
  users.push(u);
  sessions.set(u.name, new Session(u, i));
  orders.push(new Order(u, i));
  if (i % 4 === 0) { const state = { seen: i, label: 'h' + i }; handlers.push(() => state.seen++); }
  if (i % 50 === 0) bus.on('tick', () => u.id);
  if (i % 200 === 0) buffers.push(Buffer.alloc(512, i & 255));
}
while (process.memoryUsage().heapUsed < targetMb * 1048576) for (let k = 0; k < 10000; k++) addOne();
globalThis.benchGraph = { users, sessions, orders, handlers, buffers, bus };
v8.writeHeapSnapshot(`${out}-a.heapsnapshot`);
// churn: a quarter of the users leave, as many arrive
const leave = Math.floor(users.length / 4);
for (let k = 0; k < leave; k++) { const u = users[k * 4]; sessions.delete(u.name); orders[k * 4] = null; }
for (let k = 0; k < leave; k++) addOne();
v8.writeHeapSnapshot(`${out}-b.heapsnapshot`);
process.stdout.write(JSON.stringify({ objects: n, heapUsed: process.memoryUsage().heapUsed }) + '\n');
