/* Thread dumps: the native stack of every thread of the process, like
 * `eu-stack -p` or `jstack`, without ptrace (so also in containers that
 * forbid it). Threads come from /proc/self/task; each is named from its
 * comm and shown with its state from stat; a thread that does not answer
 * (it blocks the signal, sits in the kernel, is stopped) is marked so, and
 * waited for at most NP_THREAD_WAIT_MS, the whole dump at most
 * NP_DUMP_BUDGET_MS. Agent thread only (threadstack.h). */
#ifndef NP_THREADS_H
#define NP_THREADS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "native/threadstack.h"

#define NP_THREAD_WAIT_MS 50
#define NP_DUMP_BUDGET_MS 2000

/* Every thread's stack: a header line, then one block per thread. */
void np_threads_write_all(FILE *out);

/* One thread's block ("thread TID "comm" (role), state X (...)" and its
 * frames, or why it did not answer). Returns 0 when the stack was taken. */
int np_threads_write_one(pid_t tid, int timeout_ms, FILE *out);

/* The same for a stack already taken (st and why from the capture). */
int np_threads_write_captured(pid_t tid, enum np_capture_status st, struct np_native_stack *stack,
                              const char *why, FILE *out);

/* The symbolizer kept for the process's life (agent thread). */
struct np_symbolizer *np_threads_symbolizer(void);

/* The state letter and its meaning for thread tid ("S (sleeping)"). */
void np_thread_state(pid_t tid, char *buf, size_t len);

#endif
