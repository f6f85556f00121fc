/* Which user is at the other end of a TCP connection on loopback.
 *
 * NODEPROF_HTTP on a loopback address serves without a token, and every
 * local user can connect to loopback: the profiles, heap snapshots and
 * control commands it serves would be theirs to take. The kernel knows the
 * owner of the connecting socket, which lives in our network namespace:
 * asked by its exact address pair through sock_diag netlink (one message,
 * answered at once by the kernel, however many sockets there are), else
 * read from /proc/net/tcp or tcp6 (one line per socket) where netlink is
 * not allowed. The owner is the uid that created the client socket. */
#ifndef NP_PEERUID_H
#define NP_PEERUID_H

#include <stddef.h>
#include <sys/types.h>

/* The uid owning the socket at the far end of connected socket fd, which
 * must be in this network namespace (a loopback connection). 0 and *uid,
 * or -1 with a message in err (the peer is gone, or neither way works). */
int np_peer_uid(int fd, uid_t *uid, char *err, size_t errlen);

/* The same through /proc/net/tcp alone: np_peer_uid's fallback. */
int np_peer_uid_from_proc(int fd, uid_t *uid, char *err, size_t errlen);

#endif
