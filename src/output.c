#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/namepat.h"
#include "common/outfile.h"
#include "common/procname.h"
#include "export.h"
#include "js.h"
#include "process.h"
#include "retention.h"

extern char **environ;

/* Written once by np_output_init, before the agent thread exists; then the
 * counters are the only fields that change. */
static struct np_output {
    char dir[PATH_MAX];        /* absolute, no trailing slash */
    mode_t file_mode;
    char host[256];
    struct np_procname proc;   /* %s, %c: np_output_name_process */
    atomic_ulong seq;          /* %n */
    atomic_ulong files_written;
} out;

static void absolute_dir(const char *dir)
{
    if (dir[0] == '/') {
        snprintf(out.dir, sizeof out.dir, "%s", dir);
    } else {
        char cwd[PATH_MAX];
        const char *rel = dir;
        if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, ".");
        while (rel[0] == '.' && rel[1] == '/') rel += 2;
        if (!strcmp(rel, ".")) rel = "";
        if (snprintf(out.dir, sizeof out.dir, "%s%s%s", cwd, *rel ? "/" : "", rel) >= (int)sizeof out.dir)
            np_warn("NODEPROF_DIR=%.200s: path too long; profiles will not be written", dir);
    }
    size_t len = strlen(out.dir);
    while (len > 1 && out.dir[len - 1] == '/') out.dir[--len] = '\0';
}

void np_output_init(const struct np_config *cfg)
{
    absolute_dir(cfg->dir);
    /* Exactly this mode: profiles name the app's functions and files, so
     * they are private unless NODEPROF_FILE_MODE says otherwise. */
    out.file_mode = (mode_t)cfg->file_mode;
    if (gethostname(out.host, sizeof out.host) != 0) strcpy(out.host, "localhost");
    out.host[sizeof out.host - 1] = '\0';
}

void np_output_name_process(napi_env env)
{
    enum { MAX_ARGS = 8 };
    napi_value argv = js_get(env, js_get(env, js_global(env), "process"), "argv");
    char *args[MAX_ARGS] = { 0 };
    uint32_t n = 0;
    size_t len;
    if (argv && napi_get_array_length(env, argv, &n) != napi_ok) n = 0;
    int nargs = 0;
    for (uint32_t i = 1; i < n && nargs < MAX_ARGS; i++) {
        napi_value v;
        if (napi_get_element(env, argv, i, &v) != napi_ok || !(args[nargs] = js_to_utf8(env, v, &len))) break;
        nargs++;
    }
    np_procname_from_args((const char *const *)args, nargs, environ, &out.proc);
    for (int i = 0; i < nargs; i++) free(args[i]);
    np_debug("NODEPROF_NAME: %%s is %s, %%c is %s", out.proc.script, out.proc.command);
}

void np_output_name_vars(struct np_name_vars *v)
{
    v->host = out.host;
    v->script = out.proc.script[0] ? out.proc.script : NULL;
    v->command = out.proc.command[0] ? out.proc.command : NULL;
}

const char *np_output_dir(void) { return out.dir; }
const char *np_output_host(void) { return out.host; }
mode_t np_output_mode(void) { return out.file_mode; }
unsigned long np_output_files_written(void) { return atomic_load(&out.files_written); }

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
    const struct np_config *cfg = np_cfg();
    struct np_name_vars vars = {
        .pid = (long)getpid(),
        .when = time(NULL),
        .seq = atomic_fetch_add(&out.seq, 1) + 1,
        .thread_id = thread_id,
        .envp = environ,
    };
    np_output_name_vars(&vars);
    char name[1024], err[1200];
    const char *why;
    t->dirfd = -1;
    if (np_name_expand(cfg->name, &vars, name, sizeof name, &why)) {
        snprintf(err, sizeof err, "bad NODEPROF_NAME '%s': %s", cfg->name, why);
        return np_written_fail(w, err);
    }
    int n = snprintf(t->base, sizeof t->base, "%s/%s", out.dir, name);
    if (n < 0 || (size_t)n >= sizeof t->base) return np_written_fail(w, "profile path too long");
    t->name = t->base + (size_t)n - strlen(name);
    char why_dir[900];
    t->dirfd = np_dir_open_trusted(out.dir, true, 0700, why_dir, sizeof why_dir);
    if (t->dirfd < 0) {
        /* The variable and its value, as the user wrote it. */
        snprintf(err, sizeof err, "NODEPROF_DIR=%.200s: %s", cfg->dir, why_dir);
        return np_written_fail(w, err);
    }
    return 0;
}

/* np_output_span_start's value, per thread (issue 11 §2, export). */
static __thread double span_start_ms;

void np_output_span_start(double wall_ms) { span_start_ms = wall_ms; }
double np_output_span_start_ms(void) { return span_start_ms; }

void np_target_close(struct np_target *t)
{
    span_start_ms = 0;
    if (t->dirfd >= 0) close(t->dirfd);
    t->dirfd = -1;
}

static void append_to_manifest(const char *manifest, const char *path)
{
    char why[512];
    int fd = np_open_append(manifest, why, sizeof why);
    if (fd < 0) {
        np_warn("NODEPROF_MANIFEST=%s: %s", manifest, why);
        return;
    }
    char line[4200];
    int n = snprintf(line, sizeof line, "%s\n", path);
    if (n > 0 && n < (int)sizeof line && write(fd, line, (size_t)n) != n)
        np_warn("NODEPROF_MANIFEST=%s: cannot append: %s", manifest, strerror(errno));
    close(fd);
}

static void announce(const char *path, const char *kind_ext, struct np_written *w, bool complete)
{
    const struct np_config *cfg = np_cfg();
    np_info("wrote %s", path);
    atomic_fetch_add(&out.files_written, 1);
    if (w) {
        size_t used = strlen(w->paths);
        snprintf(w->paths + used, sizeof w->paths - used, "%s%s", used ? "\n" : "", path);
        w->count++;
    }
    if (cfg->manifest[0]) append_to_manifest(cfg->manifest, path);
    if (cfg->keep > 0) np_retention_apply(path, kind_ext, cfg->keep);
    if (complete) np_export_file_written(path, kind_ext, span_start_ms, np_wall_ms());
    else np_export_file_growing(path, kind_ext, np_wall_ms());
}

void np_file_written(const char *path, const char *kind_ext, struct np_written *w)
{
    announce(path, kind_ext, w, true);
}

void np_file_created(const char *path, const char *kind_ext, struct np_written *w)
{
    announce(path, kind_ext, w, false);
}
