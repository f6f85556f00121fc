#include "cpu.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/cpufold.h"
#include "formats/startsample.h"
#include "boot.h"
#include "js.h"
#include "common/log.h"
#include "common/clock.h"
#include "process.h"

/* A window holds at most this many samples (10 s at the default 1 ms
 * interval), so that a short NODEPROF_CPU_INTERVAL cannot make V8 keep
 * more samples than the default does. A fold costs the main thread about
 * 1.5 to 3 us per sample (mostly V8 building and serialising the profile):
 * 77 to 184 ms for 51,000 to 62,000 samples on a loaded 2-core machine.
 * That is a pause of the app's thread, so the window is short: 15 to 30 ms
 * every 10 s, in the range of a V8 mark-compact, for the same total work. */
#define MAX_WINDOW_SAMPLES 10000L
#define MIN_WINDOW_MS 100L

/* Folding state of one thread (NODEPROF_CPU_WINDOW). Allocated apart from
 * struct np_thread: the timer must live until its close callback runs,
 * after the thread's own state is freed by node's cleanup hooks. */
struct np_cpu_fold {
    uv_timer_t timer;
    struct np_thread *t;      /* NULL once the environment is torn down */
    struct np_cpufold *agg;
    bool failed;              /* a fold failed: no more folding on this thread */
    unsigned long folds;      /* over the thread's life */
    double ms_max;            /* the longest fold, main-thread time */
};

/* inspector.console.profile(title) / profileEnd(title): V8's own console,
 * which reaches the sessions with the Profiler domain on, and prints
 * nothing. Called through Runtime.evaluate on our own session, which
 * enters the app's context explicitly: V8 aborts the process (CHECK
 * failed: stackTrace) when console.profile runs with no JavaScript frame,
 * as in a callback from the event loop, and after the app signals itself
 * (process.kill(process.pid)) a direct call from C no longer reaches our
 * session. The title is ours ("nodeprof-N"): no quoting needed.
 *
 * A process that signals itself with a signal it has no JavaScript
 * listener for (process.kill(process.pid, 'SIGUSR2'), or any other) runs
 * node's at-exit hooks first, "most likely going to terminate": they tell
 * the inspector that the main context is gone. From then on nothing
 * evaluates in it ("Cannot find context with specified id"): said once,
 * and the console is not tried again. */
static int console_call(struct np_thread *t, const char *method, const char *title)
{
    napi_env env = t->env;
    if (t->console_gone) return -1;
    char expression[200];
    snprintf(expression, sizeof expression, "%s.%s('%s')", np_session_console_expression(&t->session), method,
             title);
    napi_value params = js_object(env), yes;
    napi_get_boolean(env, true, &yes);
    js_set(env, params, "expression", js_string(env, expression));
    js_set(env, params, "silent", yes);
    napi_value result = np_session_post_quiet(env, &t->session, "Runtime.evaluate", params);
    napi_valuetype thrown = napi_undefined;
    napi_value details = js_get(env, result, "exceptionDetails");
    if (details) napi_typeof(env, details, &thrown);
    if (result && thrown == napi_undefined) return 0;
    if (!result && strstr(t->session.failure, "context")) {
        t->console_gone = true;
        np_info("node has told the inspector that the main context is gone (the app signalled itself): profiles "
                "go on without the console bridge, so code optimized before a dump may lose its name");
        return -1;
    }
    np_warn("console.%s('%s') failed%s%s", method, title, result ? "" : ": ", result ? "" : t->session.failure);
    return -1;
}

int np_cpu_console_call(struct np_thread *t, const char *method, const char *title)
{
    return console_call(t, method, title);
}

#define BRIDGE_TITLE "nodeprof-bridge"

/* interval_us 0: keep the interval (V8 refuses to change it while any
 * profile, the bridge included, is running). */
static int start_profile(struct np_thread *t, long interval_us)
{
    napi_env env = t->env;
    if (!t->profiler_enabled) {
        if (!np_session_post(env, &t->session, "Profiler.enable", NULL)) return -1;
        t->profiler_enabled = true;
        np_boot_mark("Profiler.enable");
    }
    if (interval_us > 0) {
        napi_value params = js_object(env);
        js_set(env, params, "interval", js_number(env, (double)interval_us));
        if (!np_session_post(env, &t->session, "Profiler.setSamplingInterval", params)) return -1;
        np_boot_mark("Profiler.setSamplingInterval");
    }
    int rc = np_session_post(env, &t->session, "Profiler.start", NULL) ? 0 : -1;
    np_boot_mark("Profiler.start");
    return rc;
}

/* Stops the profile; returns its JSON (malloc'ed) or NULL. Needs no
 * JavaScript context: works after the app signalled itself, too. */
static char *stop_profile(struct np_thread *t, size_t *len)
{
    napi_env env = t->env;
    napi_value profile = js_get(env, np_session_post(env, &t->session, "Profiler.stop", NULL), "profile");
    char *json = profile ? js_stringify(env, profile, len) : NULL;
    np_boot_mark("Profiler.stop");
    /* A profile started afresh (at init, `cpu start`) begins with a sample
     * of our own call to Profiler.start (startsample.h). One that follows a
     * dump or a fold keeps its start: it continues the one before. */
    if (json && t->cpu_fresh) np_drop_start_sample(json, len);
    t->cpu_fresh = false;
    if (!json) np_err("could not read the CPU profile from the inspector");
    return json;
}

static int write_json(struct np_thread *t, char *json, size_t len, struct np_written *w)
{
    if (!json) return 0;
    int n = np_write_profile(NP_PROFILE_CPU, t->thread_id, json, len, w);
    free(json);
    return n;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* Writes what was folded together with the window json (may be NULL), and
 * empties the aggregate: each file holds what the files before it do not. */
static int write_folded(struct np_thread *t, char *json, size_t len, struct np_written *w)
{
    struct np_cpu_fold *fold = t->cpu_fold;
    if (!fold || !fold->agg || np_cpufold_folds(fold->agg) == 0) return write_json(t, json, len, w);
    char *merged = NULL, err[256];
    size_t merged_len = 0;
    if (np_cpufold_merge(fold->agg, json, len, &merged, &merged_len, err, sizeof err)) {
        np_warn("cannot merge the folded CPU profile (%s); writing the last window only", err);
        np_cpufold_reset(fold->agg);
        return write_json(t, json, len, w);
    }
    np_debug("CPU profile: %lu folded windows (%zu stacks, %lld samples) merged with the last window",
             np_cpufold_folds(fold->agg), np_cpufold_nodes(fold->agg), (long long)np_cpufold_samples(fold->agg));
    np_cpufold_reset(fold->agg);
    free(json);
    return write_json(t, merged, merged_len, w);
}

/* ---- folding (NODEPROF_CPU_WINDOW) ------------------------------------------ */

static long window_ms(const struct np_thread *t)
{
    long interval = t->cpu_interval_us > 0 ? t->cpu_interval_us : np_cfg()->cpu_interval_us;
    long ms = np_cfg()->cpu_window_ms;
    if (interval > 0 && MAX_WINDOW_SAMPLES * interval / 1000 < ms) ms = MAX_WINDOW_SAMPLES * interval / 1000;
    return ms < MIN_WINDOW_MS ? MIN_WINDOW_MS : ms;
}

static void fold_closed(uv_handle_t *h)
{
    struct np_cpu_fold *fold = (struct np_cpu_fold *)h;
    np_cpufold_free(fold->agg);
    free(fold);
}

/* Node tears the environment down: a handle left open in a worker's loop
 * would abort the process. */
static void fold_cleanup(void *arg)
{
    struct np_cpu_fold *fold = arg;
    if (fold->t) fold->t->cpu_fold = NULL;
    fold->t = NULL;
    uv_close((uv_handle_t *)&fold->timer, fold_closed);
}

void np_cpu_forget_thread(struct np_thread *t)
{
    if (t->cpu_fold) t->cpu_fold->t = NULL;
    t->cpu_fold = NULL;
}

static struct np_cpu_fold *fold_state(struct np_thread *t)
{
    if (t->cpu_fold) return t->cpu_fold;
    uv_loop_t *loop = NULL;
    struct np_cpu_fold *fold = calloc(1, sizeof *fold);
    if (!fold || !(fold->agg = np_cpufold_new()) || napi_get_uv_event_loop(t->env, &loop) != napi_ok || !loop ||
        uv_timer_init(loop, &fold->timer)) {
        np_warn("cannot set up CPU profile folding; the profile grows for as long as it runs");
        if (fold) np_cpufold_free(fold->agg);
        free(fold);
        return NULL;
    }
    uv_unref((uv_handle_t *)&fold->timer); /* never keeps the app alive */
    fold->t = t;
    t->cpu_fold = fold;
    napi_add_env_cleanup_hook(t->env, fold_cleanup, fold);
    return fold;
}

/* Stops the profile, starts the next at once (across the bridge, as a dump
 * does) and folds what the stopped one held. */
static void fold_now(struct np_thread *t, struct np_cpu_fold *fold)
{
    double began = mono_ms();
    size_t len = 0;
    bool bridged = console_call(t, "profile", BRIDGE_TITLE) == 0;
    char *json = stop_profile(t, &len);
    bool restarted = start_profile(t, 0) == 0;
    if (bridged) console_call(t, "profileEnd", BRIDGE_TITLE);
    double switched = mono_ms();
    if (!restarted) {
        np_warn("cannot start the next CPU profile; folding ends profiling");
        t->cpu_running = false;
    }
    if (!json) return;
    char err[256];
    if (np_cpufold_add(fold->agg, json, len, err, sizeof err)) {
        /* keep what this window holds: write it as it is */
        np_warn("cannot fold the CPU profile (%s); writing it as it is and folding no more", err);
        fold->failed = true;
        write_json(t, json, len, NULL);
        return;
    }
    free(json);
    double ms = mono_ms() - began;
    if (ms > fold->ms_max) fold->ms_max = ms;
    fold->folds++;
    np_debug("CPU profile folded (%lu): %zu bytes; %zu stacks, %lld samples; %.1f ms (stop and start %.1f ms)",
             fold->folds, len, np_cpufold_nodes(fold->agg), (long long)np_cpufold_samples(fold->agg), ms,
             switched - began);
}

static void on_fold_timer(uv_timer_t *timer)
{
    struct np_cpu_fold *fold = (struct np_cpu_fold *)timer;
    struct np_thread *t = fold->t;
    if (!t || !t->cpu_running || t->finished || fold->failed) return;
    napi_handle_scope scope;
    if (napi_open_handle_scope(t->env, &scope) != napi_ok) return;
    fold_now(t, fold);
    js_clear_exception(t->env, "nodeprof CPU fold");
    napi_close_handle_scope(t->env, scope);
}

/* The next fold comes one window after the current profile began. */
static void fold_arm(struct np_thread *t)
{
    if (!np_cfg()->cpu_window_ms) return;
    struct np_cpu_fold *fold = fold_state(t);
    if (!fold || fold->failed) return;
    long ms = window_ms(t);
    uv_timer_start(&fold->timer, on_fold_timer, (uint64_t)ms, (uint64_t)ms);
}

static void fold_disarm(struct np_thread *t)
{
    if (t->cpu_fold) uv_timer_stop(&t->cpu_fold->timer);
}

int np_cpu_start(struct np_thread *t, long interval_us)
{
    if (t->cpu_running) return 0;
    if (start_profile(t, interval_us)) return -1;
    t->cpu_running = true;
    t->cpu_fresh = true;
    t->cpu_interval_us = interval_us;
    t->cpu_started_ms = np_wall_ms();
    fold_arm(t);
    return 0;
}

int np_cpu_stop_and_write(struct np_thread *t, struct np_written *w)
{
    if (!t->cpu_running) return 0;
    t->cpu_running = false;
    np_output_span_start(t->cpu_started_ms); /* the export's start metadata */
    fold_disarm(t);
    size_t len = 0;
    np_boot_mark(NULL);
    char *json = stop_profile(t, &len);
    int n = write_folded(t, json, len, w);
    np_boot_mark("write");
    if (t->thread_id == 0) np_boot_report("exit");
    return n;
}

/* The bridge (a console profile of our session) runs across the stop and
 * the start: V8's profiler is not disposed of in between. Its own data is
 * discarded (nobody listens for Profiler.consoleProfileFinished). */
int np_cpu_dump(struct np_thread *t, struct np_written *w)
{
    if (!t->cpu_running) return 0;
    size_t len = 0;
    bool bridged = console_call(t, "profile", BRIDGE_TITLE) == 0;
    char *json = stop_profile(t, &len);
    int restarted = start_profile(t, 0) == 0;
    if (bridged) console_call(t, "profileEnd", BRIDGE_TITLE);
    if (!restarted) {
        np_warn("cannot start the next CPU profile; the dump ends profiling");
        t->cpu_running = false;
        fold_disarm(t);
    } else {
        fold_arm(t);
    }
    np_output_span_start(t->cpu_started_ms); /* the export's start metadata */
    t->cpu_started_ms = np_wall_ms();
    return write_folded(t, json, len, w);
}
