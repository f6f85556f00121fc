/* Logging: one line per message, "nodeprof: ..." on stderr or NODEPROF_LOG_FILE.
 * Written with a single write(2) so lines from several threads or processes
 * never interleave. Never writes to stdout.
 *
 * Warnings and errors are rate-limited: the app's stderr is not ours, and a
 * fuzz run once put 2,892 lines there. Lines that differ only in their
 * digits (file names with a pid, time and sequence number, counts) are
 * "similar". The first of a kind is printed; after that at most one per gap,
 * where the gap starts at 1 s and doubles, up to 1 h, while lines keep being
 * dropped (10 failing writes a second print 3 lines in the first 4 s and
 * about 30 a day). The printed line ends with "(N similar lines
 * suppressed)"; at exit, the last line held back of each kind is printed
 * with its count. A kind quiet for its whole gap starts again at 1 s. Info and
 * debug lines, asked for explicitly, are never dropped. Safe from any
 * thread (a small mutex); never call it from a signal handler. */
#ifndef NP_LOG_H
#define NP_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum np_log_level { NP_LOG_ERROR = 0, NP_LOG_WARN, NP_LOG_INFO, NP_LOG_DEBUG };

struct np_log {
    int level; /* messages above this level are dropped */
    int fd;    /* 2, or the NODEPROF_LOG_FILE descriptor */
};

/* Points logging at a sink; until then messages go to stderr at WARN. */
void np_log_attach(struct np_log *sink);

void np_log(enum np_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* np_log, rate-limited as one kind with every other line of the same kind,
 * whatever their texts: a flood of lines that each differ (a fuzzer's
 * "unknown command 'x7#'") is still one kind. */
void np_log_kind(enum np_log_level level, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define np_err(...)   np_log(NP_LOG_ERROR, __VA_ARGS__)
#define np_warn(...)  np_log(NP_LOG_WARN, __VA_ARGS__)
#define np_info(...)  np_log(NP_LOG_INFO, __VA_ARGS__)
#define np_debug(...) np_log(NP_LOG_DEBUG, __VA_ARGS__)

/* The rate limiter itself, exposed for unit tests: whether a line of this
 * text may be printed at now_ms (a monotonic clock), and if so how many
 * similar ones were dropped before it (*suppressed). */
bool np_log_admit(const char *text, int64_t now_ms, unsigned long *suppressed);

/* Forgets every kind of line (unit tests). */
void np_log_reset_limits(void);

#endif
