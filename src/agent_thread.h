/* The agent thread: a thread of ours with its own libuv loop (node's
 * libuv, through Node-API-free uv_* calls). It watches the terminating
 * signals, which libuv delivers to it even while the main thread spins in
 * JavaScript, and forwards work to the main thread. */
#ifndef NODEPROF_AGENT_THREAD_H
#define NODEPROF_AGENT_THREAD_H

int np_agent_thread_start(void);

/* Runs fn(arg) on the agent thread's loop (thread-safe). */
void np_agent_thread_wake(void);

#endif
