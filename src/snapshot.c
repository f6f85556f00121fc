#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "headroom.h"
#include "js.h"
#include "log.h"
#include "outfile.h"

/* Where HeapProfiler.addHeapSnapshotChunk events go while a snapshot runs. */
struct chunk_sink {
    FILE *out;
    char *buf;
    size_t cap;
};

static napi_value on_chunk(napi_env env, napi_callback_info info)
{
    size_t argc = 1, len;
    napi_value msg;
    struct chunk_sink *sink;
    if (napi_get_cb_info(env, info, &argc, &msg, NULL, (void **)&sink) != napi_ok || !sink->out) return NULL;
    napi_value chunk = js_get(env, js_get(env, msg, "params"), "chunk");
    if (!chunk || napi_get_value_string_utf8(env, chunk, NULL, 0, &len) != napi_ok) return NULL;
    if (len + 1 > sink->cap) {
        char *bigger = realloc(sink->buf, len + 1);
        if (!bigger) return NULL;
        sink->buf = bigger;
        sink->cap = len + 1;
    }
    napi_get_value_string_utf8(env, chunk, sink->buf, sink->cap, &len);
    fwrite(sink->buf, 1, len, sink->out);
    return NULL;
}

static double heap_used(napi_env env)
{
    double used = 0;
    napi_value stats = js_call_method(env, js_builtin(env, "node:v8"), "getHeapStatistics", 0, NULL);
    js_to_double(env, js_get(env, stats, "used_heap_size"), &used);
    return used;
}

static int fail(struct np_written *w, const char *msg)
{
    np_err("%s", msg);
    snprintf(w->error, sizeof w->error, "%s", msg);
    return -1;
}

int np_snapshot_write(struct np_thread *t, bool force, struct np_written *w)
{
    napi_env env = t->env;
    char err[1024], base[PATH_MAX];
    if (!force && np_headroom_check(heap_used(env), np_agent.cfg.snapshot_factor, err, sizeof err))
        return fail(w, err);
    if (np_next_base_path(t->thread_id, base, sizeof base, w)) return -1;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s.heapsnapshot", base);
    struct np_stream stream;
    if (np_stream_open(&stream, path, err, sizeof err)) return fail(w, err);
    struct chunk_sink sink = { stream.out, NULL, 0 };
    /* The listener stays for the life of this call only. */
    napi_value fn = js_function(env, "nodeprofChunk", on_chunk, &sink);
    napi_value ev = js_string(env, "HeapProfiler.addHeapSnapshotChunk");
    napi_value session;
    napi_get_reference_value(env, t->session.session, &session);
    napi_value on_args[2] = { ev, fn };
    js_call_method(env, session, "on", 2, on_args);
    napi_value ok = np_session_post(env, &t->session, "HeapProfiler.takeHeapSnapshot", NULL);
    js_call_method(env, session, "removeListener", 2, on_args);
    free(sink.buf);
    if (!ok) {
        np_stream_abort(&stream);
        return fail(w, "the inspector could not take the heap snapshot");
    }
    if (np_stream_commit(&stream, 0600, err, sizeof err)) return fail(w, err);
    np_file_written(path, ".heapsnapshot", w);
    return 0;
}
