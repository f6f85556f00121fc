/* What the preloaded object hands the agent it loads (preload/agentload.h).
 *
 * libnodeprof.so, in every process, is only the constructor; in node, once
 * it has decided to profile, it dlopen()s the agent (libnodeprof-agent.so,
 * beside it) and calls the agent's np_agent_attach with this struct, which
 * stays in the preloaded object and is the one copy of these facts: the
 * agent keeps a pointer to it (np_process.preload). That the agent was
 * attached at all says that this process is node and that we came in
 * through LD_PRELOAD (a stray dlopen of either object profiles nothing).
 *
 * The two objects may come from different builds (a copy of one beside
 * an older other): the agent refuses a struct whose version or size is not
 * its own, and the constructor then profiles nothing. */
#ifndef NP_HANDOFF_H
#define NP_HANDOFF_H

#include <limits.h>
#include <stddef.h>

#define NP_HANDOFF_VERSION 1
/* The agent's file name, in the preloaded object's directory. */
#define NP_AGENT_NAME "libnodeprof-agent.so"
/* The agent's one extra export (src/exports.map). */
#define NP_AGENT_ATTACH "np_agent_attach"

struct np_handoff {
    int version;                /* NP_HANDOFF_VERSION */
    size_t size;                /* sizeof (struct np_handoff) */
    char lib_path[PATH_MAX];    /* the preloaded object, absolute, resolved */
    /* The constructor's clock readings (CLOCK_MONOTONIC and the main
     * thread's CPU time, in ms): where the start-up clock (boot.h) starts. */
    double start_wall_ms, start_cpu_ms;
};

/* np_agent_attach: 0 when the agent takes the struct (kept, not copied),
 * -1 when it is of another build. */
typedef int (*np_agent_attach_fn)(const struct np_handoff *handoff);

#endif
