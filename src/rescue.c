#include "rescue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <limits.h>
#include <fcntl.h>
#include <stdatomic.h>

#include "common/clock.h"
#include "common/log.h"
#include "js.h"
#include "process.h"
#include "wake.h"

#define RESCUE_SYMBOL "nodeprof"

/* The helper as the main thread and the agent thread see it. */
static struct np_rescue {
    char token[40];                 /* marks our helper among workers */
    napi_ref worker;                /* main thread: the Worker object */
    void (*serve)(napi_env env);    /* what the rescue runs on the main thread */
    _Atomic(void (*)(double bytes)) on_heap_used; /* np_rescue_read_heap's listener */
    atomic_bool in_flight;          /* a rescue evaluation is under way */
    atomic_bool rescue_wanted;
    atomic_bool heap_wanted;        /* a heap-size reading is asked for */
} rescue;

static struct np_rescue *rs(void) { return &rescue; }

/* ---- main thread ------------------------------------------------------- */

/* process[Symbol.for('nodeprof')](): what the helper evaluates. */
static napi_value rescue_entry(napi_env env, napi_callback_info info)
{
    (void)info;
    rs()->serve(env);
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
    np_wake_forget(NP_WAKE_HELPER);
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

/* Whether node runs with --frozen-intrinsics (on its command line or in
 * NODE_OPTIONS; the intrinsics are frozen only after our loader ran), or
 * the app froze them before the helper's turn came. There a Worker with
 * both stdout and stderr of its own keeps the process alive for ever,
 * unref'd or not: plain node 20 to 24 does it too. Without those options
 * its output would be piped to the app's, creating process.stdout and
 * process.stderr behind the app's back; so no helper at all. */
static bool intrinsics_frozen(napi_env env)
{
    napi_value global, process, object, proto;
    bool yes = false;
    if (napi_get_global(env, &global) != napi_ok) return false;
    process = js_get(env, global, "process");
    napi_value argv = process ? js_call_method(env, js_get(env, process, "execArgv"), "join", 0, NULL) : NULL;
    size_t len = 0;
    char *text = argv ? js_to_utf8(env, argv, &len) : NULL;
    const char *opts = getenv("NODE_OPTIONS");
    bool flag = (text && strstr(text, "--frozen-intrinsics")) || (opts && strstr(opts, "--frozen-intrinsics"));
    free(text);
    if (flag) return true;
    object = js_get(env, global, "Object");
    proto = object ? js_get(env, object, "prototype") : NULL;
    napi_value frozen = proto ? js_call_method(env, object, "isFrozen", 1, &proto) : NULL;
    return frozen && napi_get_value_bool(env, frozen, &yes) == napi_ok && yes;
}

/* Whether the app has closed fd 0, 1 or 2. A Worker's thread opens its
 * event loop's epoll descriptor, the lowest free one, and node aborts when
 * that loop closes (libuv's uv__close asserts fd > 2): a process that would
 * have ended cleanly dies of SIGABRT, plain node too if the app made the
 * Worker. It would also take the descriptor an app that closed stdout
 * means to reopen. */
static bool stdio_closed(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0) return true;
    return false;
}

/* new Worker(`process.dlopen(...)`, {eval, workerData}).unref() */
static int start_helper(napi_env env)
{
    char code[PATH_MAX + 128];
    char quoted[PATH_MAX + 8];
    snprintf(quoted, sizeof quoted, "%s", np_process.preload->lib_path);
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

int np_rescue_install(napi_env env, void (*serve)(napi_env env))
{
    double wall = np_wall_ms(), cpu = np_thread_cpu_ms();
    rs()->serve = serve;
    if (intrinsics_frozen(env)) {
        np_info("no helper thread with frozen intrinsics (node would never exit): commands wait while the main thread is busy");
        return -1;
    }
    if (stdio_closed()) {
        np_info("no helper thread: the app closed its stdin, stdout or stderr: commands wait while the main thread is busy");
        return -1;
    }
    if (define_entry(env) || start_helper(env)) {
        np_warn("no helper thread: commands wait while the main thread is busy");
        return -1;
    }
    np_debug("helper worker started: %.2f ms of the main thread (%.2f ms CPU)", np_wall_ms() - wall,
             np_thread_cpu_ms() - cpu);
    return 0;
}

/* ---- helper worker thread ---------------------------------------------- */

struct rescue_call {
    napi_ref session;
    bool poll;  /* a heap-size reading, not a rescue */
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

static napi_value on_evaluated(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    struct rescue_call *call;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&call) != napi_ok) return NULL;
    double used = 0;
    if (call->poll && argc > 1 && !js_to_double(env, js_get(env, argv[1], "usedSize"), &used) && atomic_load(&rs()->on_heap_used))
        atomic_load(&rs()->on_heap_used)(used);
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

static void on_helper_wake(napi_env env)
{
    if (atomic_exchange(&rs()->rescue_wanted, false)) start_call(env, false);
    if (atomic_exchange(&rs()->heap_wanted, false)) start_call(env, true);
}

bool np_rescue_is_helper(napi_env env)
{
    napi_value data = js_get(env, js_builtin(env, "node:worker_threads"), "workerData");
    size_t len;
    char *token = js_to_utf8(env, js_get(env, data, "nodeprofHelper"), &len);
    bool ours = token && rs()->token[0] && !strcmp(token, rs()->token);
    free(token);
    if (!ours || np_wake_bound(NP_WAKE_HELPER)) return ours;
    /* Kept alive: the helper's loop waits for us (the Worker is unref'd). */
    if (np_wake_bind(NP_WAKE_HELPER, env, on_helper_wake, true)) return true;
    /* Requests made while it booted (a signal, `stack`, in the first
     * milliseconds of a process busy from its first line). */
    if (atomic_load(&rs()->rescue_wanted)) np_wake(NP_WAKE_HELPER);
    return true;
}

bool np_rescue_ready(void) { return np_wake_bound(NP_WAKE_HELPER); }

void np_rescue_request(void)
{
    struct np_rescue *r = rs();
    if (np_shutting_down()) return;
    if (atomic_exchange(&r->in_flight, true)) return; /* one at a time */
    atomic_store(&r->rescue_wanted, true);
    /* A helper still booting takes it when ready (np_rescue_is_helper):
     * both sides store, then look at the other's flag. */
    if (np_wake_bound(NP_WAKE_HELPER) && !np_wake(NP_WAKE_HELPER)) {
        atomic_store(&r->rescue_wanted, false);
        atomic_store(&r->in_flight, false);
    }
}

void np_rescue_read_heap(void (*on_used)(double bytes))
{
    atomic_store(&rs()->on_heap_used, on_used);
    atomic_store(&rs()->heap_wanted, true);
    np_wake(NP_WAKE_HELPER);
}
