#include "dispatch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "escalate.h"
#include "execute.h"
#include "reply.h"
#include "wake.h"

static struct np_dispatch {
    pthread_mutex_t lock;        /* guards the two lists and the count */
    struct np_request *todo;     /* for the main thread */
    struct np_request *done;     /* replies for the agent thread to send */
    int queued;
    atomic_bool running;         /* the main thread is running requests */
    bool (*agent_answer)(struct np_request *req); /* set before the agent thread runs */
} queue = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void push(struct np_request **list, struct np_request *req)
{
    req->next = NULL;
    while (*list) list = &(*list)->next;
    *list = req;
}

void np_dispatch_reject(const char *reply_path, const char *why)
{
    /* The sender gets the error when it named a reply path; the app's own
     * stderr only hears of commands nobody else will. */
    if (reply_path && reply_path[0]) {
        np_info("control command rejected: %s", why);
        char text[600];
        int n = snprintf(text, sizeof text, "error: %s\n", why);
        if (n >= (int)sizeof text) n = (int)sizeof text - 1;
        np_reply_send(reply_path, strndup(text, (size_t)n), (size_t)n);
    } else {
        np_log_kind(NP_LOG_WARN, "control command rejected", "control command rejected: %s", why);
    }
}

/* A burst beyond the queue: each sender with a reply path hears "busy";
 * the app's stderr gets one line a second at most, counting every one.
 * Only FIFO lines (agent thread) have reply paths: the reply is sent from
 * the agent thread, as np_reply_send needs. */
static void reject_busy(const struct np_command *cmd)
{
    np_log_kind(NP_LOG_WARN, "control command rejected", "control command rejected: busy: too many commands waiting");
    if (cmd->reply[0]) np_dispatch_reject(cmd->reply, "busy: too many commands waiting");
}

int np_dispatch_submit(struct np_request *req)
{
    pthread_mutex_lock(&queue.lock);
    bool full = queue.queued >= NP_QUEUE_MAX;
    if (!full) {
        push(&queue.todo, req);
        queue.queued++;
    }
    pthread_mutex_unlock(&queue.lock);
    if (full) {
        reject_busy(&req->cmd);
        free(req);
        return -1;
    }
    /* req belongs to the main thread now. `stack` wants the stack of this
     * instant: whatever runs, right away. */
    np_escalate(req->cmd.verb == NP_CMD_STACK);
    return 0;
}

static bool already_waiting(enum np_verb verb, const char *origin)
{
    bool found = false;
    pthread_mutex_lock(&queue.lock);
    for (struct np_request *r = queue.todo; r && !found; r = r->next)
        found = r->cmd.verb == verb && !strcmp(r->cmd.origin, origin);
    pthread_mutex_unlock(&queue.lock);
    return found;
}

void np_dispatch_internal(enum np_verb verb, const char *origin)
{
    if (already_waiting(verb, origin)) return; /* the one waiting will do */
    struct np_request *req = calloc(1, sizeof *req);
    if (!req) return;
    req->cmd.verb = verb;
    snprintf(req->cmd.origin, sizeof req->cmd.origin, "%s", origin);
    np_dispatch_submit(req);
}

void np_dispatch_line(const char *line, size_t len)
{
    struct np_request *req = calloc(1, sizeof *req);
    char why[256];
    if (!req) return;
    if (np_command_parse(line, len, &req->cmd, why, sizeof why)) {
        np_dispatch_reject(req->cmd.reply, why);
        free(req);
        return;
    }
    if (queue.agent_answer && queue.agent_answer(req)) return;
    np_dispatch_submit(req);
}

void np_dispatch_set_agent_answer(bool (*answer)(struct np_request *req))
{
    queue.agent_answer = answer;
}

bool np_dispatch_waiting(void)
{
    pthread_mutex_lock(&queue.lock);
    bool waiting = queue.todo != NULL;
    pthread_mutex_unlock(&queue.lock);
    return waiting;
}

bool np_dispatch_waiting_verb(enum np_verb verb)
{
    pthread_mutex_lock(&queue.lock);
    struct np_request *r = queue.todo;
    while (r && r->cmd.verb != verb) r = r->next;
    pthread_mutex_unlock(&queue.lock);
    return r != NULL;
}

struct np_request *np_dispatch_withdraw(enum np_verb verb)
{
    pthread_mutex_lock(&queue.lock);
    struct np_request **at = &queue.todo;
    while (*at && (*at)->cmd.verb != verb) at = &(*at)->next;
    struct np_request *req = *at;
    if (req) {
        *at = req->next;
        queue.queued--;
    }
    pthread_mutex_unlock(&queue.lock);
    return req;
}

static struct np_request *pop_todo(void)
{
    pthread_mutex_lock(&queue.lock);
    struct np_request *req = queue.todo;
    if (req) queue.todo = req->next;
    pthread_mutex_unlock(&queue.lock);
    return req;
}

void np_dispatch_run_pending(void)
{
    /* Re-entry: the rescue path can interrupt our own JavaScript calls. */
    bool expected = false;
    if (!atomic_compare_exchange_strong(&queue.running, &expected, true)) return;
    struct np_request *req;
    while ((req = pop_todo())) {
        np_execute(req);
        pthread_mutex_lock(&queue.lock);
        queue.queued--;
        push(&queue.done, req);
        pthread_mutex_unlock(&queue.lock);
        np_wake_agent(); /* to send the reply */
    }
    atomic_store(&queue.running, false);
}

void np_dispatch_send_replies(void)
{
    pthread_mutex_lock(&queue.lock);
    struct np_request *list = queue.done;
    queue.done = NULL;
    pthread_mutex_unlock(&queue.lock);
    while (list) {
        struct np_request *req = list;
        list = req->next;
        if (req->done) {
            req->done(req); /* http.h */
        } else if (req->cmd.reply[0]) {
            np_reply_send(req->cmd.reply, req->reply, req->reply_len);
            req->reply = NULL;
        } else if (req->failed) {
            np_warn("%s command: %s", req->cmd.origin, req->reply ? req->reply : "failed");
        }
        free(req->reply);
        free(req);
    }
}
