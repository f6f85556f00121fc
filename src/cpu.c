#include "cpu.h"

#include <stdlib.h>
#include <string.h>

#include "js.h"
#include "log.h"

/* V8 aborts the process (CHECK failed: stackTrace) when console.profile
 * runs with no JavaScript frame on the stack, as in a callback from the
 * event loop. So the call goes through a function of our own: a frame. */
#define CONSOLE_SOURCE "(function nodeprofConsole(console, method, title) { console[method](title); })"

static napi_value console_function(struct np_thread *t)
{
    napi_env env = t->env;
    napi_value fn;
    if (t->console_fn && napi_get_reference_value(env, t->console_fn, &fn) == napi_ok) return fn;
    if (napi_run_script(env, js_string(env, CONSOLE_SOURCE), &fn) != napi_ok || !js_is_function(env, fn)) {
        js_clear_exception(env, "compiling the profile starter");
        return NULL;
    }
    napi_create_reference(env, fn, 1, &t->console_fn);
    return fn;
}

/* inspector.console.profile(title) / profileEnd(title): V8's own console,
 * which reaches the sessions with the Profiler domain on, and prints nothing. */
static int console_call(struct np_thread *t, const char *method, const char *title)
{
    napi_env env = t->env;
    napi_value fn = console_function(t);
    napi_value args[3] = { js_get(env, js_builtin(env, "node:inspector"), "console"),
                           js_string(env, method), js_string(env, title) };
    return fn && args[0] && js_call(env, NULL, fn, 3, args) ? 0 : -1;
}

/* Profiler.consoleProfileFinished: keeps the profile we are ending (the
 * app's own console.profile() titles pass by). */
static napi_value on_profile_finished(napi_env env, napi_callback_info info)
{
    size_t argc = 1, len;
    napi_value msg;
    struct np_thread *t;
    if (napi_get_cb_info(env, info, &argc, &msg, NULL, (void **)&t) != napi_ok || argc < 1) return NULL;
    napi_value params = js_get(env, msg, "params");
    char *title = js_to_utf8(env, js_get(env, params, "title"), &len);
    if (title && !strcmp(title, t->cpu_ending) && !t->ending_json)
        t->ending_json = js_stringify(env, js_get(env, params, "profile"), &t->ending_len);
    free(title);
    return NULL;
}

static int enable_profiler(struct np_thread *t)
{
    if (t->profiler_enabled) return 0;
    if (np_session_on(t->env, &t->session, "Profiler.consoleProfileFinished", on_profile_finished, t) ||
        !np_session_post(t->env, &t->session, "Profiler.enable", NULL))
        return -1;
    t->profiler_enabled = true;
    return 0;
}

static int begin_profile(struct np_thread *t)
{
    char title[sizeof t->cpu_title];
    snprintf(title, sizeof title, "nodeprof-%u", ++t->cpu_title_seq);
    if (console_call(t, "profile", title)) return -1;
    memcpy(t->cpu_title, title, sizeof title);
    return 0;
}

/* Ends the profile called title; returns its JSON (malloc'ed) or NULL. */
static char *end_profile(struct np_thread *t, const char *title, size_t *len)
{
    snprintf(t->cpu_ending, sizeof t->cpu_ending, "%s", title);
    console_call(t, "profileEnd", title);
    char *json = t->ending_json;
    *len = t->ending_len;
    t->ending_json = NULL;
    t->cpu_ending[0] = '\0';
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
    napi_value params = js_object(t->env);
    js_set(t->env, params, "interval", js_number(t->env, (double)interval_us));
    /* The interval can be set only while no profile runs: now. */
    if (enable_profiler(t) ||
        !np_session_post(t->env, &t->session, "Profiler.setSamplingInterval", params) ||
        begin_profile(t))
        return -1;
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
    char *json = end_profile(t, t->cpu_title, &len);
    return write_json(t, json, len, w);
}

int np_cpu_dump(struct np_thread *t, struct np_written *w)
{
    if (!t->cpu_running) return 0;
    char old[sizeof t->cpu_title];
    memcpy(old, t->cpu_title, sizeof old);
    if (begin_profile(t)) {
        np_warn("cannot start the next CPU profile; the dump ends profiling");
        return np_cpu_stop_and_write(t, w);
    }
    size_t len = 0;
    char *json = end_profile(t, old, &len);
    t->cpu_started_ms = np_wall_ms();
    return write_json(t, json, len, w);
}
