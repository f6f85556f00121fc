/* The CPU profile of one JavaScript thread, through its inspector session
 * (Profiler.start / Profiler.stop).
 *
 * V8's profiler agent disposes of its CpuProfiler when no profile is left
 * running, and a new one attributes code that was optimized before it
 * started to the callers of inlined functions. So `cpu dump` keeps a
 * console profile (the "bridge") running across its stop and start: the
 * profiler, with what it knows of the code, lives on, and the next profile
 * starts a fraction of a millisecond after the last one ended.
 *
 * V8 keeps every sample of a running profile (about 7 MB of profile and
 * 10 to 30 MB of RSS per million samples, measured). So every
 * NODEPROF_CPU_WINDOW (10 s, or 10,000 sampling intervals) the profile
 * is stopped and restarted in the same way, on the thread's own loop, and
 * the stopped window is folded into per-stack totals (formats/cpufold.h);
 * written profiles are the folded totals plus the current window. */
#ifndef NP_CPU_H
#define NP_CPU_H

#include "thread.h"
#include "writer.h"

int np_cpu_start(struct np_thread *t, long interval_us);
/* Stops the running profile and writes it. Returns files written. */
int np_cpu_stop_and_write(struct np_thread *t, struct np_written *w);
/* Writes the profile so far and goes on profiling. Returns files written. */
int np_cpu_dump(struct np_thread *t, struct np_written *w);

/* inspector.console.profile(title) or profileEnd(title) (method), as the
 * bridge does; title: a word of ours, not quoted. Returns 0 or -1. */
int np_cpu_console_call(struct np_thread *t, const char *method, const char *title);

/* t is about to be freed (node's cleanup hooks run last-registered first,
 * so the folding timer's own hook may run after that): forget it. */
void np_cpu_forget_thread(struct np_thread *t);

#endif
