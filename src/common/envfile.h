/* NODE_OPTIONS from the files of node's --env-file (node 20.6 and later)
 * and --env-file-if-exists.
 *
 * node takes NODE_OPTIONS from those files when the environment has none;
 * the environment's, when there is one, wins whole. The constructor always
 * sets NODE_OPTIONS (our loader token), so without this the file's options
 * were dropped: measured on node 20, 22 and 24, `node --env-file=.env app.js`
 * with `NODE_OPTIONS=--max-old-space-size=123 --require ./apm.js` in .env
 * ran with node's default heap limit and without the APM agent under
 * nodeprof. So the constructor reads them as node would, and puts its token
 * in front of them.
 *
 * As node (src/node_dotenv.cc): every `--env-file=F`, `--env-file F`,
 * `--env-file-if-exists` of argv up to `--` (node looks past the script
 * too), in order, the last NODE_OPTIONS of the last file that has one
 * winning; `export ` prefixes, '', "" (with \n expanded) and `` quotes, and
 * `#` comments after an unquoted value, lines without `=` skipped (node
 * 22 and 24; node 20 differs on such malformed lines). Only a regular file is read (at most
 * 1 MiB), so that a pipe (`--env-file=<(...)`) is left whole for node. */
#ifndef NP_ENVFILE_H
#define NP_ENVFILE_H

#include <stddef.h>

/* The NODE_OPTIONS value of the files named by argv into out. Returns 1
 * when a file gives one, 0 when none does, -1 when it does not fit. */
int np_envfile_node_options(int argc, char *const *argv, char *out, size_t outlen);

/* The NODE_OPTIONS of one file's text, as node parses it; the same
 * returns. Exposed for the unit tests. */
int np_envfile_parse(const char *text, size_t len, char *out, size_t outlen);

#endif
