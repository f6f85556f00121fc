// A small app with a clear hot spot, for trying nodeprof:
//   make && build/nodeprof run -- node examples/busy.js
// then: build/nodeprof top nodeprof-*.cpuprofile
'use strict';

function isPrime(n) {
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return n > 1;
}

function countPrimes(limit) {
  let count = 0;
  for (let n = 2; n < limit; n++) if (isPrime(n)) count++;
  return count;
}

function render(count) {
  return JSON.stringify({ primes: count, at: new Date(0).toISOString() });
}

let total = 0;
const deadline = Date.now() + 1000;
while (Date.now() < deadline) total += countPrimes(20000);
console.log(render(total));
