/* Is there memory for a heap snapshot? A snapshot costs several times the
 * heap (measured: RSS rises by 9.5 to 12 times the used heap; a 200 MB heap
 * peaked at 2.6 GB). Looks at MemAvailable and, in a container, the
 * cgroup's limit. */
#ifndef NP_HEADROOM_H
#define NP_HEADROOM_H

#include <stddef.h>

/* Bytes that can still be used without hitting MemAvailable or the cgroup
 * limit (v2 memory.max, or v1 memory.limit_in_bytes); -1 if unknown. */
double np_headroom_bytes(void);

/* 0 if a snapshot of a heap using heap_used bytes, costing factor times
 * that, fits (factor 0: always); otherwise -1 with a sentence in why. */
int np_headroom_check(double heap_used, long factor, char *why, size_t whylen);

#endif
