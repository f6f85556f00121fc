#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/labels.h"
#include "common/log.h"
#include "common/namepat.h"

enum opt_kind {
    OPT_BOOL,     /* 1/0, on/off, true/false, yes/no */
    OPT_LONG,     /* integer in [min, max] */
    OPT_STRING,   /* any text up to the field's size */
    OPT_ENUM,     /* one word of a '|' list; stored as its index */
    OPT_DURATION, /* 0/off or N with ms/s/m/h (no unit: seconds, with a warning) */
    OPT_BYTES,    /* N with optional k/m/g (KiB, MiB, GiB) */
    OPT_SIGNAL,   /* SIGUSR2, USR2, 12 or off */
    OPT_FORMATS,  /* comma list of format names */
    OPT_NAMEPAT,  /* a file name pattern (namepat.h) */
    OPT_MODE,     /* file permission bits in octal (np_parse_file_mode) */
    OPT_LABELS,   /* key=value,... with %{VAR}; stored expanded (labels.h) */
    OPT_PERCENT,  /* an integer in [min, max], with or without a trailing % */
};

struct opt {
    const char *name;  /* after the NODEPROF_ prefix */
    enum opt_kind kind;
    const char *def;   /* default, parsed by the same code as user values */
    long min, max;     /* OPT_LONG bounds */
    const char *words; /* OPT_ENUM words, '|' separated; OPT_DURATION: what `on` means */
    size_t offset, size;
    const char *help;
};

#define F(field) offsetof(struct np_config, field), sizeof(((struct np_config *)0)->field)

/* The one table. README.md's configuration table is printed from it
 * (`nodeprof config --markdown`) and a test checks the two agree. */
static const struct opt opts[] = {
    { "DISABLE", OPT_BOOL, "0", 0, 0, NULL, F(disable),
      "`1` turns nodeprof off entirely: nothing is injected into node" },
    { "DIR", OPT_STRING, ".", 0, 0, NULL, F(dir),
      "directory for profiles, created `0700` if missing; relative to the working directory at start-up. Refused (nothing is written) when it or a directory or symlink on its path belongs to a user other than root and this process's user" },
    { "FILE_MODE", OPT_MODE, "0600", 0, 0, NULL, F(file_mode),
      "permissions of every profile, snapshot and derived file, in octal (`0640`, `0644`): owner read and write, no execute bits, not writable by others; applied exactly (the umask does not narrow it)" },
    { "NAME", OPT_NAMEPAT, "nodeprof-%s-%t-%h-%p-%n", 0, 0, NULL, F(name),
      "file name pattern: `%s` script name (`server` for `node server.js`, `npm-run-build`, `npx-prettier`), `%c` the script and its first arguments, `%t` UTC time, `%h` host name, `%p` pid, `%n` sequence number, `%w` worker thread id, `%{VAR}` environment variable, `%%`; the extension is added by kind (see [File names](#file-names))" },
    { "CPU", OPT_BOOL, "on", 0, 0, NULL, F(cpu),
      "profile the CPU from start-up to exit" },
    { "CPU_INTERVAL", OPT_LONG, "1000", 1, 1000000, NULL, F(cpu_interval_us),
      "CPU sampling interval in microseconds (like `--cpu-prof-interval`)" },
    { "CPU_WINDOW", OPT_DURATION, "10s", 0, 0, NULL, F(cpu_window_ms),
      "bounds the CPU profile's memory: every window (or 10,000 sampling intervals, if sooner) V8's samples are folded into per-stack totals (`ms`, `s`, `m`, `h`; a bare number is read as seconds, with a warning); written profiles keep every stack's samples and time, and the last window's timeline (see [CPU profile memory](#cpu-profile-memory)). `off`: V8 keeps every sample, about 25 MB an hour at 1 ms" },
    { "WORKERS", OPT_BOOL, "off", 0, 0, NULL, F(workers),
      "`on`: each worker thread also writes its own CPU profile" },
    { "MATCH", OPT_STRING, "", 0, 0, NULL, F(match),
      "glob matched against the main script node runs (symlinks resolved, `.js` completed): without `/`, against its file name with or without extension (`server.js`, `server`, `worker-*`); with `/`, against its absolute path, relative to the working directory unless it starts with `/` or `*` (`app/server.js`, `*/server.js`). Other node processes are not profiled, but their children still are considered. Empty: every process" },
    { "LOG", OPT_ENUM, "warn", 0, 0, "error|warn|info|debug", F(log_level),
      "log level of `nodeprof:` lines on stderr" },
    { "LOG_FILE", OPT_STRING, "", 0, 0, NULL, F(log_file),
      "append log lines to this file instead of stderr" },
    { "MANIFEST", OPT_STRING, "", 0, 0, NULL, F(manifest),
      "append the path of every file written to this file, one per line (used by `nodeprof run`); relative to the working directory at start-up" },
    { "FIFO", OPT_STRING, "on", 0, 0, NULL, F(fifo),
      "control FIFO: `on` (`/tmp/nodeprof-<uid>/<pid>.ctl`), `off`, or a path, in which `%p` is the pid (children inherit the variable: give each its own)" },
    { "SIGNAL", OPT_SIGNAL, "SIGUSR2", 0, 0, NULL, F(signal),
      "signal that triggers `NODEPROF_SIGNAL_ACTION`; `off` disables; `SIGUSR1` is refused (node's inspector owns it)" },
    { "SIGNAL_ACTION", OPT_ENUM, "dump", 0, 0, "dump|toggle|heapsnapshot|stacks", F(signal_action),
      "`dump`: write the CPU profile so far and keep profiling; `toggle`: start/stop CPU profiling; `heapsnapshot`: write a heap snapshot; `stacks`: write every thread's native stack to `.stacks.txt` (a thread dump)" },
    { "HEAP", OPT_BOOL, "off", 0, 0, NULL, F(heap),
      "run the sampling heap profiler from start-up and write a `.heapprofile` at exit" },
    { "HEAP_INTERVAL", OPT_BYTES, "512k", 1, 1L << 30, NULL, F(heap_interval),
      "heap sampling interval in bytes (`k`, `m` suffixes allowed)" },
    { "HEAPSNAPSHOT_NEAR_LIMIT", OPT_LONG, "0", 0, 1000, NULL, F(heapsnapshot_near_limit),
      "write up to N heap snapshots as the heap approaches its limit (like `--heapsnapshot-near-heap-limit`)" },
    { "HELPER", OPT_ENUM, "on", 0, 0, "off|on|eager", F(helper),
      "a small helper worker thread, so that commands, signals and near-limit snapshots work while the main thread is stuck in JavaScript (one thread, 9 to 16 MB, 4 to 7 ms of the main thread and about 70 ms of CPU on another core). `on`: started at the first event-loop turn 50 ms or more after start-up, so a process that never yields (`node -e 0`, a synchronous script, one busy from its first line) or ends within 50 ms never pays for it, and is not rescued either; `eager`: started before the app's code, which also rescues a process busy from its first line, but a process that ends while it boots waits for it (`node -e 0` takes 1.7 to 1.9 times as long); `off`: none" },
    { "CRASH", OPT_BOOL, "on", 0, 0, NULL, F(crash),
      "on a crash (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT: also node's out-of-memory and failed-CHECK deaths) write `.crash.txt`: the signal, the crashing thread's native backtrace as module+offset (`nodeprof symbolize` names the functions), memory, node version, command line; the process then dies as it would have. `off`: no handler" },
    { "SNAPSHOT_FACTOR", OPT_LONG, "12", 0, 1000000, NULL, F(snapshot_factor),
      "a heap snapshot is refused (unless forced) when less than this many times the used heap is free (MemAvailable, cgroup limit; measured peak: 9.5 to 12 times); `0` never refuses" },
    { "PERIOD", OPT_DURATION, "off", 0, 0, NULL, F(period_ms),
      "continuous mode: write the CPU (and heap) profile every period (`500ms`, `60s`, `5m`, `1h`; a bare number is read as seconds, with a warning) and go on profiling" },
    { "KEEP", OPT_LONG, "0", 0, 1000000, NULL, F(keep),
      "keep only the newest N files of each kind and format (each extension: `.cpuprofile`, `.cpu.pb.gz`, `.heap.pb.gz`…) that this process wrote; `0` keeps all. Files of earlier processes are not counted: a service restarted in a loop adds its own each time (bound the directory by its volume, or clean it)" },
    { "FORMATS", OPT_FORMATS, "cpuprofile", 0, 0, NULL, F(formats),
      "comma list of output formats: `cpuprofile`, `pprof`, `collapsed`, `speedscope`, `html`, `top`" },
    { "SOURCEMAPS", OPT_BOOL, "off", 0, 0, NULL, F(sourcemaps),
      "`on`: the derived formats (all but `cpuprofile`) name the original file, line and function through the scripts' source maps, found when the profile is written" },
    { "MEMORY", OPT_DURATION, "off", 0, 0, "10s", F(memory_ms),
      "memory timeline: `on` (every `10s`) or a period (at least `100ms`) samples RSS, the V8 heap and its spaces, the heap after the last full GC, GC pauses and event-loop delay into `<name>.memory.jsonl`, one JSON line each, written as it goes; `nodeprof memory FILE` tells a leak from a high-water mark (see [Memory timeline](#memory-timeline))" },
    { "MEMORY_FILE_SIZE", OPT_BYTES, "16m", 1, 1L << 30, NULL, F(memory_file_size),
      "a memory timeline file that would grow past this size is closed and a new one (next `NODEPROF_NAME`, its own header) started; `NODEPROF_KEEP` applies. 16 MiB is about 2.5 days at 10 s" },
    { "LEAK_WATCH", OPT_BOOL, "off", 0, 0, NULL, F(leak_watch),
      "`on`: when the heap after full GC has grown by more than `NODEPROF_LEAK_GROWTH` over its level at the end of start-up and rose at each of the last three full GCs, take three heap snapshots spaced by the growth (baseline, target, final; each subject to `NODEPROF_SNAPSHOT_FACTOR`), then log one line naming them and the `nodeprof heap leaks` command to run (see [Finding a memory leak](#finding-a-memory-leak))" },
    { "LEAK_GROWTH", OPT_PERCENT, "50%", 1, 100000, NULL, F(leak_growth_pct),
      "the growth of the heap after full GC, over its level at the end of start-up, that starts `NODEPROF_LEAK_WATCH`'s snapshots (and at least 4 MiB)" },
    { "LEAK_SETTLE", OPT_DURATION, "60s", 0, 0, NULL, F(leak_settle_ms),
      "the end of start-up for `NODEPROF_LEAK_WATCH`: the heap's level is the heap after the first full GC that ends this long after the agent started (`0`: the first full GC)" },
    { "HTTP", OPT_STRING, "off", 0, 0, NULL, F(http),
      "serve Go-style pprof endpoints (`/debug/pprof/profile`, `heap`, `stack`, `/nodeprof/ctl`) from the agent thread at this address: `127.0.0.1:6060`, `[::1]:6060`, or a non-loopback one such as `0.0.0.0:6060`, which needs `NODEPROF_HTTP_TOKEN_FILE` (see [pprof endpoints](#pprof-endpoints-nodeprof_http)); `off`: no port" },
    { "HTTP_TOKEN_FILE", OPT_STRING, "", 0, 0, NULL, F(http_token_file),
      "file holding the bearer token every HTTP request must carry (`Authorization: Bearer <token>`); it must belong to this process's user and not be readable by group or others" },
    { "EXPORT", OPT_STRING, "", 0, 0, NULL, F(export_url),
      "`s3://bucket/prefix/`: upload every file written to S3-compatible storage, as `prefix/<file name>`, from a thread of its own, with retries; credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`. Needs `libcurl4` (loaded only then). See [Export to S3-compatible storage](#export-to-s3-compatible-storage)" },
    { "S3_ENDPOINT", OPT_STRING, "", 0, 0, NULL, F(s3_endpoint),
      "the S3 API's URL for MinIO, R2, GCS, Ceph (`http://minio:9000`, `https://ACCOUNT.r2.cloudflarestorage.com`); empty: AWS" },
    { "S3_REGION", OPT_STRING, "", 0, 0, NULL, F(s3_region),
      "the region that requests are signed for; empty: `AWS_REGION`, else `us-east-1`" },
    { "S3_ADDRESSING", OPT_ENUM, "auto", 0, 0, "auto|path|virtual", F(s3_addressing),
      "`path` (`ENDPOINT/bucket/key`) or `virtual` (`bucket.host/key`); `auto`: `path` with `NODEPROF_S3_ENDPOINT`, `virtual` on AWS" },
    { "EXPORT_KEEP_LOCAL", OPT_BOOL, "on", 0, 0, NULL, F(export_keep_local),
      "`off`: delete the local file once its upload is confirmed (HTTP 200)" },
    { "EXPORT_EXIT_WAIT", OPT_DURATION, "5s", 0, 0, NULL, F(export_exit_wait_ms),
      "at exit, wait at most this long for pending uploads, then leave the rest on disk for `nodeprof upload` (`off`: do not wait)" },
    { "EXPORT_SPOOL_MAX", OPT_LONG, "1000", 1, 1000000, NULL, F(export_spool_max),
      "at most this many files wait for upload; past it the oldest is dropped from the queue, with one line (deleted if `NODEPROF_EXPORT_KEEP_LOCAL=off`)" },
    { "LABELS", OPT_LABELS, "", 0, 0, NULL, F(labels),
      "labels of every profile, `service=checkout,version=%{GIT_SHA}` (`%{VAR}`: an environment variable, read at start-up): string labels on every pprof sample (files and HTTP endpoints) and the `labels` metadata of S3 uploads. Keys `[A-Za-z_][A-Za-z0-9_.-]*`, values printable ASCII without `,`; at most 16 labels, 511 bytes in all" },
};
#define NOPTS (sizeof opts / sizeof opts[0])
#define PREFIX "NODEPROF_"

static const char *const format_names[] = {
    "cpuprofile", "pprof", "collapsed", "speedscope", "html", "top",
};
#define NFORMATS (sizeof format_names / sizeof format_names[0])

int np_parse_long(const char *s, long min, long max, long *out, const char **why)
{
    if (!s || !*s) { *why = "empty"; return -1; }
    const char *p = s;
    while (isspace((unsigned char)*p)) p++;
    if (!isdigit((unsigned char)*p) && *p != '-' && *p != '+') { *why = "not a number"; return -1; }
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0') { *why = "not a number"; return -1; }
    if (errno == ERANGE || v < min || v > max) {
        static __thread char msg[64];
        snprintf(msg, sizeof msg, "out of range %ld..%ld", min, max);
        *why = msg;
        return -1;
    }
    *out = v;
    return 0;
}

/* Splits "123abc" into 123 and "abc"; the number must fit a long. */
static int split_number(const char *s, long *num, const char **unit, const char **why)
{
    if (!s || !isdigit((unsigned char)*s)) { *why = "not a number"; return -1; }
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno == ERANGE) { *why = "too large"; return -1; }
    *num = v;
    *unit = end;
    return 0;
}

static int scale(long v, long mul, long *out, const char **why)
{
    if (v > LONG_MAX / mul) { *why = "too large"; return -1; }
    *out = v * mul;
    return 0;
}

int np_parse_duration_ms(const char *s, long *out, const char **why)
{
    if (s && (!strcasecmp(s, "off") || !strcmp(s, "0"))) { *out = 0; return 0; }
    long v;
    const char *unit;
    if (split_number(s, &v, &unit, why)) return -1;
    long mul;
    if (!strcmp(unit, "ms")) mul = 1;
    else if (!strcmp(unit, "s") || !*unit) mul = 1000;
    else if (!strcmp(unit, "m")) mul = 60 * 1000;
    else if (!strcmp(unit, "h")) mul = 3600 * 1000;
    else { *why = "unknown unit (use ms, s, m or h)"; return -1; }
    long ms;
    if (scale(v, mul, &ms, why)) return -1;
    if (ms < 100 || ms > 7L * 24 * 3600 * 1000) { *why = "out of range 100ms..168h"; return -1; }
    *out = ms;
    return 0;
}

int np_parse_bytes(const char *s, long *out, const char **why)
{
    long v;
    const char *unit;
    if (split_number(s, &v, &unit, why)) return -1;
    long mul;
    if (!*unit || !strcmp(unit, "b")) mul = 1;
    else if (!strcasecmp(unit, "k") || !strcasecmp(unit, "kb") || !strcasecmp(unit, "kib")) mul = 1L << 10;
    else if (!strcasecmp(unit, "m") || !strcasecmp(unit, "mb") || !strcasecmp(unit, "mib")) mul = 1L << 20;
    else if (!strcasecmp(unit, "g") || !strcasecmp(unit, "gb") || !strcasecmp(unit, "gib")) mul = 1L << 30;
    else { *why = "unknown unit (use k, m or g)"; return -1; }
    return scale(v, mul, out, why);
}

int np_parse_file_mode(const char *s, long *out, const char **why)
{
    size_t len = s ? strlen(s) : 0;
    if (len < 3 || len > 4 || strspn(s, "01234567") != len) {
        *why = "expected 3 or 4 octal digits, such as 0640";
        return -1;
    }
    long mode = strtol(s, NULL, 8);
    if (mode & ~0666L) { *why = "no execute, setuid, setgid or sticky bits (at most 0664)"; return -1; }
    if ((mode & 0600) != 0600) { *why = "the owner must keep read and write (0600)"; return -1; }
    /* A profile others may rewrite is one nobody can trust. */
    if (mode & 0002) { *why = "others may not write (at most 0664)"; return -1; }
    *out = mode;
    return 0;
}

static const struct { const char *name; int sig; } signals[] = {
    { "SIGHUP", SIGHUP }, { "SIGINT", SIGINT }, { "SIGQUIT", SIGQUIT }, { "SIGILL", SIGILL },
    { "SIGTRAP", SIGTRAP }, { "SIGABRT", SIGABRT }, { "SIGBUS", SIGBUS }, { "SIGFPE", SIGFPE },
    { "SIGKILL", SIGKILL }, { "SIGUSR1", SIGUSR1 }, { "SIGSEGV", SIGSEGV }, { "SIGUSR2", SIGUSR2 },
    { "SIGPIPE", SIGPIPE }, { "SIGALRM", SIGALRM }, { "SIGTERM", SIGTERM }, { "SIGCHLD", SIGCHLD },
    { "SIGCONT", SIGCONT }, { "SIGSTOP", SIGSTOP }, { "SIGTSTP", SIGTSTP }, { "SIGTTIN", SIGTTIN },
    { "SIGTTOU", SIGTTOU }, { "SIGURG", SIGURG }, { "SIGXCPU", SIGXCPU }, { "SIGXFSZ", SIGXFSZ },
    { "SIGVTALRM", SIGVTALRM }, { "SIGPROF", SIGPROF }, { "SIGWINCH", SIGWINCH }, { "SIGPWR", SIGPWR },
    { "SIGSYS", SIGSYS },
};

/* Signals that cannot trigger an action: synchronous faults, job control,
 * those the agent already watches (INT, TERM, HUP), SIGPROF (V8's CPU
 * sampler), and those node or libc use themselves. */
static bool signal_usable(int sig)
{
    static const int refused[] = {
        SIGHUP, SIGINT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGSEGV, SIGPIPE,
        SIGALRM, SIGTERM, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGXCPU,
        SIGXFSZ, SIGVTALRM, SIGPROF, SIGSYS,
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        if (refused[i] == sig) return false;
    return true;
}

const char *np_signal_name(int sig)
{
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        if (signals[i].sig == sig) return signals[i].name;
    return "signal";
}

int np_parse_signal(const char *s, int *out, const char **why)
{
    if (s && !strcasecmp(s, "off")) { *out = 0; return 0; }
    int sig = 0;
    long n;
    const char *ignored;
    if (s && isdigit((unsigned char)*s)) {
        if (np_parse_long(s, 1, 64, &n, &ignored)) { *why = "not a signal"; return -1; }
        sig = (int)n;
    } else if (s) {
        const char *bare = strncasecmp(s, "SIG", 3) ? s : s + 3;
        for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
            if (!strcasecmp(bare, signals[i].name + 3)) sig = signals[i].sig;
        if (!sig && !strncasecmp(bare, "RTMIN+", 6) &&
            !np_parse_long(bare + 6, 0, SIGRTMAX - SIGRTMIN, &n, &ignored))
            sig = SIGRTMIN + (int)n;
    }
    if (!sig) { *why = "not a signal name"; return -1; }
    if (sig == SIGUSR1) { *why = "SIGUSR1 belongs to node (it opens the inspector port)"; return -1; }
    if (!signal_usable(sig)) {
        *why = "that signal cannot be used as a trigger";
        return -1;
    }
    *out = sig;
    return 0;
}

const char *np_format_name(unsigned one_format)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (one_format == 1u << i) return format_names[i];
    return "?";
}

int np_parse_formats(const char *s, unsigned *out, const char **why)
{
    unsigned bits = 0;
    const char *p = s ? s : "";
    while (*p) {
        size_t len = strcspn(p, ",");
        size_t i;
        for (i = 0; i < NFORMATS; i++)
            if (strlen(format_names[i]) == len && !strncasecmp(p, format_names[i], len)) break;
        if (i == NFORMATS) {
            *why = "unknown format (use cpuprofile, pprof, collapsed, speedscope, html, top)";
            return -1;
        }
        bits |= 1u << i;
        p += len + (p[len] == ',');
    }
    if (!bits) { *why = "empty"; return -1; }
    *out = bits;
    return 0;
}

static int parse_bool(const char *s, bool *out, const char **why)
{
    static const char *const yes[] = { "1", "on", "true", "yes" };
    static const char *const no[] = { "0", "off", "false", "no", "" };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (!strcasecmp(s, yes[i])) { *out = true; return 0; }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (!strcasecmp(s, no[i])) { *out = false; return 0; }
    *why = "expected on or off";
    return -1;
}

static int parse_enum(const char *s, const char *words, int *out, const char **why)
{
    int index = 0;
    for (const char *w = words; *w; index++) {
        size_t len = strcspn(w, "|");
        if (strlen(s) == len && !strncasecmp(s, w, len)) { *out = index; return 0; }
        w += len + (w[len] == '|');
    }
    static __thread char msg[96];
    snprintf(msg, sizeof msg, "expected one of %s", words);
    *why = msg;
    return -1;
}

/* Parses one value into its field; the field is untouched on error.
 * envp: for OPT_LABELS' %{VAR}. */
static int parse_value(const struct opt *o, const char *s, struct np_config *cfg, char *const *envp,
                       const char **why)
{
    void *field = (char *)cfg + o->offset;
    switch (o->kind) {
    case OPT_BOOL: return parse_bool(s, field, why);
    case OPT_LONG: return np_parse_long(s, o->min, o->max, field, why);
    case OPT_ENUM: return parse_enum(s, o->words, field, why);
    case OPT_DURATION:
        if (o->words && !strcasecmp(s, "on")) s = o->words;
        return np_parse_duration_ms(s, field, why);
    case OPT_SIGNAL: return np_parse_signal(s, field, why);
    case OPT_FORMATS: return np_parse_formats(s, field, why);
    case OPT_BYTES: {
        long v;
        if (np_parse_bytes(s, &v, why)) return -1;
        if (v < o->min || v > o->max) { *why = "out of range 1..1g"; return -1; }
        *(long *)field = v;
        return 0;
    }
    case OPT_MODE: return np_parse_file_mode(s, field, why);
    case OPT_LABELS: {
        char text[NP_LABELS_TEXT_MAX];
        if (np_labels_expand(s, envp, text, sizeof text, why)) return -1;
        s = text;
        if (strlen(s) >= o->size) { *why = "too long"; return -1; }
        memcpy(field, s, strlen(s) + 1);
        return 0;
    }
    case OPT_PERCENT: {
        char digits[32];
        size_t len = strlen(s);
        if (len && s[len - 1] == '%') len--;
        if (len >= sizeof digits) { *why = "not a number"; return -1; }
        memcpy(digits, s, len);
        digits[len] = '\0';
        return np_parse_long(digits, o->min, o->max, field, why);
    }
    case OPT_NAMEPAT: {
        struct np_name_vars probe = { .pid = 1, .seq = 1, .host = "h" };
        char name[1024];
        if (strchr(s, '/')) { *why = "a name, not a path (use NODEPROF_DIR)"; return -1; }
        if (np_name_expand(s, &probe, name, sizeof name, why)) return -1;
    }
    /* fall through */
    case OPT_STRING:
        if (strlen(s) >= o->size) { *why = "too long"; return -1; }
        memcpy(field, s, strlen(s) + 1);
        return 0;
    }
    *why = "internal error";
    return -1;
}

void np_config_defaults(struct np_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NOPTS; i++) {
        const char *why;
        parse_value(&opts[i], opts[i].def, cfg, NULL, &why); /* defaults are valid: unit-tested */
    }
}

static const char *env_lookup(char *const *envp, const char *name)
{
    size_t len = strlen(name);
    for (char *const *e = envp; e && *e; e++)
        if (!strncmp(*e, name, len) && (*e)[len] == '=') return *e + len + 1;
    return NULL;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 64;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = toupper((unsigned char)a[i - 1]) != toupper((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static void report_unknown(char *const *envp, np_config_report_fn report, void *ctx)
{
    size_t plen = strlen(PREFIX);
    for (char *const *e = envp; e && *e; e++) {
        if (strncmp(*e, PREFIX, plen)) continue;
        const char *name = *e + plen;
        size_t len = strcspn(name, "=");
        char buf[64];
        if (len >= sizeof buf) len = sizeof buf - 1;
        memcpy(buf, name, len);
        buf[len] = '\0';
        size_t best = (size_t)-1, best_d = 64;
        bool known = false;
        for (size_t i = 0; i < NOPTS && !known; i++) {
            known = !strcmp(buf, opts[i].name);
            /* Case-blind distance: NODEPROF_cpu suggests NODEPROF_CPU. */
            size_t d = edit_distance(buf, opts[i].name);
            if (d < best_d) { best_d = d; best = i; }
        }
        if (known) continue;
        char msg[256];
        if (best_d <= 4)
            snprintf(msg, sizeof msg, "unknown variable " PREFIX "%s (did you mean " PREFIX "%s?)", buf, opts[best].name);
        else
            snprintf(msg, sizeof msg, "unknown variable " PREFIX "%s", buf);
        report(ctx, msg);
    }
}

/* A duration without a unit (NODEPROF_PERIOD=10) was read as seconds
 * before units were required; it still is, for the deployments that have
 * it, with one line that says how to write it. */
static void report_bare_duration(const struct opt *o, const char *var, const char *val,
                                 np_config_report_fn report, void *ctx)
{
    if (o->kind != OPT_DURATION || !report || !*val || strspn(val, "0123456789") != strlen(val) ||
        !strcmp(val, "0"))
        return;
    char msg[256];
    snprintf(msg, sizeof msg, "%s=%.40s: no unit, read as %.40ss; write %.40ss", var, val, val, val);
    report(ctx, msg);
}

void np_config_load(struct np_config *cfg, char *const *envp,
                    np_config_report_fn report, void *ctx)
{
    np_config_defaults(cfg);
    for (size_t i = 0; i < NOPTS; i++) {
        char var[64];
        snprintf(var, sizeof var, PREFIX "%s", opts[i].name);
        const char *val = env_lookup(envp, var);
        if (!val) continue;
        const char *why = "invalid";
        if (parse_value(&opts[i], val, cfg, envp, &why) == 0) {
            report_bare_duration(&opts[i], var, val, report, ctx);
            continue;
        }
        char msg[512];
        snprintf(msg, sizeof msg, "invalid %s=%.200s: %s; using %s", var, val, why,
                 *opts[i].def ? opts[i].def : "(empty)");
        if (report) report(ctx, msg);
    }
    if (report) report_unknown(envp, report, ctx);
}

void np_config_print_markdown(FILE *out)
{
    fprintf(out, "| variable | default | meaning |\n|---|---|---|\n");
    for (size_t i = 0; i < NOPTS; i++)
        fprintf(out, "| `" PREFIX "%s` | %s%s%s | %s |\n", opts[i].name,
                *opts[i].def ? "`" : "", *opts[i].def ? opts[i].def : "(empty)",
                *opts[i].def ? "`" : "", opts[i].help);
}

static void print_field(const struct opt *o, const struct np_config *cfg, FILE *out)
{
    const void *field = (const char *)cfg + o->offset;
    fprintf(out, PREFIX "%s=", o->name);
    switch (o->kind) {
    case OPT_BOOL: fputs(*(const bool *)field ? "on" : "off", out); break;
    case OPT_LONG: case OPT_BYTES: fprintf(out, "%ld", *(const long *)field); break;
    case OPT_DURATION:
        if (*(const long *)field) fprintf(out, "%ldms", *(const long *)field);
        else fputs("off", out);
        break;
    case OPT_STRING: case OPT_NAMEPAT: case OPT_LABELS: fputs((const char *)field, out); break;
    case OPT_MODE: fprintf(out, "%04lo", *(const long *)field); break;
    case OPT_PERCENT: fprintf(out, "%ld%%", *(const long *)field); break;
    case OPT_SIGNAL:
        fputs(*(const int *)field ? np_signal_name(*(const int *)field) : "off", out);
        break;
    case OPT_ENUM: {
        const char *w = o->words;
        for (int i = *(const int *)field; i > 0 && *w; i--) w += strcspn(w, "|") + 1;
        fprintf(out, "%.*s", (int)strcspn(w, "|"), w);
        break;
    }
    case OPT_FORMATS: {
        unsigned bits = *(const unsigned *)field;
        const char *sep = "";
        for (size_t i = 0; i < NFORMATS; i++)
            if (bits & (1u << i)) { fprintf(out, "%s%s", sep, format_names[i]); sep = ","; }
        break;
    }
    }
    fputc('\n', out);
}

void np_config_print(const struct np_config *cfg, FILE *out)
{
    for (size_t i = 0; i < NOPTS; i++) print_field(&opts[i], cfg, out);
}
