#include "trace.h"

#include <stdlib.h>
#include <string.h>

#include "js.h"
#include "common/log.h"
#include "common/outfile.h"
#include "common/clock.h"
#include "output.h"

/* NodeTracing.dataCollected: {params: {value: [event, ...]}}. Each batch is
 * appended without its brackets. */
static napi_value on_data(napi_env env, napi_callback_info info)
{
    size_t argc = 1, len;
    napi_value msg;
    struct np_thread *t;
    if (napi_get_cb_info(env, info, &argc, &msg, NULL, (void **)&t) != napi_ok || !t->trace.out) return NULL;
    char *json = js_stringify(env, js_get(env, js_get(env, msg, "params"), "value"), &len);
    if (json && len > 2) {
        if (t->trace_events) fputc(',', t->trace.out);
        fwrite(json + 1, 1, len - 2, t->trace.out);
        t->trace_events++;
    }
    free(json);
    return NULL;
}

static napi_value categories_array(napi_env env, const char *list)
{
    napi_value array;
    uint32_t n = 0;
    if (napi_create_array_with_length(env, 0, &array) != napi_ok) return NULL;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        napi_value item;
        if (len && napi_create_string_utf8(env, p, len, &item) == napi_ok) napi_set_element(env, array, n++, item);
        p += len + (p[len] == ',');
    }
    return array;
}

bool np_trace_running(const struct np_thread *t)
{
    return t->trace.out != NULL;
}

int np_trace_start(struct np_thread *t, const char *categories, struct np_written *w)
{
    napi_env env = t->env;
    char name[NAME_MAX + 1], err[1024];
    if (np_trace_running(t)) return np_written_fail(w, "trace events are already being recorded");
    if (!t->trace_listening) {
        if (np_session_on(env, &t->session, "NodeTracing.dataCollected", on_data, t))
            return np_written_fail(w, "cannot listen for trace events");
        t->trace_listening = true;
    }
    struct np_target target;
    if (np_target_open(t->thread_id, &target, w)) return -1;
    snprintf(name, sizeof name, "%s.trace.json", target.name);
    int rc = np_stream_open_at(&t->trace, target.dirfd, np_output_dir(), name, err, sizeof err);
    np_target_close(&target);
    if (rc) return np_written_fail(w, err);
    fputs("{\"traceEvents\":[", t->trace.out);
    t->trace_events = 0;
    napi_value config = js_object(env), params = js_object(env);
    js_set(env, config, "includedCategories",
           categories_array(env, *categories ? categories : NP_TRACE_DEFAULT_CATEGORIES));
    js_set(env, params, "traceConfig", config);
    if (!np_session_post(env, &t->session, "NodeTracing.start", params)) {
        np_stream_abort(&t->trace);
        return np_written_fail(w, "the inspector could not start tracing");
    }
    t->trace_started_ms = np_wall_ms();
    snprintf(t->trace_categories, sizeof t->trace_categories, "%s",
             *categories ? categories : NP_TRACE_DEFAULT_CATEGORIES);
    return 0;
}

int np_trace_stop(struct np_thread *t, struct np_written *w)
{
    char err[1024];
    if (!np_trace_running(t)) return np_written_fail(w, "trace events are not being recorded");
    /* Same-thread session: the remaining data arrives before this returns. */
    if (!np_session_post(t->env, &t->session, "NodeTracing.stop", NULL)) {
        np_stream_abort(&t->trace);
        return np_written_fail(w, "the inspector could not stop tracing");
    }
    fputs("]}\n", t->trace.out);
    if (np_stream_commit_new(&t->trace, np_output_mode(), err, sizeof err)) return np_written_fail(w, err);
    np_output_span_start(t->trace_started_ms); /* the export's start metadata */
    np_file_written(t->trace.path, ".trace.json", w);
    np_output_span_start(0);
    return 0;
}
