/* A control request: a parsed command, and the reply the main thread
 * builds for it (execute.h). Queued by dispatch.h. */
#ifndef NP_REQUEST_H
#define NP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/command.h"

struct np_request {
    struct np_command cmd;
    char *reply;        /* reply text, built by the main thread */
    size_t reply_len;
    bool failed;
    /* A request of the pprof endpoints (http.h): run, when set, runs on
     * the main thread instead of the command (and writes reply itself);
     * done, when set, gets the finished request on the agent thread
     * instead of the reply path (it may take reply; dispatch frees the
     * rest). tag: the requester's, untouched. since_ms: set by run, the
     * wall time the profile in reply began (0: now). */
    void (*run)(struct np_request *req);
    void (*done)(struct np_request *req);
    unsigned long long tag;
    double since_ms;
    struct np_request *next;
};

#endif
