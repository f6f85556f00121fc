/* The native stack of any thread of this process, without ptrace: the
 * agent thread sends the target thread a signal (tgkill), and our handler,
 * on the target thread, walks its stack with libunwind's local unwinder
 * from the interrupted context into preallocated memory, then posts a
 * semaphore. Nothing else runs in the handler: no malloc, no lock, no
 * stdio; symbols are looked up afterwards, on the agent thread
 * (symbolize.h).
 *
 * Which signal: a real-time one, SIGRTMAX-4 (60 on Linux) or, if a native
 * addon already handles that one, the next lower one still at SIG_DFL down
 * to SIGRTMIN+4. Nobody in node uses them: V8's sampler has SIGPROF and its
 * wasm trap handler SIGSEGV/SIGBUS, node's inspector SIGUSR1 and
 * --report-on-signal SIGUSR2 (also NODEPROF_SIGNAL's default), libuv only
 * watches what the app asks for, and JavaScript cannot listen for
 * real-time signals (os.constants.signals has none). glibc keeps 32 and 33
 * for itself (SIGRTMIN is above them). The handler is installed on the
 * first request only, so a process nobody asks pays nothing; it is checked
 * before each use and never sent if someone replaced it.
 *
 * libunwind (libunwind8) is loaded with dlopen on that first request, not
 * linked: every process of a container that preloads us globally would
 * otherwise map libunwind and liblzma at each exec; without libunwind8
 * installed, only native stacks are missing.
 *
 * The target thread sees one thing: a system call it was blocked in may
 * return EINTR. The handler has SA_RESTART, so read, write, wait and
 * futex waits (Atomics.wait, condition variables) are restarted, but
 * epoll_wait, poll, select, nanosleep and clock_nanosleep are not (man 7
 * signal); libuv and V8 retry those, as any code that can receive a signal
 * must. The handler saves errno. */
#ifndef NP_THREADSTACK_H
#define NP_THREADSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NP_STACK_DEPTH 128

struct np_native_stack {
    int depth;
    bool truncated;               /* deeper than NP_STACK_DEPTH */
    /* The thread's state letter in /proc ('S', 'R', 'D'...) just before it
     * was asked, 0 if unknown. Read afterwards, it would say 'R' for a
     * thread that sleeps, woken by our own signal. */
    char state;
    uintptr_t ip[NP_STACK_DEPTH]; /* [0]: where the thread was; then return addresses */
};

enum np_capture_status {
    NP_CAPTURE_OK,
    NP_CAPTURE_UNAVAILABLE, /* no libunwind, or no signal to use (why says) */
    NP_CAPTURE_BLOCKED,     /* the thread blocks the signal: not sent */
    NP_CAPTURE_TIMEOUT,     /* sent, no answer in time (in the kernel, stopped) */
    NP_CAPTURE_GONE,        /* the thread has exited */
};

/* Agent thread (one caller at a time). Loads libunwind and installs the
 * handler the first time. Returns 0, or -1 with why. */
int np_threadstack_prepare(char *why, size_t whylen);

/* The stack of thread tid, waiting at most timeout_ms for it (the calling
 * thread's own stack is taken directly). */
enum np_capture_status np_threadstack_capture(pid_t tid, int timeout_ms, struct np_native_stack *out,
                                              char *why, size_t whylen);

/* Thread tid's state letter in /proc/self/task/TID/stat, '?' if unknown. */
char np_threadstack_state(pid_t tid);

/* Loads libunwind (dlopen) and warms it up, without the handler: for the
 * crash handler (crash.h). Any thread, once, before any walk. */
int np_threadstack_load_unwinder(char *why, size_t whylen);

/* Async-signal-safe: walks from a signal handler's ucontext. Only after
 * np_threadstack_load_unwinder succeeded. */
void np_threadstack_walk_signal(void *ucontext, struct np_native_stack *out);

/* The signal in use, 0 before the first request. */
int np_threadstack_signal(void);

/* Async-signal-safe (sigaction only): the signal in use, or the one the
 * first request would choose; 0 if none is free. For the crash handler,
 * which takes it over for the other threads' stacks (crashthreads.h). */
int np_threadstack_signal_for_crash(void);

#endif
