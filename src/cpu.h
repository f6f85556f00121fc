/* The CPU profile of one JavaScript thread, through inspector sessions.
 * Two sessions take turns: a dump starts the next profile on the idle
 * session before it stops the running one, so consecutive files overlap by
 * a few milliseconds instead of leaving a gap. */
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
