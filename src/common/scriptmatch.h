/* NODEPROF_MATCH: which node processes are profiled, by their main script,
 * matched the way a user writes it.
 *
 * - A pattern without '/' (`server.js`, `server`, `worker-*.js`) matches
 *   the script's file name, with or without its extension (.js, .cjs,
 *   .mjs, .ts, .cts, .mts): `server` matches /srv/app/server.js, as
 *   `node server` runs it.
 * - A pattern that starts with '/' or '*' matches the whole absolute path
 *   (fnmatch without flags: `*` crosses '/', so `*server.js` matches every
 *   path that ends in server.js).
 * - Any other pattern with '/' (`app/server.js`, `./server.js`,
 *   `../svc/main.js`) is a path relative to the working directory, and is
 *   made absolute against it before it is matched.
 *
 * The script is the one node runs: process.argv[1] (which node has made
 * absolute), completed as node completes it (`.js`, `.cjs`, `.mjs`,
 * `index.js` of a directory) and with its symlinks resolved; the path as
 * given is matched too, so that a pattern naming the symlink works. */
#ifndef NP_SCRIPTMATCH_H
#define NP_SCRIPTMATCH_H

#include <stdbool.h>
#include <stddef.h>

/* The pure rule: does pattern match the absolute path script, with
 * relative patterns taken against cwd? */
bool np_script_match(const char *pattern, const char *script, const char *cwd);

/* The script node runs for argv1 (see above) into out; 0, or -1 if no
 * such file (out then holds argv1 as it is). */
int np_script_resolve(const char *argv1, char *out, size_t len);

/* What the agent asks: pattern against the resolved script of argv1 and
 * against argv1 itself, relative patterns taken against the current
 * working directory. argv1 may be NULL (node -e, the REPL): no match. */
bool np_main_script_matches(const char *pattern, const char *argv1);

#endif
