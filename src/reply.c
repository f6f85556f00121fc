#include "reply.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/command.h"
#include "common/log.h"
#include "wake.h"

#define OPEN_RETRY_MS 10

/* One reply on its way into a FIFO. */
struct pending {
    uv_timer_t timer;  /* open retries, then the drain deadline */
    uv_poll_t poll;    /* writable, while the reader drains */
    bool polling;      /* poll initialised */
    int handles;       /* still to close before freeing */
    int fd;
    int tries;
    char path[NP_REPLY_MAX];
    char *text;
    size_t len, off;
};

static int pending_count; /* agent thread only */

static void dropped_at(enum np_log_level level, const char *path, const char *why)
{
    np_log(level, "reply to %s dropped: %s", path, why);
}

static void dropped(const char *path, const char *why)
{
    dropped_at(NP_LOG_WARN, path, why);
}

static void on_closed(uv_handle_t *handle)
{
    struct pending *p = handle->data;
    if (--p->handles) return;
    if (p->fd >= 0) close(p->fd);
    free(p->text);
    free(p);
    pending_count--;
}

/* Ends a reply: sent whole (why NULL), or dropped. */
static void finish(struct pending *p, const char *why)
{
    if (why) dropped(p->path, why);
    p->handles = p->polling ? 2 : 1;
    uv_close((uv_handle_t *)&p->timer, on_closed);
    if (p->polling) uv_close((uv_handle_t *)&p->poll, on_closed);
}

static void on_writable(uv_poll_t *handle, int status, int events);

/* Writes what the pipe takes now; waits for room otherwise. */
static void pump(struct pending *p)
{
    while (p->off < p->len) {
        ssize_t w = write(p->fd, p->text + p->off, p->len - p->off);
        if (w > 0) { p->off += (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            if (!p->polling) {
                if (uv_poll_init(np_agent_loop(), &p->poll, p->fd)) {
                    finish(p, "cannot watch it");
                    return;
                }
                p->poll.data = p;
                p->polling = true;
            }
            uv_poll_start(&p->poll, UV_WRITABLE, on_writable);
            return;
        }
        { finish(p, w < 0 && errno == EPIPE ? "the reader went away" : strerror(errno)); return; }
    }
    finish(p, NULL);
}

static void on_writable(uv_poll_t *handle, int status, int events)
{
    (void)events;
    struct pending *p = handle->data;
    if (status < 0) { finish(p, "the reader went away"); return; }
    pump(p);
}

static void on_deadline(uv_timer_t *timer)
{
    struct pending *p = timer->data;
    char why[128];
    snprintf(why, sizeof why, "the reader took %zu of %zu bytes in %d s", p->off, p->len, NP_REPLY_DRAIN_MS / 1000);
    finish(p, why);
}

static void on_open_retry(uv_timer_t *timer);

/* The sender opens its end of the FIFO just before or just after sending:
 * retried for NP_REPLY_OPEN_MS, without ever waiting in the loop. */
static void try_open(struct pending *p)
{
    p->fd = open(p->path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (p->fd < 0 && errno == ENXIO && ++p->tries * OPEN_RETRY_MS < NP_REPLY_OPEN_MS) {
        uv_timer_start(&p->timer, on_open_retry, OPEN_RETRY_MS, 0);
        return;
    }
    if (p->fd < 0) { finish(p, errno == ENXIO ? "nobody is reading the FIFO" : strerror(errno)); return; }
    struct stat st;
    if (fstat(p->fd, &st) != 0 || !S_ISFIFO(st.st_mode) || st.st_uid != geteuid())
        { finish(p, "not a FIFO of ours"); return; }
    uv_timer_start(&p->timer, on_deadline, NP_REPLY_DRAIN_MS, 0);
    pump(p);
}

static void on_open_retry(uv_timer_t *timer)
{
    try_open(timer->data);
}

static void send_to_fifo(const char *path, char *text, size_t len)
{
    struct pending *p = pending_count < NP_REPLY_MAX_PENDING ? calloc(1, sizeof *p) : NULL;
    if (!p) {
        dropped(path, "too many replies waiting for their readers");
        free(text);
        return;
    }
    pending_count++;
    p->fd = -1;
    snprintf(p->path, sizeof p->path, "%s", path);
    p->text = text;
    p->len = len;
    uv_timer_init(np_agent_loop(), &p->timer);
    p->timer.data = p;
    try_open(p);
}

static int write_all(int fd, const char *text, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        off += (size_t)w;
    }
    return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Replaces the file the sender created (checked as `was`) with one holding
 * the reply. RENAME_EXCHANGE fails if the file went away, where a rename
 * would create it; what was swapped out must be that file, or it goes back. */
static const char *replace_file(const char *path, const struct stat *was, const char *text, size_t len)
{
    char tmp[NP_REPLY_MAX + 64];
    const char *slash = strrchr(path, '/');
    snprintf(tmp, sizeof tmp, "%.*s.%s.reply.%ld.XXXXXX", (int)(slash - path + 1), path, slash + 1, (long)getpid());
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) return "cannot create a file beside it";
    bool written = write_all(fd, text, len) == 0 && fchmod(fd, 0600) == 0;
    close(fd);
    const char *why = NULL;
    struct stat st;
    if (!written) {
        why = "cannot write a file beside it";
    } else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
        if (lstat(tmp, &st) != 0 || !same_file(&st, was)) {
            renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE);
            why = "it was replaced meanwhile";
        }
    } else if (errno == EINVAL || errno == ENOSYS) { /* a file system without exchange */
        if (lstat(path, &st) != 0 || !same_file(&st, was) || rename(tmp, path) != 0)
            why = "it went away, or was replaced";
    } else {
        why = errno == ENOENT ? "it went away" : strerror(errno);
    }
    unlink(tmp); /* the old file, or our unsent reply */
    return why;
}

void np_reply_send(const char *path, char *text, size_t len)
{
    struct stat st;
    if (!text && len) len = 0;
    if (lstat(path, &st) != 0) {
        /* A sender that gave up (nodeprof ctl after its timeout) removed it. */
        if (errno == ENOENT) dropped_at(NP_LOG_INFO, path, "it does not exist (create it first: a FIFO, or an empty file)");
        else dropped(path, strerror(errno));
    } else if (st.st_uid != geteuid() || !(S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode))) {
        dropped(path, "not a FIFO or a regular file of ours");
    } else if (S_ISFIFO(st.st_mode)) {
        send_to_fifo(path, text, len);
        return;
    } else {
        const char *why = replace_file(path, &st, text ? text : "", len);
        if (why) dropped(path, why);
    }
    free(text);
}
