/* Start-up clock: where the agent's start-up time goes, step by step.
 * np_boot_mark(step) charges the time since the previous mark to `step`
 * (wall and main-thread CPU time); np_boot_report() logs the list in one
 * debug line (NODEPROF_LOG=debug). The first mark is set by the
 * constructor, so the first step is node's own start-up plus the loader.
 * A mark costs two clock_gettime calls (about 50 ns). Main thread only. */
#ifndef NP_BOOT_H
#define NP_BOOT_H

void np_boot_mark(const char *step);
/* The first mark, taken earlier (by the preloaded object's constructor,
 * common/handoff.h) with the same clocks, in ms. */
void np_boot_begin(double wall_ms, double cpu_ms);
void np_boot_report(const char *what);

#endif
