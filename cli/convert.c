/* nodeprof convert, top and merge: profile files in, another format out. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bigheap.h"
#include "cli.h"
#include "common/config.h"
#include "formats/formats.h"
#include "formats/intern.h"
#include "formats/merge.h"
#include "formats/pprofread.h"
#include "formats/profile.h"
#include "formats/sniff.h"
#include "common/outfile.h"

#define SOURCEMAP_USAGE \
    "  --source-maps DIR search DIR (at any depth) for NAME.js.map of each script\n" \
    "                    NAME.js first; scripts' own //# sourceMappingURL= comments\n" \
    "                    are followed in any case, and frames then name the original\n" \
    "                    file, line and function (except in the .cpuprofile format)\n" \
    "  --no-source-maps  keep the positions in the generated JavaScript\n"

static const char convert_usage[] =
    "usage: nodeprof convert FILE... [--format F] [-o OUT] [--force] [--max-output SIZE]\n"
    "                        [--source-maps DIR]\n"
    "Converts a .cpuprofile or .heapprofile (FILE, or - for standard input), or each\n"
    "of several, and prints the path of each file written, one per line (nothing\n"
    "when writing to standard output).\n"
    "  -f, --format F    pprof (the default), collapsed, speedscope, html, top\n"
    "  -o, --output OUT  where to write (one FILE only), - for standard output; by\n"
    "                    default FILE with its .cpuprofile/.heapprofile extension\n"
    "                    replaced by .cpu.pb.gz, .cpu.collapsed.txt,\n"
    "                    .cpu.speedscope.json, .cpu.html or .cpu.top.txt (.heap.*\n"
    "                    for a heap profile)\n"
    "  --force           write pprof's binary (gzip) output to a terminal too\n"
    "  --max-output SIZE give up when the output passes SIZE bytes (k, m, g suffixes;\n"
    "                    default 4g; 0: no limit). Stacks nested very deep make\n"
    "                    collapsed and speedscope output grow as depth squared\n"
    SOURCEMAP_USAGE
    "The output file is written whole or not at all, with the input's permissions\n"
    "(never executable); killed by SIGINT, SIGTERM or SIGHUP, it leaves nothing.\n";

#define DEFAULT_MAX_OUTPUT (4L << 30)

static const char top_usage[] =
    "usage: nodeprof top FILE... [-n N] [--by self|total] [--source-maps DIR]\n"
    "Prints the functions of a .cpuprofile or .heapprofile (FILE, or - for standard\n"
    "input) that cost the most, with self and total cost and their share. Given\n"
    "several files (of one kind), the top of their merge: the same stack in two\n"
    "profiles counts once with both costs (nodeprof top nodeprof-*.cpuprofile).\n"
    "  -n N              how many functions (default 25)\n"
    "  --by self|total   order by own cost (default) or by cost including callees\n"
    SOURCEMAP_USAGE;

/* A profile read into memory and parsed. */
struct loaded {
    char *json;
    size_t len;
    struct np_profile *profile;
    mode_t mode; /* the input's permission bits, for the output */
    int64_t mtime_ns; /* the input's modification time; 0: standard input */
};

/* The sampling interval of a .heapprofile, which the file does not hold:
 * nodeprof's default (NODEPROF_HEAP_INTERVAL) and node --heap-prof's. */
#define HEAP_INTERVAL_GUESS (512 * 1024)

/* What the text does not say, for pprof's time_nanos: a profile is
 * written when it ends, so it began its duration before the file's
 * modification time (a CPU profile's span is in the file; a heap profile
 * is taken as an instant). Standard input: now. */
static void set_file_times(struct np_profile *p, int64_t mtime_ns)
{
    if (!mtime_ns) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        mtime_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
    }
    if (p->kind == NP_PROFILE_HEAP) {
        p->wall_start_ns = mtime_ns;
        p->heap_interval = HEAP_INTERVAL_GUESS;
        return;
    }
    int64_t span_us = p->end_us - p->start_us;
    p->wall_start_ns = span_us > 0 && span_us < mtime_ns / 1000 ? mtime_ns - span_us * 1000 : mtime_ns;
}

static void say(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void say(const char *fmt, va_list ap)
{
    fputs("nodeprof: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

/* A failure: exit status 1. */
__attribute__((format(printf, 1, 2)))
static int error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    return 1;
}

/* A usage error: exit status 2, as in every command of nodeprof. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    return 2;
}

/* Reads all of in; size_hint (a regular file's size) saves the regrowing. */
static int read_stream(FILE *in, size_t size_hint, char **data, size_t *len)
{
    size_t cap = size_hint ? size_hint + 1 : 1 << 20, n = 0;
    char *buf = malloc(cap);
    if (!buf) return -1;
    np_advise_huge_pages(buf); /* a 100 MB profile: 25 000 fewer page faults */
    for (;;) {
        if (n == cap) {
            char *grown = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!grown) { free(buf); errno = ENOMEM; return -1; }
            buf = grown;
            cap *= 2;
            np_advise_huge_pages(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, in);
        n += got;
        if (got == 0) break;
    }
    if (ferror(in)) { free(buf); return -1; }
    *data = buf;
    *len = n;
    return 0;
}

/* A pprof input (merge, top): the model only, no JSON text. */
static int load_pprof(const char *path, struct loaded *l)
{
    char err[300];
    l->profile = np_pprof_parse(l->json, l->len, err, sizeof err);
    free(l->json);
    l->json = NULL;
    l->len = 0;
    if (!l->profile) return error("%s: %s", path, err);
    if (!l->profile->wall_start_ns) set_file_times(l->profile, l->mtime_ns);
    return 0;
}

/* pprof_ok: pprof files are read too (merge, top). */
static int load(const char *path, struct loaded *l, bool pprof_ok)
{
    int is_stdin = !strcmp(path, "-");
    FILE *in = is_stdin ? stdin : fopen(path, "rb");
    struct stat st;
    memset(l, 0, sizeof *l);
    l->mode = 0644;
    if (!in) return error("cannot open %s: %s", path, strerror(errno));
    size_t size_hint = 0;
    if (!is_stdin && fstat(fileno(in), &st) == 0) {
        l->mode = st.st_mode & 0777;
        l->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        if (S_ISREG(st.st_mode)) size_hint = (size_t)st.st_size;
    }
    cli_bigheap_prepare(size_hint);
    int rc = read_stream(in, size_hint, &l->json, &l->len);
    int saved = errno;
    if (!is_stdin) fclose(in);
    if (rc) return error("cannot read %s: %s", path, strerror(saved));
    if (pprof_ok && np_pprof_sniff(l->json, l->len)) return load_pprof(path, l);
    const char *what = np_sniff_not_profile(l->json, l->len);
    if (what) {
        free(l->json);
        return error("%s: %s", path, what);
    }
    char err[300];
    l->profile = np_profile_parse(l->json, l->len, err, sizeof err);
    if (!l->profile) {
        free(l->json);
        return error("%s: %s", path, err);
    }
    set_file_times(l->profile, l->mtime_ns);
    return 0;
}

static void unload(struct loaded *l)
{
    np_profile_free(l->profile);
    free(l->json);
}

/* Matches option `-s VALUE`, `--long VALUE` or `--long=VALUE` at argv[*i];
 * returns 1 (with *value, *i moved past it), 0 if not this option, -1 if
 * the value is missing. */
/* --long VALUE, --long=VALUE, -s VALUE and -sVALUE (as getopt takes them). */
static int option(int argc, char **argv, int *i, const char *shrt, const char *lng, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(lng);
    if (!strncmp(a, lng, n) && a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (shrt && !strncmp(a, shrt, 2) && a[2] != '\0') {
        *value = a + 2;
        return 1;
    }
    if (strcmp(a, lng) && (!shrt || strcmp(a, shrt))) return 0;
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
}

static int is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* FILE with .cpuprofile/.heapprofile replaced by the format's extension. */
static int default_output(const char *input, const char *ext, char *out, size_t len)
{
    static const char *const kinds[] = { ".cpuprofile", ".heapprofile" };
    size_t stem = strlen(input);
    for (size_t k = 0; k < 2; k++) {
        size_t kl = strlen(kinds[k]);
        if (stem > kl && !strcmp(input + stem - kl, kinds[k])) stem -= kl;
    }
    int n = snprintf(out, len, "%.*s%s", (int)stem, input, ext);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

struct write_job {
    const struct loaded *l;
    unsigned format;
    long max_output; /* bytes; 0: no limit */
    bool force;      /* --force: binary output to a terminal too */
};

/* ---- the output cap ------------------------------------------------------------- */

/* A stream in front of the real one that counts what passes and fails once
 * the cap is passed: the writers see a write error and stop (as on a full
 * disk), and the caller sees `over`. */
struct capped {
    FILE *to;
    long left;
    int over;
};

static ssize_t capped_write(void *cookie, const char *buf, size_t size)
{
    struct capped *c = cookie;
    if ((long)size > c->left) {
        c->over = 1;
        errno = EFBIG;
        return -1;
    }
    c->left -= (long)size;
    return fwrite(buf, 1, size, c->to) == size ? (ssize_t)size : -1;
}

static void size_text(long bytes, char *out, size_t len)
{
    if (bytes % (1L << 30) == 0) snprintf(out, len, "%ldg", bytes >> 30);
    else if (bytes % (1L << 20) == 0) snprintf(out, len, "%ldm", bytes >> 20);
    else if (bytes % (1L << 10) == 0) snprintf(out, len, "%ldk", bytes >> 10);
    else snprintf(out, len, "%ld", bytes);
}

static int fill(FILE *out, void *ctx, char *err, size_t errlen)
{
    const struct write_job *job = ctx;
    if (!job->max_output)
        return np_format_write(job->l->profile, job->l->json, job->l->len, job->format, out, err, errlen);
    struct capped c = { out, job->max_output, 0 };
    cookie_io_functions_t io = { .write = capped_write };
    FILE *front = fopencookie(&c, "w", io);
    if (!front) {
        snprintf(err, errlen, "cannot write: %s", strerror(errno));
        return -1;
    }
    setvbuf(front, NULL, _IOFBF, 1 << 16);
    int rc = np_format_write(job->l->profile, job->l->json, job->l->len, job->format, front, err, errlen);
    if (fclose(front) != 0 && rc == 0 && !c.over) {
        snprintf(err, errlen, "cannot write: %s", strerror(errno));
        rc = -1;
    }
    if (c.over) {
        char cap[32];
        size_text(job->max_output, cap, sizeof cap);
        snprintf(err, errlen, "the output is larger than --max-output %s: given up (raise the cap with "
                 "--max-output SIZE, or 0 for no limit)", cap);
        return -1;
    }
    return rc;
}

/* ---- signals ---------------------------------------------------------------------- */

/* Killed in the middle of a write (SIGINT, SIGTERM, SIGHUP), the temporary
 * file goes: it may already be gigabytes. The handler does only
 * async-signal-safe things, then dies of the same signal. */
static struct np_temp_guard temp_guard;
static const int cleanup_signals[] = { SIGINT, SIGTERM, SIGHUP };

static void on_fatal_signal(int sig)
{
    if (temp_guard.armed) unlinkat(temp_guard.dirfd, temp_guard.name, 0);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void remove_temp_on_signals(void)
{
    np_outfile_set_guard(&temp_guard);
    for (size_t i = 0; i < sizeof cleanup_signals / sizeof *cleanup_signals; i++) {
        struct sigaction old, sa = { .sa_handler = on_fatal_signal };
        sigemptyset(&sa.sa_mask);
        /* A signal ignored by whoever started us (nohup) stays ignored. */
        if (sigaction(cleanup_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(cleanup_signals[i], &sa, NULL);
    }
}

static int write_stdout(const struct write_job *job)
{
    char err[300] = "";
    /* As gzip does: a terminal shows binary as garbage, and may act on it. */
    if (np_format_is_binary(job->format) && !job->force && isatty(STDOUT_FILENO))
        return error("binary output not written to a terminal; use -o FILE or redirect (or --force)");
    if (fill(stdout, (void *)job, err, sizeof err)) return error("%s", err);
    if (fflush(stdout) || ferror(stdout)) return error("cannot write to standard output: %s", strerror(errno));
    return 0;
}

static int write_output(const struct write_job *job, const char *input, const char *output)
{
    char path[NP_PATH_MAX], err[NP_PATH_MAX + 300];
    if (!output && !strcmp(input, "-")) return write_stdout(job);
    if (output && !strcmp(output, "-")) return write_stdout(job);
    if (!output) {
        const char *ext = np_format_extension(job->format, np_profile_kind(job->l->profile));
        if (default_output(input, ext, path, sizeof path)) return error("%s: path too long", input);
        output = path;
    }
    if (same_file(input, output)) return error("%s: the output would overwrite the input", output);
    remove_temp_on_signals();
    if (np_write_atomic(output, job->l->mode & 0666, fill, (void *)job, err, sizeof err)) return error("%s", err);
    /* Where it went, for the user and for scripts ($(nodeprof convert x)). */
    printf("%s\n", output);
    if (fflush(stdout) || ferror(stdout)) return error("cannot write to standard output: %s", strerror(errno));
    return 0;
}

static int parse_format(const char *s, unsigned *format)
{
    const char *why;
    if (np_parse_formats(s, format, &why)) return usage_error("--format %s: %s", s, why);
    if (*format == 0 || (*format & (*format - 1))) return usage_error("--format: give exactly one format");
    return 0;
}

static int convert_one(const char *input, const char *output, const struct cli_sourcemaps *sm,
                       struct write_job job)
{
    struct loaded l;
    if (load(input, &l, false)) return 1;
    if (cli_sourcemap_apply(l.profile, sm)) {
        unload(&l);
        return 1;
    }
    job.l = &l;
    int rc = write_output(&job, input, output);
    unload(&l);
    return rc;
}

struct convert_args {
    const char **inputs; /* room for argc */
    size_t ninputs;
    const char *output;
    struct write_job job;
    struct cli_sourcemaps sm;
};

/* -1: --help shown; 0: parsed; 2: usage error (reported). */
static int parse_convert_args(int argc, char **argv, struct convert_args *a)
{
    const char *value, *why;
    bool options = true; /* until "--": then a FILE may start with '-' */
    for (int i = 1; i < argc; i++) {
        int r;
        if (options && !strcmp(argv[i], "--")) {
            options = false;
        } else if (options && is_help(argv[i])) {
            fputs(convert_usage, stdout);
            return -1;
        } else if (options && !strcmp(argv[i], "--force")) {
            a->job.force = true;
        } else if (options && (r = cli_sourcemap_option(argc, argv, &i, &a->sm)) != 0) {
            if (r < 0) return 2;
        } else if (options && (r = option(argc, argv, &i, "-f", "--format", &value)) != 0) {
            if (r < 0) return usage_error("--format needs a value");
            if (parse_format(value, &a->job.format)) return 2;
        } else if (options && (r = option(argc, argv, &i, "-o", "--output", &value)) != 0) {
            if (r < 0) return usage_error("-o needs a value");
            a->output = value;
        } else if (options && (r = option(argc, argv, &i, NULL, "--max-output", &value)) != 0) {
            if (r < 0) return usage_error("--max-output needs a value");
            if (np_parse_bytes(value, &a->job.max_output, &why) || a->job.max_output < 0)
                return usage_error("--max-output %s: %s", value, a->job.max_output < 0 ? "negative" : why);
        } else if (options && argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage_error("convert: unknown option %s (see nodeprof convert --help)", argv[i]);
        } else {
            a->inputs[a->ninputs++] = argv[i];
        }
    }
    if (!a->ninputs) return usage_error("convert: no FILE given (see nodeprof convert --help)");
    if (a->ninputs > 1 && a->output)
        return usage_error("convert: -o with one FILE only; several are each written next to their input");
    return 0;
}

int cli_convert(int argc, char **argv)
{
    struct convert_args a = {
        .inputs = calloc((size_t)argc, sizeof(char *)),
        .job = { .format = NP_FMT_PPROF, .max_output = DEFAULT_MAX_OUTPUT },
    };
    if (!a.inputs) return error("out of memory");
    int rc = parse_convert_args(argc, argv, &a);
    /* Several files: each is converted, a failure does not stop the rest. */
    int failed = 0;
    for (size_t k = 0; rc == 0 && k < a.ninputs; k++) failed |= convert_one(a.inputs[k], a.output, &a.sm, a.job);
    if (rc == 0) rc = failed;
    free(a.inputs);
    return rc < 0 ? 0 : rc;
}

static int parse_order(const char *s, enum np_top_order *by)
{
    if (!strcmp(s, "self")) *by = NP_TOP_BY_SELF;
    else if (!strcmp(s, "total")) *by = NP_TOP_BY_TOTAL;
    else return usage_error("--by %s: use self or total", s);
    return 0;
}

/* Loads, maps and merges the profiles of files[0..n); *merged is the only
 * one when n == 1. Returns 0, or 1 (reported). */
static int load_merged(const char *const *files, size_t n, const struct cli_sourcemaps *sm,
                       const char *cmd, struct np_profile **merged, mode_t *modes)
{
    struct np_profile **ps = calloc(n, sizeof *ps);
    int rc = ps ? 0 : error("out of memory");
    for (size_t k = 0; rc == 0 && k < n; k++) {
        struct loaded l;
        if (load(files[k], &l, true)) {
            rc = 1;
            break;
        }
        if (modes) *modes &= l.mode;
        free(l.json); /* the table needs only the model */
        ps[k] = l.profile;
        if (np_profile_kind(ps[k]) != np_profile_kind(ps[0]))
            rc = error("%s is a %s profile and %s a %s profile: %s merges profiles of one kind", files[k],
                       np_profile_kind(ps[k]) == NP_PROFILE_CPU ? "CPU" : "heap", files[0],
                       np_profile_kind(ps[0]) == NP_PROFILE_CPU ? "CPU" : "heap", cmd);
        else if (cli_sourcemap_apply(ps[k], sm))
            rc = 1;
    }
    char err[300];
    if (rc == 0 && n == 1) {
        *merged = ps[0];
        ps[0] = NULL;
    } else if (rc == 0 && !(*merged = np_profile_merge((const struct np_profile *const *)ps, n, err, sizeof err))) {
        rc = error("%s", err);
    }
    for (size_t k = 0; ps && k < n; k++) np_profile_free(ps[k]);
    free(ps);
    return rc;
}

/* The table of the merge of inputs[0..n). */
static int top_of(const char *const *inputs, size_t n, const struct cli_sourcemaps *sm, int count,
                  enum np_top_order by)
{
    struct np_profile *p = NULL;
    char err[300];
    if (load_merged(inputs, n, sm, "top", &p, NULL)) return 1;
    if (n > 1) printf("%zu profiles merged\n", n);
    int rc = np_top_write(p, stdout, count, by, err, sizeof err) ? error("%s", err) : 0;
    if (rc == 0 && (fflush(stdout) || ferror(stdout))) rc = error("cannot write to standard output: %s", strerror(errno));
    np_profile_free(p);
    return rc;
}

struct top_args {
    const char **inputs; /* room for argc */
    size_t ninputs;
    long n;
    enum np_top_order by;
    struct cli_sourcemaps sm;
};

/* -1: --help shown; 0: parsed; 2: usage error (reported). */
static int parse_top_args(int argc, char **argv, struct top_args *a)
{
    const char *value, *why;
    bool options = true;
    for (int i = 1; i < argc; i++) {
        int r;
        if (options && !strcmp(argv[i], "--")) {
            options = false;
        } else if (options && is_help(argv[i])) {
            fputs(top_usage, stdout);
            return -1;
        } else if (options && (r = cli_sourcemap_option(argc, argv, &i, &a->sm)) != 0) {
            if (r < 0) return 2;
        } else if (options && (r = option(argc, argv, &i, "-n", "--count", &value)) != 0) {
            if (r < 0) return usage_error("-n needs a value");
            if (np_parse_long(value, 1, 1000000, &a->n, &why)) return usage_error("-n %s: %s", value, why);
        } else if (options && (r = option(argc, argv, &i, NULL, "--by", &value)) != 0) {
            if (r < 0) return usage_error("--by needs a value");
            if (parse_order(value, &a->by)) return 2;
        } else if (options && argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage_error("top: unknown option %s (see nodeprof top --help)", argv[i]);
        } else {
            a->inputs[a->ninputs++] = argv[i];
        }
    }
    if (!a->ninputs) return usage_error("top: no FILE given (see nodeprof top --help)");
    return 0;
}

int cli_top(int argc, char **argv)
{
    struct top_args a = { .inputs = calloc((size_t)argc, sizeof(char *)), .n = 25, .by = NP_TOP_BY_SELF };
    if (!a.inputs) return error("out of memory");
    int rc = parse_top_args(argc, argv, &a);
    if (rc == 0) rc = top_of(a.inputs, a.ninputs, &a.sm, (int)a.n, a.by);
    free(a.inputs);
    return rc < 0 ? 0 : rc;
}

/* ---- merge -------------------------------------------------------------------------- */

static const char merge_usage[] =
    "usage: nodeprof merge FILE... -o OUT [--format F] [--force] [--max-output SIZE]\n"
    "                      [--source-maps DIR]\n"
    "Merges profiles of one kind (CPU or heap) into one: .cpuprofile, .heapprofile and\n"
    "pprof files (nodeprof's .pb.gz, Go's), mixed. The same stack in two profiles\n"
    "becomes one with both costs, so the output's totals are the sums of the inputs'\n"
    "(a fleet's flame graph: nodeprof merge pods/*.cpu.pb.gz -o fleet.pb.gz). Its\n"
    "pprof time and duration cover every input's; its labels are those every input\n"
    "has with the same value. Prints the path written.\n"
    "  -o, --output OUT  where to write; - for standard output. An existing OUT is\n"
    "                    never replaced\n"
    "  -f, --format F    pprof (the default), collapsed, speedscope, top\n"
    "  --force           write pprof's binary (gzip) output to a terminal too\n"
    "  --max-output SIZE give up when the output passes SIZE bytes (default 4g)\n"
    SOURCEMAP_USAGE
    "A .cpuprofile's start is taken as its file's modification time less its\n"
    "duration (it is written when it ends); a .heapprofile's, as that time.\n";

/* Never over an existing file: refused, and if one appears between the
 * check and the rename, the output takes a free variant of its name
 * (outfile.h), which is said. */
static int write_new_output(const struct write_job *job, const char *output, mode_t mode)
{
    struct stat st;
    if (lstat(output, &st) == 0)
        return error("%s exists: not replaced (remove it, or give another -o)", output);
    char dir_buf[NP_PATH_MAX], name_buf[NP_PATH_MAX], name[NAME_MAX + 1], err[NP_PATH_MAX + 300];
    snprintf(dir_buf, sizeof dir_buf, "%s", output);
    snprintf(name_buf, sizeof name_buf, "%s", output);
    const char *dir = dirname(dir_buf), *base = basename(name_buf);
    if (strlen(output) >= NP_PATH_MAX || strlen(base) > NAME_MAX || !*base || !strcmp(base, ".") ||
        !strcmp(base, ".."))
        return error("%s: not a file name", output);
    snprintf(name, sizeof name, "%s", base);
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) return error("%s: %s", dir, strerror(errno));
    remove_temp_on_signals();
    int rc = np_write_new_at(dirfd, dir, name, sizeof name, mode, fill, (void *)job, err, sizeof err);
    close(dirfd);
    if (rc) return error("%s", err);
    char path[NP_PATH_MAX + NAME_MAX + 2];
    if (!strcmp(name, base)) snprintf(path, sizeof path, "%s", output);
    else snprintf(path, sizeof path, "%s/%s", dir, name);
    if (strcmp(name, base)) fprintf(stderr, "nodeprof: %s appeared meanwhile: written as %s\n", output, path);
    printf("%s\n", path);
    if (fflush(stdout) || ferror(stdout)) return error("cannot write to standard output: %s", strerror(errno));
    return 0;
}

struct merge_args {
    const char **inputs; /* room for argc */
    size_t ninputs;
    const char *output;
    struct write_job job;
    struct cli_sourcemaps sm;
};

/* -1: --help shown; 0: parsed; 2: usage error (reported). */
static int parse_merge_args(int argc, char **argv, struct merge_args *a)
{
    const char *value, *why;
    bool options = true;
    for (int i = 1; i < argc; i++) {
        int r;
        if (options && !strcmp(argv[i], "--")) {
            options = false;
        } else if (options && is_help(argv[i])) {
            fputs(merge_usage, stdout);
            return -1;
        } else if (options && !strcmp(argv[i], "--force")) {
            a->job.force = true;
        } else if (options && (r = cli_sourcemap_option(argc, argv, &i, &a->sm)) != 0) {
            if (r < 0) return 2;
        } else if (options && (r = option(argc, argv, &i, "-f", "--format", &value)) != 0) {
            if (r < 0) return usage_error("--format needs a value");
            if (parse_format(value, &a->job.format)) return 2;
            if (a->job.format == NP_FMT_CPUPROFILE || a->job.format == NP_FMT_HTML)
                return usage_error("--format %s: not for a merge (it is built from one .cpuprofile's text); "
                                   "use pprof, collapsed, speedscope or top", value);
        } else if (options && (r = option(argc, argv, &i, "-o", "--output", &value)) != 0) {
            if (r < 0) return usage_error("-o needs a value");
            a->output = value;
        } else if (options && (r = option(argc, argv, &i, NULL, "--max-output", &value)) != 0) {
            if (r < 0) return usage_error("--max-output needs a value");
            if (np_parse_bytes(value, &a->job.max_output, &why) || a->job.max_output < 0)
                return usage_error("--max-output %s: %s", value, a->job.max_output < 0 ? "negative" : why);
        } else if (options && argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage_error("merge: unknown option %s (see nodeprof merge --help)", argv[i]);
        } else {
            a->inputs[a->ninputs++] = argv[i];
        }
    }
    if (!a->ninputs) return usage_error("merge: no FILE given (see nodeprof merge --help)");
    if (!a->output) return usage_error("merge: -o OUT is required (- for standard output)");
    for (size_t k = 0; k < a->ninputs; k++)
        if (strcmp(a->output, "-") && same_file(a->inputs[k], a->output))
            return usage_error("merge: -o %s is one of the inputs", a->output);
    return 0;
}

int cli_merge(int argc, char **argv)
{
    struct merge_args a = {
        .inputs = calloc((size_t)argc, sizeof(char *)),
        .job = { .format = NP_FMT_PPROF, .max_output = DEFAULT_MAX_OUTPUT },
    };
    if (!a.inputs) return error("out of memory");
    int rc = parse_merge_args(argc, argv, &a);
    struct np_profile *p = NULL;
    mode_t modes = 0666;
    if (rc == 0) rc = load_merged(a.inputs, a.ninputs, &a.sm, "merge", &p, &modes);
    if (rc == 0) {
        struct loaded merged = { .profile = p };
        a.job.l = &merged;
        /* No more readable than the least readable input; the owner keeps rw. */
        rc = !strcmp(a.output, "-") ? write_stdout(&a.job) : write_new_output(&a.job, a.output, (modes & 0666) | 0600);
    }
    np_profile_free(p);
    free(a.inputs);
    return rc < 0 ? 0 : rc;
}
