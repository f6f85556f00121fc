/* One JavaScript thread we profile: the main thread, and each worker
 * thread when NODEPROF_WORKERS=on. Its state is attached to the thread's
 * napi_env (agent.c creates it, node's cleanup hook frees it) and touched
 * only on that thread, by the engines (cpu, heap, trace, snapshot). */
#ifndef NP_THREAD_H
#define NP_THREAD_H

#include <stdbool.h>

#include "common/outfile.h"
#include "napi_weak.h"
#include "session.h"

struct np_cpu_fold;

struct np_thread {
    napi_env env;
    int thread_id;             /* 0: main thread */
    struct np_session session; /* same-thread inspector session */
    bool cpu_running;
    bool heap_running;
    bool finished;             /* final profiles written; nothing more to do */
    double cpu_started_ms;     /* wall clock when the current profile began */
    double heap_started_ms;
    long heap_interval;        /* bytes, of the running heap sampling */
    bool profiler_enabled;     /* Profiler.enable sent; our listener added */
    long cpu_interval_us;
    bool cpu_fresh;            /* the profile began afresh: drop our start sample (cpu.c) */
    bool console_gone;         /* the inspector lost the main context: no console bridge (cpu.c) */
    struct np_cpu_fold *cpu_fold; /* NODEPROF_CPU_WINDOW (cpu.c) */
    struct np_stream trace;    /* open while trace events are recorded */
    bool trace_listening;
    unsigned long trace_events;
    char trace_categories[512];
    double trace_started_ms;
};

/* The main thread's state: NULL before the agent starts there and after
 * node has torn its environment down. Requests run on it. */
struct np_thread *np_main_thread(void);
void np_set_main_thread(struct np_thread *t);

#endif
