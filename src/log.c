#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The sink lives in the agent struct; this only points at it. Before
 * np_log_attach (early start-up, unit tests) messages go to stderr. */
static struct np_log default_sink = { NP_LOG_WARN, 2 };
static struct np_log *sink = &default_sink;

void np_log_attach(struct np_log *s)
{
    sink = s ? s : &default_sink;
}

void np_log(enum np_log_level level, const char *fmt, ...)
{
    if ((int)level > sink->level)
        return;
    int saved_errno = errno;
    char line[1024];
    int n = snprintf(line, sizeof line, "nodeprof: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2; /* truncated: still one line */
    line[len++] = '\n';
    /* One write: O_APPEND files and pipes keep whole lines. Errors are
     * ignored: there is nowhere else to report them. */
    ssize_t w = write(sink->fd, line, len);
    (void)w;
    errno = saved_errno;
}
