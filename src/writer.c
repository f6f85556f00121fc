#include "writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/remap.h"
#include "formats/smcache.h"
#include "common/log.h"
#include "common/outfile.h"
#include "output.h"
#include "process.h"
#include "profmeta.h"

struct format_job {
    const struct np_profile *profile;
    const char *json;
    size_t len;
    unsigned format;
};

static int fill_format(FILE *out, void *ctx, char *err, size_t errlen)
{
    struct format_job *job = ctx;
    return np_format_write(job->profile, job->json, job->len, job->format, out, err, errlen);
}

/* A short write is the stream's error (ENOSPC, EFBIG): outfile.h reports
 * it with its reason. */
static int fill_json(FILE *out, void *ctx, char *err, size_t errlen)
{
    (void)err; (void)errlen;
    const struct format_job *job = ctx;
    fwrite(job->json, 1, job->len, out);
    return 0;
}

/* The target's name becomes the one a file got (another process had
 * taken it: output.h), so the write's other files take it too. */
static void follow_variant(struct np_target *t, const char *name, const char *ext)
{
    size_t stem = strlen(name) - strlen(ext);
    if (!strncmp(name, t->name, stem) && t->name[stem] == '\0') return;
    size_t dir = (size_t)(t->name - t->base);
    snprintf(t->base + dir, sizeof t->base - dir, "%.*s", (int)stem, name);
}

static void write_one(struct np_target *t, enum np_profile_kind kind, unsigned format,
                      const struct np_profile *profile, const char *json, size_t len,
                      struct np_written *w)
{
    char path[PATH_MAX + 64], name[NAME_MAX + 1], err[1200];
    const char *ext = np_format_extension(format, kind);
    if (snprintf(name, sizeof name, "%s%s", t->name, ext) >= (int)sizeof name) {
        np_written_fail(w, "profile name too long");
        return;
    }
    struct format_job job = { profile, json, len, format };
    np_fill_fn fill = format == NP_FMT_CPUPROFILE ? fill_json : fill_format;
    if (np_write_new_at(t->dirfd, np_output_dir(), name, sizeof name, np_output_mode(), fill, &job, err,
                        sizeof err)) {
        np_written_fail(w, err);
        return;
    }
    follow_variant(t, name, ext);
    snprintf(path, sizeof path, "%s/%s", np_output_dir(), name);
    np_file_written(path, ext, w);
}

/* One line per map that cannot be used, and at most 20 in the process's
 * life: a periodic writer would repeat the same lines every period. */
static void report_sourcemap(void *ctx, const char *msg)
{
    static atomic_int sourcemap_lines_logged;
    (void)ctx;
    if (atomic_fetch_add(&sourcemap_lines_logged, 1) < 20) np_warn("%s", msg);
    else np_debug("%s", msg);
}

/* Maps kept between writes (smcache.h), so that a periodic writer reads
 * and parses a map once, not every period. Shared by the threads that
 * write (workers' profiles too); made on first use, kept for the
 * process's life, at most SOURCEMAP_CACHE_BYTES beyond what one profile
 * needs. */
#define SOURCEMAP_CACHE_BYTES ((size_t)64 << 20)

static struct {
    pthread_mutex_t lock;
    struct np_smcache *cache;
} sourcemaps = { PTHREAD_MUTEX_INITIALIZER, NULL };

/* The .cpuprofile keeps V8's positions (DevTools maps them itself); the
 * derived formats are written from the rewritten model. */
static void apply_sourcemaps(struct np_profile *profile)
{
    struct np_remap_options o = { .report = report_sourcemap };
    char err[600];
    pthread_mutex_lock(&sourcemaps.lock);
    if (!sourcemaps.cache) sourcemaps.cache = np_smcache_new(SOURCEMAP_CACHE_BYTES);
    o.cache = sourcemaps.cache; /* NULL without memory: read for this write only */
    if (np_profile_remap(profile, &o, err, sizeof err) < 0) np_warn("%s", err);
    if (sourcemaps.cache) {
        struct np_smcache_stats st = np_smcache_stats(sourcemaps.cache);
        np_debug("source maps: %zu scripts kept (%.1f MB), %zu read, %zu from the cache since start", st.entries,
                 (double)st.bytes / (1 << 20), st.reads, st.hits);
    }
    pthread_mutex_unlock(&sourcemaps.lock);
}

int np_write_profile(enum np_profile_kind kind, int thread_id, const char *json, size_t len,
                     struct np_written *w)
{
    struct np_target target;
    int before = w ? w->count : 0;
    struct np_written local = { .count = 0 };
    if (!w) w = &local;
    if (np_target_open(thread_id, &target, w)) return 0;
    unsigned formats = np_cfg()->formats;
    struct np_profile *profile = NULL;
    if (formats & ~(unsigned)NP_FMT_CPUPROFILE) {
        char err[512];
        profile = np_profile_parse(json, len, err, sizeof err);
        if (!profile) {
            char msg[600];
            snprintf(msg, sizeof msg, "cannot convert the profile: %s", err);
            np_written_fail(w, msg);
            formats = NP_FMT_CPUPROFILE; /* still keep the source */
        }
        if (profile && np_cfg()->sourcemaps) apply_sourcemaps(profile);
        if (profile) np_profmeta_fill(profile, np_output_span_start_ms(), np_profmeta_current_heap_interval());
    }
    for (unsigned bit = 1; bit && bit <= formats; bit <<= 1)
        if (formats & bit) write_one(&target, kind, bit, profile, json, len, w);
    np_profile_free(profile);
    np_target_close(&target);
    return w->count - before;
}
