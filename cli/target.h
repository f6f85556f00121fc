/* A node process that nodeprof ctl may attach to through node's inspector
 * (attach.h), read from /proc: its uid, its start time (to tell it apart
 * from a later process of the same pid), whether it is node, and the port
 * SIGUSR1 makes its inspector listen on (--inspect-port, --inspect=host:port
 * on its command line or in its NODE_OPTIONS; 9229 otherwise). And who
 * holds a listening TCP port: the socket's inode in the process's
 * /proc/PID/net/tcp{,6} (its own network namespace), matched with the
 * socket links of /proc/PID/fd. */
#ifndef NP_CLI_TARGET_H
#define NP_CLI_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TARGET_DEFAULT_PORT 9229

struct target {
    long pid;
    uid_t uid;                 /* real uid */
    unsigned long long start;  /* start time, clock ticks after boot */
    bool is_node;
    char exe[256];
    int port;                  /* where SIGUSR1 opens the inspector */
    bool port_loopback;        /* on 127.0.0.1 / localhost (else refused) */
    bool sigusr1_off;          /* --disable-sigusr1: SIGUSR1 opens nothing */
    bool other_netns;          /* its 127.0.0.1 is not ours (a container) */
};

/* Fills t. -1 with err set if the process is gone or unreadable. */
int target_read(long pid, struct target *t, char *err, size_t errlen);

/* The start time of pid, 0 if gone. */
unsigned long long target_start_time(long pid);

/* The inode of the socket listening on TCP port that a connection to
 * 127.0.0.1:port reaches, as pid's network namespace sees it; 0 if none. */
unsigned long target_listener(long pid, int port);

/* Whether pid has the socket inode among its descriptors. */
bool target_holds_socket(long pid, unsigned long inode);

/* Every pid in /proc whose executable is node, in order; *n set. The
 * caller frees. */
long *target_node_pids(size_t *n);

#endif
