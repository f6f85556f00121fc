/* NODEPROF_HEAPSNAPSHOT_NEAR_LIMIT: heap snapshots as the main heap nears
 * the limit where node dies of "JavaScript heap out of memory", the k-th
 * (k = 0, 1, ...) when it passes 1 - 0.25 / 2^k of it: 75 %, 87.5 %,
 * 93.75 %... The helper worker reads the heap's size every 50 ms
 * (rescue.h): it answers also while the main thread is busy, which a heap
 * about to run out usually is. */
#ifndef NP_HEAPWATCH_H
#define NP_HEAPWATCH_H

#include "napi_weak.h"

/* Main thread, at start-up: learn the limit. */
void np_heapwatch_init(napi_env env);
/* Agent thread's loop, before it runs: start polling. */
void np_heapwatch_start(void);

#endif
