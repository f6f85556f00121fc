/* The CLI's heap for large inputs: one region of transparent huge pages.
 *
 * Reading a 100 MB .cpuprofile touches some 200 MB of fresh memory, in
 * arrays that grow, are freed and are allocated again phase by phase; a
 * heap snapshot's analysis more, much of it at random (the dominators).
 * With 4 KiB pages that was 15,900 page faults, and on a virtual machine
 * where a fault costs 14 to 19 µs (issue 8) they were half of `convert`'s
 * time. Huge pages are used only where advised (the kernel's default THP
 * mode, "madvise"), and glibc advises none of its own.
 *
 * So, before the first large input, the CLI takes every allocation from
 * the brk heap (no mmap'd blocks), keeps what is freed (no trimming),
 * grows the heap once by the expected peak and advises that range huge:
 * the arrays allocated later reuse it. The range is virtual until
 * touched, so peak RSS stays what the work needs. CLI only: the agent
 * never changes node's allocator. */
#ifndef NODEPROF_CLI_BIGHEAP_H
#define NODEPROF_CLI_BIGHEAP_H

#include <stddef.h>

/* For an input of `bytes` (a regular file's size), before it is read: does
 * the above when bytes is large enough to matter, and nothing otherwise.
 * Called for each input (a `heap leaks` reads three snapshots). */
void cli_bigheap_prepare(size_t bytes);

#endif
