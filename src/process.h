/* What this process is, and how it is to be profiled: facts the
 * constructor finds before node's main (preload.c, handed over through
 * common/handoff.h), and the configuration
 * the agent reads once, on the main thread, before any user code (agent.c).
 * Every module reads it; only those two write it, each before anything
 * else runs, so nobody locks it. */
#ifndef NP_PROCESS_H
#define NP_PROCESS_H

#include <limits.h>
#include <stdbool.h>

#include "common/config.h"
#include "common/handoff.h"
#include "common/log.h"

struct np_process {
    /* Set by np_agent_attach, before node's main: the preloaded object's
     * facts, in that object. NULL when the agent was not loaded by our
     * constructor (a stray dlopen): then it does nothing. */
    const struct np_handoff *preload;

    /* Set once by the first agent init (main thread). */
    bool configured;
    bool active;                /* this process is profiled (enabled, matched) */
    struct np_config cfg;
    struct np_log log;          /* where log lines go (NODEPROF_LOG, NODEPROF_LOG_FILE) */
};

extern struct np_process np_process;

/* The configuration in force (read-only after start-up). */
static inline const struct np_config *np_cfg(void) { return &np_process.cfg; }

#endif
