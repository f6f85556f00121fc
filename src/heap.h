/* The sampling heap profiler (HeapProfiler.startSampling), like node's
 * --heap-prof: on from start-up with NODEPROF_HEAP=on, written at exit.
 * It reports the sampled objects that are still alive. */
#ifndef NP_HEAP_H
#define NP_HEAP_H

#include "thread.h"
#include "writer.h"

int np_heap_start(struct np_thread *t, long interval_bytes);
/* Writes the sampling profile so far; keeps sampling when keep_running. */
int np_heap_write(struct np_thread *t, bool keep_running, struct np_written *w);
/* At the end: stop sampling and write. */
void np_heap_finish(struct np_thread *t);

#endif
