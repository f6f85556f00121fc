#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "agent_thread.h"
#include "execute.h"
#include "log.h"
#include "outfile.h"
#include "rescue.h"
#include "rundir.h"

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

static int fifo_path(char *out, size_t len)
{
    const char *cfg = np_agent.cfg.fifo;
    if (strcmp(cfg, "on")) return expand_pid(cfg, out, len);
    char dir[256], err[512];
    np_rundir_path(dir, sizeof dir);
    if (np_rundir_ensure(dir, err, sizeof err)) {
        np_err("%s; no control FIFO", err);
        return -1;
    }
    return snprintf(out, len, "%s/%ld.ctl", dir, (long)getpid()) < (int)len ? 0 : -1;
}

/* A stale FIFO of ours (nobody reads it: its process is gone) may be
 * replaced; a live one, a regular file, a symlink or anything of another
 * user never is. */
static int clear_path(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (S_ISFIFO(st.st_mode) && st.st_uid == geteuid()) {
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENXIO) return unlink(path);
        if (fd >= 0) close(fd);
        np_err("refusing control FIFO %s: another process is reading it (use %%p in NODEPROF_FIFO)", path);
        errno = EBUSY;
        return -2;
    }
    np_err("refusing control FIFO %s: it exists and is not a FIFO of ours", path);
    errno = EEXIST;
    return -2;
}

static int create_fifo(const char *path)
{
    int rc = clear_path(path);
    if (rc == -2) return -1;
    if (rc != 0 || mkfifo(path, 0600) != 0) {
        np_err("cannot create control FIFO %s: %s", path, strerror(errno));
        return -1;
    }
    /* O_RDWR: we stay a writer too, so the FIFO never reports end-of-file
     * (and never makes poll spin) when a sender closes it. */
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) || st.st_uid != geteuid()) {
        np_err("cannot open control FIFO %s: %s", path, fd < 0 ? strerror(errno) : "replaced under us");
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
    np_control_submit(req);
}

/* An overlong line is dropped, but its error still goes to the reply path
 * it names, in its first 1024 bytes or its last 600. */
static void reject_overlong(void)
{
    struct np_control *c = ctl();
    struct np_command partial;
    memset(&partial, 0, sizeof partial);
    /* A path cut by the 1024-byte head is truncated: look in the tail then. */
    np_command_find_reply(c->tail, c->tail_len, partial.reply, sizeof partial.reply);
    if (!partial.reply[0]) np_command_find_reply(c->line, c->line_len, partial.reply, sizeof partial.reply);
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
    (void)handle; (void)events;
    char buf[4096];
    if (status < 0) return;
    for (int rounds = 0; rounds < 64; rounds++) { /* bounded: never starve the loop */
        ssize_t n = read(ctl()->fifo_fd, buf, sizeof buf);
        if (n <= 0) break;
        feed(buf, (size_t)n);
    }
}

void np_control_open(void)
{
    struct np_control *c = ctl();
    c->fifo_fd = -1;
    uv_timer_init(&np_agent.loop, &c->rescue_timer);
    if (!strcmp(np_agent.cfg.fifo, "off")) return;
    if (fifo_path(c->fifo_path, sizeof c->fifo_path)) return;
    int fd = create_fifo(c->fifo_path);
    if (fd < 0) {
        c->fifo_path[0] = '\0';
        return;
    }
    c->fifo_fd = fd;
    if (uv_poll_init(&np_agent.loop, &c->poll, fd) || uv_poll_start(&c->poll, UV_READABLE, on_fifo_readable))
        np_err("cannot watch control FIFO %s", c->fifo_path);
    np_debug("control FIFO %s", c->fifo_path);
}

void np_control_close(void)
{
    struct np_control *c = ctl();
    if (c->fifo_path[0]) unlink(c->fifo_path);
    c->fifo_path[0] = '\0';
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
 * the app's stderr gets one line a second at most, with the count. */
static void reject_busy(const struct np_command *cmd)
{
    struct np_control *c = ctl();
    if (cmd->reply[0]) {
        reject_line("busy: too many commands waiting", cmd);
        return;
    }
    double now = np_wall_ms();
    unsigned long count = 0;
    pthread_mutex_lock(&c->lock); /* submitters: the agent thread and the helper's */
    c->busy_dropped++;
    if (now - c->busy_logged_ms >= 1000) {
        count = c->busy_dropped;
        c->busy_dropped = 0;
        c->busy_logged_ms = now;
    }
    pthread_mutex_unlock(&c->lock);
    if (count) np_warn("%lu control command(s) rejected: too many commands waiting", count);
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

/* Writes to a FIFO the sender is reading. Waits briefly for a sender that
 * opens its end just after sending (a shell script). */
static int write_to_fifo(const char *path, const char *text, size_t len)
{
    int fd = -1;
    for (int tries = 0; tries < 20 && fd < 0; tries++) {
        fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno != ENXIO) break;
        if (fd < 0) nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
    }
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) || st.st_uid != geteuid()) {
        if (fd >= 0) close(fd);
        return -1;
    }
    /* Blocking from here: the reader is there. Replies are small. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    close(fd);
    return off == len ? 0 : -1;
}

static void send_reply(const char *path, const char *text, size_t len)
{
    struct stat st;
    char err[512];
    if (lstat(path, &st) == 0) {
        if (!S_ISFIFO(st.st_mode) || st.st_uid != geteuid() || write_to_fifo(path, text, len))
            np_warn("cannot send the reply to %s (not a FIFO of ours, or nobody reading)", path);
        return;
    }
    if (np_write_atomic_buf(path, 0600, text, len, err, sizeof err)) np_warn("reply: %s", err);
}

static void reject_line(const char *why, const struct np_command *partial)
{
    /* The sender gets the error when it named a reply path; the app's own
     * stderr only hears of commands nobody else will. */
    np_log(partial && partial->reply[0] ? NP_LOG_INFO : NP_LOG_WARN, "control command rejected: %s", why);
    if (partial && partial->reply[0]) {
        char text[600];
        int n = snprintf(text, sizeof text, "error: %s\n", why);
        send_reply(partial->reply, text, (size_t)n);
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
        if (req->cmd.reply[0]) send_reply(req->cmd.reply, req->reply ? req->reply : "", req->reply_len);
        else if (req->failed) np_warn("%s command: %s", req->cmd.origin, req->reply ? req->reply : "failed");
        free(req->reply);
        free(req);
    }
}
