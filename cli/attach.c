#include "attach.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cdp.h"
#include "target.h"
#include "term.h"
#include "common/config.h"
#include "common/headroom.h"
#include "common/namepat.h"
#include "common/outfile.h"
#include "common/procname.h"
#include "common/rundir.h"

extern char **environ;

const char cli_attach_help[] =
    "\n"
    "A node process started without nodeprof (no control FIFO) is attached through node's own\n"
    "inspector: SIGUSR1 opens it on 127.0.0.1:9229 (or the process's --inspect-port), nodeprof\n"
    "runs the command and closes it again (process._debugEnd()). While it is open, any local user\n"
    "can connect to it. These commands work that way:\n"
    "cpu dump [SECONDS]          a CPU profile of the next SECONDS (default 10)\n"
    "heap snapshot [force]       a heap snapshot\n"
    "stack                       the main thread's JavaScript stack now\n";

#define DEFAULT_CPU_SECONDS 10
#define OPEN_WAIT_MS 10000   /* for the inspector to listen after SIGUSR1 */
#define CLOSE_WAIT_MS 3000   /* for the port to close after _debugEnd() */
/* A marker younger than this whose inspector does not listen yet may belong
 * to a SIGUSR1 still on its way: left alone. */
#define MARKER_GRACE_S 15

enum job_kind { JOB_CPU, JOB_HEAP, JOB_STACK };

struct job {
    enum job_kind kind;
    long seconds;   /* cpu dump */
    bool force;     /* heap snapshot */
    int timeout_s;  /* for each protocol call */
};

/* The signal (SIGINT, SIGTERM, SIGHUP) that asked us to stop; the inspector
 * is closed before we die of it. */
static volatile sig_atomic_t attach_signal;

/* What the events of the connection tell: the process is exiting (node
 * then waits for us to disconnect before it ends: we must go at once), and
 * where heap snapshot chunks go. */
static struct {
    bool exiting;
    struct np_stream *snapshot;
    long pid;
} attach_events;

static void on_signal(int sig) { attach_signal = sig; }

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* The command words, if they are an attach command: 0, or -1 (reported
 * when report is set). */
static int parse_job(int argc, char **argv, struct job *job, bool report)
{
    memset(job, 0, sizeof *job);
    const char *why;
    if (argc >= 2 && !strcmp(argv[0], "cpu") && !strcmp(argv[1], "dump") && argc <= 3) {
        job->kind = JOB_CPU;
        job->seconds = DEFAULT_CPU_SECONDS;
        if (argc == 3 && np_parse_long(argv[2], 1, 3600, &job->seconds, &why)) {
            if (report) fprintf(stderr, "nodeprof: cpu dump %s: %s (seconds, 1 to 3600)\n", argv[2], why);
            return -1;
        }
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[0], "heap") && !strcmp(argv[1], "snapshot") &&
        (argc == 2 || (argc == 3 && !strcmp(argv[2], "force")))) {
        job->kind = JOB_HEAP;
        job->force = argc == 3;
        return 0;
    }
    if (argc == 1 && !strcmp(argv[0], "stack")) {
        job->kind = JOB_STACK;
        return 0;
    }
    if (report) fprintf(stderr, "nodeprof: on a process started without nodeprof, only `cpu dump [SECONDS]`, "
                        "`heap snapshot [force]` and `stack` work (through its inspector)\n");
    return -1;
}

bool cli_attach_command(int argc, char **argv)
{
    struct job job;
    /* `cpu dump` with a bad number is ours too: its error is reported then. */
    return !parse_job(argc, argv, &job, false) || (argc == 3 && !strcmp(argv[0], "cpu") && !strcmp(argv[1], "dump"));
}

/* ---- markers ---------------------------------------------------------- */

static void marker_path(char *out, size_t len, const char *dir, long pid, unsigned long long start, int port)
{
    snprintf(out, len, "%s/attach-%ld-%llu-%d", dir, pid, start, port);
}

/* Creates our marker; -1 with err set (EEXIST: another nodeprof is attached). */
static int marker_create(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, errno == EEXIST ? "another nodeprof ctl is attached to this process (%.300s)"
                 : "cannot create %.300s: %s", path, strerror(errno));
        return -1;
    }
    char line[64];
    int n = snprintf(line, sizeof line, "%ld %llu\n", (long)getpid(), target_start_time((long)getpid()));
    int bad = write(fd, line, (size_t)n) != n;
    close(fd);
    if (bad) { unlink(path); snprintf(err, errlen, "cannot write %.300s", path); return -1; }
    return 0;
}

/* Whether the nodeprof named in the marker still runs. */
static bool marker_owner_alive(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    char buf[64] = "";
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0) close(fd);
    long pid = 0;
    unsigned long long start = 0;
    if (n <= 0 || sscanf(buf, "%ld %llu", &pid, &start) != 2) return false;
    return pid > 0 && start && target_start_time(pid) == start;
}

/* ---- opening and closing the inspector -------------------------------- */

enum listen_wait { LISTENING, HELD_BY_OTHER, TARGET_GONE, NOT_YET };

/* Waits for the target's listener on port; err set unless LISTENING. */
static enum listen_wait wait_listener(const struct target *t, int wait_ms, char *err, size_t errlen)
{
    for (int waited = 0;; waited += 20) {
        unsigned long inode = target_listener(t->pid, t->port);
        if (inode && target_holds_socket(t->pid, inode)) return LISTENING;
        if (inode) {
            snprintf(err, errlen, "127.0.0.1:%d is held by another process, not by %ld: refusing to talk to it",
                     t->port, t->pid);
            return HELD_BY_OTHER;
        }
        if (target_start_time(t->pid) != t->start) { snprintf(err, errlen, "process %ld exited", t->pid); return TARGET_GONE; }
        if (waited >= wait_ms) {
            snprintf(err, errlen, "process %ld did not open its inspector on port %d within %d s after SIGUSR1 "
                     "(is its main thread stuck in native code, or was it started with --disable-sigusr1?)",
                     t->pid, t->port, wait_ms / 1000);
            return NOT_YET;
        }
        struct timespec ts = { 0, 20 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

/* Asks node to close its inspector (which ends our connection), then
 * checks the port. 0 once it is closed. */
static int close_inspector(const struct target *t, char *err, size_t errlen)
{
    char path[256];
    cdp_set_interrupt(NULL); /* a signal does not stop the closing */
    cdp_close();
    int rc = cdp_target_path(t->port, path, sizeof path, 5000, err, errlen);
    if (!rc) rc = cdp_open(t->port, path, 5000, err, errlen);
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "expression",
                            "typeof process._debugEnd === 'function' ? process._debugEnd() : 'no _debugEnd'");
    if (!rc) rc = cdp_send_only("Runtime.evaluate", params, 5000, err, errlen);
    cJSON_Delete(params);
    if (!rc) cdp_wait_closed(CLOSE_WAIT_MS);
    cdp_close();
    for (int waited = 0; waited < CLOSE_WAIT_MS; waited += 20) {
        unsigned long inode = target_listener(t->pid, t->port);
        if (!inode || !target_holds_socket(t->pid, inode)) return 0;
        struct timespec ts = { 0, 20 * 1000000L };
        nanosleep(&ts, NULL);
    }
    if (!rc) snprintf(err, errlen, "the inspector still listens after process._debugEnd()");
    return -1;
}

/* ---- output files ------------------------------------------------------ */

static void report_config(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "nodeprof: %s\n", msg);
}

/* The configuration is read twice (output_check, then the command): its
 * problems are told once. */
static void ignore_config(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

struct output {
    int dirfd;
    char dir[PATH_MAX];
    char name[NAME_MAX + 1];
    mode_t mode;
    long interval_us;
    long snapshot_factor;
};

/* %s and %c of the target, from its command line (its environment, for
 * pm2's variable, is not read: it may hold secrets). */
static void target_procname(long pid, struct np_procname *p)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
    if (fd >= 0) close(fd);
    np_procname_from_cmdline(buf, n > 0 ? (size_t)n : 0, NULL, p);
}

/* NODEPROF_DIR (the current directory by default) and NODEPROF_NAME, from
 * our environment, with the target's pid for %p and its script for %s. */
static int output_open(long pid, const char *ext, struct output *o, bool report, char *err, size_t errlen)
{
    struct np_config cfg;
    np_config_load(&cfg, environ, report ? report_config : ignore_config, NULL);
    o->mode = (mode_t)cfg.file_mode;
    o->interval_us = cfg.cpu_interval_us;
    o->snapshot_factor = cfg.snapshot_factor;
    char host[256] = "localhost", name[NAME_MAX + 1], cwd[PATH_MAX];
    gethostname(host, sizeof host - 1);
    struct np_procname proc;
    target_procname(pid, &proc);
    struct np_name_vars vars = { .pid = pid, .when = time(NULL), .seq = 1, .host = host,
                                 .script = proc.script, .command = proc.command, .envp = environ };
    const char *why;
    if (np_name_expand(cfg.name, &vars, name, sizeof name - 16, &why)) {
        snprintf(err, errlen, "bad NODEPROF_NAME '%s': %s", cfg.name, why);
        return -1;
    }
    snprintf(o->name, sizeof o->name, "%s%s", name, ext);
    if (cfg.dir[0] == '/' || !getcwd(cwd, sizeof cwd)) snprintf(o->dir, sizeof o->dir, "%s", cfg.dir);
    else if (!strcmp(cfg.dir, ".")) snprintf(o->dir, sizeof o->dir, "%s", cwd);
    else if (snprintf(o->dir, sizeof o->dir, "%s/%s", cwd, cfg.dir) >= (int)sizeof o->dir) {
        snprintf(err, errlen, "NODEPROF_DIR=%.200s: path too long", cfg.dir);
        return -1;
    }
    char why_dir[600];
    o->dirfd = np_dir_open_trusted(o->dir, true, 0700, why_dir, sizeof why_dir);
    if (o->dirfd < 0) { snprintf(err, errlen, "NODEPROF_DIR=%.200s: %.280s", cfg.dir, why_dir); return -1; }
    return 0;
}

/* Before anything is sent to the process: the output directory can be
 * written (a profile taken and then lost to EACCES helps nobody). Root
 * acting as another user (owner.h) meets this most: the current directory
 * is root's. */
static int output_check(long pid, char *err, size_t errlen)
{
    struct output o;
    if (output_open(pid, "", &o, true, err, errlen)) return -1;
    int rc = faccessat(o.dirfd, ".", W_OK | X_OK, AT_EACCESS);
    if (rc) snprintf(err, errlen, "cannot write in %.300s as uid %u (NODEPROF_DIR names where files go)", o.dir,
                     (unsigned)geteuid());
    close(o.dirfd);
    return rc ? -1 : 0;
}

/* ---- the commands ------------------------------------------------------ */

static int take_cpu_profile(const struct target *t, const struct job *job, char *err, size_t errlen)
{
    struct output o;
    if (output_open(t->pid, ".cpuprofile", &o, false, err, errlen)) return -1;
    int ms = job->timeout_s * 1000;
    cJSON *params = cJSON_CreateObject(), *result = NULL;
    cJSON_AddNumberToObject(params, "interval", (double)o.interval_us);
    int rc = cdp_call("Profiler.enable", NULL, ms, NULL, err, errlen);
    if (!rc) rc = cdp_call("Profiler.setSamplingInterval", params, ms, NULL, err, errlen);
    if (!rc) rc = cdp_call("Profiler.start", NULL, ms, NULL, err, errlen);
    if (!rc) rc = cdp_wait((int)job->seconds * 1000, err, errlen);
    if (rc == -1 && attach_events.exiting) {
        /* node waits for us before it exits: the profile so far, and go. */
        fprintf(stderr, "nodeprof: %s: writing the profile so far\n", err);
        rc = 0;
    }
    if (!rc) rc = cdp_call("Profiler.stop", NULL, ms, &result, err, errlen);
    cJSON_Delete(params);
    char *text = NULL;
    const cJSON *profile = cJSON_GetObjectItemCaseSensitive(result, "profile");
    if (!rc && !(text = profile ? cJSON_PrintUnformatted(profile) : NULL)) {
        snprintf(err, errlen, "Profiler.stop gave no profile");
        rc = -1;
    }
    cJSON_Delete(result);
    if (!rc) rc = np_write_atomic_buf_at(o.dirfd, o.dir, o.name, o.mode, text, strlen(text), err, errlen);
    if (!rc) printf("%s/%s\n", o.dir, o.name);
    free(text);
    close(o.dirfd);
    return rc;
}

static int on_event(const char *method, const cJSON *params, void *ctx, char *err, size_t errlen)
{
    (void)ctx;
    if (!strcmp(method, "NodeRuntime.waitingForDisconnect")) {
        attach_events.exiting = true;
        snprintf(err, errlen, "process %ld is exiting", attach_events.pid);
        return -1;
    }
    struct np_stream *s = attach_events.snapshot;
    if (!s || strcmp(method, "HeapProfiler.addHeapSnapshotChunk")) return 0;
    const cJSON *chunk = cJSON_GetObjectItemCaseSensitive(params, "chunk");
    if (!cJSON_IsString(chunk)) return 0;
    if (fputs(chunk->valuestring, s->out) == EOF) {
        snprintf(err, errlen, "cannot write %s: %s", s->path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The agent's check (README "heap snapshot"): the snapshot costs about
 * NODEPROF_SNAPSHOT_FACTOR times the used heap. */
static int check_headroom(const struct output *o, int ms, char *err, size_t errlen)
{
    cJSON *usage = NULL;
    if (cdp_call("Runtime.getHeapUsage", NULL, ms, &usage, err, errlen)) return -1;
    const cJSON *used = cJSON_GetObjectItemCaseSensitive(usage, "usedSize");
    int rc = cJSON_IsNumber(used) ? np_headroom_check(used->valuedouble, o->snapshot_factor, err, errlen) : 0;
    cJSON_Delete(usage);
    return rc;
}

static int take_heap_snapshot(const struct target *t, const struct job *job, char *err, size_t errlen)
{
    struct output o;
    if (output_open(t->pid, ".heapsnapshot", &o, false, err, errlen)) return -1;
    int ms = job->timeout_s * 1000;
    if (!job->force && check_headroom(&o, ms, err, errlen)) { close(o.dirfd); return -1; }
    struct np_stream s;
    if (np_stream_open_at(&s, o.dirfd, o.dir, o.name, err, errlen)) { close(o.dirfd); return -1; }
    attach_events.snapshot = &s;
    cJSON *params = cJSON_CreateObject();
    cJSON_AddBoolToObject(params, "reportProgress", 0);
    int rc = cdp_call("HeapProfiler.takeHeapSnapshot", params, ms, NULL, err, errlen);
    cJSON_Delete(params);
    attach_events.snapshot = NULL;
    if (!rc) rc = np_stream_commit(&s, o.mode, err, errlen);
    else np_stream_abort(&s);
    if (!rc) printf("%s/%s\n", o.dir, o.name);
    close(o.dirfd);
    return rc;
}

/* Evaluated in the target: V8 runs it between two JavaScript operations of
 * the main thread, on top of its stack, so the stack below is the one that
 * was running (a busy loop included). The same frames and format as the
 * agent's `stack` (src/stack.c); Error's settings are the app's again after. */
static const char stack_expression[] =
    "(function nodeprofStack() {"
    " const E = Error, prepare = E.prepareStackTrace, limit = E.stackTraceLimit;"
    " try {"
    "  E.stackTraceLimit = 256; E.prepareStackTrace = (e, sites) => sites;"
    "  const holder = {}; E.captureStackTrace(holder, nodeprofStack);"
    "  const lines = [];"
    "  for (const s of holder.stack) {"
    "   const file = s.getFileName();"
    "   if (!lines.length && !file) continue;"
    "   const fn = s.getFunctionName(), type = s.getTypeName(), name = fn || s.getMethodName() || '(anonymous)';"
    "   const qualified = type && fn && !fn.includes('.') && type !== 'Object' && type !== 'global' ? type + '.' + name : name;"
    "   lines.push(qualified + ' (' + (file || 'native') + ':' + s.getLineNumber() + ':' + s.getColumnNumber() + ')');"
    "  }"
    "  return lines.join('\\n');"
    " } finally { E.prepareStackTrace = prepare; E.stackTraceLimit = limit; }"
    "})()";

static int take_stack(const struct job *job, char *err, size_t errlen)
{
    cJSON *params = cJSON_CreateObject(), *result = NULL;
    cJSON_AddStringToObject(params, "expression", stack_expression);
    cJSON_AddBoolToObject(params, "returnByValue", 1);
    int rc = cdp_call("Runtime.evaluate", params, job->timeout_s * 1000, &result, err, errlen);
    cJSON_Delete(params);
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(result, "result"), "value");
    if (!rc && !cJSON_IsString(value)) {
        snprintf(err, errlen, "the stack could not be taken");
        rc = -1;
    }
    if (!rc && !*value->valuestring) puts("(idle: the main thread is waiting in its event loop)");
    else if (!rc) {
        cli_put_untrusted(stdout, value->valuestring, true); /* the target's text (term.h) */
        putchar('\n');
    }
    cJSON_Delete(result);
    return rc;
}

static int run_job(const struct target *t, const struct job *job, char *err, size_t errlen)
{
    char path[256];
    cdp_set_interrupt(&attach_signal);
    cJSON *notify = cJSON_CreateObject();
    cJSON_AddBoolToObject(notify, "enabled", 1);
    attach_events.exiting = false;
    attach_events.pid = t->pid;
    cdp_on_event(on_event, NULL);
    int rc = cdp_target_path(t->port, path, sizeof path, 5000, err, errlen);
    if (!rc) rc = cdp_open(t->port, path, 5000, err, errlen);
    if (!rc) rc = cdp_call("NodeRuntime.notifyWhenWaitingForDisconnect", notify, job->timeout_s * 1000, NULL, err, errlen);
    cJSON_Delete(notify);
    if (!rc) {
        switch (job->kind) {
        case JOB_CPU: rc = take_cpu_profile(t, job, err, errlen); break;
        case JOB_HEAP: rc = take_heap_snapshot(t, job, err, errlen); break;
        case JOB_STACK: rc = take_stack(job, err, errlen); break;
        }
    }
    cdp_close();
    cdp_set_interrupt(NULL);
    return rc;
}

/* ---- nodeprof ctl PID ... ---------------------------------------------- */

/* The checks before anything is sent: 0, or 1 (reported). */
static int check_target(const struct target *t)
{
    if (t->uid != geteuid() || getuid() != geteuid()) {
        fprintf(stderr, "nodeprof: process %ld belongs to uid %u: nodeprof attaches only to processes of its own "
                "uid (run it as that user, or as root)\n", t->pid, (unsigned)t->uid);
        return 1;
    }
    if (!t->is_node) {
        fprintf(stderr, "nodeprof: process %ld is not node (%s): it has no inspector to attach to\n",
                t->pid, t->exe[0] ? t->exe : "unknown executable");
        return 1;
    }
    if (t->other_netns) {
        fprintf(stderr, "nodeprof: process %ld is in another network namespace (a container?): its 127.0.0.1 is not "
                "ours; run nodeprof inside it (nsenter --net --target %ld)\n", t->pid, t->pid);
        return 1;
    }
    if (t->sigusr1_off) {
        fprintf(stderr, "nodeprof: process %ld was started with --disable-sigusr1: it has no way to open its "
                "inspector from outside\n", t->pid);
        return 1;
    }
    if (!t->port_loopback || t->port == 0) {
        fprintf(stderr, "nodeprof: process %ld would open its inspector %s (its --inspect options): refusing\n",
                t->pid, t->port ? "on an address other than 127.0.0.1" : "on a random port");
        return 1;
    }
    return 0;
}

/* Opens the inspector (SIGUSR1) and runs the job; closes it whatever happens. */
static int attach_and_run(const struct target *t, const struct job *job, const char *marker)
{
    char err[768];
    fprintf(stderr, "nodeprof: process %ld was not started with nodeprof: opening its inspector on 127.0.0.1:%d "
            "(SIGUSR1) for the time of this command; any local user can connect to it meanwhile\n", t->pid, t->port);
    catch_signals();
    if (marker_create(marker, err, sizeof err)) {
        fprintf(stderr, "nodeprof: %s\n", err);
        return 1;
    }
    if (attach_signal || kill((pid_t)t->pid, SIGUSR1) != 0) {
        if (!attach_signal) fprintf(stderr, "nodeprof: cannot signal process %ld: %s\n", t->pid, strerror(errno));
        unlink(marker);
        return 1;
    }
    /* From here on, a signal waits until the inspector is closed. */
    enum listen_wait open = wait_listener(t, OPEN_WAIT_MS, err, sizeof err);
    if (open != LISTENING) {
        fprintf(stderr, "nodeprof: %s\n", err);
        /* Not ours to close, or nothing to close; an inspector that is
         * still on its way keeps the marker, for the next sweep. */
        if (open != NOT_YET) unlink(marker);
        return 1;
    }
    int rc = 0;
    if (!attach_signal && run_job(t, job, err, sizeof err)) {
        if (!attach_signal) fprintf(stderr, "nodeprof: %s\n", err);
        rc = 1;
    }
    if (attach_events.exiting) { /* disconnected: it ends, and its port with it */
        unlink(marker);
        return rc;
    }
    if (close_inspector(t, err, sizeof err)) {
        fprintf(stderr, "nodeprof: could not close the inspector of process %ld on 127.0.0.1:%d: %s "
                "(the next `nodeprof ctl %ld` or `nodeprof list` tries again; `ss -ltnp` shows it)\n",
                t->pid, t->port, err, t->pid);
        return 1;
    }
    unlink(marker);
    return rc;
}

int cli_attach(long pid, int argc, char **argv, int timeout)
{
    struct job job;
    struct target t;
    char err[512], dir[256], marker[PATH_MAX];
    if (parse_job(argc, argv, &job, true)) return 2;
    job.timeout_s = timeout ? timeout : job.kind == JOB_HEAP ? 300 : 30;
    if (target_read(pid, &t, err, sizeof err)) {
        fprintf(stderr, "nodeprof: %s\n", err);
        return 1;
    }
    if (check_target(&t)) return 1;
    if (job.kind != JOB_STACK && output_check(pid, err, sizeof err)) {
        fprintf(stderr, "nodeprof: %s\n", err);
        return 1;
    }
    np_rundir_path(dir, sizeof dir);
    if (np_rundir_ensure(dir, err, sizeof err)) {
        fprintf(stderr, "nodeprof: %s\n", err);
        return 1;
    }
    cli_attach_sweep(pid);
    marker_path(marker, sizeof marker, dir, pid, t.start, t.port);
    unsigned long inode = target_listener(pid, t.port);
    if (inode && !target_holds_socket(pid, inode)) {
        fprintf(stderr, "nodeprof: port %d, where process %ld would open its inspector, is held by another process: "
                "refusing (nothing was sent to %ld)\n", t.port, pid, pid);
        return 1;
    }
    if (inode && access(marker, F_OK) == 0) {
        fprintf(stderr, "nodeprof: another nodeprof ctl is attached to process %ld (%s)\n", pid, marker);
        return 1;
    }
    if (inode) {
        fprintf(stderr, "nodeprof: process %ld has its inspector open on 127.0.0.1:%d already (not by nodeprof): "
                "using it, and leaving it open\n", pid, t.port);
        int rc = run_job(&t, &job, err, sizeof err);
        if (rc) fprintf(stderr, "nodeprof: %s\n", err);
        return rc ? 1 : 0;
    }
    int rc = attach_and_run(&t, &job, marker);
    fflush(stdout);
    if (attach_signal) {
        signal(attach_signal, SIG_DFL);
        raise(attach_signal);
    }
    return rc;
}

/* ---- sweeping what a killed nodeprof left open ------------------------- */

static void sweep_one(const char *dir, int dirfd, const char *name)
{
    long pid;
    unsigned long long start;
    int port, end = 0;
    if (sscanf(name, "attach-%ld-%llu-%d%n", &pid, &start, &port, &end) != 3 || name[end]) return;
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) return;
    if (marker_owner_alive(dirfd, name)) return; /* its nodeprof is at work */
    struct target t = { .pid = pid, .start = start, .port = port };
    unsigned long inode = target_start_time(pid) == start ? target_listener(pid, port) : 0;
    if (target_start_time(pid) == start && !inode && time(NULL) - st.st_mtime < MARKER_GRACE_S) return;
    if (inode && target_holds_socket(pid, inode)) {
        char err[512];
        if (close_inspector(&t, err, sizeof err)) {
            fprintf(stderr, "nodeprof: cannot close the inspector that an interrupted nodeprof left open on "
                    "127.0.0.1:%d in process %ld: %s\n", port, pid, err);
            return;
        }
        fprintf(stderr, "nodeprof: closed the inspector that an interrupted nodeprof left open on 127.0.0.1:%d "
                "in process %ld\n", port, pid);
    }
    unlinkat(dirfd, name, 0);
    (void)dir;
}

void cli_attach_sweep(long only_pid)
{
    char dir[256], prefix[48];
    np_rundir_path(dir, sizeof dir);
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077)) return;
    DIR *d = opendir(dir);
    if (!d) return;
    snprintf(prefix, sizeof prefix, only_pid ? "attach-%ld-" : "attach-", only_pid);
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix))) sweep_one(dir, dirfd(d), e->d_name);
    closedir(d);
}

/* ---- nodeprof list --all ----------------------------------------------- */

/* What can be done with a node process of ours, in one word (README
 * "Attaching to a process started without nodeprof"). */
static const char *attach_state(const struct target *t, const char *dir, char *buf, size_t len)
{
    char fifo[PATH_MAX], marker[PATH_MAX];
    struct stat st;
    snprintf(fifo, sizeof fifo, "%s/%ld.ctl", dir, t->pid);
    if (stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode)) return "profiled";
    if (!t->port_loopback || t->port == 0 || t->sigusr1_off || t->other_netns) return "not-attachable";
    unsigned long inode = target_listener(t->pid, t->port);
    marker_path(marker, sizeof marker, dir, t->pid, t->start, t->port);
    const char *word = "attachable";
    if (inode && target_holds_socket(t->pid, inode)) word = access(marker, F_OK) == 0 ? "attached" : "inspector-open";
    else if (inode) word = "port-taken";
    snprintf(buf, len, "%s:%d", word, t->port);
    return buf;
}

int cli_list_all(void)
{
    char dir[256], buf[160], err[256];
    cli_attach_sweep(0);
    size_t n;
    long *pids = target_node_pids(&n);
    for (size_t i = 0; i < n; i++) {
        struct target t;
        /* Root sees every user's: its ctl acts as their owner (owner.h). */
        if (target_read(pids[i], &t, err, sizeof err) || (t.uid != geteuid() && geteuid() != 0)) continue;
        np_rundir_path_of(t.uid, dir, sizeof dir);
        printf("%ld\t%s\t", t.pid, attach_state(&t, dir, buf, sizeof buf));
        cli_print_cmdline(t.pid, "(no command line)");
        putchar('\n');
    }
    free(pids);
    return 0;
}
