/* What a profile's text does not say, for its pprof (formats/profile.h):
 * when it began on the wall clock, how long it covered, the heap's
 * sampling interval, NODEPROF_LABELS. The writer (every file) and the
 * HTTP endpoints fill it in just before they write.
 *
 * V8's startTime and endTime are its monotonic clock (CLOCK_MONOTONIC on
 * Linux, microseconds since boot): `go tool pprof` showed 1970 from them.
 * The offset between the two clocks, read now, moves them to the wall
 * clock; a profile whose endTime is not near the monotonic now (another
 * clock) is placed as ending now instead. */
#ifndef NP_PROFMETA_H
#define NP_PROFMETA_H

#include "formats/profile.h"

/* span_start_ms: wall-clock ms when heap sampling began (0: unknown, the
 * heap profile is then an instant, now); heap_interval: its bytes (0:
 * NODEPROF_HEAP_INTERVAL). */
void np_profmeta_fill(struct np_profile *p, double span_start_ms, long heap_interval);

/* This thread's next heap profile was sampled every `bytes` (heap.c sets
 * it before a write; `heap start 64k` differs from the configuration). */
void np_profmeta_heap_interval(long bytes);
long np_profmeta_current_heap_interval(void);

#endif
