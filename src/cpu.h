/* The CPU profile of one JavaScript thread, through its inspector session:
 * Profiler.start at start-up, Profiler.stop at the end, written by writer.c. */
#ifndef NODEPROF_CPU_H
#define NODEPROF_CPU_H

#include "agent.h"
#include "writer.h"

int np_cpu_start(struct np_thread *t, long interval_us);
/* Stops the running profile and writes it. Returns files written. */
int np_cpu_stop_and_write(struct np_thread *t, struct np_written *w);

#endif
