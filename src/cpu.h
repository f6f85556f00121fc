/* The CPU profile of one JavaScript thread, through its inspector session.
 *
 * Every profile is a titled console profile ("nodeprof-N") of our session,
 * started and ended through V8's own console (inspector.console), and its
 * data comes back in Profiler.consoleProfileFinished, synchronously.
 * Why not Profiler.start/stop: V8's profiler agent disposes of its
 * CpuProfiler when no profile is left running, and a new one attributes
 * code optimized before it started to the callers of inlined functions.
 * With titled profiles, `cpu dump` starts the next profile before it ends
 * the current one: the profiler lives on, and consecutive files overlap by
 * a fraction of a millisecond instead of leaving a gap. */
#ifndef NP_CPU_H
#define NP_CPU_H

#include "agent.h"
#include "writer.h"

int np_cpu_start(struct np_thread *t, long interval_us);
/* Stops the running profile and writes it. Returns files written. */
int np_cpu_stop_and_write(struct np_thread *t, struct np_written *w);
/* Writes the profile so far and goes on profiling. Returns files written. */
int np_cpu_dump(struct np_thread *t, struct np_written *w);

#endif
