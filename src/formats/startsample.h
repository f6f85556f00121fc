/* The sample V8 takes inside our own Profiler.start.
 *
 * When a CPU profile starts, V8 records the current stack as its first
 * sample (CpuProfiler::StartProfiling, AddCurrentStack): that stack is ours,
 * the inspector call that started the profile (`dispatch`, or node:inspector's
 * `post`), under the loader at start-up. Its time runs to the next tick, 1 to
 * 25 ms on a loaded machine; and the profile's startTime comes before V8
 * logs the existing code (Profiler.start's own work, 5 to 30 ms). Both are
 * nodeprof's start-up, not the app's.
 *
 * cpu.c calls it on a profile started afresh (at init, by `cpu start`), not
 * on one that follows a dump or a fold, which continues the one before it.
 * np_drop_start_sample() edits a profile as V8 writes it, in place: it
 * removes the first sample when its frame is that call, and the next ones
 * (up to 4 in all) while they are in the rest of our start-up (node's
 * `dlopen` returning into the loader, the loader), and moves startTime to
 * the first sample kept (V8 does not count the first in its node's
 * hitCount: that stays). Anything else
 * (another first frame, a profile of one sample, text of another shape) is
 * left as it is. Returns the number of samples dropped. */
#ifndef NP_STARTSAMPLE_H
#define NP_STARTSAMPLE_H

#include <stddef.h>

int np_drop_start_sample(char *json, size_t *len);

#endif
