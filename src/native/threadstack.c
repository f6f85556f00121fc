#include "native/threadstack.h"

#include "common/log.h"

#include <dlfcn.h>
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* Only the types: every libunwind function is reached through the
 * pointers below (dlopen), none is linked. */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

/* A thread that started walking but has not finished by the deadline gets
 * this much more (the walk itself takes well under a millisecond). */
#define GRACE_MS 50
/* A thread that is runnable (R) when the deadline comes has not been
 * given a CPU yet (a loaded machine: measured up to 150 ms on two busy
 * cores); it answers as soon as it runs, so it gets up to this long. A
 * sleeping thread wakes for the signal at once: no more time for it. */
#define RUNNABLE_MS 500

static struct {
    int (*init_local)(unw_cursor_t *, unw_context_t *);
    int (*init_local2)(unw_cursor_t *, unw_context_t *, int);
    int (*step)(unw_cursor_t *);
    int (*get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
    int (*set_caching_policy)(unw_addr_space_t, unw_caching_policy_t);
    unw_addr_space_t *local_space;
} unw;

static bool prepared;
static int stack_signal;

/* The one capture in flight, shared with the handler. The agent thread
 * arms it, the target's handler moves ARMED -> RUNNING -> DONE; a deadline
 * moves ARMED back to IDLE, so a late signal finds nothing to do. */
enum { SLOT_IDLE, SLOT_ARMED, SLOT_RUNNING, SLOT_DONE };
static struct {
    atomic_int state;
    atomic_int tid;
    struct np_native_stack stack;
    sem_t done;
    struct timespec sent, entered, left; /* for NODEPROF_LOG=debug */
} slot;

#define SYM(field, name) (*(void **)&unw.field = dlsym(lib, name)) != NULL

static int load_libunwind(char *why, size_t whylen)
{
    void *lib = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(why, whylen, "native stacks need libunwind (Debian: libunwind8): %s", dlerror());
        return -1;
    }
    if (!(SYM(init_local, "_ULx86_64_init_local") && SYM(init_local2, "_ULx86_64_init_local2") &&
          SYM(step, "_ULx86_64_step") && SYM(get_reg, "_ULx86_64_get_reg") &&
          SYM(set_caching_policy, "_ULx86_64_set_caching_policy") &&
          (unw.local_space = dlsym(lib, "_ULx86_64_local_addr_space")) != NULL)) {
        snprintf(why, whylen, "native stacks: this libunwind.so.8 lacks unw_init_local2 (libunwind >= 1.3 needed)");
        return -1;
    }
    /* No cache: the global one takes a lock, which a handler must not. */
    unw.set_caching_policy(*unw.local_space, UNW_CACHE_NONE);
    return 0;
}

/* Async-signal-safe: libunwind's local unwinder reads memory only (memory
 * it cannot vouch for, in frames without unwind information such as V8's
 * generated code, is checked with mincore first) and allocates nothing. */
static void walk(unw_context_t *ctx, bool signal_frame, struct np_native_stack *out)
{
    unw_cursor_t cursor;
    out->depth = 0;
    out->truncated = false;
    int rc = signal_frame ? unw.init_local2(&cursor, ctx, UNW_INIT_SIGNAL_FRAME) : unw.init_local(&cursor, ctx);
    if (rc < 0) return;
    do {
        unw_word_t ip = 0;
        if (unw.get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0) break;
        if (out->depth == NP_STACK_DEPTH) {
            out->truncated = true;
            break;
        }
        out->ip[out->depth++] = (uintptr_t)ip;
    } while (unw.step(&cursor) > 0);
}

static void on_stack_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    int saved = errno;
    int expected = SLOT_ARMED;
    /* Only our own tgkill, for this very thread: a kill from outside the
     * process, or a late signal whose capture was given up, does nothing. */
    if (si->si_code == SI_TKILL && si->si_pid == getpid() && (pid_t)syscall(SYS_gettid) == atomic_load(&slot.tid) &&
        atomic_compare_exchange_strong(&slot.state, &expected, SLOT_RUNNING)) {
        clock_gettime(CLOCK_MONOTONIC, &slot.entered);
        walk((unw_context_t *)uc, true, &slot.stack);
        clock_gettime(CLOCK_MONOTONIC, &slot.left);
        atomic_store(&slot.state, SLOT_DONE);
        sem_post(&slot.done);
    }
    errno = saved;
}

/* A real-time signal nobody handles (see the header). */
static int choose_signal(void)
{
    for (int s = SIGRTMAX - 4; s >= SIGRTMIN + 4; s--) {
        struct sigaction old;
        if (sigaction(s, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) return s;
    }
    return 0;
}

static int install_handler(char *why, size_t whylen)
{
    int sig = choose_signal();
    if (!sig) {
        snprintf(why, whylen, "native stacks: every real-time signal from SIGRTMIN+4 to SIGRTMAX-4 is in use");
        return -1;
    }
    /* No SA_ONSTACK: an alternate signal stack (node's, an addon's) may be
     * a few KB, less than the unwinder needs. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_stack_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) != 0) {
        snprintf(why, whylen, "native stacks: cannot handle signal %d: %s", sig, strerror(errno));
        return -1;
    }
    stack_signal = sig;
    return 0;
}

static bool handler_still_ours(void)
{
    struct sigaction cur;
    return sigaction(stack_signal, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
           cur.sa_sigaction == on_stack_signal;
}

int np_threadstack_load_unwinder(char *why, size_t whylen)
{
    static char failure[256];
    static bool loaded;
    if (loaded) return 0;
    if (failure[0] || load_libunwind(failure, sizeof failure)) {
        snprintf(why, whylen, "%s", failure);
        return -1;
    }
    /* One walk of our own first, outside any handler: libunwind sets up
     * its globals (locks, memory pools) on the first use. */
    struct np_native_stack warm;
    ucontext_t uc;
    getcontext(&uc);
    walk((unw_context_t *)&uc, false, &warm);
    loaded = true;
    return 0;
}

void np_threadstack_walk_signal(void *ucontext, struct np_native_stack *out)
{
    walk((unw_context_t *)ucontext, true, out);
}

int np_threadstack_prepare(char *why, size_t whylen)
{
    static char failure[256];
    if (prepared) return 0;
    if (failure[0]) {
        snprintf(why, whylen, "%s", failure);
        return -1;
    }
    if (np_threadstack_load_unwinder(failure, sizeof failure) || sem_init(&slot.done, 0, 0) ||
        install_handler(failure, sizeof failure)) {
        snprintf(why, whylen, "%s", failure);
        return -1;
    }
    prepared = true;
    return 0;
}

int np_threadstack_signal(void)
{
    return stack_signal;
}

int np_threadstack_signal_for_crash(void)
{
    return stack_signal ? stack_signal : choose_signal();
}

/* Whether thread tid blocks sig: then it would only see the signal once it
 * unblocks it, and we do not send it. -1: the thread is gone. */
static int blocks_signal(pid_t tid, int sig)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/task/%ld/status", (long)tid);
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    int blocked = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long mask;
        if (sscanf(line, "SigBlk: %llx", &mask) == 1) {
            blocked = (mask >> (sig - 1)) & 1;
            break;
        }
    }
    fclose(f);
    return blocked;
}

char np_threadstack_state(pid_t tid)
{
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", (long)tid);
    FILE *f = fopen(path, "re");
    if (!f) return '?';
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    /* "tid (comm) S ...": comm may hold spaces and parentheses. */
    const char *close = strrchr(stat, ')');
    return close && close[1] == ' ' && close[2] ? close[2] : '?';
}

static bool runnable(pid_t tid) { return np_threadstack_state(tid) == 'R'; }

static void add_ms(struct timespec *ts, int ms)
{
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

static void wait_done(int ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    add_ms(&deadline, ms);
    while (sem_clockwait(&slot.done, CLOCK_MONOTONIC, &deadline) != 0 && errno == EINTR) {}
}

static long us_between(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000000L + (b->tv_nsec - a->tv_nsec) / 1000L;
}

static enum np_capture_status take_result(struct np_native_stack *out)
{
    np_debug("native stack of thread %d: signal answered in %ld us, walk took %ld us, %d frames",
             atomic_load(&slot.tid), us_between(&slot.sent, &slot.entered), us_between(&slot.entered, &slot.left),
             slot.stack.depth);
    memcpy(out, &slot.stack, sizeof *out);
    atomic_store(&slot.state, SLOT_IDLE);
    return NP_CAPTURE_OK;
}

static enum np_capture_status send_and_wait(pid_t tid, int timeout_ms, struct np_native_stack *out,
                                            char *why, size_t whylen)
{
    while (sem_trywait(&slot.done) == 0) {} /* posts of captures given up */
    atomic_store(&slot.tid, tid);
    atomic_store(&slot.state, SLOT_ARMED);
    clock_gettime(CLOCK_MONOTONIC, &slot.sent);
    if (syscall(SYS_tgkill, (long)getpid(), (long)tid, (long)stack_signal) != 0) {
        int e = errno;
        atomic_store(&slot.state, SLOT_IDLE);
        snprintf(why, whylen, "cannot signal it: %s", strerror(e));
        return e == ESRCH ? NP_CAPTURE_GONE : NP_CAPTURE_UNAVAILABLE;
    }
    wait_done(timeout_ms);
    if (atomic_load(&slot.state) == SLOT_ARMED && runnable(tid) && timeout_ms < RUNNABLE_MS)
        wait_done(RUNNABLE_MS - timeout_ms);
    int expected = SLOT_ARMED;
    if (atomic_compare_exchange_strong(&slot.state, &expected, SLOT_IDLE)) {
        snprintf(why, whylen, "did not answer within %d ms (in the kernel, stopped, or its signal handling is stuck)",
                 runnable(tid) ? RUNNABLE_MS : timeout_ms);
        return NP_CAPTURE_TIMEOUT;
    }
    if (expected == SLOT_RUNNING) wait_done(GRACE_MS);
    if (atomic_load(&slot.state) == SLOT_DONE) return take_result(out);
    /* Still walking: the slot stays taken until it finishes. */
    snprintf(why, whylen, "started walking its stack but did not finish within %d ms", timeout_ms + GRACE_MS);
    return NP_CAPTURE_TIMEOUT;
}

enum np_capture_status np_threadstack_capture(pid_t tid, int timeout_ms, struct np_native_stack *out,
                                              char *why, size_t whylen)
{
    out->depth = 0;
    out->truncated = false;
    out->state = 0;
    why[0] = '\0';
    if (np_threadstack_prepare(why, whylen)) return NP_CAPTURE_UNAVAILABLE;
    if (tid == (pid_t)syscall(SYS_gettid)) {
        ucontext_t uc;
        getcontext(&uc);
        walk((unw_context_t *)&uc, false, out);
        out->state = 'R';
        return NP_CAPTURE_OK;
    }
    if (!handler_still_ours()) {
        snprintf(why, whylen, "signal %d was taken over by another handler in this process; not sent", stack_signal);
        return NP_CAPTURE_UNAVAILABLE;
    }
    int state = atomic_load(&slot.state);
    if (state == SLOT_DONE) atomic_store(&slot.state, SLOT_IDLE); /* a walk that finished late */
    else if (state != SLOT_IDLE) {
        snprintf(why, whylen, "not asked: thread %d has not finished an earlier walk", atomic_load(&slot.tid));
        return NP_CAPTURE_TIMEOUT;
    }
    /* A thread inside our handler (a walk given up late) has the signal
     * blocked for a moment too: only a mask that stays is a refusal. */
    int blocked = blocks_signal(tid, stack_signal);
    for (int i = 0; i < 10 && blocked > 0; i++) {
        struct timespec ms = { 0, 1000000L };
        nanosleep(&ms, NULL);
        blocked = blocks_signal(tid, stack_signal);
    }
    if (blocked < 0) {
        snprintf(why, whylen, "the thread has exited");
        return NP_CAPTURE_GONE;
    }
    if (blocked) {
        snprintf(why, whylen, "did not answer: it blocks signal %d (SIGRTMIN+%d)", stack_signal, stack_signal - SIGRTMIN);
        return NP_CAPTURE_BLOCKED;
    }
    char before = np_threadstack_state(tid);
    enum np_capture_status st = send_and_wait(tid, timeout_ms, out, why, whylen);
    out->state = before;
    return st;
}
