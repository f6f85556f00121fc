/* The agent object: found beside the preloaded one, checked, loaded.
 *
 * libnodeprof.so is preloaded into every process of a container that sets
 * LD_PRELOAD globally, so it is kept to the constructor and what it uses,
 * needing nothing but libc. The agent, with cJSON and zlib, is a second
 * object, libnodeprof-agent.so, loaded with dlopen only into a node that
 * is going to be profiled. Measured with bench/preload-exec.sh (/bin/true,
 * README "Benchmarks"): one object that needed libcjson.so.1 and libz.so.1
 * added about 0.6 ms per exec, 60% of it for those two DT_NEEDED entries.
 *
 * The agent runs as whoever runs node, so it is trusted exactly as much as
 * the preloaded object: it must be NP_AGENT_NAME in the directory of the
 * preloaded object's real path (a symlink is followed only if it stays in
 * that directory), a regular file owned by the preloaded object's owner or
 * root, writable by no other user (by the group only when the preloaded
 * object is as well, through the same group). Whoever could replace it
 * between the check and the dlopen could replace the preloaded object too.
 *
 * node binds the agent through the loader (src/loader/nodeprof-loader.cjs),
 * which dlopen()s each LD_PRELOAD entry with RTLD_NOLOAD: dlsym on that
 * handle does not see an object the constructor dlopen()ed. So this module
 * exports node's two entry points, napi_register_module_v1 and
 * node_api_module_get_api_version_v1, as trampolines to the agent's. */
#ifndef NP_AGENTLOAD_H
#define NP_AGENTLOAD_H

#include <stddef.h>

/* Loads and attaches the agent for the preloaded object at self (absolute,
 * resolved), whose constructor started at the given clock readings
 * (common/handoff.h). 0, or -1 with why set: no agent, an untrusted one,
 * a dlopen failure (its dependencies missing), one of another build. */
int np_agent_load(const char *self, double start_wall_ms, double start_cpu_ms, char *why, size_t whylen);

#endif
