/* Native stacks as control commands and as a signal action; the agent
 * thread answers them itself, without the main thread:
 *
 *   stack native     the main thread's native stack now
 *   stack all        every thread's (alias: threads)
 *   stack            as before (JavaScript, through the main thread or the
 *                    rescue path); when neither has taken it after
 *                    NP_STACK_FALLBACK_MS and the main thread is found
 *                    twice outside JavaScript (asleep in the kernel, or
 *                    running an addon's code), its native stack is the
 *                    answer.
 *   NODEPROF_SIGNAL_ACTION=stacks   every thread's stack to <name>.stacks.txt
 */
#ifndef NP_NATIVE_H
#define NP_NATIVE_H

#include <stdbool.h>

#include "request.h"

/* The main thread gets this long to take a `stack` request; then, while it
 * runs JavaScript (the rescue path will answer), this long again. */
#define NP_STACK_FALLBACK_MS 40
/* How long a main thread busy in JavaScript is left to the rescue path
 * (whose helper may still be booting on a loaded machine); then its
 * native stack is the answer. */
#define NP_STACK_JS_WAIT_MS 10000
/* A second look, before a thread outside V8's code is taken as stuck. */
#define NP_STACK_CONFIRM_MS 15

/* Agent thread, for each parsed FIFO request before it is queued. Returns
 * true when the request was answered here (and freed). */
bool np_native_take(struct np_request *req);

/* Agent thread: NODEPROF_SIGNAL_ACTION=stacks. */
void np_native_write_stacks_file(void);

#endif
