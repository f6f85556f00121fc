#include "writer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "formats/remap.h"
#include "common/log.h"
#include "common/namepat.h"
#include "common/outfile.h"
#include "retention.h"

extern char **environ;

int np_written_fail(struct np_written *w, const char *msg)
{
    np_err("%s", msg);
    if (w && !w->error[0]) {
        size_t n = strnlen(msg, sizeof w->error - 1); /* cut, as a log line is */
        memcpy(w->error, msg, n);
        w->error[n] = '\0';
    }
    return -1;
}

int np_target_open(int thread_id, struct np_target *t, struct np_written *w)
{
    struct np_name_vars vars = {
        .pid = (long)getpid(),
        .when = time(NULL),
        .seq = atomic_fetch_add(&np_agent.seq, 1) + 1,
        .thread_id = thread_id,
        .host = np_agent.host,
        .envp = environ,
    };
    char name[1024], err[1200];
    const char *why;
    t->dirfd = -1;
    if (np_name_expand(np_agent.cfg.name, &vars, name, sizeof name, &why)) {
        snprintf(err, sizeof err, "bad NODEPROF_NAME '%s': %s", np_agent.cfg.name, why);
        return np_written_fail(w, err);
    }
    int n = snprintf(t->base, sizeof t->base, "%s/%s", np_agent.out_dir, name);
    if (n < 0 || (size_t)n >= sizeof t->base) return np_written_fail(w, "profile path too long");
    t->name = t->base + (size_t)n - strlen(name);
    char why_dir[900];
    t->dirfd = np_dir_open_trusted(np_agent.out_dir, true, 0700, why_dir, sizeof why_dir);
    if (t->dirfd < 0) {
        /* The variable and its value, as the user wrote it. */
        snprintf(err, sizeof err, "NODEPROF_DIR=%.200s: %s", np_agent.cfg.dir, why_dir);
        return np_written_fail(w, err);
    }
    return 0;
}

void np_target_close(struct np_target *t)
{
    if (t->dirfd >= 0) close(t->dirfd);
    t->dirfd = -1;
}

int np_next_base_path(int thread_id, char *out, size_t len, struct np_written *w)
{
    struct np_target t;
    if (np_target_open(thread_id, &t, w)) return -1;
    np_target_close(&t);
    if (snprintf(out, len, "%s", t.base) >= (int)len) return np_written_fail(w, "profile path too long");
    return 0;
}

void np_file_written(const char *path, const char *kind_ext, struct np_written *w)
{
    np_info("wrote %s", path);
    atomic_fetch_add(&np_agent.files_written, 1);
    if (w) {
        size_t used = strlen(w->paths);
        snprintf(w->paths + used, sizeof w->paths - used, "%s%s", used ? "\n" : "", path);
        w->count++;
    }
    if (np_agent.cfg.manifest[0]) {
        int fd = open(np_agent.cfg.manifest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0) {
            char line[4200];
            int n = snprintf(line, sizeof line, "%s\n", path);
            if (n > 0 && n < (int)sizeof line && write(fd, line, (size_t)n) != n)
                np_warn("NODEPROF_MANIFEST=%s: cannot append: %s", np_agent.cfg.manifest, strerror(errno));
            close(fd);
        } else {
            np_warn("NODEPROF_MANIFEST=%s: cannot open: %s", np_agent.cfg.manifest, strerror(errno));
        }
    }
    if (np_agent.cfg.keep > 0) np_retention_apply(path, kind_ext, np_agent.cfg.keep);
}

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

static void write_one(const struct np_target *t, enum np_profile_kind kind, unsigned format,
                      const struct np_profile *profile, const char *json, size_t len,
                      struct np_written *w)
{
    char path[PATH_MAX + 64], name[1100], err[1200];
    const char *ext = np_format_extension(format, kind);
    snprintf(path, sizeof path, "%s%s", t->base, ext);
    snprintf(name, sizeof name, "%s%s", t->name, ext);
    int rc;
    mode_t mode = np_agent.file_mode;
    if (format == NP_FMT_CPUPROFILE) {
        rc = np_write_atomic_buf_at(t->dirfd, np_agent.out_dir, name, mode, json, len, err, sizeof err);
    } else {
        struct format_job job = { profile, json, len, format };
        rc = np_write_atomic_at(t->dirfd, np_agent.out_dir, name, mode, fill_format, &job, err, sizeof err);
    }
    if (rc == 0) np_file_written(path, ext, w);
    else np_written_fail(w, err);
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

/* The .cpuprofile keeps V8's positions (DevTools maps them itself); the
 * derived formats are written from the rewritten model. */
static void apply_sourcemaps(struct np_profile *profile)
{
    struct np_remap_options o = { NULL, report_sourcemap, NULL };
    char err[600];
    if (np_profile_remap(profile, &o, err, sizeof err) < 0) np_warn("%s", err);
}

int np_write_profile(enum np_profile_kind kind, int thread_id, const char *json, size_t len,
                     struct np_written *w)
{
    struct np_target target;
    int before = w ? w->count : 0;
    struct np_written local = { .count = 0 };
    if (!w) w = &local;
    if (np_target_open(thread_id, &target, w)) return 0;
    unsigned formats = np_agent.cfg.formats;
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
        if (profile && np_agent.cfg.sourcemaps) apply_sourcemaps(profile);
    }
    for (unsigned bit = 1; bit && bit <= formats; bit <<= 1)
        if (formats & bit) write_one(&target, kind, bit, profile, json, len, w);
    np_profile_free(profile);
    np_target_close(&target);
    return w->count - before;
}
