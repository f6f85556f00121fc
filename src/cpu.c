#include "cpu.h"

#include <stdlib.h>
#include <string.h>

#include "js.h"
#include "log.h"

/* inspector.console.profile(title) / profileEnd(title): V8's own console,
 * which reaches the sessions with the Profiler domain on, and prints
 * nothing. Called through Runtime.evaluate on our own session, which
 * enters the app's context explicitly: V8 aborts the process (CHECK
 * failed: stackTrace) when console.profile runs with no JavaScript frame,
 * as in a callback from the event loop, and after the app signals itself
 * (process.kill(process.pid)) a direct call from C no longer reaches our
 * session. The title is ours ("nodeprof-N"): no quoting needed. */
static int console_call(struct np_thread *t, const char *method, const char *title)
{
    napi_env env = t->env;
    char expression[160];
    snprintf(expression, sizeof expression,
             "globalThis.process.getBuiltinModule('node:inspector').console.%s('%s')", method, title);
    napi_value params = js_object(env), yes;
    napi_get_boolean(env, true, &yes);
    js_set(env, params, "expression", js_string(env, expression));
    js_set(env, params, "silent", yes);
    napi_value result = np_session_post(env, &t->session, "Runtime.evaluate", params);
    napi_valuetype thrown = napi_undefined;
    napi_value details = js_get(env, result, "exceptionDetails");
    if (details) napi_typeof(env, details, &thrown);
    if (!result || thrown != napi_undefined) {
        np_warn("console.%s('%s') failed", method, title);
        return -1;
    }
    return 0;
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
    }
    if (interval_us > 0) {
        napi_value params = js_object(env);
        js_set(env, params, "interval", js_number(env, (double)interval_us));
        if (!np_session_post(env, &t->session, "Profiler.setSamplingInterval", params)) return -1;
    }
    return np_session_post(env, &t->session, "Profiler.start", NULL) ? 0 : -1;
}

/* Stops the profile; returns its JSON (malloc'ed) or NULL. Needs no
 * JavaScript context: works after the app signalled itself, too. */
static char *stop_profile(struct np_thread *t, size_t *len)
{
    napi_env env = t->env;
    napi_value result = np_session_post(env, &t->session, "Profiler.stop", NULL);
    napi_value profile = js_get(env, result, "profile");
    char *json = profile ? js_stringify(env, profile, len) : NULL;
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

int np_cpu_start(struct np_thread *t, long interval_us)
{
    if (t->cpu_running) return 0;
    if (start_profile(t, interval_us)) return -1;
    t->cpu_running = true;
    t->cpu_interval_us = interval_us;
    t->cpu_started_ms = np_wall_ms();
    return 0;
}

int np_cpu_stop_and_write(struct np_thread *t, struct np_written *w)
{
    if (!t->cpu_running) return 0;
    t->cpu_running = false;
    size_t len = 0;
    char *json = stop_profile(t, &len);
    return write_json(t, json, len, w);
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
    }
    t->cpu_started_ms = np_wall_ms();
    return write_json(t, json, len, w);
}
