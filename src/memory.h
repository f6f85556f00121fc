/* The memory timeline (NODEPROF_MEMORY): every period, on the main thread,
 * the process's memory (process.memoryUsage()), each V8 heap space, the
 * heap used after the last full GC, the GC pauses since the last sample and
 * the event loop's delay, appended as one JSON line to
 * `<name>.memory.jsonl` (formats/memtimeline.h reads it back).
 *
 * Where the figures come from, and why:
 *   - process.memoryUsage, v8.getHeapSpaceStatistics, v8.GCProfiler and
 *     perf_hooks.monitorEventLoopDelay are looked up once, at start-up,
 *     before the app's code runs: an app that replaces them later does
 *     not see us call them.
 *   - GC pauses: a v8.GCProfiler (when node has one: the feature is
 *     detected, not the version) records every GC in C++ (type, pause,
 *     heap before and after) and allocates nothing on the JavaScript heap
 *     until it is read. It is read ("drained": stop, then start again at
 *     once) every second at most, so that what it buffers, about 3 KB a
 *     GC, stays small even when the app collects hundreds of times a
 *     second. perf_hooks' PerformanceObserver('gc') was the other
 *     candidate: it allocates an entry per GC on the JS heap and gives no
 *     heap size after the GC; bench/memory.mjs measures both.
 *   - "Heap after the last full GC" is the usedHeapSize that GCProfiler
 *     reports after the last MarkSweepCompact GC: exact, measured by V8 at
 *     the end of that GC, not sampled later.
 *   - Event loop delay: monitorEventLoopDelay with a 20 ms resolution
 *     (its timer wakes an idle loop 50 times a second; 10 ms, node's
 *     default, doubles that for no use here), reset at each sample. The
 *     histogram records the timer's whole interval: the resolution is
 *     subtracted, so an idle loop shows about 0.
 *
 * The timer is unref'd (it never keeps the app alive) and its callback
 * runs no JavaScript the app can see. Each line is one write(2) with
 * O_APPEND, so a process killed at any point (SIGKILL, the OOM killer)
 * leaves only whole lines. The file starts with a header line; past
 * NODEPROF_MEMORY_FILE_SIZE bytes (16 MiB) a new file (a new NODEPROF_NAME
 * expansion, with its own header) is started, and NODEPROF_KEEP applies to these files as
 * to any other kind. The last NP_MEMORY_RING samples are also kept in
 * memory for `nodeprof ctl PID memory`.
 *
 * The GC profiler is also the process's one source of "heap after each
 * full GC" for the leak watch (leakwatch.h): with NODEPROF_MEMORY off it
 * runs alone, drained every second, with no file and no loop-delay
 * histogram. */
#ifndef NP_MEMORY_H
#define NP_MEMORY_H

#include <stdio.h>

#include "thread.h"

#define NP_MEMORY_RING 720             /* 2 hours at 10 s */
#define NP_MEMORY_DRAIN_MS 1000L

/* Starts the timeline on the main thread when NODEPROF_MEMORY is set;
 * does nothing on other threads. Returns 0 or -1 (logged). */
int np_memory_start(struct np_thread *t);

/* Called on the main thread with the full (mark-compact) GCs that ended
 * since the last call, oldest first: the heap used at the end of each.
 * From the timer, after the GC profiler's drain (every second at most),
 * not from inside a GC. */
typedef void (*np_full_gc_fn)(struct np_thread *t, const double *heap_after, int n);
#define NP_FULL_GC_BATCH 32            /* full GCs kept between two drains */

/* Main thread, after np_memory_start: fn is called for every full GC from
 * now on. With the timeline off, the same GC profiler runs (drained every
 * second) without a file. One watcher; -1 (logged) on other threads or
 * without v8.GCProfiler. */
int np_memory_watch_full_gc(struct np_thread *t, np_full_gc_fn fn);

/* The process is ending: one last sample, and the file is closed. */
void np_memory_finish(struct np_thread *t);

/* `memory` control command: the current figures and the trend of the
 * samples kept in memory, after an "ok" line; or an "error:" line and -1
 * (the timeline is off). */
int np_memory_reply(struct np_thread *t, FILE *out);

#endif
