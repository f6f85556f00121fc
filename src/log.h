/* Logging: one line per message, "nodeprof: ..." on stderr or NODEPROF_LOG_FILE.
 * Written with a single write(2) so lines from several threads or processes
 * never interleave. Never writes to stdout. */
#ifndef NP_LOG_H
#define NP_LOG_H

enum np_log_level { NP_LOG_ERROR = 0, NP_LOG_WARN, NP_LOG_INFO, NP_LOG_DEBUG };

struct np_log {
    int level; /* messages above this level are dropped */
    int fd;    /* 2, or the NODEPROF_LOG_FILE descriptor */
};

/* Points logging at a sink; until then messages go to stderr at WARN. */
void np_log_attach(struct np_log *sink);

void np_log(enum np_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define np_err(...)   np_log(NP_LOG_ERROR, __VA_ARGS__)
#define np_warn(...)  np_log(NP_LOG_WARN, __VA_ARGS__)
#define np_info(...)  np_log(NP_LOG_INFO, __VA_ARGS__)
#define np_debug(...) np_log(NP_LOG_DEBUG, __VA_ARGS__)

#endif
