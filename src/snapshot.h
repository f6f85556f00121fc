/* Heap snapshots (HeapProfiler.takeHeapSnapshot): the chunks the inspector
 * emits are written straight to the file, mode 0600 (a snapshot holds the
 * app's data). Refused when memory looks too short, unless forced. */
#ifndef NP_SNAPSHOT_H
#define NP_SNAPSHOT_H

#include <stdbool.h>
#include <stdio.h>

#include "agent.h"
#include "writer.h"

/* Returns 0, or -1 with the reason in w->error. */
int np_snapshot_write(struct np_thread *t, bool force, struct np_written *w);

#endif
