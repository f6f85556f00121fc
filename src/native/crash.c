#include "native/crash.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/namepat.h"
#include "common/outfile.h"
#include "fifo.h"
#include "js.h"
#include "output.h"
#include "process.h"
#include "native/altstack.h"
#include "native/crashthreads.h"
#include "native/threadstack.h"

extern char **environ;

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
#define NFATAL (int)(sizeof fatal_signals / sizeof *fatal_signals)


/* Everything the handler uses, prepared at install. */
static struct {
    bool ready;
    char dir[PATH_MAX];    /* NODEPROF_DIR, absolute */
    dev_t dir_dev;         /* ... as checked at install (np_dir_open_trusted) */
    ino_t dir_ino;
    int dirfd;             /* in the handler only */
    char name[1100];       /* <name>.crash.txt */
    char tmp_name[1200];
    mode_t mode;
    /* NODEPROF_MANIFEST (`nodeprof run` lists what it names), as checked
     * at install: the report's path is appended to it, so that the run
     * lists the report with the profiles. */
    char manifest[PATH_MAX];
    dev_t manifest_dev;
    ino_t manifest_ino;
    char manifest_line[PATH_MAX + 1100 + 2]; /* <dir>/<name>\n */
    size_t manifest_len;   /* 0: no manifest */
    char header[8192];     /* node version, command line */
    atomic_bool unwinder;  /* libunwind loaded (by the agent thread) */
    struct sigaction previous[NFATAL];
    atomic_int entered;
    /* The handler's working memory. */
    char out[256 * 1024];
    size_t len;
    char maps[512 * 1024];
    struct np_native_stack stack;
} crash;

/* ---- formatting without stdio -------------------------------------------- */

static void put(const char *s)
{
    size_t n = strlen(s);
    if (n > sizeof crash.out - crash.len) n = sizeof crash.out - crash.len;
    memcpy(crash.out + crash.len, s, n);
    crash.len += n;
}

static void put_n(const char *s, size_t n)
{
    if (n > sizeof crash.out - crash.len) n = sizeof crash.out - crash.len;
    memcpy(crash.out + crash.len, s, n);
    crash.len += n;
}

static void put_num(unsigned long v, unsigned base, int width)
{
    char digits[32];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v && n < (int)sizeof digits);
    while (n < width && n < (int)sizeof digits) digits[n++] = '0';
    char text[34];
    for (int i = 0; i < n; i++) text[i] = digits[n - 1 - i];
    text[n] = '\0';
    put(text);
}

static void put_dec(long v)
{
    if (v < 0) { put("-"); v = -v; }
    put_num((unsigned long)v, 10, 0);
}

static void put_hex(unsigned long v, int width)
{
    put("0x");
    put_num(v, 16, width);
}

/* ---- what the handler reads ---------------------------------------------- */

static ssize_t read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t got = 0;
    while (got < len - 1) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    default: return "?";
    }
}

static unsigned long parse_hex(const char **p)
{
    unsigned long v = 0;
    for (;; (*p)++) {
        char c = **p;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return v;
        v = v * 16 + (unsigned long)d;
    }
}

/* The mapping of /proc/self/maps (read into crash.maps) holding ip: writes
 * "path+0xFILEOFFSET". The file offset, not an address: `nodeprof
 * symbolize` turns it into the ELF address with the file's headers. */
static void put_module(uintptr_t ip)
{
    for (const char *line = crash.maps; *line;) {
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        const char *p = line;
        unsigned long start = parse_hex(&p);
        p++; /* '-' */
        unsigned long stop = parse_hex(&p);
        if (ip >= start && ip < stop) {
            p += 6; /* " rwxp " */
            unsigned long offset = parse_hex(&p);
            const char *path = memchr(p, '/', (size_t)(end - p));
            if (!path) path = memchr(p, '[', (size_t)(end - p));
            if (path) put_n(path, (size_t)(end - path));
            else put("(anonymous: JavaScript or generated code)");
            if (path && *path == '/') { put("+"); put_hex(ip - start + offset, 0); }
            return;
        }
        line = *end ? end + 1 : end;
    }
    put("(not mapped)");
}

static void put_frames(const struct np_native_stack *st)
{
    for (int i = 0; i < st->depth; i++) {
        put("  #");
        put_dec(i);
        put(i < 10 ? "  " : " ");
        put_hex(st->ip[i], 16);
        put(" ");
        put_module(st->ip[i]);
        put("\n");
    }
    if (st->truncated) put("  ... (deeper frames not shown)\n");
}

static void put_backtrace(void *uc)
{
    put("\nbacktrace of the crashing thread (innermost first; module+offset in the file):\n");
    if (!atomic_load(&crash.unwinder)) { put("  (libunwind is not available, or not loaded yet)\n"); return; }
    np_threadstack_walk_signal(uc, &crash.stack);
    if (read_file("/proc/self/maps", crash.maps, sizeof crash.maps) < 0) crash.maps[0] = '\0';
    put_frames(&crash.stack);
}

static const char *thread_answer(enum np_crash_thread_status st)
{
    switch (st) {
    case NP_CT_OK: return "";
    case NP_CT_BLOCKED: return ": did not answer: it blocks the signal";
    case NP_CT_GONE: return ": exited meanwhile";
    case NP_CT_TIMEOUT: return ": did not answer in time (in the kernel, stopped, or not given a CPU)";
    case NP_CT_UNFINISHED: return ": started walking its stack, did not finish in time";
    case NP_CT_FAULTED: return ": its stack could not be walked (the walk faulted)";
    }
    return "";
}

/* After the crashing thread's own: the maps are read. */
static void put_other_threads(void)
{
    if (!atomic_load(&crash.unwinder)) return;
    struct np_crash_threads all;
    np_crashthreads_gather(&all);
    put("\nother threads");
    if (!all.signal) {
        put(": not taken (every real-time signal from SIGRTMIN+4 to SIGRTMAX-4 is in use)\n");
        return;
    }
    put(" (");
    put_dec(all.count);
    put(", asked with signal ");
    put_dec(all.signal);
    put(", ");
    put_dec(all.waited_ms);
    put(" ms of at most ");
    put_dec(NP_CRASH_THREADS_MS);
    put("):\n");
    for (int i = 0; i < all.count; i++) {
        const struct np_crash_thread *t = np_crashthreads_at(i);
        put("thread ");
        put_dec(t->tid);
        put(" \"");
        put(t->comm);
        put(t->tid == getpid() ? "\" (main thread), state " : "\", state ");
        put_n(&t->state, 1);
        put(thread_answer(t->status));
        put("\n");
        if (t->status == NP_CT_OK) put_frames(&t->stack);
    }
    if (all.omitted) {
        put("(");
        put_dec(all.omitted);
        put(" more threads not shown)\n");
    }
}

static void put_memory(void)
{
    static char status[4096];
    if (read_file("/proc/self/status", status, sizeof status) < 0) return;
    put("\nmemory (/proc/self/status):\n");
    for (const char *line = status; *line;) {
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        if (!strncmp(line, "VmPeak:", 7) || !strncmp(line, "VmSize:", 7) || !strncmp(line, "VmHWM:", 6) ||
            !strncmp(line, "VmRSS:", 6) || !strncmp(line, "Threads:", 8)) {
            put("  ");
            put_n(line, (size_t)(end - line + (*end == '\n')));
        }
        line = *end ? end + 1 : end;
    }
}

static void write_report(int sig, siginfo_t *si, void *uc)
{
    crash.len = 0;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    char comm[64], path[64] = "/proc/self/task/";
    char *p = path + strlen(path);
    /* path = /proc/self/task/<tid>/comm, by hand */
    char digits[16];
    int n = 0;
    for (long v = tid; v && n < 15; v /= 10) digits[n++] = (char)('0' + v % 10);
    while (n) *p++ = digits[--n];
    memcpy(p, "/comm", 6);
    if (read_file(path, comm, sizeof comm) <= 0) comm[0] = '\0';
    comm[strcspn(comm, "\n")] = '\0';
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);

    put("nodeprof crash report\nsignal: ");
    put_dec(sig);
    put(" (");
    put(signal_name(sig));
    put("), code ");
    put_dec(si->si_code);
    put(si->si_code <= 0 ? " (sent by a process or raise/abort)" : " (raised by the CPU)");
    put("\naddress: ");
    put_hex((unsigned long)(uintptr_t)si->si_addr, 0);
    put("\npid: ");
    put_dec(getpid());
    put("\nthread: ");
    put_dec(tid);
    put(" \"");
    put(comm);
    put(tid == getpid() ? "\" (main thread)" : "\"");
    put("\ntime: ");
    put_dec(now.tv_sec);
    put(" (seconds since the epoch)\n");
    put(crash.header);
    put_memory();
    put_backtrace(uc);
    put_other_threads();
}

/* The directory checked at install, reopened by its path: no descriptor is
 * held for the process's life (it would keep a volume from being
 * unmounted), and a directory put in its place since is not written to. */
static int open_directory(void)
{
    struct stat st;
    crash.dirfd = open(crash.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (crash.dirfd < 0) return -1;
    if (fstat(crash.dirfd, &st) == 0 && st.st_dev == crash.dir_dev && st.st_ino == crash.dir_ino) return 0;
    close(crash.dirfd);
    return -1;
}

/* The temporary name made at install, unknown to other users; should it
 * exist all the same, a few variants of its last character. */
static int create_temp(void)
{
    size_t last = strlen(crash.tmp_name) - 1;
    for (int tries = 0; tries < 8; tries++) {
        int fd = openat(crash.dirfd, crash.tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0 || errno != EEXIST) return fd;
        char *c = &crash.tmp_name[last];
        *c = *c == 'z' ? '0' : *c == '9' ? 'A' : *c == 'Z' ? 'a' : (char)(*c + 1);
    }
    return -1;
}

static int save_report(void)
{
    if (open_directory()) return -1;
    int fd = create_temp();
    if (fd < 0) {
        close(crash.dirfd);
        return -1;
    }
    fchmod(fd, crash.mode);
    size_t done = 0;
    while (done < crash.len) {
        ssize_t w = write(fd, crash.out + done, crash.len - done);
        if (w <= 0) break;
        done += (size_t)w;
    }
    close(fd);
    int rc = -1;
    if (done == crash.len) rc = renameat(crash.dirfd, crash.tmp_name, crash.dirfd, crash.name);
    else unlinkat(crash.dirfd, crash.tmp_name, 0);
    close(crash.dirfd);
    return rc;
}

/* Appends the report's path to the manifest checked at install, reopened
 * by its path (it is not held open) and written to only if it is still
 * that file; non-blocking, as a stalled reader must not hold the crash. */
static void note_in_manifest(void)
{
    if (!crash.manifest_len) return;
    int fd = open(crash.manifest, O_WRONLY | O_APPEND | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_dev == crash.manifest_dev && st.st_ino == crash.manifest_ino) {
        ssize_t w = write(fd, crash.manifest_line, crash.manifest_len);
        (void)w; /* nothing more to do in a dying process */
    }
    close(fd);
}

static int index_of(int sig)
{
    for (int i = 0; i < NFATAL; i++)
        if (fatal_signals[i] == sig) return i;
    return -1;
}

static void on_fatal(int sig, siginfo_t *si, void *uc);

/* Calls the handler that was there before ours, as the kernel would. */
static void call_previous(int i, int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *prev = &crash.previous[i];
    if (prev->sa_flags & SA_SIGINFO) prev->sa_sigaction(sig, si, uc);
    else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) prev->sa_handler(sig);
}

/* A fault node's own handler takes care of: a WebAssembly out-of-bounds
 * access, which node's handler (TrapWebAssemblyOrContinue) hands to V8,
 * which moves the context to its landing pad so the wasm code throws. Not
 * a crash. Node's handler, for any other fault, puts the default action
 * back and raises the signal (pending until we return): so a handler that
 * returns with ours still in place and nothing pending has handled it. We
 * only chain to it; we call nothing of V8's. */
static bool handled_by_node(int i, int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *prev = &crash.previous[i];
    if (!(prev->sa_flags & SA_SIGINFO) || (sig != SIGSEGV && sig != SIGBUS)) return false;
    call_previous(i, sig, si, uc);
    struct sigaction now;
    sigset_t pending;
    if (sigaction(sig, NULL, &now) != 0 || sigpending(&pending) != 0) return false;
    return (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_fatal && !sigismember(&pending, sig);
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    int i = index_of(sig);
    if (i >= 0 && handled_by_node(i, sig, si, uc)) {
        errno = saved;
        return;
    }
    /* The first fatal signal writes; a second one (another thread, or a
     * fault in this handler) goes straight to the previous handler. */
    if (atomic_exchange(&crash.entered, 1) == 0) {
        write_report(sig, si, uc);
        if (save_report() == 0) note_in_manifest();
        np_fifo_remove_in_handler();
    }
    /* Unless node's handler already put the default action back. */
    struct sigaction now;
    if (i >= 0 && sigaction(sig, NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_fatal)
        sigaction(sig, &crash.previous[i], NULL);
    /* A fault re-executes its instruction, which faults again into the
     * previous handler (or is already pending, raised by node's); a sent
     * signal (abort, raise, kill) is sent again, and delivered to it once
     * we return. */
    if (si->si_code <= 0) raise(sig);
    errno = saved;
}

/* ---- install (main thread) ------------------------------------------------ */

static void prepare_header(napi_env env)
{
    size_t len = 0;
    char *version = js_to_utf8(env, js_get(env, js_get(env, js_global(env), "process"), "version"), &len);
    char cmdline[4096];
    ssize_t n = read_file("/proc/self/cmdline", cmdline, sizeof cmdline);
    for (ssize_t i = 0; i + 1 < n; i++)
        if (cmdline[i] == '\0') cmdline[i] = ' ';
    snprintf(crash.header, sizeof crash.header, "node: %s\ncommand line: %s\n", version ? version : "?",
             n > 0 ? cmdline : "?");
    free(version);
}

static int prepare_file(void)
{
    struct np_name_vars vars = {
        .pid = (long)getpid(), .when = time(NULL), .seq = 0, .thread_id = 0, .envp = environ,
    };
    np_output_name_vars(&vars);
    char name[1024], err[1024];
    const char *why;
    if (np_name_expand(np_cfg()->name, &vars, name, sizeof name, &why)) return -1;
    snprintf(crash.name, sizeof crash.name, "%s.crash.txt", name);
    if (np_temp_name(crash.name, crash.tmp_name, sizeof crash.tmp_name) < 0) return -1;
    crash.mode = np_output_mode();
    /* Created now if missing, as the first profile would create it: a crash
     * handler cannot walk and create a path safely, and a crash before any
     * profile was written (the first minutes of a service) is a common
     * one. Not reported: the first profile written says what is wrong. */
    int fd = np_dir_open_trusted(np_output_dir(), true, 0700, err, sizeof err);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        np_debug("NODEPROF_DIR=%s: %s; no crash reports", np_cfg()->dir, fd < 0 ? err : strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    crash.dir_dev = st.st_dev;
    crash.dir_ino = st.st_ino;
    snprintf(crash.dir, sizeof crash.dir, "%s", np_output_dir());
    return 0;
}

/* The manifest, if there is one already (a process that writes nothing
 * creates none), checked as the agent's own appends are (common/outfile.h). */
static void prepare_manifest(void)
{
    const char *path = np_cfg()->manifest;
    char err[512];
    struct stat st;
    if (!path[0]) return;
    int fd = np_open_append_existing(path, err, sizeof err);
    if (fd < 0 || fstat(fd, &st) != 0) {
        np_debug("NODEPROF_MANIFEST=%s: %s; a crash report will not be listed there", path,
                 fd < 0 ? err : strerror(errno));
        if (fd >= 0) close(fd);
        return;
    }
    close(fd);
    int n = snprintf(crash.manifest_line, sizeof crash.manifest_line, "%s/%s\n", crash.dir, crash.name);
    if (n <= 0 || n >= (int)sizeof crash.manifest_line ||
        snprintf(crash.manifest, sizeof crash.manifest, "%s", path) >= (int)sizeof crash.manifest)
        return;
    crash.manifest_dev = st.st_dev;
    crash.manifest_ino = st.st_ino;
    crash.manifest_len = (size_t)n;
}

/* libunwind is loaded on the agent thread, off the app's start-up (about
 * 1 ms of dlopen); until then a report has no backtrace. */
static uv_timer_t load_timer;

static void load_unwinder(uv_timer_t *timer)
{
    (void)timer;
    char why[256];
    if (!np_cfg()->crash) return;
    if (np_threadstack_load_unwinder(why, sizeof why) == 0) atomic_store(&crash.unwinder, true);
    else np_info("crash reports without backtraces: %s", why);
}

void np_crash_load_unwinder_on(uv_loop_t *loop)
{
    if (!np_cfg()->crash || uv_timer_init(loop, &load_timer)) return;
    uv_unref((uv_handle_t *)&load_timer);
    uv_timer_start(&load_timer, load_unwinder, 0, 0);
}

void np_crash_on_own_thread(void)
{
    if (!np_cfg()->crash) return;
    sigset_t faults;
    sigemptyset(&faults);
    for (int i = 0; i < NFATAL; i++)
        if (fatal_signals[i] != SIGABRT) sigaddset(&faults, fatal_signals[i]);
    pthread_sigmask(SIG_UNBLOCK, &faults, NULL);
    np_altstack_ensure();
}

void np_crash_install(napi_env env)
{
    if (!np_cfg()->crash || crash.ready) return;
    if (prepare_file()) return;
    crash.ready = true;
    prepare_header(env);
    prepare_manifest();
    for (int i = 0; i < NFATAL; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fatal;
        /* On the alternate stack: also after a stack overflow. */
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        if (sigaction(fatal_signals[i], NULL, &crash.previous[i]) == 0) sigaction(fatal_signals[i], &sa, NULL);
    }
    int alt = np_altstack_ensure();
    np_debug("crash reports: %s/%s; main thread's alternate signal stack: %s", np_output_dir(), crash.name,
             alt > 0 ? "ours" : alt == 0 ? "one was there" : "none (cannot set one up)");
}
