#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/headroom.h"
#include "js.h"
#include "common/log.h"
#include "common/outfile.h"
#include "output.h"
#include "process.h"

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
 * The temporary file is created 0600 first and v8 is given it as
 * /proc/self/fd/N: it reopens that very file, whatever happens to the
 * directory's path meanwhile. */
static int write_snapshot_to(napi_env env, const struct np_stream *s, char *why, size_t whylen)
{
    char path[sizeof s->tmp];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fileno(s->out));
    if (access(path, W_OK) != 0) snprintf(path, sizeof path, "%s", s->tmp); /* no /proc */
    napi_value v8 = js_builtin(env, "node:v8"), arg = js_string(env, path), result, exc;
    napi_value fn = js_get(env, v8, "writeHeapSnapshot");
    snprintf(why, whylen, "v8.writeHeapSnapshot is not available");
    if (!fn || !arg) return -1;
    if (napi_call_function(env, v8, fn, 1, &arg, &result) == napi_ok) return 0;
    /* Its message (ENOSPC: no space left on device, write) goes into the
     * one line or reply that reports the failure. */
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
        napi_get_and_clear_last_exception(env, &exc) == napi_ok) {
        size_t len;
        char *text = js_to_utf8(env, js_get(env, exc, "message"), &len);
        snprintf(why, whylen, "%s", text ? text : "an exception");
        free(text);
    }
    return -1;
}

/* node's WriteSnapshot (src/heap_utils.cc, node 20 to 24) returns on a
 * write error (ENOSPC) without closing the descriptor it opened: the fd is
 * a local of that function and FileOutputStream has no destructor, so once
 * it has returned nothing in node can ever close it. We do, found by its
 * inode (not by name), so that the deleted temporary's blocks go back to the
 * file system; np_stream_abort truncates it first in any case. */
static void close_leaked_descriptors(const struct np_stream *s)
{
    struct stat ours, st;
    int own = fileno(s->out);
    if (fstat(own, &ours) != 0) return;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    int listing = dirfd(d);
    struct dirent *e;
    int found[16], n = 0;
    while ((e = readdir(d)) && n < 16) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || fd == own || fd == listing || fd < 0) continue;
        if (fstat((int)fd, &st) == 0 && st.st_dev == ours.st_dev && st.st_ino == ours.st_ino)
            found[n++] = (int)fd;
    }
    closedir(d);
    for (int i = 0; i < n; i++) close(found[i]);
    if (n) np_debug("closed %d descriptor(s) node left open on a failed snapshot", n);
}

static atomic_bool snapshot_running; /* one at a time, whoever asks */

bool np_snapshot_running(void)
{
    return atomic_load(&snapshot_running);
}

static int write_one(struct np_thread *t, bool force, struct np_written *w);

int np_snapshot_write(struct np_thread *t, bool force, struct np_written *w)
{
    if (atomic_exchange(&snapshot_running, true)) return np_written_fail(w, "a heap snapshot is already being written");
    int rc = write_one(t, force, w);
    atomic_store(&snapshot_running, false);
    return rc;
}

static int write_one(struct np_thread *t, bool force, struct np_written *w)
{
    napi_env env = t->env;
    char err[1200];
    if (!force && np_headroom_check(heap_used(env), np_cfg()->snapshot_factor, err, sizeof err))
        return np_written_fail(w, err);
    struct np_target target;
    if (np_target_open(t->thread_id, &target, w)) return -1;
    char name[1100];
    snprintf(name, sizeof name, "%s.heapsnapshot", target.name);
    struct np_stream stream;
    int rc = np_stream_open_at(&stream, target.dirfd, np_output_dir(), name, err, sizeof err);
    np_target_close(&target);
    if (rc) return np_written_fail(w, err);
    fflush(stream.out);
    char why[300];
    if (write_snapshot_to(env, &stream, why, sizeof why)) {
        close_leaked_descriptors(&stream);
        np_stream_abort(&stream); /* truncated, then removed */
        snprintf(err, sizeof err, "cannot write the heap snapshot to %.800s: %s", stream.path, why);
        return np_written_fail(w, err);
    }
    /* v8 wrote through its own descriptor; ours is still empty and clean. */
    if (np_stream_commit_new(&stream, np_output_mode(), err, sizeof err)) return np_written_fail(w, err);
    np_file_written(stream.path, ".heapsnapshot", w);
    return 0;
}
