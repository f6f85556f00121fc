/* The request queue between the threads: commands from the control FIFO
 * (fifo.h), signals (NODEPROF_SIGNAL) and timers (NODEPROF_PERIOD, the
 * heap watch) are queued here by the agent thread; the main thread runs
 * them (execute.h) when it serves (service.h), through its event loop or
 * the rescue path; the agent thread then sends each reply to the path the
 * command named (reply.h: never blocking on the sender).
 *
 * At most NP_QUEUE_MAX requests wait at once; a burst beyond that is
 * answered "busy". Internal commands coalesce: a burst of signals makes one
 * request. Rejected lines are logged rate-limited (log.h), by kind. */
#ifndef NP_DISPATCH_H
#define NP_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/command.h"
#include "request.h"

#define NP_QUEUE_MAX 128

/* Any thread: queue a request (takes ownership) and have the main thread
 * serve it. Returns -1 (and frees it) when the queue is full. */
int np_dispatch_submit(struct np_request *req);
/* Queues an internal command (signal, timer) unless one with the same verb
 * and origin is already waiting. */
void np_dispatch_internal(enum np_verb verb, const char *origin);

/* Agent thread: one command line (parsed here; a bad one is answered), or
 * an error for the sender of a line that could not be taken. reply_path
 * may be "" (the app's stderr hears of it instead). */
void np_dispatch_line(const char *line, size_t len);
void np_dispatch_reject(const char *reply_path, const char *why);

/* Before the agent thread runs: answer is offered each parsed FIFO line
 * first, on the agent thread; it returns true when it answered the
 * request itself (and freed it), without the main thread (native stacks). */
void np_dispatch_set_agent_answer(bool (*answer)(struct np_request *req));

/* Whether requests wait for the main thread (any thread). */
bool np_dispatch_waiting(void);
/* Whether a request with this verb waits, and taking the oldest such one
 * back (NULL: none waits): for an answer the agent thread gives instead
 * (native stacks). Any thread. */
bool np_dispatch_waiting_verb(enum np_verb verb);
struct np_request *np_dispatch_withdraw(enum np_verb verb);
/* Main thread: run the queued requests. */
void np_dispatch_run_pending(void);
/* Agent thread: send the finished replies. */
void np_dispatch_send_replies(void);

#endif
