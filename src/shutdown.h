/* How a profiled thread ends, and the final profiles it writes.
 *
 * Event loop drains, process.exit(), uncaught exception, unhandled
 * rejection: node emits 'exit' and our listener (added before any user
 * code, so it runs first) writes the profiles. A terminating signal comes
 * through signals.h, which writes them the same way before the process
 * dies of it. */
#ifndef NP_SHUTDOWN_H
#define NP_SHUTDOWN_H

#include "thread.h"

/* Adds the 'exit' listener of t's thread. */
int np_shutdown_install(struct np_thread *t);

/* Writes the final profiles of t, once. On the main thread, the process is
 * shutting down from here on (wake.h), and the FIFO goes. */
void np_finish_thread(struct np_thread *t, const char *why);

#endif
