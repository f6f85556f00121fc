/* The profiles the pprof endpoints (http.h) take, on the main thread.
 *
 * CPU: a console profile of the main session (inspector.console.profile
 * with a title of ours), which V8 runs beside the session's own profile
 * (the exit profile, NODEPROF_PERIOD, `cpu dump`, whose bridge has another
 * title) on the same profiler: it knows the code compiled since start-up.
 * A second inspector session would have a profiler of its own, which
 * attributes code optimized before it started to the callers of inlined
 * functions: measured on node 24, a hot function inlined into its caller
 * had all its samples (103 of 105) given to the caller, against 84 of 86
 * to itself in the console profile. The profile comes back in the
 * session's Profiler.consoleProfileFinished event, delivered during
 * profileEnd (same-thread sessions are synchronous).
 *
 * Heap: when the main session samples (NODEPROF_HEAP=on, `heap start`), the
 * endpoint reads its profile without stopping it; otherwise a second
 * session of ours samples for the request's seconds and stops. Main thread
 * only. */
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
