#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "agent_thread.h"
#include "execute.h"
#include "common/log.h"
#include "reply.h"
#include "rescue.h"
#include "common/rundir.h"
#include "native/native.h"

#define NP_QUEUE_MAX 128
/* How long the main thread's event loop gets before we take the rescue path. */
#define NP_RESCUE_AFTER_MS 250

static struct np_control *ctl(void) { return &np_agent.control; }

/* ---- the FIFO ---------------------------------------------------------- */

/* A configured path with every "%p" replaced by our pid (children inherit
 * NODEPROF_FIFO: each needs its own FIFO). */
static int expand_pid(const char *pattern, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = pattern; *p; p++) {
        int w = (p[0] == '%' && p[1] == 'p') ? snprintf(out + n, len - n, "%ld", (long)getpid())
                                              : snprintf(out + n, len - n, "%c", *p);
        if (w < 0 || (size_t)w >= len - n) return -1;
        n += (size_t)w;
        if (p[0] == '%' && p[1] == 'p') p++;
    }
    return 0;
}

static int default_fifo_path(char *out, size_t len)
{
    char dir[256];
    np_rundir_path(dir, sizeof dir);
    return snprintf(out, len, "%s/%ld.ctl", dir, (long)getpid()) < (int)len ? 0 : -1;
}

/* A stale FIFO of ours (nobody reads it: its process is gone) may be
 * replaced; a live one, a regular file, a symlink or anything of another
 * user never is. -2: refused, with the reason in err. */
static int clear_path(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (S_ISFIFO(st.st_mode) && st.st_uid == geteuid()) {
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENXIO) return unlink(path);
        if (fd >= 0) close(fd);
        snprintf(err, errlen, "refusing control FIFO %s: another process is reading it (use %%p in NODEPROF_FIFO)", path);
        return -2;
    }
    snprintf(err, errlen, "refusing control FIFO %s: it exists and is not a FIFO of ours", path);
    return -2;
}

/* Creates and opens the FIFO; its identity goes to *id. -1 with err set. */
static int create_fifo(const char *path, struct stat *id, char *err, size_t errlen)
{
    int rc = clear_path(path, err, errlen);
    if (rc == -2) return -1;
    if (rc != 0 || mkfifo(path, 0600) != 0) {
        snprintf(err, errlen, "cannot create control FIFO %s: %s", path, strerror(errno));
        return -1;
    }
    /* O_RDWR: we stay a writer too, so the FIFO never reports end-of-file
     * (and never makes poll spin) when a sender closes it. */
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, id) != 0 || !S_ISFIFO(id->st_mode) || id->st_uid != geteuid()) {
        snprintf(err, errlen, "cannot open control FIFO %s: %s", path, fd < 0 ? strerror(errno) : "replaced under us");
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static void reject_line(const char *why, const struct np_command *partial);

static void take_line(const char *line, size_t len)
{
    struct np_request *req = calloc(1, sizeof *req);
    char why[256];
    if (!req) return;
    if (np_command_parse(line, len, &req->cmd, why, sizeof why)) {
        reject_line(why, &req->cmd);
        free(req);
        return;
    }
    if (np_native_take(req)) return; /* native stacks: answered by the agent thread */
    np_control_submit(req);
}

/* An overlong line is dropped, but its error still goes to the reply path
 * it names, in its first 1024 bytes or its last 600. */
static void reject_overlong(void)
{
    struct np_control *c = ctl();
    struct np_command partial;
    memset(&partial, 0, sizeof partial);
    /* The line's end is in the tail, its start in the head; a path that
     * either cut may have shortened names nothing. */
    np_command_find_reply(c->tail, c->tail_len, NP_CUT_BEFORE, partial.reply, sizeof partial.reply);
    if (!partial.reply[0])
        np_command_find_reply(c->line, c->line_len, NP_CUT_AFTER, partial.reply, sizeof partial.reply);
    reject_line("command too long", &partial);
}

static void keep_tail(char ch)
{
    struct np_control *c = ctl();
    if (c->tail_len == sizeof c->tail) { /* keep the newer half: amortised O(1) a byte */
        memmove(c->tail, c->tail + sizeof c->tail / 2, sizeof c->tail / 2);
        c->tail_len = sizeof c->tail / 2;
    }
    c->tail[c->tail_len++] = ch;
}

/* Splits what was read into lines. */
static void feed(const char *data, size_t n)
{
    struct np_control *c = ctl();
    for (size_t i = 0; i < n; i++) {
        char ch = data[i];
        if (ch == '\n') {
            if (c->discarding) reject_overlong();
            else if (c->line_len) take_line(c->line, c->line_len);
            c->line_len = 0;
            c->discarding = false;
        } else if (c->discarding) {
            keep_tail(ch);
        } else if (c->line_len == NP_COMMAND_MAX) {
            /* The tail starts with the head's end: a path across the cut is whole there. */
            c->discarding = true;
            c->tail_len = sizeof c->tail / 2;
            memcpy(c->tail, c->line + NP_COMMAND_MAX - c->tail_len, c->tail_len);
            keep_tail(ch);
        } else {
            c->line[c->line_len++] = ch;
        }
    }
}

static void on_fifo_readable(uv_poll_t *handle, int status, int events)
{
    (void)events;
    struct np_fifo_watch *w = handle->data;
    char buf[4096];
    if (status < 0) return;
    for (int rounds = 0; rounds < 64; rounds++) { /* bounded: never starve the loop */
        ssize_t n = read(w->fd, buf, sizeof buf);
        if (n <= 0) break;
        feed(buf, (size_t)n);
    }
}

static void on_watch_closed(uv_handle_t *handle)
{
    struct np_fifo_watch *w = handle->data;
    close(w->fd);
    free(w);
}

static void stop_watching(void)
{
    struct np_control *c = ctl();
    if (!c->watch) return;
    uv_close((uv_handle_t *)&c->watch->poll, on_watch_closed);
    c->watch = NULL;
}

/* Creates the FIFO at fifo_path (and, for the default path, its directory,
 * with the same checks as at start) and watches it. -1 with err set. */
static int open_fifo(char *err, size_t errlen)
{
    struct np_control *c = ctl();
    if (!strcmp(np_agent.cfg.fifo, "on")) {
        char dir[256];
        np_rundir_path(dir, sizeof dir);
        if (np_rundir_ensure(dir, err, errlen)) {
            snprintf(err + strlen(err), errlen - strlen(err), "; no control FIFO");
            return -1;
        }
    }
    struct stat id;
    int fd = create_fifo(c->fifo_path, &id, err, errlen);
    if (fd < 0) return -1;
    struct np_fifo_watch *w = calloc(1, sizeof *w);
    if (!w || uv_poll_init(&np_agent.loop, &w->poll, fd)) {
        snprintf(err, errlen, "cannot watch control FIFO %s", c->fifo_path);
        unlink(c->fifo_path);
        close(fd);
        free(w);
        return -1;
    }
    w->fd = fd;
    w->poll.data = w;
    uv_poll_start(&w->poll, UV_READABLE, on_fifo_readable);
    stop_watching();
    c->watch = w;
    c->line_len = 0; /* a line the old FIFO left unfinished is not continued here */
    c->discarding = false;
    c->fifo_dev = id.st_dev;
    c->fifo_ino = id.st_ino;
    return 0;
}

/* True while fifo_path is still the FIFO we created. Under c->lock. */
static bool fifo_is_ours(void)
{
    struct np_control *c = ctl();
    struct stat st;
    return c->fifo_path[0] && lstat(c->fifo_path, &st) == 0 && S_ISFIFO(st.st_mode) &&
           st.st_dev == c->fifo_dev && st.st_ino == c->fifo_ino;
}

/* The FIFO (or its directory) deleted or replaced while we run (a /tmp
 * cleaner, a careless rm -rf): made again, with the checks of the start.
 * A failure is logged once, not once a tick. */
static void check_fifo(void)
{
    struct np_control *c = ctl();
    char err[PATH_MAX + 256];
    /* Locked: np_control_close (at exit, any thread) must not race a
     * re-creation and leave a FIFO behind. */
    pthread_mutex_lock(&c->lock);
    int rc = !c->fifo_path[0] || fifo_is_ours() ? 1 : open_fifo(err, sizeof err);
    if (rc < 0) stop_watching(); /* whatever is at the path now is not ours to read */
    pthread_mutex_unlock(&c->lock);
    if (rc > 0) return;
    if (rc == 0) {
        np_info("control FIFO %s re-created", c->fifo_path);
        c->fifo_problem[0] = '\0';
        return;
    }
    if (strncmp(err, c->fifo_problem, sizeof c->fifo_problem - 1)) {
        np_err("%s", err);
        snprintf(c->fifo_problem, sizeof c->fifo_problem, "%s", err);
    }
}

static void on_tick(uv_timer_t *timer)
{
    (void)timer;
    check_fifo();
}

void np_control_open(void)
{
    struct np_control *c = ctl();
    uv_timer_init(&np_agent.loop, &c->rescue_timer);
    uv_timer_init(&np_agent.loop, &c->tick);
    uv_timer_start(&c->tick, on_tick, 1000, 1000);
    uv_unref((uv_handle_t *)&c->tick);
    if (!strcmp(np_agent.cfg.fifo, "off")) return;
    char err[PATH_MAX + 256];
    if (strcmp(np_agent.cfg.fifo, "on") ? expand_pid(np_agent.cfg.fifo, c->fifo_path, sizeof c->fifo_path)
                                         : default_fifo_path(c->fifo_path, sizeof c->fifo_path)) {
        np_err("control FIFO path too long; no control FIFO");
        c->fifo_path[0] = '\0';
        return;
    }
    if (open_fifo(err, sizeof err)) {
        np_err("%s", err);
        c->fifo_path[0] = '\0';
        return;
    }
    np_debug("control FIFO %s", c->fifo_path);
}

void np_control_close(void)
{
    struct np_control *c = ctl();
    /* Only the FIFO we made: the path may hold another's by now. */
    pthread_mutex_lock(&c->lock);
    if (fifo_is_ours()) unlink(c->fifo_path);
    c->fifo_path[0] = '\0';
    pthread_mutex_unlock(&c->lock);
}

/* ---- the queue ----------------------------------------------------------- */

static void push(struct np_request **list, struct np_request *req)
{
    req->next = NULL;
    while (*list) list = &(*list)->next;
    *list = req;
}

static void on_rescue_timer(uv_timer_t *timer)
{
    (void)timer;
    struct np_control *c = ctl();
    pthread_mutex_lock(&c->lock);
    bool waiting = c->todo != NULL;
    pthread_mutex_unlock(&c->lock);
    if (waiting && !atomic_load(&c->main_busy)) np_rescue_request();
}

void np_control_on_wake(void)
{
    struct np_control *c = ctl();
    bool now = atomic_exchange(&c->rescue_now, false);
    if (atomic_exchange(&c->rescue_wanted, false))
        uv_timer_start(&c->rescue_timer, on_rescue_timer, now ? 0 : NP_RESCUE_AFTER_MS, 0);
    np_control_send_replies();
}

/* A burst beyond the queue: each sender with a reply path hears "busy";
 * the app's stderr gets one line a second at most, counting every one.
 * Only FIFO lines (agent thread) have reply paths: the reply is sent from
 * the agent thread, as np_reply_send needs. */
static void reject_busy(const struct np_command *cmd)
{
    np_log_kind(NP_LOG_WARN, "control command rejected", "control command rejected: busy: too many commands waiting");
    if (cmd->reply[0]) reject_line("busy: too many commands waiting", cmd);
}

int np_control_submit(struct np_request *req)
{
    struct np_control *c = ctl();
    pthread_mutex_lock(&c->lock);
    bool full = c->queued >= NP_QUEUE_MAX;
    if (!full) {
        push(&c->todo, req);
        c->queued++;
    }
    pthread_mutex_unlock(&c->lock);
    if (full) {
        reject_busy(&req->cmd);
        free(req);
        return -1;
    }
    enum np_verb verb = req->cmd.verb; /* req belongs to the main thread now */
    np_wake_main();
    /* `stack` wants the stack of this instant: whatever runs, right away. */
    if (verb == NP_CMD_STACK) atomic_store(&c->rescue_now, true);
    atomic_store(&c->rescue_wanted, true);
    np_agent_thread_wake();
    return 0;
}

void np_control_submit_internal(enum np_verb verb, const char *origin)
{
    struct np_control *c = ctl();
    pthread_mutex_lock(&c->lock);
    for (struct np_request *r = c->todo; r; r = r->next) {
        if (r->cmd.verb == verb && !strcmp(r->cmd.origin, origin)) {
            pthread_mutex_unlock(&c->lock);
            return; /* the one already waiting will do */
        }
    }
    pthread_mutex_unlock(&c->lock);
    struct np_request *req = calloc(1, sizeof *req);
    if (!req) return;
    req->cmd.verb = verb;
    snprintf(req->cmd.origin, sizeof req->cmd.origin, "%s", origin);
    np_control_submit(req);
}

bool np_control_waiting(enum np_verb verb)
{
    struct np_control *c = ctl();
    pthread_mutex_lock(&c->lock);
    struct np_request *r = c->todo;
    while (r && r->cmd.verb != verb) r = r->next;
    pthread_mutex_unlock(&c->lock);
    return r != NULL;
}

struct np_request *np_control_withdraw(enum np_verb verb)
{
    struct np_control *c = ctl();
    pthread_mutex_lock(&c->lock);
    struct np_request **at = &c->todo;
    while (*at && (*at)->cmd.verb != verb) at = &(*at)->next;
    struct np_request *req = *at;
    if (req) {
        *at = req->next;
        c->queued--;
    }
    pthread_mutex_unlock(&c->lock);
    return req;
}

static struct np_request *pop_todo(void)
{
    struct np_control *c = ctl();
    pthread_mutex_lock(&c->lock);
    struct np_request *req = c->todo;
    if (req) c->todo = req->next;
    pthread_mutex_unlock(&c->lock);
    return req;
}

void np_control_run_pending(void)
{
    struct np_control *c = ctl();
    /* Re-entry: the rescue path can interrupt our own JavaScript calls. */
    bool expected = false;
    if (!atomic_compare_exchange_strong(&c->main_busy, &expected, true)) return;
    struct np_request *req;
    while ((req = pop_todo())) {
        np_execute(req);
        c->commands_run++;
        pthread_mutex_lock(&c->lock);
        c->queued--;
        push(&c->done, req);
        pthread_mutex_unlock(&c->lock);
        np_agent_thread_wake(); /* to send the reply */
    }
    atomic_store(&c->main_busy, false);
}

/* ---- replies ------------------------------------------------------------- */

static void reject_line(const char *why, const struct np_command *partial)
{
    /* The sender gets the error when it named a reply path; the app's own
     * stderr only hears of commands nobody else will. */
    if (partial && partial->reply[0]) {
        np_info("control command rejected: %s", why);
        char text[600];
        int n = snprintf(text, sizeof text, "error: %s\n", why);
        np_reply_send(partial->reply, strndup(text, (size_t)n), (size_t)n);
    } else {
        np_log_kind(NP_LOG_WARN, "control command rejected", "control command rejected: %s", why);
    }
}

void np_control_send_replies(void)
{
    struct np_control *c = ctl();
    pthread_mutex_lock(&c->lock);
    struct np_request *list = c->done;
    c->done = NULL;
    pthread_mutex_unlock(&c->lock);
    while (list) {
        struct np_request *req = list;
        list = req->next;
        if (req->cmd.reply[0]) {
            np_reply_send(req->cmd.reply, req->reply, req->reply_len);
            req->reply = NULL;
        } else if (req->failed) {
            np_warn("%s command: %s", req->cmd.origin,
                           req->reply ? req->reply : "failed");
        }
        free(req->reply);
        free(req);
    }
}
