#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "headroom.h"
#include "js.h"
#include "log.h"
#include "outfile.h"

static double heap_used(napi_env env)
{
    double used = 0;
    napi_value stats = js_call_method(env, js_builtin(env, "node:v8"), "getHeapStatistics", 0, NULL);
    js_to_double(env, js_get(env, stats, "used_heap_size"), &used);
    return used;
}

/* v8.writeHeapSnapshot(path) is synchronous on every node we support;
 * the inspector's HeapProfiler.takeHeapSnapshot answers later from the
 * event loop since node 22, which never comes while the thread is stuck.
 * The temporary file is created 0600 first: v8 truncates and fills it,
 * and the snapshot is never readable by others, even half-written. */
static int write_snapshot_to(napi_env env, const char *tmp)
{
    napi_value path = js_string(env, tmp);
    napi_value written = js_call_method(env, js_builtin(env, "node:v8"), "writeHeapSnapshot", 1, &path);
    return written ? 0 : -1;
}

int np_snapshot_write(struct np_thread *t, bool force, struct np_written *w)
{
    napi_env env = t->env;
    char err[1024], base[PATH_MAX];
    if (!force && np_headroom_check(heap_used(env), np_agent.cfg.snapshot_factor, err, sizeof err))
        return np_written_fail(w, err);
    if (np_next_base_path(t->thread_id, base, sizeof base, w)) return -1;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s.heapsnapshot", base);
    struct np_stream stream;
    if (np_stream_open(&stream, path, err, sizeof err)) return np_written_fail(w, err);
    fflush(stream.out);
    if (write_snapshot_to(env, stream.tmp)) {
        np_stream_abort(&stream);
        snprintf(err, sizeof err, "cannot write the heap snapshot to %.900s", path);
        return np_written_fail(w, err);
    }
    /* v8 wrote through its own descriptor; ours is still empty and clean. */
    if (np_stream_commit(&stream, 0600, err, sizeof err)) return np_written_fail(w, err);
    np_file_written(path, ".heapsnapshot", w);
    return 0;
}
