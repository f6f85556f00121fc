/* The other threads' stacks, for a crash report (crash.h), taken from the
 * crashing thread's handler within a bounded time. Everything is
 * async-signal-safe and preallocated: the threads are listed with
 * getdents64 on /proc/self/task, each one's name and state read from its
 * stat, its signal mask from its status; each thread that does not block
 * it is sent the native-stacks signal (threadstack.h; the crash handler
 * takes it over, the process is dying) with tgkill. Each thread's handler
 * walks its own stack with libunwind into its own slot, found by its tid,
 * and marks the slot done: no lock, no malloc, nothing shared but its
 * slot's state word. The crashing thread polls the slots (nanosleep, 1 ms)
 * until all have answered or NP_CRASH_THREADS_MS has passed; those that
 * did not are listed as such (blocked, asleep in the kernel, stopped, not
 * given a CPU in time, or stuck in their walk).
 *
 * A walk that faults (a thread's stack in a state the unwinder trips on)
 * must not kill the process with a different signal, nor loop: while the
 * threads walk, SIGSEGV and SIGBUS go to a guard that jumps
 * (siglongjmp) out of the walk of the thread that faulted, whose slot is
 * marked so; any other fault puts back the action found before and
 * re-executes, as without the guard.
 *
 * Locks: libunwind's local unwinder takes none (its cache is off), but it
 * finds unwind tables with dl_iterate_phdr, which takes the dynamic
 * loader's lock: a thread that crashed holding it (inside dlopen) keeps
 * the others from answering, which the deadline bounds. Measured: the 8
 * other threads of a small app answer in 1 ms in all (14 ms while a
 * Worker starts up). */
#ifndef NP_CRASHTHREADS_H
#define NP_CRASHTHREADS_H

#include <sys/types.h>

#include "native/threadstack.h"

#define NP_CRASH_THREADS_MS 200
#define NP_CRASH_MAX_THREADS 64

enum np_crash_thread_status {
    NP_CT_OK,
    NP_CT_BLOCKED,    /* it blocks the signal: not sent */
    NP_CT_GONE,       /* exited meanwhile */
    NP_CT_TIMEOUT,    /* sent, not answered in time */
    NP_CT_UNFINISHED, /* started its walk, not finished in time */
    NP_CT_FAULTED,    /* its walk faulted, and was abandoned */
};

struct np_crash_thread {
    pid_t tid;
    char comm[20];
    char state; /* from stat, before the signal */
    enum np_crash_thread_status status;
    struct np_native_stack stack; /* with NP_CT_OK */
};

struct np_crash_threads {
    int signal;   /* the one sent; 0: none free, nothing taken */
    int count;    /* threads listed, the crashing one excepted */
    int omitted;  /* beyond NP_CRASH_MAX_THREADS */
    long waited_ms;
};

/* Crashing thread, in its handler; libunwind loaded (np_threadstack_
 * load_unwinder). Takes the stacks of every thread but the caller. */
void np_crashthreads_gather(struct np_crash_threads *out);

/* Thread i of the last gather, 0 <= i < count. */
const struct np_crash_thread *np_crashthreads_at(int i);

#endif
