/* An alternate signal stack for the calling thread, so that the crash
 * handler (installed with SA_ONSTACK) also runs after a native stack
 * overflow (an addon's infinite recursion), when the thread's own stack
 * has no room left for a signal frame. Without one, the kernel kills the
 * process with SIGSEGV at once: no report, but the same death.
 *
 * A thread that already has one (an addon's; node 20 to 24 and libuv set
 * none) keeps it: it is not ours to replace. Ours is 64 KB of mmap'd
 * memory, of which only what a crash uses is ever touched (measured: 7 KB
 * for the report, libunwind and node's own handler), with a guard page
 * below.
 * Given to the main thread (at the crash handler's install) and to
 * nodeprof's agent thread; node's other threads are created by node and
 * libuv, out of our reach. */
#ifndef NP_ALTSTACK_H
#define NP_ALTSTACK_H

/* Returns 1 when one was set up, 0 when the thread already had one, -1
 * on failure (mmap, sigaltstack). */
int np_altstack_ensure(void);

#endif
