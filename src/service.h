/* The main thread's one service function: act on the signals waiting
 * (signals.h), then run the queued requests (dispatch.h). It runs from the
 * main thread's event loop when woken (wake.h), and from inside busy
 * JavaScript through the rescue path (rescue.h): the same work either
 * way. */
#ifndef NP_SERVICE_H
#define NP_SERVICE_H

#include <stdbool.h>

#include "napi_weak.h"

/* Main thread. Does nothing once the process is shutting down. */
void np_service_run(napi_env env);

/* Whether work waits for the main thread (any thread; for escalate.h). */
bool np_service_waiting(void);

#endif
