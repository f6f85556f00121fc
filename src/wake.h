/* Waking the other threads: how any thread of ours asks
 *   - the main thread to serve requests (service.h), through a
 *     thread-safe function on its event loop that never keeps it alive;
 *   - the helper worker to act (rescue.h), through a thread-safe function
 *     on the helper's loop, which it keeps alive;
 *   - the agent thread to look at its work (agent_thread.h), through an
 *     async handle on the agent thread's own libuv loop, owned here.
 *
 * Node frees a thread-safe function right after its finalizer runs, so no
 * call may straddle that moment: calls and finalizers take one lock, and a
 * finalized function is never called again. Once the process is shutting
 * down (its final profiles written or being written) no thread is woken. */
#ifndef NP_WAKE_H
#define NP_WAKE_H

#include <stdbool.h>

#include "napi_weak.h"

enum np_waker_id { NP_WAKE_MAIN, NP_WAKE_HELPER, NP_NWAKERS };

/* On the thread of env: from now on np_wake(id) makes that thread call
 * run(env) from its event loop. keep_alive: whether this keeps the loop
 * alive. Returns 0 or -1. */
int np_wake_bind(enum np_waker_id id, napi_env env, void (*run)(napi_env env), bool keep_alive);
/* Any thread: false once the thread is gone or the process shuts down. */
bool np_wake(enum np_waker_id id);
bool np_wake_bound(enum np_waker_id id);
/* The thread behind id died (the helper's 'error'): do not call it. */
void np_wake_forget(enum np_waker_id id);

/* The agent thread's loop (before the thread runs it): on_wake runs on
 * the agent thread after each np_wake_agent. */
int np_agent_loop_init(void (*on_wake)(void));
uv_loop_t *np_agent_loop(void);
/* Any thread, any time (nothing before np_agent_loop_init). */
void np_wake_agent(void);

bool np_shutting_down(void);
/* The main thread's final profiles are being written: wake nobody again. */
void np_begin_shutdown(void);

#endif
