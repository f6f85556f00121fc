#include "native/threads.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "native/symbolize.h"

static void read_small(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "re");
    if (!f) return;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void thread_comm(pid_t tid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/comm", (long)tid);
    read_small(path, buf, len);
    buf[strcspn(buf, "\n")] = '\0';
}

static const char *state_meaning(char c)
{
    switch (c) {
    case 'R': return "running";
    case 'S': return "sleeping";
    case 'D': return "uninterruptible wait, in the kernel";
    case 'T': return "stopped";
    case 't': return "stopped by a tracer";
    case 'Z': return "exited";
    case 'I': return "idle";
    default: return "?";
    }
}

void np_thread_state(pid_t tid, char *buf, size_t len)
{
    char c = np_threadstack_state(tid);
    snprintf(buf, len, "%c (%s)", c, state_meaning(c));
}

static const char *role_of(pid_t tid)
{
    if (tid == getpid()) return " (main thread)";
    if (tid == (pid_t)syscall(SYS_gettid)) return " (nodeprof's agent thread, this dump)";
    return "";
}

/* What a thread is, from the functions on its stack, for node 20, whose
 * threads are all called "node" (22 and 24 name most of them). */
static const struct { const char *function; const char *kind; } kinds[] = {
    { "node::worker::Worker::Run", "a node Worker" },
    { "PlatformWorkerThread", "V8 platform worker" },
    { "DelayedTaskScheduler", "V8 platform, delayed tasks" },
    { "SamplingEventsProcessor", "V8 CPU profiler" },
    { "node::inspector::", "node inspector" },
    { "worker", "libuv thread pool" }, /* libuv's threadpool.c: static void worker(void *) */
};

static const char *kind_of(struct np_symbolizer *sym, const struct np_native_stack *st)
{
    char name[512];
    for (int i = st->depth - 1; i >= 0; i--) {
        np_symbolize_name(sym, st->ip[i] - (i > 0), name, sizeof name);
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
            if (!strcmp(kinds[k].function, "worker") ? !strcmp(name, "worker") : strstr(name, kinds[k].function) != NULL)
                return kinds[k].kind;
    }
    return NULL;
}

int np_threads_write_captured(pid_t tid, enum np_capture_status st, struct np_native_stack *stack,
                              const char *why, FILE *out)
{
    struct np_symbolizer *sym = np_threads_symbolizer();
    char comm[64], state[64];
    thread_comm(tid, comm, sizeof comm);
    if (stack->state) snprintf(state, sizeof state, "%c (%s)", stack->state, state_meaning(stack->state));
    else np_thread_state(tid, state, sizeof state);
    if (st == NP_CAPTURE_OK && sym) np_symbolize_skip_handler_entry(sym, stack);
    const char *kind = st == NP_CAPTURE_OK && sym && tid != getpid() ? kind_of(sym, stack) : NULL;
    fprintf(out, "thread %ld \"%s\"%s%s%s%s, state %s", (long)tid, comm, role_of(tid), kind ? " (" : "",
            kind ? kind : "", kind ? ")" : "", state);
    if (st != NP_CAPTURE_OK || !sym) {
        fprintf(out, ": %s\n", sym ? why : "out of memory");
        return -1;
    }
    fputs("\n", out);
    np_symbolize_write(sym, stack, out);
    return 0;
}

static int write_block(pid_t tid, int timeout_ms, FILE *out)
{
    static struct np_native_stack stack; /* agent thread only; 1 KB off its stack */
    char why[256];
    enum np_capture_status st = np_threadstack_capture(tid, timeout_ms, &stack, why, sizeof why);
    return np_threads_write_captured(tid, st, &stack, why, out);
}

/* Kept from the first request on: reading node's .symtab again each time
 * took 30 to 80 ms, most of a `stack`'s time. */
struct np_symbolizer *np_threads_symbolizer(void)
{
    static struct np_symbolizer *sym;
    if (!sym) sym = np_symbolizer_new();
    return sym;
}

int np_threads_write_one(pid_t tid, int timeout_ms, FILE *out)
{
    return write_block(tid, timeout_ms, out);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int by_tid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

/* The thread ids, sorted (the main thread, whose tid is the pid, first). */
static pid_t *list_threads(size_t *n)
{
    DIR *d = opendir("/proc/self/task");
    pid_t *tids = NULL;
    size_t cap = 0;
    *n = 0;
    if (!d) return NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || tid <= 0) continue;
        if (*n == cap) {
            pid_t *more = realloc(tids, (cap = cap ? cap * 2 : 32) * sizeof *tids);
            if (!more) break;
            tids = more;
        }
        tids[(*n)++] = (pid_t)tid;
    }
    closedir(d);
    if (tids) qsort(tids, *n, sizeof *tids, by_tid);
    return tids;
}

/* One thread's capture, kept until every thread has been asked. */
struct capture {
    enum np_capture_status status;
    char why[256];
    struct np_native_stack stack;
};

void np_threads_write_all(FILE *out)
{
    size_t n;
    pid_t *tids = list_threads(&n);
    char why[256] = "";
    if (np_threadstack_prepare(why, sizeof why) == 0)
        fprintf(out, "%zu threads, pid %ld (native stacks, innermost frame first; signal %d)\n", n,
                (long)getpid(), np_threadstack_signal());
    else fprintf(out, "%zu threads, pid %ld: %s\n", n, (long)getpid(), why);
    /* Every stack first, then the names: the budget is for the threads'
     * answers, and the stacks are of nearly one moment. */
    struct capture *caps = n ? calloc(n, sizeof *caps) : NULL;
    long start = now_ms();
    for (size_t i = 0; i < n && caps; i++) {
        long left = NP_DUMP_BUDGET_MS - (now_ms() - start);
        if (left <= 0) {
            caps[i].status = NP_CAPTURE_TIMEOUT;
            snprintf(caps[i].why, sizeof caps[i].why, "not asked: the dump's %d ms were spent", NP_DUMP_BUDGET_MS);
            continue;
        }
        caps[i].status = np_threadstack_capture(tids[i], left < NP_THREAD_WAIT_MS ? (int)left : NP_THREAD_WAIT_MS,
                                                &caps[i].stack, caps[i].why, sizeof caps[i].why);
    }
    for (size_t i = 0; i < n && caps; i++) {
        fputs("\n", out);
        np_threads_write_captured(tids[i], caps[i].status, &caps[i].stack, caps[i].why, out);
    }
    if (n && !caps) fputs("out of memory\n", out);
    free(caps);
    free(tids);
}
