/* The agent thread: a thread of ours with its own libuv loop (node's own
 * libuv, wake.h). It watches the terminating signals and NODEPROF_SIGNAL
 * (signals.h), which libuv delivers to every loop watching them, also
 * while the main thread spins in JavaScript; it reads the control FIFO
 * (fifo.h), runs the continuous-mode timer (NODEPROF_PERIOD), the
 * escalation timer (escalate.h) and the heap watch (heapwatch.h), and sends
 * replies (dispatch.h). It never runs JavaScript and never blocks on a
 * peer: work for JavaScript goes to the main thread. */
#ifndef NP_AGENT_THREAD_H
#define NP_AGENT_THREAD_H

/* Main thread, at start-up. Returns 0 or -1 (logged). */
int np_agent_thread_start(void);

#endif
