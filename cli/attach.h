/* nodeprof ctl on a node process started without nodeprof (no control
 * FIFO): node's own attach mechanism. SIGUSR1 makes node open its inspector
 * on 127.0.0.1:9229 (or its --inspect-port); we check that the listener is
 * the target's, speak the DevTools protocol to it (cdp.h), take what was
 * asked, and close the inspector again with process._debugEnd(), so the
 * port is open only for the time of the command.
 *
 * A marker file in the run directory, attach-<pid>-<start time>-<port>,
 * holding the pid and start time of the nodeprof that opened it, lives as
 * long as the inspector we opened: if that nodeprof is killed (SIGKILL), the
 * next `nodeprof ctl` on the process or `nodeprof list` finds the marker of
 * a nodeprof that is gone and closes the inspector. */
#ifndef NP_CLI_ATTACH_H
#define NP_CLI_ATTACH_H

#include <stdbool.h>

/* Whether the command words are one that works by attaching. */
bool cli_attach_command(int argc, char **argv);

/* Runs the command words (argv[0..argc-1]: `cpu dump [SECONDS]`, `heap
 * snapshot`, `stack`) on pid through its inspector; timeout in seconds (0:
 * the command's default). Prints what `nodeprof ctl` prints; the exit code. */
int cli_attach(long pid, int argc, char **argv, int timeout);

/* Closes the inspectors that a nodeprof killed mid-command left open (of
 * pid only, or of every process when pid is 0) and removes their markers.
 * Quiet when there is nothing to do. */
void cli_attach_sweep(long pid);

/* nodeprof list --all: every node process of this user, profiled or not,
 * and whether it can be attached. */
int cli_list_all(void);

/* The help of the commands that work by attaching. */
extern const char cli_attach_help[];

#endif
