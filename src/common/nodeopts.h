/* NODE_OPTIONS editing: our loader token appears exactly once, and the
 * user's own options are kept as they were. Our tokens (loader.h says
 * which one a process gets):
 *   --require=/<dir>/nodeprof-loader.cjs
 *   --import=data:text/javascript;base64,<the same loader>
 * and, to be removed on sight, the /tmp loader of earlier versions:
 *   --require=/tmp/nodeprof-<uid>/agent-<hash>.js */
#ifndef NP_NODEOPTS_H
#define NP_NODEOPTS_H

#include <stddef.h>

#define NP_LOADER_NAME "nodeprof-loader.cjs"
#define NP_NODEOPTS_IMPORT_PREFIX "--import=data:text/javascript;base64,"
/* base64 of the loader's first 18 bytes, "// nodeprof loader" */
#define NP_NODEOPTS_LOADER_B64_HEAD "Ly8gbm9kZXByb2YgbG9hZGVy"

enum np_nodeopts_result { NP_NODEOPTS_UNCHANGED, NP_NODEOPTS_CHANGED, NP_NODEOPTS_ERROR };

/* Computes NODE_OPTIONS with token (a whole option, as loader.h makes it)
 * first, then the user's options as they were. A token of another
 * nodeprof (a parent's, another build's) is dropped, so children never
 * accumulate tokens. current may be NULL. */
enum np_nodeopts_result np_nodeopts_inject(const char *current, const char *token,
                                           char *out, size_t outlen);

/* Computes NODE_OPTIONS without any loader token of ours. */
enum np_nodeopts_result np_nodeopts_strip(const char *current, char *out, size_t outlen);

/* True if node's permission model is asked for (--permission, or
 * --experimental-permission on node 20) in this option string. */
int np_nodeopts_has_permission_model(const char *options);

/* The same in node's own command line: its options, up to the script (the
 * first argument that is neither an option nor the value of one) or `--`.
 * Options that take their value as the next argument (`-r x`, `--import
 * x`, `-e CODE`) have it skipped, so that `node -r dotenv/config
 * --permission app.js` is seen; V8's options, not listed, are expected in
 * their `--flag=value` form. */
int np_argv_has_permission_model(int argc, char *const *argv);

/* True if node's own options ask it to run no JavaScript of the app: a
 * syntax check (`--check`), help or version output. Such a process writes
 * no profile: it would only be noise, in every directory where a build
 * step runs `node --check` under a global LD_PRELOAD. */
int np_argv_runs_no_code(int argc, char *const *argv);

/* True if the len bytes at token are one of our tokens (see above). */
int np_nodeopts_is_ours(const char *token, size_t len);

#endif
