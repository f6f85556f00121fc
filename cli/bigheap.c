#include "bigheap.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Below this an input's page faults cost under a few milliseconds. */
#define BIGHEAP_MIN_INPUT (8u << 20)

/* The peak of a conversion, as a multiple of its input: 2.1 measured for
 * a .cpuprofile (README, Benchmarks); the rest is headroom, which costs
 * address space only. */
#define BIGHEAP_PEAK_FACTOR 3

static void advise_huge(void *block, size_t len)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)block + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)block + len) & ~(page - 1);
    if (end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
}

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
    advise_huge(block, malloc_usable_size(block));
    free(block); /* stays in the heap, advised, for the arrays to come */
}
