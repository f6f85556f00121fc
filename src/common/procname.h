/* What a process is, for file names: NODEPROF_NAME's %s (the script) and
 * %c (the command). Many node processes write into one directory (npm and
 * the children of its scripts, npx tools, pm2 apps, the pods of a
 * service), and their pids say nothing to a reader; these do.
 *
 * - %s: the main script's file name without its extension (.js .cjs .mjs
 *   .ts .cts .mts): `server` for `node /app/server.js`. `index` (and
 *   `node .`, whose script is a directory) names the directory instead:
 *   `checkout` for /srv/checkout/index.js. The link name is kept, not its
 *   target: npx and npm scripts run a tool as node_modules/.bin/prettier,
 *   so it is `prettier`, not `bin-prettier` or `index`.
 *   Package managers add their command, which is all that tells their
 *   processes apart: npm-cli.js (or its bin link, npm) gives `npm` plus
 *   up to two words (`npm-run-build`, `npm-test`, `npm-ci`), npx-cli.js
 *   (or npx) `npx` plus one (`npx-prettier`); yarn and pnpm as npm, pnpx
 *   as npx. A pm2 app runs
 *   as pm2's ProcessContainer(Fork).js, with its script in pm_exec_path:
 *   that script is named. No script (`node -e`, the REPL, stdin): `node`.
 * - %c: %s followed by the script's first arguments (base names of paths,
 *   up to three, up to the first option): `build-prod` for
 *   `node build.js prod --watch`. Opt-in: arguments end up in file names.
 *
 * A word is cut at the first option (`-x`, `--`), so option values never
 * appear. Both are made safe for a file name on any system: only
 * [A-Za-z0-9_+-] (anything else, dots included, becomes '_', runs of '_'
 * one), never starting with '-', at most NP_PROCNAME_WORD bytes a word and
 * NP_PROCNAME_MAX in all. Computed once at start-up, so that a crash
 * report (async-signal-safe) names its file the same way. */
#ifndef NP_PROCNAME_H
#define NP_PROCNAME_H

#include <stddef.h>

#define NP_PROCNAME_WORD 32
#define NP_PROCNAME_MAX 80

struct np_procname {
    char script[NP_PROCNAME_MAX + 1];  /* %s */
    char command[NP_PROCNAME_MAX + 1]; /* %c */
};

/* From the script's argv as node's process.argv has it, from [1] on:
 * args[0] is the script path (absolute), then its arguments; nargs 0 when
 * there is no script. envp (may be NULL) is read for pm2's pm_exec_path. */
void np_procname_from_args(const char *const *args, int nargs, char *const *envp, struct np_procname *out);

/* The same from a raw /proc/PID/cmdline (NUL-separated, len bytes), whose
 * node options are skipped to find the script (for a process that the CLI
 * attaches to). */
void np_procname_from_cmdline(const char *cmdline, size_t len, char *const *envp, struct np_procname *out);

#endif
