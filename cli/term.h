/* Text that other processes chose, on our terminal.
 *
 * A reply from an agent, a stack from an inspector and a command line from
 * /proc are written by the process they come from, and root's `nodeprof
 * ctl` and `list --all` show those of other users' processes. Written as
 * they are, an escape sequence in them would move the cursor, retitle the
 * window or clear the screen of whoever runs the command; so every control
 * character (and DEL) is shown as '?', newlines and tabs aside where the
 * text has lines. */
#ifndef NP_CLI_TERM_H
#define NP_CLI_TERM_H

#include <stdbool.h>
#include <stdio.h>

/* Writes s with control characters replaced; keep_lines keeps '\n' and
 * '\t'. Returns EOF on a write error, as fputs does. */
int cli_put_untrusted(FILE *out, const char *s, bool keep_lines);

/* Prints PID's command line on one line: arguments one space apart,
 * control characters as spaces, none at the end (a process that set
 * process.title leaves its old argv area padded with NULs); what is given
 * instead when it cannot be read. */
void cli_print_cmdline(long pid, const char *instead);

#endif
