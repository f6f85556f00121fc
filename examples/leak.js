// A small service with a memory leak, for README's "Finding a memory leak":
//   node --expose-gc examples/leak.js [REQUESTS]
// Every request keeps its body for a while (a bounded list of recent
// requests: memory that comes and goes, not a leak), and every fourth
// request signs a user in, opening a Session that is never closed.
// With --expose-gc it runs a full GC every 250 ms: it squeezes into a
// minute what a busy service's own full GCs show over hours.
'use strict';

class Session {
  constructor(id, user) {
    this.id = id;
    this.user = user;
    this.started = Date.now();
    this.history = new Array(32).fill(id);
  }
}

const sessions = new Map(); // the leak: a session is added at each sign-in and never deleted
const recent = [];          // the last 20000 requests: bounded
let served = 0;

function handle(user) {
  const id = ++served;
  if (id % 4 === 0) sessions.set(id, new Session(id, user)); // sign-in
  recent.push({ id, user, body: 'x'.repeat(200) + id });
  if (recent.length > 20000) recent.shift();
  return JSON.stringify({ id, user }).length;
}

const requests = Number(process.argv[2] || 300000);
const collector = typeof globalThis.gc === 'function' ? setInterval(globalThis.gc, 250) : null;
const traffic = setInterval(() => {
  for (let i = 0; i < 100; i++) handle('user' + (i % 50));
  if (served < requests) return;
  clearInterval(traffic);
  if (collector) clearInterval(collector);
  console.log(`served ${served} requests; ${sessions.size} sessions open`);
}, 10);
