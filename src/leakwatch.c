#include "leakwatch.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "memory.h"
#include "output.h"
#include "process.h"
#include "snapshot.h"
#include "wake.h"

#define MB (1024.0 * 1024.0)
#define LINE_ROOM 900 /* a log line holds 1024 bytes: beyond this, names instead of paths */

/* The watch's state: main thread only. */
static struct np_leakwatch {
    bool on, done;
    double started_ms;        /* the agent's start, wall clock */
    double start_level;       /* heap after GC at the end of start-up; -1 before */
    double last;              /* the previous full GC's heap after it */
    int rises;                /* full GCs in a row that ended higher than the one before */
    double step;              /* growth between two snapshots */
    bool level_pending;       /* the last snapshot's level is that of its own GC, still to come */
    int taken;
    double levels[NP_LEAK_SNAPSHOTS];
    char paths[NP_LEAK_SNAPSHOTS][PATH_MAX + NAME_MAX + 2];
} watch;

/* "A B C": the paths, or, when they would not fit a log line, their names
 * followed by " (in DIR)". */
static const char *file_list(char *buf, size_t size)
{
    size_t total = 0, used = 0;
    for (int i = 0; i < watch.taken; i++) total += strlen(watch.paths[i]) + 1;
    bool names = total > LINE_ROOM;
    buf[0] = '\0';
    for (int i = 0; i < watch.taken && used < size; i++) {
        const char *p = watch.paths[i], *slash = strrchr(p, '/');
        if (names && slash) p = slash + 1;
        int n = snprintf(buf + used, size - used, "%s%s", i ? " " : "", p);
        if (n < 0) break;
        used += (size_t)n;
    }
    if (names && used < size) snprintf(buf + used, size - used, " (in %s)", np_output_dir());
    return buf;
}

static void report_complete(void)
{
    char files[3 * (PATH_MAX + 1)];
    file_list(files, sizeof files);
    np_warn("leak watch: the heap after full GC grew from %.1f MB (end of start-up) to %.1f MB and is still "
            "growing; to see what leaks: nodeprof heap leaks %s",
            watch.start_level / MB, watch.levels[NP_LEAK_SNAPSHOTS - 1] / MB, files);
}

/* One snapshot; a refused or failed one (already logged) ends the watch. */
static void take(struct np_thread *t, double level)
{
    struct np_written w = { .count = 0 };
    if (np_snapshot_write(t, false, &w) || w.count == 0) {
        char files[3 * (PATH_MAX + 1)];
        np_warn("leak watch: stopped after %d of %d snapshots%s%s", watch.taken, NP_LEAK_SNAPSHOTS,
                watch.taken ? ": " : "", watch.taken ? file_list(files, sizeof files) : "");
        watch.done = true;
        return;
    }
    snprintf(watch.paths[watch.taken], sizeof watch.paths[0], "%.*s", (int)strcspn(w.paths, "\n"), w.paths);
    watch.levels[watch.taken++] = level;
    watch.level_pending = true;
    np_info("leak watch: snapshot %d of %d at %.1f MB after full GC: %s", watch.taken, NP_LEAK_SNAPSHOTS,
            level / MB, watch.paths[watch.taken - 1]);
    if (watch.taken == NP_LEAK_SNAPSHOTS) {
        watch.done = true;
        report_complete();
    }
}

/* The baseline: grown past the threshold, and still rising. */
static bool leak_begins(double after)
{
    double grown = after - watch.start_level;
    return grown > watch.start_level * (double)np_cfg()->leak_growth_pct / 100.0 && grown >= NP_LEAK_MIN_GROWTH &&
           watch.rises >= NP_LEAK_RISES;
}

/* One full GC; true when it took a snapshot. */
static bool one_full_gc(struct np_thread *t, double after)
{
    if (watch.start_level < 0) {
        if (np_wall_ms() - watch.started_ms < (double)np_cfg()->leak_settle_ms) return false;
        watch.start_level = watch.last = after;
        np_info("leak watch: heap after full GC at the end of start-up: %.1f MB", after / MB);
        return false;
    }
    watch.rises = after > watch.last ? watch.rises + 1 : 0;
    watch.last = after;
    if (watch.level_pending) {
        /* The snapshot's own full GC (the first one drained after it): the
         * heap when the snapshot was taken. The GC that triggered it ended
         * up to a second earlier, and the app grew meanwhile. */
        watch.levels[watch.taken - 1] = after;
        watch.level_pending = false;
        return false;
    }
    if (np_snapshot_running()) return false; /* the next full GC will tell again */
    if (watch.taken == 0) {
        if (!leak_begins(after)) return false;
        /* at least the minimum growth: the first snapshot itself leaves
         * a few MB behind (V8 keeps the source positions it collects) */
        watch.step = (after - watch.start_level) / 2;
        if (watch.step < NP_LEAK_MIN_GROWTH) watch.step = NP_LEAK_MIN_GROWTH;
    } else if (after < watch.levels[watch.taken - 1] + watch.step) {
        return false;
    }
    take(t, after); /* taken or refused: the rest of the batch is older */
    return true;
}

/* The full GCs of the last second, oldest first. Those after a snapshot
 * in the batch ended before it: the next snapshot waits for the full GCs
 * that follow it, so that the app runs (and allocates) between the two. */
static void on_full_gcs(struct np_thread *t, const double *after, int n)
{
    for (int i = 0; i < n; i++) {
        if (!watch.on || watch.done || t->finished || np_shutting_down()) return;
        if (one_full_gc(t, after[i])) return;
    }
}

int np_leakwatch_start(struct np_thread *t)
{
    if (!np_cfg()->leak_watch || t->thread_id != 0 || watch.on) return 0;
    watch.started_ms = np_wall_ms();
    watch.start_level = -1;
    if (np_memory_watch_full_gc(t, on_full_gcs)) {
        np_err("NODEPROF_LEAK_WATCH: cannot follow the heap after full GCs; no leak watch");
        return -1;
    }
    watch.on = true;
    return 0;
}

void np_leakwatch_finish(struct np_thread *t)
{
    if (!watch.on || t->thread_id != 0 || watch.done || watch.taken == 0) return;
    char files[3 * (PATH_MAX + 1)];
    np_warn("leak watch: the process ends with %d of %d snapshots (%s): the heap after full GC did not grow "
            "%.1f MB more since the last one%s", watch.taken, NP_LEAK_SNAPSHOTS, file_list(files, sizeof files),
            watch.step / MB, watch.taken == 2 ? "; nodeprof heap diff compares the two" : "");
    watch.done = true;
}
