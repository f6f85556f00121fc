#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The sink lives in the agent struct; this only points at it. Before
 * np_log_attach (early start-up, unit tests) messages go to stderr. */
static struct np_log default_sink = { NP_LOG_WARN, 2 };
static struct np_log *sink = &default_sink;

void np_log_attach(struct np_log *s)
{
    sink = s ? s : &default_sink;
}

/* ---- rate limiting ---------------------------------------------------------- */

#define GAP_FIRST_MS 1000
#define GAP_MAX_MS (3600 * 1000)
#define KINDS 64 /* distinct kinds of lines remembered; the stalest is reused */

struct kind {
    uint64_t key;          /* 0: free slot */
    int64_t last_ms;       /* when one was last printed */
    int64_t gap_ms;        /* the next may be printed gap_ms after last_ms */
    unsigned long dropped; /* since the last printed one */
    char last[160];        /* the last one dropped, for the count at exit */
};

static struct {
    pthread_mutex_t lock;
    struct kind kinds[KINDS];
} limits = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* FNV-1a of the text without its digits: "similar" lines share a key. */
static uint64_t similarity_key(const char *text)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        if (*c < '0' || *c > '9') h = (h ^ *c) * 1099511628211ull;
    return h ? h : 1;
}

static struct kind *find_kind(uint64_t key)
{
    struct kind *stalest = &limits.kinds[0];
    for (int i = 0; i < KINDS; i++) {
        struct kind *k = &limits.kinds[i];
        if (k->key == key) return k;
        if (!k->key || (stalest->key && k->last_ms < stalest->last_ms)) stalest = k;
    }
    memset(stalest, 0, sizeof *stalest);
    stalest->key = key;
    return stalest;
}

static bool admit_kind(uint64_t key, const char *text, int64_t now_ms, unsigned long *suppressed)
{
    pthread_mutex_lock(&limits.lock);
    struct kind *k = find_kind(key);
    bool admit = !k->gap_ms || now_ms - k->last_ms >= k->gap_ms;
    *suppressed = 0;
    if (admit) {
        *suppressed = k->dropped;
        /* Still noisy: wait twice as long. Quiet for a whole gap: reset. */
        k->gap_ms = !k->dropped ? GAP_FIRST_MS
                  : k->gap_ms * 2 > GAP_MAX_MS ? GAP_MAX_MS : k->gap_ms * 2;
        k->last_ms = now_ms;
        k->dropped = 0;
    } else {
        k->dropped++;
        snprintf(k->last, sizeof k->last, "%s", text);
    }
    pthread_mutex_unlock(&limits.lock);
    return admit;
}

bool np_log_admit(const char *text, int64_t now_ms, unsigned long *suppressed)
{
    return admit_kind(similarity_key(text), text, now_ms, suppressed);
}

/* At exit, each kind with lines still held back prints its last one, which
 * stands, like every printed line, for itself and the N before it: the
 * count is never lost because no later line came. (A death by signal
 * skips this.) */
static void print_held_back(void)
{
    pthread_mutex_lock(&limits.lock);
    for (int i = 0; i < KINDS; i++) {
        struct kind *k = &limits.kinds[i];
        if (!k->key || !k->dropped) continue;
        char line[256];
        unsigned long before = k->dropped - 1;
        int n = before ? snprintf(line, sizeof line, "%s (%lu similar line%s suppressed)\n", k->last,
                                  before, before == 1 ? "" : "s")
                       : snprintf(line, sizeof line, "%s\n", k->last);
        if (n > 0 && (size_t)n < sizeof line) {
            ssize_t w = write(sink->fd, line, (size_t)n);
            (void)w;
        }
        k->dropped = 0;
    }
    pthread_mutex_unlock(&limits.lock);
}

static void register_exit_report(void)
{
    atexit(print_held_back);
}

void np_log_reset_limits(void)
{
    pthread_mutex_lock(&limits.lock);
    memset(limits.kinds, 0, sizeof limits.kinds);
    pthread_mutex_unlock(&limits.lock);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- lines ------------------------------------------------------------------- */

static void log_line(enum np_log_level level, const char *kind, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* kind: the rate limiter's key, or NULL for the text's own (similar lines). */
static void log_line(enum np_log_level level, const char *kind, const char *fmt, va_list ap)
{
    int saved_errno = errno;
    char line[1024];
    const size_t room = sizeof line - 2; /* for '\n' and a '\0' */
    int n = snprintf(line, sizeof line, "nodeprof: ");
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > room) len = room; /* truncated: still one line */
    /* One line whatever the text: a reply quoted in a message may end with
     * a newline or hold several lines. */
    while (len > (size_t)n && line[len - 1] == '\n') len--;
    for (size_t i = (size_t)n; i < len; i++)
        if (line[i] == '\n') line[i] = ' ';
    line[len] = '\0';
    unsigned long dropped = 0;
    uint64_t key = similarity_key(kind ? kind : line);
    if (level <= NP_LOG_WARN && !admit_kind(key, line, monotonic_ms(), &dropped)) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, register_exit_report);
        errno = saved_errno;
        return;
    }
    if (dropped) {
        char tail[64];
        int t = snprintf(tail, sizeof tail, " (%lu similar line%s suppressed)", dropped, dropped == 1 ? "" : "s");
        /* The count matters more than the end of a long message. */
        if (len + (size_t)t > room) len = room - (size_t)t;
        memcpy(line + len, tail, (size_t)t);
        len += (size_t)t;
    }
    line[len++] = '\n';
    /* One write: O_APPEND files and pipes keep whole lines. Errors are
     * ignored: there is nowhere else to report them. */
    ssize_t w = write(sink->fd, line, len);
    (void)w;
    errno = saved_errno;
}

void np_log(enum np_log_level level, const char *fmt, ...)
{
    if ((int)level > sink->level) return;
    va_list ap;
    va_start(ap, fmt);
    log_line(level, NULL, fmt, ap);
    va_end(ap);
}

void np_log_kind(enum np_log_level level, const char *kind, const char *fmt, ...)
{
    if ((int)level > sink->level) return;
    va_list ap;
    va_start(ap, fmt);
    log_line(level, kind, fmt, ap);
    va_end(ap);
}
