/* Replies to control commands, sent by the agent thread without ever
 * blocking it on the sender.
 *
 * A reply goes only to a path that already exists and belongs to us (our
 * euid), never through a symlink at its last component:
 *   - a FIFO the sender reads: opened O_NONBLOCK when a reader is there
 *     (retried for NP_REPLY_OPEN_MS: a shell opens its end just after
 *     sending), then written as the reader drains it, driven by the agent
 *     thread's loop. A reader that has not taken the whole reply after
 *     NP_REPLY_DRAIN_MS loses the rest: a reply over the 64 KB a pipe holds
 *     (a `stack` of 256 frames with 300-character names: 86 KB measured) to a reader
 *     that stalls once blocked the agent thread, and with it SIGTERM and
 *     every later command, for as long as that reader lived.
 *   - a regular file the sender created (`: > file`): replaced atomically
 *     by one holding the reply (mode 0600), swapped in with
 *     RENAME_EXCHANGE so that nothing is created if the file went away.
 * Nothing is ever created at a reply path: a sender that gave up (and
 * removed its FIFO) leaves nothing behind. A reply that cannot be sent is
 * dropped with one rate-limited nodeprof: line. */
#ifndef NP_REPLY_H
#define NP_REPLY_H

#include <stddef.h>

#define NP_REPLY_OPEN_MS 1000
#define NP_REPLY_DRAIN_MS 3000
/* Replies waiting for their reader at once; more are dropped. */
#define NP_REPLY_MAX_PENDING 64

/* Agent thread. Takes ownership of text (malloc'd, may be NULL if len 0). */
void np_reply_send(const char *path, char *text, size_t len);

#endif
