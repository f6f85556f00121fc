/* The rescue path: running main-thread requests while the main thread is
 * busy in JavaScript and its event loop cannot run them.
 *
 * A helper worker thread (created by the agent's init, before the app's
 * first line, which may keep the main thread busy for good; unref'd, idle;
 * 9 to 16 MB, about 5 ms of the main thread's CPU, its isolate booting in
 * parallel; hidden from process.on('worker')) connects an
 * inspector session to the main thread on demand and evaluates one call of
 * our function there. V8 serves inspector messages through interrupts, so
 * the call runs on the main thread between two JavaScript operations, even
 * inside `while (true) {}`; it runs the queued requests, and sees the app's
 * stack. The session is disconnected at once: a worker session left
 * connected makes node print "Waiting for the debugger to disconnect...".
 *
 * The same helper reads the main heap's size for heapwatch.h. */
#ifndef NP_RESCUE_H
#define NP_RESCUE_H

#include <stdbool.h>

#include "napi_weak.h"

/* Main thread, at start-up: the hidden function, which calls serve, and
 * the helper worker. */
int np_rescue_install(napi_env env, void (*serve)(napi_env env));
/* Helper worker's init: true if this worker is our helper (and set it up). */
bool np_rescue_is_helper(napi_env env);
/* Whether the helper is up and can be asked. */
bool np_rescue_ready(void);
/* Any thread: ask the helper to serve the main thread now. */
void np_rescue_request(void);
/* Any thread: have the helper read the main heap's used size (Runtime.
 * getHeapUsage); on_used gets it, on the helper's thread. */
void np_rescue_read_heap(void (*on_used)(double bytes));

#endif
