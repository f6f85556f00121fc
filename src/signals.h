/* The terminating signals (SIGINT, SIGTERM, SIGHUP) and NODEPROF_SIGNAL.
 *
 * libuv delivers a signal to every loop watching it, the app's and the
 * agent thread's, also while the main thread spins in JavaScript. So the
 * agent thread sees each one and:
 * - if the app listens for it, does nothing: the app decides, as without us;
 * - otherwise asks the main thread (escalate.h: its event loop, then the
 *   rescue path) to write the final profiles and die of the same signal;
 *   if that has not ended the process after NP_LAST_RESORT_MS, it dies of
 *   the signal without a profile, as node alone would;
 * - node as PID 1 of a namespace (a container's entrypoint) with no
 *   listener: the kernel drops a default-action signal sent to PID 1, and
 *   node alone goes on running. So does the app under nodeprof; it gets the
 *   profiles so far on disk (as `cpu dump`), for the SIGKILL that usually
 *   follows.
 * NODEPROF_SIGNAL queues its NODEPROF_SIGNAL_ACTION as a request. */
#ifndef NP_SIGNALS_H
#define NP_SIGNALS_H

#include <stdbool.h>

#include "napi_weak.h"
#include "termsig.h" /* np_die_by_signal */

/* Under the 2 s that nodeprof promises, with room for a loaded machine's
 * late timers (measured: up to 450 ms late). */
#define NP_LAST_RESORT_MS 1200

/* Main thread, at start-up: follow the app's listeners for the signals. */
int np_signals_track_app(napi_env env);
/* Agent thread's loop, before it runs: watch the signals. */
int np_signals_watch(void);

/* Whether a signal waits for the main thread (any thread). */
bool np_signals_waiting(void);
/* Main thread: act on the signals waiting (may not return). */
void np_signals_handle(void);


#endif
