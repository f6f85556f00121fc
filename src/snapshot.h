/* Heap snapshots, written by v8.writeHeapSnapshot into a 0600 temporary
 * file and renamed into place with NODEPROF_FILE_MODE (0600 by default: a
 * snapshot holds the app's data). Refused when memory looks too short,
 * unless forced. A failed one (disk full) gives its space back. */
#ifndef NP_SNAPSHOT_H
#define NP_SNAPSHOT_H

#include <stdbool.h>
#include <stdio.h>

#include "thread.h"
#include "writer.h"

/* Returns 0, or -1 with the reason in w->error (also when another
 * snapshot is being written: never two at once). */
int np_snapshot_write(struct np_thread *t, bool force, struct np_written *w);

/* Whether a snapshot is being written now (any thread). */
bool np_snapshot_running(void);

#endif
