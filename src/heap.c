#include "heap.h"

#include <stdlib.h>

#include "heaptidy.h"
#include "js.h"
#include "common/log.h"
#include "common/clock.h"
#include "profmeta.h"

int np_heap_start(struct np_thread *t, long interval_bytes)
{
    napi_env env = t->env;
    napi_value params = js_object(env);
    /* Live objects only, as node's --heap-prof. V8's flags that keep the
     * samples of collected objects make the profile grow for as long as
     * the process allocates (measured: 150 times the samples in a second
     * of churn), which a long-running service cannot afford. */
    js_set(env, params, "samplingInterval", js_number(env, (double)interval_bytes));
    if (!np_session_post(env, &t->session, "HeapProfiler.startSampling", params)) return -1;
    t->heap_running = true;
    t->heap_started_ms = np_wall_ms();
    t->heap_interval = interval_bytes;
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
    long dropped = profile ? np_heap_profile_tidy(env, profile) : 0;
    if (dropped > 0) np_debug("heap profile: %ld sample(s) of the profile's own construction dropped", dropped);
    size_t len;
    char *json = profile ? js_stringify(env, profile, &len) : NULL;
    if (!json) {
        np_err("could not read the heap profile from the inspector");
        return 0;
    }
    np_output_span_start(t->heap_started_ms); /* the export's start metadata */
    np_profmeta_heap_interval(t->heap_interval); /* the pprof's period */
    int n = np_write_profile(NP_PROFILE_HEAP, t->thread_id, json, len, w);
    free(json);
    return n;
}

void np_heap_finish(struct np_thread *t)
{
    np_heap_write(t, false, NULL);
}
