#include "httpprof.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "cpu.h"
#include "heaptidy.h"
#include "js.h"
#include "session.h"

#define CPU_TITLE "nodeprof-http"

static struct np_httpprof {
    struct np_session session; /* heap sampling; opened on first use */
    bool open;
    bool heap_sampling;        /* on this session */
    bool listening;            /* to the main session's consoleProfileFinished */
    char *cpu_json;            /* the console profile, as it finished */
    size_t cpu_len;
} prof;

static struct np_session *session(struct np_thread *t)
{
    if (!prof.open) {
        if (np_session_open(t->env, &prof.session)) return NULL;
        prof.open = true;
    }
    return &prof.session;
}

/* Profiler.consoleProfileFinished: ours, or the bridge's (ignored). */
static napi_value on_console_profile(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value msg;
    if (napi_get_cb_info(env, info, &argc, &msg, NULL, NULL) != napi_ok || argc < 1) return NULL;
    napi_value params = js_get(env, msg, "params");
    size_t len = 0;
    char *title = js_to_utf8(env, js_get(env, params, "title"), &len);
    if (title && !strcmp(title, CPU_TITLE)) {
        free(prof.cpu_json);
        prof.cpu_json = js_stringify(env, js_get(env, params, "profile"), &prof.cpu_len);
    }
    free(title);
    return NULL;
}

int np_httpprof_cpu_start(struct np_thread *t, long interval_us)
{
    napi_env env = t->env;
    if (!t->profiler_enabled) {
        if (!np_session_post(env, &t->session, "Profiler.enable", NULL)) return -1;
        t->profiler_enabled = true;
    }
    if (!prof.listening) {
        if (np_session_on(env, &t->session, "Profiler.consoleProfileFinished", on_console_profile, NULL)) return -1;
        prof.listening = true;
    }
    if (!t->cpu_running) { /* V8 refuses to change it while a profile runs */
        napi_value params = js_object(env);
        js_set(env, params, "interval", js_number(env, (double)interval_us));
        np_session_post(env, &t->session, "Profiler.setSamplingInterval", params);
    }
    return np_cpu_console_call(t, "profile", CPU_TITLE);
}

char *np_httpprof_cpu_stop(struct np_thread *t, size_t *len)
{
    free(prof.cpu_json);
    prof.cpu_json = NULL;
    if (np_cpu_console_call(t, "profileEnd", CPU_TITLE)) return NULL;
    char *json = prof.cpu_json;
    *len = prof.cpu_len;
    prof.cpu_json = NULL;
    if (!json) np_warn("the inspector did not deliver the HTTP endpoint's CPU profile");
    return json;
}

static char *read_profile(napi_env env, struct np_session *s, const char *method, size_t *len)
{
    napi_value profile = js_get(env, np_session_post(env, s, method, NULL), "profile");
    if (profile) np_heap_profile_tidy(env, profile); /* heaptidy.h */
    char *json = profile ? js_stringify(env, profile, len) : NULL;
    if (!json) np_warn("could not read the profile from the inspector (%s)", method);
    return json;
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
