/* Control commands: one text line each, the same words as `nodeprof ctl`.
 *
 *   cpu start [interval=US] | cpu stop | cpu dump
 *   heap snapshot [force] | heap start [interval=BYTES] | heap stop | heap dump
 *   trace start [categories=a,b,...] | trace stop
 *   stack | stack native | stack all (alias: threads) | status | memory | help
 *
 * Any command may end with reply=PATH to receive the reply: an absolute
 * path, without "." or ".." components, to a FIFO the sender reads or an
 * (empty) regular file it created. */
#ifndef NP_COMMAND_H
#define NP_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

/* Longest accepted line: writes up to PIPE_BUF (4096) to a FIFO are atomic,
 * so lines from concurrent writers never interleave. */
#define NP_COMMAND_MAX 1024
#define NP_REPLY_MAX 512

enum np_verb {
    NP_CMD_CPU_START, NP_CMD_CPU_STOP, NP_CMD_CPU_DUMP,
    NP_CMD_HEAP_SNAPSHOT, NP_CMD_HEAP_START, NP_CMD_HEAP_STOP, NP_CMD_HEAP_DUMP,
    NP_CMD_TRACE_START, NP_CMD_TRACE_STOP,
    NP_CMD_STACK, NP_CMD_STATUS, NP_CMD_HELP,
    NP_CMD_CPU_TOGGLE, /* internal: NODEPROF_SIGNAL_ACTION=toggle */
    NP_CMD_MEMORY,     /* the memory timeline (memory.h) */
    NP_CMD_STACK_NATIVE, NP_CMD_STACK_ALL, /* answered by the agent thread (src/native) */
};

struct np_command {
    enum np_verb verb;
    long interval;          /* cpu start (µs) / heap start (bytes); 0 = configured */
    bool force;             /* heap snapshot force */
    char categories[512];   /* trace start; "" = default */
    char reply[NP_REPLY_MAX]; /* reply path; "" = none */
    char origin[32];        /* "fifo", "signal", "period", "near-limit" */
};

/* Parses one line (without its newline). Returns 0, or -1 with a reason in
 * why (and cmd->reply set if the line named one, so the error can be sent). */
int np_command_parse(const char *line, size_t len, struct np_command *cmd,
                     char *why, size_t whylen);

/* A reply path we may write to: absolute, printable, no "." or ".."
 * component, shorter than NP_REPLY_MAX. */
bool np_command_reply_ok(const char *path, size_t len);

/* Which ends of a piece of line were cut off (an overlong line keeps its
 * head and its tail): a reply= word touching a cut may be a fragment. */
enum np_cut { NP_CUT_NONE = 0, NP_CUT_BEFORE = 1, NP_CUT_AFTER = 2 };

/* Finds the last " reply=/path" in a raw line (any bytes); "" if none, or
 * if that path is not valid (np_command_reply_ok) or may be cut. */
void np_command_find_reply(const char *line, size_t len, enum np_cut cut, char *reply, size_t replylen);

/* The help text (one command per line). */
extern const char np_command_help[];

#endif
