/* The agent thread: a thread of ours with its own libuv loop (node's own
 * libuv). It watches the terminating signals and NODEPROF_SIGNAL, which
 * libuv delivers to every loop watching them, also while the main thread
 * spins in JavaScript; it reads the control FIFO, runs the continuous-mode
 * timer, and sends replies. Work for JavaScript goes to the main thread. */
#ifndef NP_AGENT_THREAD_H
#define NP_AGENT_THREAD_H

int np_agent_thread_start(void);

/* Wakes the agent thread to send replies (thread-safe). */
void np_agent_thread_wake(void);

#endif
