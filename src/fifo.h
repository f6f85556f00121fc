/* The control FIFO: /tmp/nodeprof-<uid>/<pid>.ctl (or NODEPROF_FIFO).
 *
 * The agent thread reads it, splits what it reads into command lines and
 * hands each to its sink (dispatch.h). A line longer than NP_COMMAND_MAX is dropped,
 * but its error still goes to the reply path it names in its first 1024
 * bytes or its last 600.
 *
 * Once a second an unref'd timer on the agent thread's loop checks that the
 * FIFO at the path is still the one we created (dev/ino): a /tmp cleaner or
 * an rm -rf of the run directory once left a process unreachable for good.
 * It is made again with the checks of the start, and a directory another
 * user put in its place is refused. */
#ifndef NP_FIFO_H
#define NP_FIFO_H

#include <stddef.h>

/* Where lines go (agent thread): a whole line, or the error for the sender
 * of one that could not be taken (reply_path may be ""). */
struct np_fifo_sink {
    void (*line)(const char *line, size_t len);
    void (*reject)(const char *reply_path, const char *why);
};

/* Agent thread's loop, before it runs: create the FIFO and watch it. */
void np_fifo_open(struct np_fifo_sink sink);
/* Removes the FIFO if it is still ours (at exit, by any path). Any thread. */
void np_fifo_close(void);
/* In a signal handler about to end the process (crash.h): removes the
 * FIFO if it is still ours, taking no lock (async-signal-safe). */
void np_fifo_remove_in_handler(void);
/* The FIFO's path, "" when there is none. */
const char *np_fifo_path(void);

#endif
