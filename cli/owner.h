/* nodeprof ctl run by root on another user's process: act as that user.
 *
 * Everything ctl touches belongs to the process's user: its control FIFO
 * and the reply FIFO live in that user's private run directory
 * (/tmp/nodeprof-<uid>), the agent answers only to reply paths of its own
 * uid, and an inspector we open must be closed by that user's next
 * `nodeprof ctl` or `list` if we are killed. So root does not reach in as
 * root: it takes the process owner's uid, gid and groups for the whole
 * command, as async-profiler's asprof does. The switch is permanent (real,
 * effective and saved ids), so the process's user gains nothing over this
 * nodeprof but the right to signal it; the kernel also makes it
 * non-dumpable, so they cannot read its memory. */
#ifndef NP_CLI_OWNER_H
#define NP_CLI_OWNER_H

#include <stddef.h>

/* If we are root and pid belongs to another uid, become that uid (its real
 * uid, real gid and supplementary groups, from /proc/PID/status). 0 if
 * nothing was to be done or the switch is made; -1 with err set otherwise,
 * and the caller stops. */
int cli_become_owner_of(long pid, char *err, size_t errlen);

#endif
