/* The control FIFO: /tmp/nodeprof-<uid>/<pid>.ctl (or NODEPROF_FIFO).
 *
 * The agent thread reads command lines from it and queues them as
 * requests; the main thread runs them (execute.c) when its event loop is
 * free, or through the rescue path (rescue.c) when it is busy in
 * JavaScript; the agent thread then sends each reply to the path the
 * command named (reply.c: never blocking on the sender). Signals
 * (NODEPROF_SIGNAL) and the continuous-mode timer queue requests the same
 * way.
 *
 * Once a second an unref'd timer on the agent thread's loop checks that the
 * FIFO at the path is still the one we created (dev/ino): a /tmp cleaner or
 * an rm -rf of the run directory once left a process unreachable for good.
 * It is made again with the checks of the start, and a directory another
 * user put in its place is refused. Repeated lines of the control path (a
 * flooded FIFO, a full queue) are rate-limited with counts by log.c. */
#ifndef NP_CONTROL_H
#define NP_CONTROL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/command.h"
#include "common/log.h"
#include "napi_weak.h"

struct np_request {
    struct np_command cmd;
    char *reply;        /* reply text, built by the main thread */
    size_t reply_len;
    bool failed;
    struct np_request *next;
};

/* The FIFO being read: a handle of its own, so that a FIFO deleted under
 * us can be replaced by a new one (libuv closes handles asynchronously). */
struct np_fifo_watch {
    uv_poll_t poll;
    int fd;
};

struct np_control {
    char fifo_path[PATH_MAX];      /* as configured; "" = no FIFO */
    struct np_fifo_watch *watch;   /* agent thread; NULL while there is none */
    dev_t fifo_dev;                /* the FIFO we created (guarded by lock): */
    ino_t fifo_ino;                /* ... never remove or trust another */
    char fifo_problem[PATH_MAX + 256]; /* why it cannot be re-created, as logged */
    uv_timer_t tick;               /* once a second: FIFO check, held-back lines */
    uv_timer_t rescue_timer;
    char line[NP_COMMAND_MAX + 1];
    size_t line_len;
    bool discarding;               /* skipping the rest of an overlong line */
    char tail[600];                /* ... whose last bytes may name a reply path */
    size_t tail_len;
    pthread_mutex_t lock;          /* guards the three lists, counts and noise */
    struct np_request *todo;       /* for the main thread */
    struct np_request *done;       /* replies for the agent thread to send */
    int queued;
    atomic_bool main_busy;         /* the main thread is running requests */
    atomic_bool rescue_wanted;     /* arm the rescue timer (agent thread) */
    atomic_bool rescue_now;        /* ... with no delay */
    unsigned long commands_run;
};

/* Agent thread's loop, before it runs: create the FIFO and watch it. */
void np_control_open(void);
/* Removes the FIFO (at exit, by any path). Any thread. */
void np_control_close(void);

/* Any thread: queue a request (takes ownership) and wake the main thread.
 * Returns -1 (and frees it) when the queue is full. */
int np_control_submit(struct np_request *req);
/* Queues an internal command (signal, period timer) unless one with the
 * same verb and origin is already waiting: bursts coalesce. */
void np_control_submit_internal(enum np_verb verb, const char *origin);

/* Main thread: run the queued requests. */
void np_control_run_pending(void);

/* Native stacks (src/native/native.c): whether a request with this verb
 * still waits for the main thread, and taking the oldest one back
 * (NULL: none waits). Any thread. */
bool np_control_waiting(enum np_verb verb);
struct np_request *np_control_withdraw(enum np_verb verb);

/* Agent thread: send the finished replies. */
void np_control_send_replies(void);
/* Agent thread, when woken: replies, and the rescue timer if asked. */
void np_control_on_wake(void);


#endif
