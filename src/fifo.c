#include "fifo.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/command.h"
#include "common/log.h"
#include "common/rundir.h"
#include "process.h"
#include "wake.h"

/* The FIFO being read: a handle of its own, so that a FIFO deleted under
 * us can be replaced by a new one (libuv closes handles asynchronously). */
struct np_fifo_watch {
    uv_poll_t poll;
    int fd;
};

static struct np_fifo {
    struct np_fifo_watch *watch;   /* agent thread; NULL while there is none */
    char path[PATH_MAX];           /* as configured; "" = no FIFO */
    dev_t dev;                     /* the FIFO we created (guarded by lock): */
    ino_t ino;                     /* ... never remove or trust another */
    char problem[PATH_MAX + 256];  /* why it cannot be re-created, as logged */
    uv_timer_t tick;               /* once a second: is it still ours? */
    char line[NP_COMMAND_MAX + 1];
    size_t line_len;
    bool discarding;               /* skipping the rest of an overlong line */
    char tail[600];                /* ... whose last bytes may name a reply path */
    size_t tail_len;
    pthread_mutex_t lock;          /* path, dev, ino: np_fifo_close runs on any thread */
    struct np_fifo_sink sink;
} fifo = { .lock = PTHREAD_MUTEX_INITIALIZER };

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
        snprintf(err, errlen, "refusing control FIFO %.2048s: another process is reading it (use %%p in NODEPROF_FIFO)", path);
        return -2;
    }
    snprintf(err, errlen, "refusing control FIFO %.2048s: it exists and is not a FIFO of ours", path);
    return -2;
}

/* Creates and opens the FIFO; its identity goes to *id. -1 with err set. */
static int create_fifo(const char *path, struct stat *id, char *err, size_t errlen)
{
    int rc = clear_path(path, err, errlen);
    if (rc == -2) return -1;
    if (rc != 0 || mkfifo(path, 0600) != 0) {
        snprintf(err, errlen, "cannot create control FIFO %.2048s: %s", path, strerror(errno));
        return -1;
    }
    /* O_RDWR: we stay a writer too, so the FIFO never reports end-of-file
     * (and never makes poll spin) when a sender closes it. */
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, id) != 0 || !S_ISFIFO(id->st_mode) || id->st_uid != geteuid()) {
        snprintf(err, errlen, "cannot open control FIFO %.2048s: %s", path, fd < 0 ? strerror(errno) : "replaced under us");
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

/* An overlong line is dropped, but its error still goes to the reply path
 * it names, in its first 1024 bytes or its last 600. */
static void reject_overlong(void)
{
    struct np_fifo *c = &fifo;
    struct np_command partial;
    memset(&partial, 0, sizeof partial);
    /* The line's end is in the tail, its start in the head; a path that
     * either cut may have shortened names nothing. */
    np_command_find_reply(c->tail, c->tail_len, NP_CUT_BEFORE, partial.reply, sizeof partial.reply);
    if (!partial.reply[0])
        np_command_find_reply(c->line, c->line_len, NP_CUT_AFTER, partial.reply, sizeof partial.reply);
    c->sink.reject(partial.reply, "command too long");
}

static void keep_tail(char ch)
{
    struct np_fifo *c = &fifo;
    if (c->tail_len == sizeof c->tail) { /* keep the newer half: amortised O(1) a byte */
        memmove(c->tail, c->tail + sizeof c->tail / 2, sizeof c->tail / 2);
        c->tail_len = sizeof c->tail / 2;
    }
    c->tail[c->tail_len++] = ch;
}

/* Splits what was read into lines. */
static void feed(const char *data, size_t n)
{
    struct np_fifo *c = &fifo;
    for (size_t i = 0; i < n; i++) {
        char ch = data[i];
        if (ch == '\n') {
            if (c->discarding) reject_overlong();
            else if (c->line_len) c->sink.line(c->line, c->line_len);
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
    struct np_fifo *c = &fifo;
    if (!c->watch) return;
    uv_close((uv_handle_t *)&c->watch->poll, on_watch_closed);
    c->watch = NULL;
}

/* Creates the FIFO at fifo_path (and, for the default path, its directory,
 * with the same checks as at start) and watches it. -1 with err set. */
static int open_fifo(char *err, size_t errlen)
{
    struct np_fifo *c = &fifo;
    if (!strcmp(np_cfg()->fifo, "on")) {
        char dir[256];
        np_rundir_path(dir, sizeof dir);
        if (np_rundir_ensure(dir, err, errlen)) {
            snprintf(err + strlen(err), errlen - strlen(err), "; no control FIFO");
            return -1;
        }
    }
    struct stat id;
    int fd = create_fifo(c->path, &id, err, errlen);
    if (fd < 0) return -1;
    struct np_fifo_watch *w = calloc(1, sizeof *w);
    if (!w || uv_poll_init(np_agent_loop(), &w->poll, fd)) {
        snprintf(err, errlen, "cannot watch control FIFO %.2048s", c->path);
        unlink(c->path);
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
    c->dev = id.st_dev;
    c->ino = id.st_ino;
    return 0;
}

/* True while path is still the FIFO we created. Under c->lock. */
static bool fifo_is_ours(void)
{
    struct np_fifo *c = &fifo;
    struct stat st;
    return c->path[0] && lstat(c->path, &st) == 0 && S_ISFIFO(st.st_mode) &&
           st.st_dev == c->dev && st.st_ino == c->ino;
}

/* The FIFO (or its directory) deleted or replaced while we run (a /tmp
 * cleaner, a careless rm -rf): made again, with the checks of the start.
 * A failure is logged once, not once a tick. */
static void check_fifo(void)
{
    struct np_fifo *c = &fifo;
    char err[PATH_MAX + 256];
    /* Locked: np_fifo_close (at exit, any thread) must not race a
     * re-creation and leave a FIFO behind. */
    pthread_mutex_lock(&c->lock);
    int rc = !c->path[0] || fifo_is_ours() ? 1 : open_fifo(err, sizeof err);
    if (rc < 0) stop_watching(); /* whatever is at the path now is not ours to read */
    pthread_mutex_unlock(&c->lock);
    if (rc > 0) return;
    if (rc == 0) {
        np_info("control FIFO %s re-created", c->path);
        c->problem[0] = '\0';
        return;
    }
    if (strncmp(err, c->problem, sizeof c->problem - 1)) {
        np_err("%s", err);
        snprintf(c->problem, sizeof c->problem, "%s", err);
    }
}

static void on_tick(uv_timer_t *timer)
{
    (void)timer;
    check_fifo();
}

void np_fifo_open(struct np_fifo_sink sink)
{
    struct np_fifo *c = &fifo;
    c->sink = sink;
    uv_timer_init(np_agent_loop(), &c->tick);
    uv_timer_start(&c->tick, on_tick, 1000, 1000);
    uv_unref((uv_handle_t *)&c->tick);
    if (!strcmp(np_cfg()->fifo, "off")) return;
    char err[PATH_MAX + 256];
    if (strcmp(np_cfg()->fifo, "on") ? expand_pid(np_cfg()->fifo, c->path, sizeof c->path)
                                         : default_fifo_path(c->path, sizeof c->path)) {
        np_err("control FIFO path too long; no control FIFO");
        c->path[0] = '\0';
        return;
    }
    if (open_fifo(err, sizeof err)) {
        np_err("%s", err);
        c->path[0] = '\0';
        return;
    }
    np_debug("control FIFO %s", c->path);
}

void np_fifo_close(void)
{
    struct np_fifo *c = &fifo;
    /* Only the FIFO we made: the path may hold another's by now. */
    pthread_mutex_lock(&c->lock);
    if (fifo_is_ours()) unlink(c->path);
    c->path[0] = '\0';
    pthread_mutex_unlock(&c->lock);
}

void np_fifo_remove_in_handler(void)
{
    if (fifo_is_ours()) unlink(fifo.path);
}

const char *np_fifo_path(void) { return fifo.path; }
