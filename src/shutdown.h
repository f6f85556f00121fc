/* How a profiled process ends, and the final profiles it writes.
 *
 * - Event loop drains, process.exit(), uncaught exception, unhandled
 *   rejection: node emits 'exit' and our listener (added before any user
 *   code, so it runs first) writes the profiles.
 * - SIGINT, SIGTERM, SIGHUP: the agent thread sees them (libuv delivers a
 *   signal to every watcher, the app's too) and asks the main thread. If the
 *   app listens for that signal, the app decides, as without us; otherwise
 *   the profiles are written and the process dies of the same signal.
 * - If the main thread does not answer in 200 ms (it spins in synchronous
 *   JavaScript), the helper worker runs the same inside it (rescue.h); if
 *   that has not ended it by 1.2 s, the agent thread makes the process die
 *   of the signal without a profile, as node alone would.
 * - Node as PID 1 of a namespace (a container) without a listener: the
 *   kernel drops the signal, and node alone goes on. So does the app; the
 *   profiles so far are written as by `cpu dump` (agent_thread.c). */
#ifndef NP_SHUTDOWN_H
#define NP_SHUTDOWN_H

#include "agent.h"

/* Adds the 'exit' listener (and, on the main thread, tracks the app's
 * signal listeners). */
int np_shutdown_install(struct np_thread *t);

/* Writes the final profiles of t, once. */
void np_finish_thread(struct np_thread *t, const char *why);

/* On the main thread: act on signals the agent thread forwarded. */
void np_shutdown_handle_signals(void);

/* Ends the process by sig with the default action. Never returns. */
void np_die_by_signal(int sig) __attribute__((noreturn));

/* Index of sig in np_term_signals, or -1. */
int np_term_index(int sig);

#endif
