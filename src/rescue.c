#include "rescue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "control.h"
#include "js.h"
#include "common/log.h"
#include "shutdown.h"

#define RESCUE_SYMBOL "nodeprof"
#define HEAP_POLL_MS 50

static struct np_rescue *rs(void) { return &np_agent.rescue; }

/* ---- main thread ------------------------------------------------------- */

/* process[Symbol.for('nodeprof')](): what the helper evaluates. */
static napi_value rescue_entry(napi_env env, napi_callback_info info)
{
    (void)env; (void)info;
    if (atomic_load(&np_agent.shutting_down) || !np_agent.main) return NULL;
    np_shutdown_handle_signals();
    np_control_run_pending();
    return NULL;
}

/* Object.defineProperty(process, Symbol.for('nodeprof'), {value: fn}):
 * not enumerable, so it does not show in for..in, JSON or Object.keys. */
static int define_entry(napi_env env)
{
    napi_value global = js_global(env);
    napi_value key_name = js_string(env, RESCUE_SYMBOL);
    napi_value key = js_call_method(env, js_get(env, global, "Symbol"), "for", 1, &key_name);
    napi_value desc = js_object(env);
    js_set(env, desc, "value", js_function(env, "nodeprofRescue", rescue_entry, NULL));
    napi_value args[3] = { js_get(env, global, "process"), key, desc };
    return key && js_call_method(env, js_get(env, global, "Object"), "defineProperty", 3, args) ? 0 : -1;
}

static napi_value ignore_error(napi_env env, napi_callback_info info)
{
    (void)env; (void)info;
    np_debug("the helper worker failed; commands wait for the event loop");
    atomic_store(&np_agent.rescue.ready, false);
    return NULL;
}

static void make_token(char *out, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(out, len, "nodeprof-%ld-%lx%lx", (long)getpid(), (unsigned long)ts.tv_sec, (unsigned long)ts.tv_nsec);
}

/* new Worker() queues process.emit('worker', w) on process.nextTick, which
 * runs after the app's first script has added its listeners: the app would
 * see our helper. While the constructor runs, process.nextTick only records
 * its callbacks; then every one of them but that emit is passed on, in
 * order (the constructor's others resume the worker's stdio streams). */
#define WORKER_EVENT_TICK "process.emit('worker'"
#define MAX_TICK_ARGS 8

static napi_ref recorded_ticks; /* main thread, while the constructor runs */

static napi_value record_tick(napi_env env, napi_callback_info info)
{
    size_t argc = MAX_TICK_ARGS;
    napi_value argv[MAX_TICK_ARGS], call, queue;
    uint32_t len = 0;
    if (!recorded_ticks || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
        napi_get_reference_value(env, recorded_ticks, &queue) != napi_ok || !queue)
        return NULL;
    if (argc > MAX_TICK_ARGS) argc = MAX_TICK_ARGS;
    napi_get_array_length(env, queue, &len);
    if (napi_create_array_with_length(env, argc, &call) != napi_ok) return NULL;
    for (size_t i = 0; i < argc; i++) napi_set_element(env, call, (uint32_t)i, argv[i]);
    napi_set_element(env, queue, len, call);
    return NULL;
}

static bool is_worker_event(napi_env env, napi_value fn)
{
    size_t len;
    char *text = js_to_utf8(env, js_call_method(env, fn, "toString", 0, NULL), &len);
    bool hit = text && strstr(text, WORKER_EVENT_TICK);
    free(text);
    return hit;
}

static void pass_on_ticks(napi_env env, napi_value process, napi_value tick, napi_value queue)
{
    uint32_t n = 0, argc = 0;
    napi_get_array_length(env, queue, &n);
    for (uint32_t i = 0; i < n; i++) {
        napi_value call, argv[MAX_TICK_ARGS];
        if (napi_get_element(env, queue, i, &call) != napi_ok || napi_get_array_length(env, call, &argc) != napi_ok)
            continue;
        for (uint32_t a = 0; a < argc; a++) napi_get_element(env, call, a, &argv[a]);
        if (argc == 0 || is_worker_event(env, argv[0])) continue;
        js_call(env, process, tick, argc, argv);
    }
}

static napi_value new_worker_unseen(napi_env env, napi_value ctor, size_t argc, const napi_value *argv)
{
    napi_value process = js_get(env, js_global(env), "process");
    napi_value tick = js_get(env, process, "nextTick"), queue, worker = NULL;
    if (!js_is_function(env, tick) || napi_create_array_with_length(env, 0, &queue) != napi_ok ||
        napi_create_reference(env, queue, 1, &recorded_ticks) != napi_ok)
        return NULL;
    js_set(env, process, "nextTick", js_function(env, "nextTick", record_tick, NULL));
    if (napi_new_instance(env, ctor, argc, argv, &worker) != napi_ok) worker = NULL;
    js_clear_exception(env, "starting the helper worker");
    js_set(env, process, "nextTick", tick);
    napi_delete_reference(env, recorded_ticks);
    recorded_ticks = NULL;
    pass_on_ticks(env, process, tick, queue);
    return worker;
}

/* new Worker(`process.dlopen(...)`, {eval, workerData}).unref() */
static int start_helper(napi_env env)
{
    char code[PATH_MAX + 128];
    char quoted[PATH_MAX + 8];
    snprintf(quoted, sizeof quoted, "%s", np_agent.lib_path);
    for (char *p = quoted; *p; p++) if (*p == '\'' || *p == '\\' || *p == '\n') return -1;
    snprintf(code, sizeof code, "process.dlopen({ exports: {} }, '%s');", quoted);
    make_token(rs()->token, sizeof rs()->token);
    napi_value wt = js_builtin(env, "node:worker_threads");
    napi_value opts = js_object(env), data = js_object(env), limits = js_object(env);
    napi_value t = NULL;
    napi_get_boolean(env, true, &t);
    js_set(env, data, "nodeprofHelper", js_string(env, rs()->token));
    js_set(env, opts, "eval", t);
    js_set(env, opts, "workerData", data);
    js_set(env, opts, "name", js_string(env, "nodeprof"));
    /* Its stdout and stderr are not piped to the app's (it prints nothing):
     * halves the constructor's time (3 to 4 ms of 8). */
    js_set(env, opts, "stdout", t);
    js_set(env, opts, "stderr", t);
    js_set(env, limits, "maxOldGenerationSizeMb", js_number(env, 32));
    js_set(env, opts, "resourceLimits", limits);
    napi_value args[2] = { js_string(env, code), opts }, worker;
    napi_value ctor = js_get(env, wt, "Worker");
    if (!js_is_function(env, ctor) || !(worker = new_worker_unseen(env, ctor, 2, args))) return -1;
    napi_value on_args[2] = { js_string(env, "error"), js_function(env, "nodeprofHelperError", ignore_error, NULL) };
    js_call_method(env, worker, "on", 2, on_args);
    js_call_method(env, worker, "unref", 0, NULL);
    return napi_create_reference(env, worker, 1, &rs()->worker) == napi_ok ? 0 : -1;
}

/* The value of a "--flag=N" (MiB) in node's own arguments or NODE_OPTIONS;
 * the last one wins, as in node. 0 if absent. */
static double flag_mb(napi_env env, const char *flag)
{
    napi_value process = js_get(env, js_global(env), "process");
    napi_value args = js_call_method(env, js_get(env, process, "execArgv"), "join", 0, NULL);
    size_t len, flen = strlen(flag);
    char *argv = args ? js_to_utf8(env, args, &len) : NULL;
    const char *sources[2] = { getenv("NODE_OPTIONS"), argv };
    double mb = 0;
    for (int i = 0; i < 2; i++)
        for (const char *hit = sources[i]; hit && (hit = strstr(hit, flag)); hit += flen)
            if (hit[flen] == '=') mb = strtod(hit + flen + 1, NULL);
    free(argv);
    return mb;
}

/* The old generation's limit, where node dies of "heap out of memory".
 * Exact when --max-old-space-size is given (the usual case in containers).
 * Otherwise heap_size_limit less the young generation, whose size V8 does
 * not expose: three semi-spaces of 16 MiB (node 20 and 22; larger on 24,
 * which makes the thresholds a little late there). */
static void read_heap_limit(napi_env env)
{
    double old_mb = flag_mb(env, "--max-old-space-size");
    if (old_mb > 0) {
        rs()->heap_limit = old_mb * 1048576;
        return;
    }
    double limit = 0, semi = flag_mb(env, "--max-semi-space-size");
    napi_value stats = js_call_method(env, js_builtin(env, "node:v8"), "getHeapStatistics", 0, NULL);
    js_to_double(env, js_get(env, stats, "heap_size_limit"), &limit);
    double young = 3 * (semi > 0 ? semi : 16) * 1048576;
    rs()->heap_limit = limit > 2 * young ? limit - young : limit;
}

static double thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

int np_rescue_install(napi_env env)
{
    double wall = np_wall_ms(), cpu = thread_cpu_ms();
    read_heap_limit(env);
    if (define_entry(env) || start_helper(env)) {
        np_warn("no helper thread: commands wait while the main thread is busy");
        return -1;
    }
    np_debug("helper worker started: %.2f ms of the main thread (%.2f ms CPU)", np_wall_ms() - wall,
             thread_cpu_ms() - cpu);
    return 0;
}

/* ---- helper worker thread ---------------------------------------------- */

struct rescue_call {
    napi_ref session;
    bool poll;  /* a heap-size poll, not a rescue */
};

static napi_value session_of(napi_env env, struct rescue_call *call)
{
    napi_value s;
    return napi_get_reference_value(env, call->session, &s) == napi_ok ? s : NULL;
}

static void end_call(napi_env env, struct rescue_call *call)
{
    js_call_method(env, session_of(env, call), "disconnect", 0, NULL);
    napi_delete_reference(env, call->session);
    if (!call->poll) atomic_store(&rs()->in_flight, false);
    free(call);
}

/* NODEPROF_HEAPSNAPSHOT_NEAR_LIMIT: the k-th snapshot (k = 0, 1, ...) when
 * the heap passes 1 - 0.25 / 2^k of its limit: 75 %, 87.5 %, 93.75 %... */
static void check_heap_usage(napi_env env, napi_value result)
{
    double used = 0;
    struct np_rescue *r = rs();
    if (js_to_double(env, js_get(env, result, "usedSize"), &used) || r->heap_limit <= 0) return;
    if (r->near_limit_taken >= np_agent.cfg.heapsnapshot_near_limit) return;
    double threshold = r->heap_limit * (1.0 - 0.25 / (double)(1 << r->near_limit_taken));
    np_debug("heap %.1f MB, next snapshot at %.1f MB", used / 1048576, threshold / 1048576);
    if (used < threshold) return;
    r->near_limit_taken++;
    np_info("heap at %.0f MB of %.0f MB: taking a heap snapshot", used / 1048576, r->heap_limit / 1048576);
    np_control_submit_internal(NP_CMD_HEAP_SNAPSHOT, "near-limit");
    np_rescue_request();
}

static napi_value on_evaluated(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    struct rescue_call *call;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&call) != napi_ok) return NULL;
    if (call->poll && argc > 1) check_heap_usage(env, argv[1]);
    end_call(env, call);
    return NULL;
}

static void start_call(napi_env env, bool poll)
{
    struct rescue_call *call = calloc(1, sizeof *call);
    if (!call) return;
    call->poll = poll;
    napi_value ctor = js_get(env, js_builtin(env, "node:inspector"), "Session"), session;
    if (!js_is_function(env, ctor) || napi_new_instance(env, ctor, 0, NULL, &session) != napi_ok ||
        !js_call_method(env, session, "connectToMainThread", 0, NULL) ||
        napi_create_reference(env, session, 1, &call->session) != napi_ok) {
        js_clear_exception(env, "helper session");
        if (!poll) atomic_store(&rs()->in_flight, false);
        free(call);
        return;
    }
    napi_value params = js_object(env);
    if (!poll) js_set(env, params, "expression", js_string(env, "process[Symbol.for('" RESCUE_SYMBOL "')]?.()"));
    napi_value args[3] = { js_string(env, poll ? "Runtime.getHeapUsage" : "Runtime.evaluate"), params,
                           js_function(env, "nodeprofEvaluated", on_evaluated, call) };
    if (!js_call_method(env, session, "post", 3, args)) end_call(env, call);
}

static void on_helper_wake(napi_env env, napi_value js_cb, void *context, void *data)
{
    (void)js_cb; (void)context; (void)data;
    if (!env) return;
    if (atomic_exchange(&rs()->rescue_wanted, false)) start_call(env, false);
    if (atomic_exchange(&rs()->poll_wanted, false)) start_call(env, true);
}

static void on_helper_finalized(napi_env env, void *data, void *hint)
{
    (void)env; (void)data; (void)hint;
    pthread_mutex_lock(&np_agent.wake_lock);
    atomic_store(&rs()->ready, false);
    pthread_mutex_unlock(&np_agent.wake_lock);
}

/* Calls the helper's thread-safe function unless it is gone (see wake_lock). */
static bool wake_helper(void)
{
    bool sent = false;
    pthread_mutex_lock(&np_agent.wake_lock);
    if (atomic_load(&rs()->ready) && !atomic_load(&np_agent.shutting_down))
        sent = napi_call_threadsafe_function(rs()->wake, NULL, napi_tsfn_nonblocking) == napi_ok;
    pthread_mutex_unlock(&np_agent.wake_lock);
    return sent;
}

bool np_rescue_is_helper(napi_env env)
{
    napi_value data = js_get(env, js_builtin(env, "node:worker_threads"), "workerData");
    size_t len;
    char *token = js_to_utf8(env, js_get(env, data, "nodeprofHelper"), &len);
    bool ours = token && rs()->token[0] && !strcmp(token, rs()->token);
    free(token);
    if (!ours || atomic_load(&rs()->ready)) return ours;
    napi_value name = js_string(env, "nodeprof-helper");
    /* Referenced: keeps the helper's loop alive (the Worker is unref'd). */
    if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, on_helper_finalized, NULL,
                                        on_helper_wake, &rs()->wake) != napi_ok)
        return true;
    atomic_store(&rs()->ready, true);
    /* Requests made while it booted (a signal, `stack`, in the first
     * milliseconds of a process busy from its first line). */
    if (atomic_load(&rs()->rescue_wanted)) wake_helper();
    return true;
}

void np_rescue_request(void)
{
    struct np_rescue *r = rs();
    if (atomic_load(&np_agent.shutting_down)) return;
    if (atomic_exchange(&r->in_flight, true)) return; /* one at a time */
    atomic_store(&r->rescue_wanted, true);
    /* A helper still booting takes it when ready (np_rescue_is_helper):
     * both sides store, then look at the other's flag. */
    if (atomic_load(&r->ready) && !wake_helper()) {
        atomic_store(&r->rescue_wanted, false);
        atomic_store(&r->in_flight, false);
    }
}

static void on_poll_timer(uv_timer_t *timer)
{
    (void)timer;
    struct np_rescue *r = rs();
    if (!atomic_load(&r->ready) || atomic_load(&np_agent.shutting_down) ||
        r->near_limit_taken >= np_agent.cfg.heapsnapshot_near_limit)
        return;
    atomic_store(&r->poll_wanted, true);
    wake_helper();
}

void np_rescue_start_heap_watch(void)
{
    if (np_agent.cfg.heapsnapshot_near_limit <= 0) return;
    uv_timer_init(&np_agent.loop, &rs()->poll_timer);
    uv_timer_start(&rs()->poll_timer, on_poll_timer, HEAP_POLL_MS, HEAP_POLL_MS);
}
