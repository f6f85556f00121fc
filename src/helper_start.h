/* When the helper worker (rescue.h) starts: NODEPROF_HELPER.
 *
 * `eager`: at the agent's init, before the app's first line. The only way
 * to rescue a process that is busy from its first line and never yields:
 * creating a Worker needs the main thread in JavaScript, which such a
 * process never gives back. The price: the Worker's constructor takes 4 to
 * 7 ms of the main thread, its isolate boots on another core (about 70 ms
 * of CPU), and a process that ends during the boot waits for it: `node -e
 * 0` took 1.7 to 1.9 times as long as plain node.
 *
 * `on` (the default): at the first event-loop turn 50 ms or more after the
 * agent's init, from an unref'd timer (it keeps nothing alive). A process
 * that never reaches its event loop (`node -e 0`, a synchronous script, one
 * busy from its first line) or ends within 50 ms never starts the helper;
 * one that is still there and yields once after 50 ms has the rescue path
 * for every busy stretch after that. A process that goes busy for good
 * within its first 50 ms is not rescued.
 *
 * Near-limit snapshots (NODEPROF_HEAPSNAPSHOT_NEAR_LIMIT) need the helper's
 * heap polls from the start: with them, `on` starts it at init too. */
#ifndef NP_HELPER_START_H
#define NP_HELPER_START_H

#include "napi_weak.h"

enum np_helper_mode { NP_HELPER_OFF = 0, NP_HELPER_ON, NP_HELPER_EAGER };

/* Main thread, at the agent's init: starts the helper now or arranges for
 * its start, as configured. */
void np_helper_schedule(napi_env env);

#endif
