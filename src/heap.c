#include "heap.h"

#include <stdlib.h>

#include "js.h"
#include "log.h"

int np_heap_start(struct np_thread *t, long interval_bytes)
{
    napi_env env = t->env;
    napi_value params = js_object(env), yes;
    napi_get_boolean(env, true, &yes);
    js_set(env, params, "samplingInterval", js_number(env, (double)interval_bytes));
    /* Keep the samples of objects collected since: a profile written at
     * exit then shows what allocated during the run, not only the little
     * that is still alive at the end (all node's --heap-prof can show). */
    js_set(env, params, "includeObjectsCollectedByMajorGC", yes);
    js_set(env, params, "includeObjectsCollectedByMinorGC", yes);
    if (!np_session_post(env, &t->session, "HeapProfiler.startSampling", params)) return -1;
    t->heap_running = true;
    t->heap_started_ms = np_wall_ms();
    return 0;
}

/* getSamplingProfile reads without stopping; stopSampling ends it. */
int np_heap_write(struct np_thread *t, bool keep_running, struct np_written *w)
{
    napi_env env = t->env;
    if (!t->heap_running) return 0;
    const char *method = keep_running ? "HeapProfiler.getSamplingProfile" : "HeapProfiler.stopSampling";
    if (!keep_running) t->heap_running = false;
    napi_value profile = js_get(env, np_session_post(env, &t->session, method, NULL), "profile");
    size_t len;
    char *json = profile ? js_stringify(env, profile, &len) : NULL;
    if (!json) {
        np_err("could not read the heap profile from the inspector");
        return 0;
    }
    int n = np_write_profile(NP_PROFILE_HEAP, t->thread_id, json, len, w);
    free(json);
    return n;
}

void np_heap_finish(struct np_thread *t)
{
    np_heap_write(t, false, NULL);
}
