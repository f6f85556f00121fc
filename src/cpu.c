#include "cpu.h"

#include <stdlib.h>

#include "js.h"
#include "log.h"

/* Opens (once) and starts profiling on session i. */
static int start_on(struct np_thread *t, int i, long interval_us)
{
    napi_env env = t->env;
    struct np_session *s = &t->cpu_sessions[i];
    if (!s->session && (np_session_open(env, s) || !np_session_post(env, s, "Profiler.enable", NULL)))
        return -1;
    napi_value params = js_object(env);
    js_set(env, params, "interval", js_number(env, (double)interval_us));
    if (!np_session_post(env, s, "Profiler.setSamplingInterval", params) ||
        !np_session_post(env, s, "Profiler.start", NULL))
        return -1;
    return 0;
}

/* Stops session i's profile; returns its JSON (malloc'ed) or NULL. */
static char *stop_on(struct np_thread *t, int i, size_t *len)
{
    napi_env env = t->env;
    napi_value result = np_session_post(env, &t->cpu_sessions[i], "Profiler.stop", NULL);
    napi_value profile = js_get(env, result, "profile");
    char *json = profile ? js_stringify(env, profile, len) : NULL;
    if (!json) np_err("could not read the CPU profile from the inspector");
    return json;
}

int np_cpu_start(struct np_thread *t, long interval_us)
{
    if (t->cpu_running) return 0;
    if (start_on(t, t->cpu_active, interval_us)) return -1;
    t->cpu_running = true;
    t->cpu_interval_us = interval_us;
    t->cpu_started_ms = np_wall_ms();
    return 0;
}

static int write_json(struct np_thread *t, char *json, size_t len, struct np_written *w)
{
    if (!json) return 0;
    int n = np_write_profile(NP_PROFILE_CPU, t->thread_id, json, len, w);
    free(json);
    return n;
}

int np_cpu_stop_and_write(struct np_thread *t, struct np_written *w)
{
    if (!t->cpu_running) return 0;
    t->cpu_running = false;
    size_t len;
    char *json = stop_on(t, t->cpu_active, &len);
    return write_json(t, json, len, w);
}

int np_cpu_dump(struct np_thread *t, struct np_written *w)
{
    if (!t->cpu_running) return 0;
    int next = 1 - t->cpu_active;
    if (start_on(t, next, t->cpu_interval_us)) {
        np_warn("cannot start the next CPU profile; the dump ends profiling");
        return np_cpu_stop_and_write(t, w);
    }
    size_t len;
    char *json = stop_on(t, t->cpu_active, &len);
    t->cpu_active = next;
    t->cpu_started_ms = np_wall_ms();
    return write_json(t, json, len, w);
}
