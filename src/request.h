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
    struct np_request *next;
};

#endif
