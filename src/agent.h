/* The agent: all process-wide state of nodeprof lives in one struct,
 * `np_agent` (agent.c). Per-thread state (the main thread, and each worker
 * thread when NODEPROF_WORKERS=on) lives in a struct np_thread attached to
 * that thread's napi_env. */
#ifndef NP_AGENT_H
#define NP_AGENT_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/config.h"
#include "control.h"
#include "common/log.h"
#include "common/outfile.h"
#include "napi_weak.h"
#include "retention.h"
#include "rescue.h"
#include "session.h"

/* One JavaScript thread we profile. */
struct np_thread {
    napi_env env;
    int thread_id;             /* 0: main thread */
    struct np_session session; /* same-thread inspector session */
    bool cpu_running;
    bool heap_running;
    bool finished;             /* final profiles written; nothing more to do */
    double cpu_started_ms;     /* wall clock when the current profile began */
    double heap_started_ms;
    bool profiler_enabled;     /* Profiler.enable sent; our listener added */
    long cpu_interval_us;
    bool cpu_fresh;            /* the profile began with np_cpu_start (cpu.c) */
    struct np_cpu_fold *cpu_fold; /* NODEPROF_CPU_WINDOW (cpu.c) */
    struct np_stream trace;    /* open while trace events are recorded */
    bool trace_listening;
    unsigned long trace_events;
    char trace_categories[512];
    double trace_started_ms;
};

/* Signals that end the process when the app has no listener. */
#define NP_NTERMSIG 3
extern const int np_term_signals[NP_NTERMSIG];

struct np_agent {
    /* Set by the constructor (before node's main). */
    bool in_node;               /* this process is node */
    bool preloaded;             /* we came in through LD_PRELOAD (not a stray dlopen) */
    char lib_path[PATH_MAX];

    /* Set once by the first agent init (main thread). */
    bool configured;
    bool active;                /* this process is profiled (enabled, matched) */
    struct np_config cfg;
    struct np_log log;
    char out_dir[PATH_MAX];     /* absolute */
    mode_t file_mode;           /* NODEPROF_FILE_MODE, for every file written */
    char host[256];
    atomic_ulong seq;           /* %n */
    atomic_ulong files_written;
    struct np_retention retention;

    struct np_thread *main;     /* main thread's state, once created */
    napi_threadsafe_function main_wake; /* runs requests on the main thread */
    atomic_bool main_wake_alive;        /* until node finalizes it */
    /* Held while calling a thread-safe function and while its finalizer
     * marks it dead: node frees it right after, so no call may straddle. */
    pthread_mutex_t wake_lock;

    /* The agent thread: its own libuv loop, signal watchers that also work
     * while the main thread spins in JavaScript, and (later) the FIFO. */
    pthread_t thread;
    bool thread_started;
    uv_loop_t loop;
    uv_async_t thread_wake;
    uv_signal_t term_watch[NP_NTERMSIG];
    uv_timer_t term_deadline;    /* main thread silent: try the rescue path */
    uv_timer_t term_last_resort; /* still silent: die without a profile */
    uv_signal_t user_signal;     /* NODEPROF_SIGNAL */
    uv_timer_t period;           /* NODEPROF_PERIOD */
    atomic_uint pending_term;    /* signal numbers, as bits, for the main thread */
    atomic_int app_listeners[NP_NTERMSIG]; /* the app's own listener counts */
    /* Whether the app listened when the signal arrived, recorded by our
     * handler in front of libuv's: by the time the main thread looks, a
     * process.once() listener has already removed itself. */
    atomic_bool listened_at_signal[NP_NTERMSIG];
    struct sigaction term_chain[NP_NTERMSIG]; /* libuv's handlers, called after ours */
    atomic_bool shutting_down;   /* final profiles written or being written */

    struct np_control control;
    struct np_rescue rescue;
};

extern struct np_agent np_agent;

/* Wall-clock milliseconds since the epoch. */
double np_wall_ms(void);

/* The entry points node looks up when it loads us as an addon. */
napi_value napi_register_module_v1(napi_env env, napi_value exports);
int32_t node_api_module_get_api_version_v1(void);

/* Any thread: ask the main thread to run its requests. Returns false once
 * the process is shutting down (node frees the thread-safe function when it
 * tears the environment down: it must not be called after that). */
bool np_wake_main(void);

#endif
