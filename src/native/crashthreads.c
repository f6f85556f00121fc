#include "native/crashthreads.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A slot's life: the crashing thread arms it, the thread's handler moves
 * it ARMED -> RUNNING -> DONE (or FAULTED); at the deadline the crashing
 * thread moves ARMED to TIMEOUT, so a late signal does nothing. */
enum { SLOT_UNUSED, SLOT_ARMED, SLOT_RUNNING, SLOT_DONE, SLOT_FAULTED, SLOT_TIMEOUT, SLOT_NOT_SENT };

struct slot {
    struct np_crash_thread thread;
    atomic_int state;
    sigjmp_buf jump; /* the walk's way out when it faults */
};

static struct {
    atomic_bool active;
    int count;
    struct slot slots[NP_CRASH_MAX_THREADS];
    struct sigaction before_segv, before_bus;
    char buf[4096]; /* getdents64, and the files read */
} gather;

static pid_t gettid_raw(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static struct slot *slot_of(pid_t tid)
{
    for (int i = 0; i < gather.count; i++)
        if (gather.slots[i].thread.tid == tid) return &gather.slots[i];
    return NULL;
}

/* ---- the other threads' side --------------------------------------------- */

static void on_gather_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    int saved = errno;
    struct slot *s = atomic_load(&gather.active) ? slot_of(gettid_raw()) : NULL;
    int expected = SLOT_ARMED;
    if (s && si->si_code == SI_TKILL && si->si_pid == getpid() &&
        atomic_compare_exchange_strong(&s->state, &expected, SLOT_RUNNING)) {
        if (sigsetjmp(s->jump, 1) == 0) {
            np_threadstack_walk_signal(uc, &s->thread.stack);
            atomic_store(&s->state, SLOT_DONE);
        } else {
            atomic_store(&s->state, SLOT_FAULTED);
        }
    }
    errno = saved;
}

/* SIGSEGV and SIGBUS while the threads walk. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    struct slot *s = slot_of(gettid_raw());
    if (s && atomic_load(&s->state) == SLOT_RUNNING) siglongjmp(s->jump, 1);
    /* Not one of the walks: the action found before takes it; a fault
     * re-executes its instruction, a sent signal is sent again. */
    sigaction(sig, sig == SIGSEGV ? &gather.before_segv : &gather.before_bus, NULL);
    if (si->si_code <= 0) raise(sig);
}

/* ---- the crashing thread's side ------------------------------------------ */

/* path = /proc/self/task/<tid>/<file> */
static void task_path(char *path, pid_t tid, const char *file)
{
    static const char prefix[] = "/proc/self/task/";
    memcpy(path, prefix, sizeof prefix - 1);
    char *p = path + sizeof prefix - 1, digits[16];
    int n = 0;
    for (long v = tid; v && n < 15; v /= 10) digits[n++] = (char)('0' + v % 10);
    while (n) *p++ = digits[--n];
    *p++ = '/';
    memcpy(p, file, strlen(file) + 1);
}

static ssize_t read_task_file(pid_t tid, const char *file)
{
    char path[64];
    task_path(path, tid, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, gather.buf, sizeof gather.buf - 1);
    close(fd);
    gather.buf[n > 0 ? n : 0] = '\0';
    return n;
}

/* Name and state from "tid (comm) S ..." (comm may hold ')'). -1: gone. */
static int read_stat(struct np_crash_thread *t)
{
    if (read_task_file(t->tid, "stat") <= 0) return -1;
    char *open_paren = strchr(gather.buf, '('), *close = strrchr(gather.buf, ')');
    if (!open_paren || !close || close < open_paren) return -1;
    size_t n = (size_t)(close - open_paren - 1);
    if (n >= sizeof t->comm) n = sizeof t->comm - 1;
    memcpy(t->comm, open_paren + 1, n);
    t->comm[n] = '\0';
    t->state = close[1] == ' ' ? close[2] : '?';
    return 0;
}

static bool blocks(pid_t tid, int sig)
{
    if (read_task_file(tid, "status") <= 0) return false;
    const char *line = strstr(gather.buf, "\nSigBlk:");
    if (!line) return false;
    unsigned long long mask = 0;
    for (const char *p = line + 8; *p && *p != '\n'; p++) {
        int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
        if (d >= 0) mask = mask * 16 + (unsigned long long)d;
    }
    return (mask >> (sig - 1)) & 1;
}

struct dirent64_raw {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* The task ids, into the slots; the rest counted in omitted. */
static void list_threads(pid_t self, int *omitted)
{
    static char dents[8192];
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    long n;
    while ((n = syscall(SYS_getdents64, fd, dents, sizeof dents)) > 0) {
        for (long off = 0; off < n;) {
            struct dirent64_raw *d = (struct dirent64_raw *)(dents + off);
            off += d->d_reclen;
            long tid = 0;
            for (const char *p = d->d_name; *p >= '0' && *p <= '9'; p++) tid = tid * 10 + (*p - '0');
            if (tid <= 0 || tid == self) continue;
            if (gather.count == NP_CRASH_MAX_THREADS) {
                (*omitted)++;
                continue;
            }
            struct slot *s = &gather.slots[gather.count++];
            memset(&s->thread, 0, sizeof s->thread);
            s->thread.tid = (pid_t)tid;
            atomic_store(&s->state, SLOT_NOT_SENT);
        }
    }
    close(fd);
}

static long ms_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000L + (now.tv_nsec - start->tv_nsec) / 1000000L;
}

static bool all_answered(void)
{
    for (int i = 0; i < gather.count; i++) {
        int st = atomic_load(&gather.slots[i].state);
        if (st == SLOT_ARMED || st == SLOT_RUNNING) return false;
    }
    return true;
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags, struct sigaction *before)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, before);
}

static void put_back_if_ours(int sig, const struct sigaction *before)
{
    struct sigaction now;
    if (sigaction(sig, NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_fault)
        sigaction(sig, before, NULL);
}

static void send_all(int sig)
{
    for (int i = 0; i < gather.count; i++) {
        struct slot *s = &gather.slots[i];
        if (read_stat(&s->thread)) {
            s->thread.status = NP_CT_GONE;
            continue;
        }
        if (blocks(s->thread.tid, sig)) {
            s->thread.status = NP_CT_BLOCKED;
            continue;
        }
        atomic_store(&s->state, SLOT_ARMED);
        if (syscall(SYS_tgkill, (long)getpid(), (long)s->thread.tid, (long)sig) != 0) {
            int expected = SLOT_ARMED;
            if (atomic_compare_exchange_strong(&s->state, &expected, SLOT_NOT_SENT)) s->thread.status = NP_CT_GONE;
        }
    }
}

static void collect(void)
{
    for (int i = 0; i < gather.count; i++) {
        struct slot *s = &gather.slots[i];
        int expected = SLOT_ARMED;
        if (atomic_compare_exchange_strong(&s->state, &expected, SLOT_TIMEOUT)) s->thread.status = NP_CT_TIMEOUT;
        else if (expected == SLOT_RUNNING) s->thread.status = NP_CT_UNFINISHED;
        else if (expected == SLOT_DONE) s->thread.status = NP_CT_OK;
        else if (expected == SLOT_FAULTED) s->thread.status = NP_CT_FAULTED;
    }
}

void np_crashthreads_gather(struct np_crash_threads *out)
{
    memset(out, 0, sizeof *out);
    out->signal = np_threadstack_signal_for_crash();
    if (!out->signal) return;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    gather.count = 0;
    list_threads(gettid_raw(), &out->omitted);
    out->count = gather.count;
    install(SIGSEGV, on_fault, SA_ONSTACK, &gather.before_segv);
    install(SIGBUS, on_fault, SA_ONSTACK, &gather.before_bus);
    install(out->signal, on_gather_signal, SA_RESTART, NULL);
    atomic_store(&gather.active, true);
    send_all(out->signal);
    while (!all_answered() && ms_since(&start) < NP_CRASH_THREADS_MS) {
        struct timespec ms = { 0, 1000000L };
        nanosleep(&ms, NULL);
    }
    collect();
    out->waited_ms = ms_since(&start);
    /* Our handler stays: a thread given a CPU only now still gets its
     * signal, which must find a handler (a real-time signal's default
     * action ends the process) that does nothing. */
    /* A walk still running keeps its way out (it may fault later). */
    bool running = false;
    for (int i = 0; i < gather.count; i++) running |= gather.slots[i].thread.status == NP_CT_UNFINISHED;
    if (!running) {
        put_back_if_ours(SIGSEGV, &gather.before_segv);
        put_back_if_ours(SIGBUS, &gather.before_bus);
    }
}

const struct np_crash_thread *np_crashthreads_at(int i)
{
    return &gather.slots[i].thread;
}
