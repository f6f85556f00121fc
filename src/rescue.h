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
 * The same helper polls the main heap's size for
 * NODEPROF_HEAPSNAPSHOT_NEAR_LIMIT. */
#ifndef NP_RESCUE_H
#define NP_RESCUE_H

#include <stdatomic.h>
#include <stdbool.h>

#include "napi_weak.h"

struct np_rescue {
    char token[40];                 /* marks our helper among workers */
    napi_ref worker;                /* main thread: the Worker object */
    napi_threadsafe_function wake;  /* runs on the helper's thread */
    atomic_bool ready;
    atomic_bool in_flight;          /* a rescue evaluation is under way */
    atomic_bool poll_wanted;        /* a heap-size poll is asked for */
    atomic_bool rescue_wanted;
    double heap_limit;              /* bytes: the old generation's limit */
    atomic_int near_limit_taken;
    uv_timer_t poll_timer;          /* agent thread */
};

/* Main thread, at start-up: the hidden function and the helper worker. */
int np_rescue_install(napi_env env);
/* Helper worker's init: true if this worker is our helper (and set it up). */
bool np_rescue_is_helper(napi_env env);
/* Any thread: ask the helper to run the main thread's queue now. */
void np_rescue_request(void);
/* Agent thread: start polling the heap size (near-limit snapshots). */
void np_rescue_start_heap_watch(void);

#endif
