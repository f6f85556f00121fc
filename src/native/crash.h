/* Crash reports: on SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT (also how
 * node dies of "JavaScript heap out of memory" and of a failed CHECK), the
 * handler writes <name>.crash.txt into NODEPROF_DIR: the signal, its code
 * and address, the crashing thread and its native backtrace as raw
 * addresses with each frame's module and offset in it (from
 * /proc/self/maps; `nodeprof symbolize` names them later, offline), the
 * memory figures of /proc/self/status, the node version and the command
 * line. It appends the report's path to NODEPROF_MANIFEST (if that file
 * existed at install: `nodeprof run` lists it with the profiles) and
 * removes the control FIFO, then the process dies as it would
 * have: the handler found before ours is put back and the signal re-raised
 * (a fault re-executes and faults again), so node's own fatal-error output,
 * the signal and a core dump are unchanged.
 *
 * Only async-signal-safe calls in the handler: the directory is checked
 * (np_dir_open_trusted) and its identity kept, the file name expanded (%t
 * is the start time, %n is 0) and the text that does not change prepared
 * at install; the handler reopens the directory by path and writes only
 * if it is still that one; the report is formatted by
 * hand into static memory and written with openat/write/renameat.
 *
 * WebAssembly: V8 catches out-of-bounds accesses of wasm code as SIGSEGV
 * (its trap handler, reached through node's own SIGSEGV handler). Ours
 * calls node's first, as a chained handler, and returns at once when it
 * has handled the fault: the wasm code throws its RuntimeError as without
 * us, and nothing is written.
 *
 * The other threads' stacks follow the crashing thread's, taken within
 * NP_CRASH_THREADS_MS (crashthreads.h). The handler runs on an alternate
 * signal stack (SA_ONSTACK; altstack.h), so that a stack overflow of the
 * main thread or ours is reported too. */
#ifndef NP_CRASH_H
#define NP_CRASH_H

#include "napi_weak.h"

/* Main thread, from the agent's init (node has installed its own handlers
 * by then). Does nothing with NODEPROF_CRASH=off. */
void np_crash_install(napi_env env);

/* The agent thread's loop, before it runs: load libunwind there, so that
 * the app's start-up does not wait for it. */
void np_crash_load_unwinder_on(uv_loop_t *loop);

/* First thing on nodeprof's own threads, which block every signal: a
 * fault there would otherwise kill the process at once, unreported (the
 * kernel forces the default action of a blocked fault). Unblocks SIGSEGV,
 * SIGBUS, SIGILL and SIGFPE (only faults are sent to the thread that
 * caused them; process-directed ones still go to the app's threads
 * unless it blocks them all) and gives the thread an alternate stack. */
void np_crash_on_own_thread(void);

#endif
