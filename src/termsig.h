/* A terminating signal (SIGINT, SIGTERM, SIGHUP) that arrived while the
 * app had no listener for it, and the death by it.
 *
 * Plain node dies of such a signal inside the kill() that sends it. We
 * watch it, so it reaches the main thread only on the event loop's next
 * turn (signals.h): an app that signals itself as its last statement, or
 * a handler that re-raises the signal after closing what kept the loop
 * alive (signal-exit, many shutdown paths), ended first and exited 0,
 * where plain node died of the signal (143 for SIGTERM). So the signal
 * handler notes the signal here, and the 'exit' listener (shutdown.h),
 * once the profiles are written, dies of it. */
#ifndef NP_TERMSIG_H
#define NP_TERMSIG_H

/* Signal context (async-signal-safe): sig arrived with no listener of the
 * app. Only the first one counts, as in plain node. */
void np_termsig_note(int sig);

/* The first signal noted, or 0. */
int np_termsig_arrived(void);

/* Ends the process by sig with the default action. Never returns. */
void np_die_by_signal(int sig) __attribute__((noreturn));

#endif
