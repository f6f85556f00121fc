/* Getting the main thread to serve (service.h), one way for every kind of
 * work: a control request, a signal, a period's dump.
 *
 * The main thread is woken through its event loop first. If the work is
 * still waiting NP_ESCALATE_MS later (at once for `stack`, which wants the
 * stack of this instant), the thread is busy in JavaScript, and the helper
 * worker serves it from inside (rescue.h). A pass still running when the
 * time is up (a long heap snapshot) is given the time again. 200 ms: under a
 * second even on a loaded machine, whose late timers reach 450 ms
 * (measured), and long past an idle loop's answer (under 1 ms). */
#ifndef NP_ESCALATE_H
#define NP_ESCALATE_H

#include <stdbool.h>

#define NP_ESCALATE_MS 200

/* Any thread: the main thread has work. Returns false when it can no
 * longer be woken (the process is shutting down). */
bool np_escalate(bool now);

/* Before the agent thread's loop runs: work_waiting tells, on the agent
 * thread, whether work is still waiting for the main thread. */
int np_escalate_init(bool (*work_waiting)(void));
/* Agent thread, when woken: start the timer asked for. */
void np_escalate_on_agent_wake(void);

/* Main thread, around each pass of service.h. */
void np_escalate_serving(bool serving);

#endif
