#include "memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "formats/memtimeline.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/outfile.h"
#include "export.h"
#include "js.h"
#include "output.h"
#include "process.h"

#define LOOP_RESOLUTION_MS 20
#define LINE_MAX_BYTES 8192
#define MEMORY_EXT ".memory.jsonl"

/* The timeline's state: one per process, used on the main thread only.
 * Allocated apart from struct np_thread: the timer must live until its
 * close callback runs, after node's cleanup hooks freed the thread. */
struct np_memory {
    uv_timer_t timer;
    struct np_thread *t;         /* NULL once the environment is torn down */
    napi_ref memory_usage, process;
    napi_ref space_stats, v8;
    napi_ref gc_profiler, gc_start, gc_stop; /* NULL: no v8.GCProfiler */
    napi_ref loop_delay, loop_percentile, loop_reset; /* the histogram and its methods */
    long period_ms;
    long ticks_per_sample;       /* the timer ticks at most every NP_MEMORY_DRAIN_MS */
    long ticks;
    double gc_count[NP_GC_KINDS], gc_ms[NP_GC_KINDS], gc_max_ms;
    double heap_after_gc;        /* -1 before the first full GC */
    bool after_gc_fresh;
    np_full_gc_fn on_full_gc;    /* NULL: nobody watches (leakwatch.h) */
    double full_gcs[NP_FULL_GC_BATCH]; /* heap after each full GC of this drain */
    int nfull;
    int fd;
    char path[PATH_MAX + NAME_MAX + 2];
    double file_started_ms; /* wall clock, for its export's metadata */
    off_t size;
    long lines;                  /* samples in the current file */
    bool write_failed;           /* logged once; the file is given up */
    struct np_mem_timeline ring; /* the last NP_MEMORY_RING samples */
};

static struct np_memory *np_memory_state;

static napi_ref keep(napi_env env, napi_value v)
{
    napi_ref ref = NULL;
    if (v && napi_create_reference(env, v, 1, &ref) != napi_ok) ref = NULL;
    return ref;
}

static napi_value deref(napi_env env, napi_ref ref)
{
    napi_value v = NULL;
    if (!ref || napi_get_reference_value(env, ref, &v) != napi_ok) return NULL;
    return v;
}

static double num_of(napi_env env, napi_value obj, const char *key)
{
    double d = -1;
    if (js_to_double(env, js_get(env, obj, key), &d)) return -1;
    return d;
}

/* ---- the sources, captured before the app's code ---------------------- */

static void capture_gc_profiler(napi_env env, struct np_memory *m, napi_value v8)
{
    napi_value cls = js_get(env, v8, "GCProfiler"), inst = NULL;
    if (!js_is_function(env, cls)) {
        np_info("NODEPROF_MEMORY: this node has no v8.GCProfiler: no GC pause figures");
        return;
    }
    napi_value proto = js_get(env, cls, "prototype");
    napi_value start = js_get(env, proto, "start"), stop = js_get(env, proto, "stop");
    if (napi_new_instance(env, cls, 0, NULL, &inst) != napi_ok || !js_is_function(env, start) ||
        !js_is_function(env, stop)) {
        js_clear_exception(env, "v8.GCProfiler");
        return;
    }
    m->gc_profiler = keep(env, inst);
    m->gc_start = keep(env, start);
    m->gc_stop = keep(env, stop);
    js_call(env, inst, start, 0, NULL);
}

static void capture_loop_delay(napi_env env, struct np_memory *m)
{
    napi_value perf = js_builtin(env, "node:perf_hooks");
    napi_value opts = js_object(env);
    js_set(env, opts, "resolution", js_number(env, LOOP_RESOLUTION_MS));
    napi_value h = js_call_method(env, perf, "monitorEventLoopDelay", 1, &opts);
    napi_value percentile = js_get(env, h, "percentile"), reset = js_get(env, h, "reset");
    if (!js_is_function(env, percentile) || !js_is_function(env, reset)) return;
    if (js_call_method(env, h, "enable", 0, NULL)) {
        m->loop_delay = keep(env, h);
        m->loop_percentile = keep(env, percentile);
        m->loop_reset = keep(env, reset);
    }
}

static int capture_sources(napi_env env, struct np_memory *m)
{
    napi_value process = js_get(env, js_global(env), "process");
    napi_value usage = js_get(env, process, "memoryUsage");
    napi_value v8 = js_builtin(env, "node:v8");
    napi_value spaces = js_get(env, v8, "getHeapSpaceStatistics");
    if (!js_is_function(env, usage) || !js_is_function(env, spaces)) return -1;
    m->process = keep(env, process);
    m->memory_usage = keep(env, usage);
    m->v8 = keep(env, v8);
    m->space_stats = keep(env, spaces);
    capture_gc_profiler(env, m, v8);
    if (m->period_ms > 0) capture_loop_delay(env, m); /* a timeline's figure only */
    return 0;
}

/* ---- reading the figures ---------------------------------------------- */

static int gc_kind(const char *type)
{
    if (!strcmp(type, "Scavenge") || !strncmp(type, "Minor", 5)) return NP_GC_SCAVENGE;
    if (!strcmp(type, "MarkSweepCompact")) return NP_GC_MARK_COMPACT;
    if (!strcmp(type, "IncrementalMarking")) return NP_GC_INCREMENTAL;
    if (!strcmp(type, "ProcessWeakCallbacks")) return NP_GC_WEAK;
    return -1;
}

static void account_gc(napi_env env, struct np_memory *m, napi_value entry)
{
    char type[40];
    size_t len = 0;
    napi_value name = js_get(env, entry, "gcType");
    if (!name || napi_get_value_string_utf8(env, name, type, sizeof type, &len) != napi_ok) return;
    int k = gc_kind(type);
    double ms = num_of(env, entry, "cost") / 1000; /* microseconds */
    if (k < 0 || ms < 0) return;
    m->gc_count[k]++;
    m->gc_ms[k] += ms;
    if (ms > m->gc_max_ms) m->gc_max_ms = ms;
    if (k != NP_GC_MARK_COMPACT) return;
    double after = num_of(env, js_get(env, js_get(env, entry, "afterGC"), "heapStatistics"), "usedHeapSize");
    if (after >= 0) {
        m->heap_after_gc = after;
        m->after_gc_fresh = true;
        if (m->nfull == NP_FULL_GC_BATCH) { /* keep the latest */
            memmove(m->full_gcs, m->full_gcs + 1, sizeof m->full_gcs - sizeof *m->full_gcs);
            m->nfull--;
        }
        m->full_gcs[m->nfull++] = after;
    }
}

/* Takes what the GC profiler recorded and starts it again at once. */
static void drain_gc(napi_env env, struct np_memory *m)
{
    napi_value prof = deref(env, m->gc_profiler);
    if (!prof) return;
    napi_value data = js_call(env, prof, deref(env, m->gc_stop), 0, NULL);
    js_call(env, prof, deref(env, m->gc_start), 0, NULL);
    napi_value stats = js_get(env, data, "statistics");
    uint32_t n = 0;
    if (!stats || napi_get_array_length(env, stats, &n) != napi_ok) return;
    for (uint32_t i = 0; i < n; i++) {
        napi_value entry;
        if (napi_get_element(env, stats, i, &entry) == napi_ok) account_gc(env, m, entry);
    }
}

/* The full GCs drained so far, to the watcher, in a handle scope of their
 * own: a heap snapshot the watcher takes (itself a full GC, recorded for
 * the next drain) must not hold the GC profiler's data that the timer's
 * scope still roots. */
static void notify_full_gcs(struct np_thread *t, struct np_memory *m)
{
    napi_handle_scope scope;
    if (!m->nfull || !m->on_full_gc || napi_open_handle_scope(t->env, &scope) != napi_ok) return;
    int n = m->nfull;
    double after[NP_FULL_GC_BATCH];
    memcpy(after, m->full_gcs, sizeof after);
    m->nfull = 0;
    m->on_full_gc(t, after, n);
    js_clear_exception(t->env, "nodeprof leak watch");
    napi_close_handle_scope(t->env, scope);
}

static void read_spaces(napi_env env, struct np_memory *m, struct np_mem_sample *s)
{
    napi_value list = js_call(env, deref(env, m->v8), deref(env, m->space_stats), 0, NULL);
    uint32_t n = 0;
    if (!list || napi_get_array_length(env, list, &n) != napi_ok) return;
    for (uint32_t i = 0; i < n; i++) {
        napi_value sp;
        char name[NP_MEM_SPACE_NAME];
        size_t len = 0;
        if (napi_get_element(env, list, i, &sp) != napi_ok) continue;
        napi_value v = js_get(env, sp, "space_name");
        if (!v || napi_get_value_string_utf8(env, v, name, sizeof name, &len) != napi_ok) continue;
        int slot = np_memtl_space(&m->ring, name);
        if (slot < 0) continue;
        s->space_used[slot] = num_of(env, sp, "space_used_size");
        s->space_committed[slot] = num_of(env, sp, "space_size"); /* V8's CommittedMemory() */
    }
}

/* The histogram's percentile (100: its max), in ms beyond the resolution. */
static double loop_ms(napi_env env, const struct np_memory *m, double percentile)
{
    double ns = -1;
    napi_value h = deref(env, m->loop_delay), a = js_number(env, percentile);
    if (!h) return -1;
    napi_value v = js_call(env, h, deref(env, m->loop_percentile), 1, &a);
    if (js_to_double(env, v, &ns) || ns <= 0) return -1;
    double ms = ns / 1e6 - LOOP_RESOLUTION_MS;
    return ms < 0 ? 0 : ms;
}

/* The figures now; reset: this is a sample (the GC and loop-delay figures
 * start again from zero). */
static void measure(napi_env env, struct np_memory *m, struct np_mem_sample *s, bool reset)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < NP_MEM_SPACES; i++) s->space_used[i] = s->space_committed[i] = -1;
    s->t_ms = np_wall_ms();
    drain_gc(env, m);
    napi_value usage = js_call(env, deref(env, m->process), deref(env, m->memory_usage), 0, NULL);
    s->rss = num_of(env, usage, "rss");
    s->heap_total = num_of(env, usage, "heapTotal");
    s->heap_used = num_of(env, usage, "heapUsed");
    s->external = num_of(env, usage, "external");
    s->array_buffers = num_of(env, usage, "arrayBuffers");
    read_spaces(env, m, s);
    s->heap_after_gc = m->heap_after_gc;
    s->after_gc_fresh = m->after_gc_fresh;
    memcpy(s->gc_count, m->gc_count, sizeof s->gc_count);
    memcpy(s->gc_ms, m->gc_ms, sizeof s->gc_ms);
    s->gc_max_ms = m->gc_profiler ? m->gc_max_ms : -1;
    s->loop_p50_ms = loop_ms(env, m, 50);
    s->loop_p99_ms = loop_ms(env, m, 99);
    s->loop_max_ms = loop_ms(env, m, 100);
    if (!reset) return;
    memset(m->gc_count, 0, sizeof m->gc_count);
    memset(m->gc_ms, 0, sizeof m->gc_ms);
    m->gc_max_ms = 0;
    m->after_gc_fresh = false;
    napi_value h = deref(env, m->loop_delay);
    if (h) js_call(env, h, deref(env, m->loop_reset), 0, NULL);
}

/* ---- the file --------------------------------------------------------- */

/* -1 is written as null; bytes and counts as integers, times to 0.1 µs. */
static int put_num(char *buf, size_t size, size_t *used, const char *key, double v)
{
    int n = v < 0 ? snprintf(buf + *used, size - *used, "\"%s\":null,", key)
            : v < 9e15 && v == (double)(long long)v ? snprintf(buf + *used, size - *used, "\"%s\":%lld,", key, (long long)v)
                                        : snprintf(buf + *used, size - *used, "\"%s\":%.4f,", key, v);
    if (n < 0 || (size_t)n >= size - *used) return -1;
    *used += (size_t)n;
    return 0;
}

static int put_text(char *buf, size_t size, size_t *used, const char *text)
{
    size_t n = strlen(text);
    if (n >= size - *used) return -1;
    memcpy(buf + *used, text, n + 1);
    *used += n;
    return 0;
}

/* Replaces the trailing comma (if any) by close. */
static int close_object(char *buf, size_t size, size_t *used, const char *close)
{
    if (*used && buf[*used - 1] == ',') (*used)--;
    buf[*used] = '\0';
    return put_text(buf, size, used, close);
}

static int format_sample(const struct np_memory *m, const struct np_mem_sample *s, char *buf, size_t size)
{
    size_t u = 0;
    int bad = put_text(buf, size, &u, "{\"type\":\"sample\",");
    bad |= put_num(buf, size, &u, "t", s->t_ms);
    bad |= put_num(buf, size, &u, "rss", s->rss);
    bad |= put_num(buf, size, &u, "heapTotal", s->heap_total);
    bad |= put_num(buf, size, &u, "heapUsed", s->heap_used);
    bad |= put_num(buf, size, &u, "external", s->external);
    bad |= put_num(buf, size, &u, "arrayBuffers", s->array_buffers);
    bad |= put_num(buf, size, &u, "heapAfterGC", s->heap_after_gc);
    bad |= put_text(buf, size, &u, s->after_gc_fresh ? "\"afterGCFresh\":true," : "\"afterGCFresh\":false,");
    bad |= put_text(buf, size, &u, "\"spaces\":{");
    for (int i = 0; i < m->ring.nspaces; i++) {
        if (s->space_used[i] < 0) continue;
        bad |= put_text(buf, size, &u, "\"");
        bad |= put_text(buf, size, &u, m->ring.space_names[i]); /* V8's names: [a-z_] */
        bad |= put_text(buf, size, &u, "\":{");
        bad |= put_num(buf, size, &u, "used", s->space_used[i]);
        bad |= put_num(buf, size, &u, "committed", s->space_committed[i]);
        bad |= close_object(buf, size, &u, "},");
    }
    bad |= close_object(buf, size, &u, "},\"gc\":{");
    for (int k = 0; k < NP_GC_KINDS && m->gc_profiler; k++) {
        bad |= put_text(buf, size, &u, "\"");
        bad |= put_text(buf, size, &u, np_gc_kind_names[k]);
        bad |= put_text(buf, size, &u, "\":{");
        bad |= put_num(buf, size, &u, "count", s->gc_count[k]);
        bad |= put_num(buf, size, &u, "ms", s->gc_ms[k]);
        bad |= close_object(buf, size, &u, "},");
    }
    bad |= put_num(buf, size, &u, "maxPauseMs", s->gc_max_ms);
    bad |= close_object(buf, size, &u, "},\"loopDelayMs\":{");
    bad |= put_num(buf, size, &u, "p50", s->loop_p50_ms);
    bad |= put_num(buf, size, &u, "p99", s->loop_p99_ms);
    bad |= put_num(buf, size, &u, "max", s->loop_max_ms);
    bad |= close_object(buf, size, &u, "}}\n");
    return bad ? -1 : (int)u;
}

static int format_header(napi_env env, const struct np_memory *m, char *buf, size_t size)
{
    size_t len = 0;
    napi_value version = js_get(env, deref(env, m->process), "version");
    char *v = js_to_utf8(env, version, &len);
    double now = np_wall_ms();
    char when[40];
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int n = snprintf(buf, size,
        "{\"type\":\"header\",\"format\":\"nodeprof-memory\",\"version\":1,\"pid\":%ld,\"node\":\"%s\","
        "\"start\":\"%s\",\"startMs\":%.0f,\"periodMs\":%ld,\"gcSource\":%s,"
        "\"loopDelayResolutionMs\":%d,"
        "\"units\":{\"bytes\":\"rss heapTotal heapUsed external arrayBuffers heapAfterGC spaces.*\","
        "\"ms\":\"t (since the epoch) gc.*.ms gc.maxPauseMs loopDelayMs.*\"},"
        "\"fields\":{\"t\":\"wall clock of the sample\",\"rss\":\"resident set size\","
        "\"heapTotal\":\"V8 heap reserved\",\"heapUsed\":\"V8 heap used\","
        "\"external\":\"memory of C++ objects bound to JS objects\",\"arrayBuffers\":\"ArrayBuffer and Buffer memory\","
        "\"heapAfterGC\":\"heap used after the last full (mark-compact) GC so far; null before the first\","
        "\"afterGCFresh\":\"a full GC ended since the previous sample\","
        "\"spaces\":\"per V8 heap space: used and committed bytes\","
        "\"gc\":\"per GC kind since the previous sample: count and total pause; maxPauseMs the longest pause\","
        "\"loopDelayMs\":\"event loop delay since the previous sample (p50, p99, max), beyond the timer's resolution\"}}\n",
        (long)getpid(), v ? v : "?", when, now, m->period_ms, m->gc_profiler ? "\"v8.GCProfiler\"" : "null",
        LOOP_RESOLUTION_MS);
    free(v);
    return n > 0 && (size_t)n < size ? n : -1;
}

static void give_up_file(struct np_memory *m, const char *why)
{
    np_err("NODEPROF_MEMORY: %s: %s; the memory timeline is no longer written", m->path, why);
    m->write_failed = true;
    if (m->fd >= 0) close(m->fd);
    m->fd = -1;
}

/* One write per line: a process killed at any time leaves whole lines. A
 * short write (disk full) is cut off again, so the file still ends in one. */
static void append_line(struct np_memory *m, const char *line, size_t len)
{
    if (m->fd < 0) return;
    ssize_t n = write(m->fd, line, len);
    if (n == (ssize_t)len) {
        m->size += n;
        return;
    }
    int err = n < 0 ? errno : ENOSPC;
    if (n > 0 && ftruncate(m->fd, m->size) != 0) np_debug("ftruncate: %s", strerror(errno));
    give_up_file(m, strerror(err));
}

/* Creates dir/name: never through a symlink, never taking over someone
 * else's file or an earlier one of ours (O_EXCL), with exactly
 * NODEPROF_FILE_MODE. Returns the descriptor, -2 when the name is taken,
 * or -1 (logged). */
static int create_at(int dirfd, const char *name, const char *path)
{
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(dirfd, name, flags, np_output_mode());
    if (fd < 0 && errno == EEXIST) return -2;
    if (fd < 0) {
        np_err("NODEPROF_MEMORY: cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    if (fchmod(fd, np_output_mode()) != 0) np_debug("fchmod %s: %s", path, strerror(errno));
    return fd;
}

/* The next file: the next NODEPROF_NAME expansion, or, when that name is
 * taken (a fixed NODEPROF_NAME: the file before, or another process's),
 * its first free variant NAME-2, NAME-3... as for every file (output.h). */
static int open_file(napi_env env, struct np_memory *m)
{
    struct np_target target;
    struct np_written w = { .count = 0 };
    char name[NAME_MAX + 1], variant[NAME_MAX + 1];
    if (np_target_open(0, &target, &w)) return -1;
    int fd = -1;
    if (snprintf(name, sizeof name, "%s" MEMORY_EXT, target.name) >= (int)sizeof name) {
        np_err("NODEPROF_MEMORY: the file name is too long");
    } else {
        snprintf(m->path, sizeof m->path, "%s/%s", np_output_dir(), name);
        fd = create_at(target.dirfd, name, m->path);
        for (int n = 2; fd == -2 && n <= NP_NAME_VARIANTS; n++) {
            if (np_name_variant(name, n, variant, sizeof variant)) break;
            snprintf(m->path, sizeof m->path, "%s/%s", np_output_dir(), variant);
            fd = create_at(target.dirfd, variant, m->path);
        }
    }
    np_target_close(&target);
    if (fd < 0) return -1;
    m->fd = fd;
    m->size = 0;
    m->lines = 0;
    char header[4096];
    int len = format_header(env, m, header, sizeof header);
    if (len > 0) append_line(m, header, (size_t)len);
    m->file_started_ms = np_wall_ms();
    if (m->fd >= 0) np_file_created(m->path, MEMORY_EXT, NULL);
    return m->fd >= 0 ? 0 : -1;
}

/* The file is complete: closed, and exported (export.h). */
static void close_file(struct np_memory *m)
{
    if (m->fd < 0) return;
    close(m->fd);
    m->fd = -1;
    np_export_file_written(m->path, MEMORY_EXT, m->file_started_ms, np_wall_ms());
}

static void rotate(napi_env env, struct np_memory *m)
{
    close_file(m);
    if (open_file(env, m)) m->write_failed = true; /* logged */
}

static void record(napi_env env, struct np_memory *m)
{
    struct np_mem_sample s;
    char line[LINE_MAX_BYTES];
    measure(env, m, &s, true);
    np_memtl_add(&m->ring, &s);
    int len = format_sample(m, &s, line, sizeof line);
    if (len < 0 || m->write_failed) return;
    /* a file holds at least one sample, however small the limit */
    if (m->lines > 0 && m->size + len > np_cfg()->memory_file_size) rotate(env, m);
    append_line(m, line, (size_t)len);
    m->lines++;
}

/* ---- the timer -------------------------------------------------------- */

static void on_timer(uv_timer_t *timer)
{
    struct np_memory *m = (struct np_memory *)timer;
    struct np_thread *t = m->t;
    if (!t || t->finished) return;
    napi_handle_scope scope;
    if (napi_open_handle_scope(t->env, &scope) != napi_ok) return;
    if (m->period_ms > 0 && ++m->ticks % m->ticks_per_sample == 0) record(t->env, m);
    else drain_gc(t->env, m);
    js_clear_exception(t->env, "nodeprof memory timeline");
    napi_close_handle_scope(t->env, scope);
    notify_full_gcs(t, m);
}

static void on_closed(uv_handle_t *h)
{
    struct np_memory *m = (struct np_memory *)h;
    np_memtl_free(&m->ring);
    free(m);
}

/* Node tears the environment down: close the handle (a worker's loop
 * would abort on it; the main loop is closed too). */
static void cleanup(void *arg)
{
    struct np_memory *m = arg;
    if (np_memory_state == m) np_memory_state = NULL;
    m->t = NULL;
    if (m->fd >= 0) close(m->fd);
    m->fd = -1;
    uv_timer_stop(&m->timer);
    uv_close((uv_handle_t *)&m->timer, on_closed);
}

/* period 0: GC accounting only (np_memory_watch_full_gc), no file. */
static int start_state(struct np_thread *t, long period)
{
    uv_loop_t *loop = NULL;
    struct np_memory *m = calloc(1, sizeof *m);
    if (!m) return -1;
    m->fd = -1;
    m->t = t;
    m->period_ms = period;
    m->heap_after_gc = -1;
    np_memtl_init(&m->ring, NP_MEMORY_RING);
    if (capture_sources(t->env, m) || napi_get_uv_event_loop(t->env, &loop) != napi_ok || !loop ||
        uv_timer_init(loop, &m->timer)) {
        js_clear_exception(t->env, "nodeprof memory timeline");
        np_err("NODEPROF_MEMORY: cannot read this node's memory figures; no timeline");
        free(m);
        return -1;
    }
    uv_unref((uv_handle_t *)&m->timer); /* never keeps the app alive */
    napi_add_env_cleanup_hook(t->env, cleanup, m);
    np_memory_state = m;
    if (period > 0 && open_file(t->env, m)) m->write_failed = true; /* logged; ctl memory still works */
    /* the period in equal ticks of at most NP_MEMORY_DRAIN_MS: 1500 ms is
     * two ticks of 750 */
    m->ticks_per_sample = period > 0 ? (period + NP_MEMORY_DRAIN_MS - 1) / NP_MEMORY_DRAIN_MS : 1;
    long tick = period > 0 ? period / m->ticks_per_sample : NP_MEMORY_DRAIN_MS;
    uv_timer_start(&m->timer, on_timer, (uint64_t)tick, (uint64_t)tick);
    return 0;
}

int np_memory_start(struct np_thread *t)
{
    long period = np_cfg()->memory_ms;
    if (period <= 0 || t->thread_id != 0 || np_memory_state) return 0;
    return start_state(t, period);
}

int np_memory_watch_full_gc(struct np_thread *t, np_full_gc_fn fn)
{
    if (t->thread_id != 0) return -1;
    if (!np_memory_state && start_state(t, 0)) return -1;
    if (!np_memory_state->gc_profiler) {
        np_err("this node has no v8.GCProfiler: no heap figures after full GCs");
        return -1;
    }
    np_memory_state->on_full_gc = fn;
    return 0;
}

void np_memory_finish(struct np_thread *t)
{
    struct np_memory *m = np_memory_state;
    if (!m || m->t != t || m->period_ms <= 0) return;
    record(t->env, m);
    uv_timer_stop(&m->timer);
    close_file(m);
}

static void print_now(const struct np_memory *m, const struct np_mem_sample *s, FILE *out)
{
    const double mb = 1024.0 * 1024.0;
    fprintf(out, "file: %s\n", m->write_failed ? "(not written)" : m->path);
    fprintf(out, "now: rss %.1f MB, heap %.1f / %.1f MB, external %.1f MB, arrayBuffers %.1f MB\n", s->rss / mb,
            s->heap_used / mb, s->heap_total / mb, s->external / mb, s->array_buffers / mb);
    if (s->heap_after_gc >= 0) fprintf(out, "heap after the last full GC: %.1f MB\n", s->heap_after_gc / mb);
    else fprintf(out, "heap after the last full GC: (no full GC yet)\n");
    fputs("spaces (used / committed MB):", out);
    for (int i = 0; i < m->ring.nspaces; i++)
        if (s->space_used[i] >= 0 && s->space_committed[i] > 0)
            fprintf(out, " %s %.1f/%.1f", m->ring.space_names[i], s->space_used[i] / mb, s->space_committed[i] / mb);
    fputc('\n', out);
    if (m->gc_profiler) {
        fputs("gc since the last sample:", out);
        for (int k = 0; k < NP_GC_KINDS; k++)
            fprintf(out, " %s %.0f (%.1f ms)", np_gc_kind_names[k], s->gc_count[k], s->gc_ms[k]);
        fprintf(out, "; longest %.1f ms\n", s->gc_max_ms);
    }
    if (s->loop_max_ms >= 0)
        fprintf(out, "event loop delay since the last sample: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                s->loop_p50_ms, s->loop_p99_ms, s->loop_max_ms);
}

int np_memory_reply(struct np_thread *t, FILE *out)
{
    struct np_memory *m = np_memory_state;
    if (!m || m->t != t || m->period_ms <= 0) {
        fprintf(out, "error: the memory timeline is off (NODEPROF_MEMORY=on or a period, such as 10s)\n");
        return -1;
    }
    struct np_mem_sample now;
    struct np_mem_summary sum;
    measure(t->env, m, &now, false);
    fprintf(out, "ok\n");
    print_now(m, &now, out);
    np_memtl_summarize(&m->ring, &sum);
    fprintf(out, "trend over the last %zu samples (every %ld ms):\n", m->ring.n, m->period_ms);
    np_memtl_print_text(&m->ring, &sum, out);
    return 0;
}
