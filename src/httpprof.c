#include "httpprof.h"

#include <stdlib.h>

#include "common/log.h"
#include "js.h"
#include "session.h"

static struct np_httpprof {
    struct np_session session; /* opened on first use */
    bool open;
    bool profiler_enabled;
    bool heap_sampling;        /* on this session */
} prof;

static struct np_session *session(struct np_thread *t)
{
    if (!prof.open) {
        if (np_session_open(t->env, &prof.session)) return NULL;
        prof.open = true;
    }
    return &prof.session;
}

int np_httpprof_cpu_start(struct np_thread *t, long interval_us)
{
    napi_env env = t->env;
    struct np_session *s = session(t);
    if (!s) return -1;
    if (!prof.profiler_enabled) {
        if (!np_session_post(env, s, "Profiler.enable", NULL)) return -1;
        prof.profiler_enabled = true;
    }
    napi_value params = js_object(env);
    js_set(env, params, "interval", js_number(env, (double)interval_us));
    np_session_post(env, s, "Profiler.setSamplingInterval", params); /* refused while running: keep */
    return np_session_post(env, s, "Profiler.start", NULL) ? 0 : -1;
}

static char *read_profile(napi_env env, struct np_session *s, const char *method, size_t *len)
{
    napi_value profile = js_get(env, np_session_post(env, s, method, NULL), "profile");
    char *json = profile ? js_stringify(env, profile, len) : NULL;
    if (!json) np_warn("could not read the profile from the inspector (%s)", method);
    return json;
}

char *np_httpprof_cpu_stop(struct np_thread *t, size_t *len)
{
    struct np_session *s = session(t);
    return s ? read_profile(t->env, s, "Profiler.stop", len) : NULL;
}

bool np_httpprof_heap_shared(struct np_thread *t)
{
    return t->heap_running && !prof.heap_sampling;
}

int np_httpprof_heap_start(struct np_thread *t, long interval_bytes)
{
    napi_env env = t->env;
    struct np_session *s = session(t);
    if (!s) return -1;
    napi_value params = js_object(env);
    js_set(env, params, "samplingInterval", js_number(env, (double)interval_bytes));
    if (!np_session_post(env, s, "HeapProfiler.startSampling", params)) return -1;
    prof.heap_sampling = true;
    return 0;
}

char *np_httpprof_heap_read(struct np_thread *t, size_t *len)
{
    if (np_httpprof_heap_shared(t)) return read_profile(t->env, &t->session, "HeapProfiler.getSamplingProfile", len);
    if (!prof.heap_sampling) return NULL;
    prof.heap_sampling = false;
    return read_profile(t->env, &prof.session, "HeapProfiler.stopSampling", len);
}
