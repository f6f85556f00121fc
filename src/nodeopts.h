/* NODE_OPTIONS editing: our --require token appears exactly once, and the
 * user's own options are kept as they were. */
#ifndef NP_NODEOPTS_H
#define NP_NODEOPTS_H

#include <stddef.h>

enum np_nodeopts_result { NP_NODEOPTS_UNCHANGED, NP_NODEOPTS_CHANGED, NP_NODEOPTS_ERROR };

/* Computes NODE_OPTIONS with "--require=<loader>" in it. A token naming
 * another nodeprof loader (a parent's, built elsewhere) is replaced, so
 * children never accumulate tokens. current may be NULL. */
enum np_nodeopts_result np_nodeopts_inject(const char *current, const char *loader,
                                           char *out, size_t outlen);

/* Computes NODE_OPTIONS without any loader token of ours. */
enum np_nodeopts_result np_nodeopts_strip(const char *current, char *out, size_t outlen);

/* True if node's permission model is asked for (--permission, or
 * --experimental-permission on node 20) in this option string. */
int np_nodeopts_has_permission_model(const char *options);

/* True if s is one of our loader tokens (--require=.../nodeprof-N/agent-X.js). */
int np_nodeopts_is_ours(const char *token, size_t len);

#endif
