/* NODEPROF_LEAK_WATCH: catching a leak in the act. The heap used after
 * each full GC comes from the memory module's GC profiler (memory.h: one
 * GC observer in the process, whether the timeline is on or not).
 *
 * The end of start-up is the first full GC that ends NODEPROF_LEAK_SETTLE
 * (60 s) or more after the agent started: by then a service has loaded its
 * modules and usually filled its caches; the heap after that GC is the
 * level the watch compares with. A fixed delay rather than "the first loop
 * turns", because start-up work (warm-up requests, lazy caches) runs for
 * many turns. When a later full GC ends above that level by more than
 * NODEPROF_LEAK_GROWTH (50 %) and by 4 MiB, and each of the last three
 * full GCs ended higher than the one before (a high-water mark stops
 * rising; one burst does not rise three times running), the baseline
 * snapshot is taken. The target is taken once the heap after a full GC has
 * grown by half that trigger growth again (at least 4 MiB: the first
 * snapshot itself leaves about 2 MB on a small heap, V8's source
 * positions), and the final one after as much more: each stretch holds
 * objects allocated and kept, which is what
 * `nodeprof heap leaks` looks for. Full GCs are rare in a growing V8 heap
 * (each raises the next one's limit by up to 4 times), so on a small heap
 * this takes a while; a service with steady traffic has them every few
 * seconds to minutes.
 *
 * Each snapshot goes through np_snapshot_write: the memory headroom check
 * (NODEPROF_SNAPSHOT_FACTOR), never two at once. At most three per
 * process; a snapshot refused or failed ends the watch. After the third,
 * one line names the files and the `nodeprof heap leaks` command; a process
 * that ends with one or two says what it has. */
#ifndef NP_LEAKWATCH_H
#define NP_LEAKWATCH_H

#include "thread.h"

#define NP_LEAK_SNAPSHOTS 3
#define NP_LEAK_MIN_GROWTH (4.0 * 1048576) /* bytes: below it, noise on a small heap */
#define NP_LEAK_RISES 3                    /* full GCs in a row, each ending higher */

/* Main thread, after np_memory_start: starts the watch when
 * NODEPROF_LEAK_WATCH=on. Returns 0 or -1 (logged). */
int np_leakwatch_start(struct np_thread *t);

/* The process is ending: a watch that took one or two snapshots says so. */
void np_leakwatch_finish(struct np_thread *t);

#endif
