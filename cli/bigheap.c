#include "bigheap.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "formats/intern.h"

/* Below this an input's page faults cost under a few milliseconds. */
#define BIGHEAP_MIN_INPUT (8u << 20)

/* The peak of a conversion, as a multiple of its input: 2.1 measured for
 * a .cpuprofile (README, Benchmarks); the rest is headroom, which costs
 * address space only. */
#define BIGHEAP_PEAK_FACTOR 3

void cli_bigheap_prepare(size_t bytes)
{
    static int tuned; /* 1: done, -1: this malloc does not take the options */
    if (bytes < BIGHEAP_MIN_INPUT || bytes > SIZE_MAX / BIGHEAP_PEAK_FACTOR) return;
    /* glibc falls back to mmap by itself if the heap cannot grow. */
    if (!tuned) tuned = mallopt(M_MMAP_MAX, 0) && mallopt(M_TRIM_THRESHOLD, -1) ? 1 : -1;
    if (tuned < 0) return;
    /* Freed memory at the top of the heap is reused first: a later input
     * (`heap diff`, `merge`) reserves only what it needs beyond it. */
    size_t reserve = bytes * BIGHEAP_PEAK_FACTOR;
    void *block = malloc(reserve);
    if (!block) return;
    np_advise_huge_pages(block);
    free(block); /* stays in the heap, advised, for the arrays to come */
}
