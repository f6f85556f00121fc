/* The profiles the pprof endpoints (http.h) take, on the main thread, on a
 * second inspector session of their own: V8 gives each session its own
 * profiler agent, so a CPU profile started here runs beside the one the
 * main session keeps for the exit profile, NODEPROF_PERIOD and `cpu dump`
 * (measured on node 20 and 24: both profiles sample the whole time, and
 * stopping one leaves the other running). The cost: while both run, V8
 * samples the thread twice per interval.
 *
 * A profile started on a fresh profiler attributes code optimized before it
 * to the callers of inlined functions (cpu.h); the endpoint's profile, like
 * Go's, is of the next N seconds only, so that is accepted.
 *
 * Heap: when the main session samples (NODEPROF_HEAP=on, `heap start`), the
 * endpoint reads its profile; otherwise this session samples for the
 * request's seconds and stops. Main thread only. */
#ifndef NP_HTTPPROF_H
#define NP_HTTPPROF_H

#include <stdbool.h>
#include <stddef.h>

#include "thread.h"

/* Returns 0, or -1 (logged). */
int np_httpprof_cpu_start(struct np_thread *t, long interval_us);
/* Stops it; its .cpuprofile JSON (malloc'd) or NULL. */
char *np_httpprof_cpu_stop(struct np_thread *t, size_t *len);

/* Whether the main session samples the heap already: then
 * np_httpprof_heap_read reads that, now. */
bool np_httpprof_heap_shared(struct np_thread *t);
int np_httpprof_heap_start(struct np_thread *t, long interval_bytes);
/* The .heapprofile JSON (malloc'd) or NULL: the main session's, without
 * stopping it, when shared; else this session's, which stops. */
char *np_httpprof_heap_read(struct np_thread *t, size_t *len);

#endif
