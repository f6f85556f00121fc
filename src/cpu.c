#include "cpu.h"

#include <stdlib.h>

#include "js.h"
#include "log.h"

int np_cpu_start(struct np_thread *t, long interval_us)
{
    napi_env env = t->env;
    napi_value params = js_object(env);
    js_set(env, params, "interval", js_number(env, (double)interval_us));
    if (!np_session_post(env, &t->session, "Profiler.enable", NULL) ||
        !np_session_post(env, &t->session, "Profiler.setSamplingInterval", params) ||
        !np_session_post(env, &t->session, "Profiler.start", NULL))
        return -1;
    t->cpu_running = true;
    return 0;
}

int np_cpu_stop_and_write(struct np_thread *t, struct np_written *w)
{
    napi_env env = t->env;
    if (!t->cpu_running) return 0;
    t->cpu_running = false;
    napi_value result = np_session_post(env, &t->session, "Profiler.stop", NULL);
    napi_value profile = js_get(env, result, "profile");
    size_t len;
    char *json = profile ? js_stringify(env, profile, &len) : NULL;
    if (!json) {
        np_err("could not read the CPU profile from the inspector");
        return 0;
    }
    int n = np_write_profile(NP_PROFILE_CPU, t->thread_id, json, len, w);
    free(json);
    return n;
}
