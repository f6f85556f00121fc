#include "agentload.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "napi_weak.h"
#include "common/handoff.h"

typedef napi_value (*register_fn)(napi_env env, napi_value exports);
typedef int32_t (*api_version_fn)(void);

/* The loaded agent; written once by the constructor, before node's main. */
static struct {
    struct np_handoff handoff; /* the one copy; the agent points at it */
    register_fn register_module;
    api_version_fn api_version;
} agent;

/* The group may write the agent only if it may write the preloaded object. */
static const char *untrusted_because(const struct stat *st, const struct stat *self)
{
    if (!S_ISREG(st->st_mode)) return "not a regular file";
    if (st->st_uid != self->st_uid && st->st_uid != 0) return "owned by another user than the library's";
    if (st->st_mode & S_IWOTH) return "writable by other users";
    if ((st->st_mode & S_IWGRP) && !((self->st_mode & S_IWGRP) && self->st_gid == st->st_gid))
        return "writable by its group, unlike the library";
    return NULL;
}

/* out: the agent's resolved path, checked (agentload.h). */
static int find_agent(const char *self, char *out, char *why, size_t whylen)
{
    const char *slash = strrchr(self, '/');
    int dirlen = slash ? (int)(slash - self) : 0;
    char candidate[PATH_MAX];
    struct stat me, st;
    if (!slash || snprintf(candidate, sizeof candidate, "%.*s/" NP_AGENT_NAME, dirlen, self) >= (int)sizeof candidate) {
        snprintf(why, whylen, "%s: no directory for " NP_AGENT_NAME, self);
        return -1;
    }
    if (!realpath(candidate, out)) {
        snprintf(why, whylen, "no agent: %s: %s", candidate, strerror(errno));
        return -1;
    }
    if (strncmp(out, self, (size_t)dirlen + 1) != 0 || strchr(out + dirlen + 1, '/')) {
        snprintf(why, whylen, "%s: a symlink out of the library's directory (to %s)", candidate, out);
        return -1;
    }
    if (stat(self, &me) != 0 || stat(out, &st) != 0) {
        snprintf(why, whylen, "%s: %s", out, strerror(errno));
        return -1;
    }
    const char *problem = untrusted_because(&st, &me);
    if (problem) {
        snprintf(why, whylen, "%s: %s", out, problem);
        return -1;
    }
    return 0;
}

int np_agent_load(const char *self, double start_wall_ms, double start_cpu_ms, char *why, size_t whylen)
{
    char path[PATH_MAX];
    if (find_agent(self, path, why, whylen) != 0) return -1;
    void *handle = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
    if (!handle) {
        snprintf(why, whylen, "cannot load the agent: %s", dlerror());
        return -1;
    }
    np_agent_attach_fn attach = (np_agent_attach_fn)dlsym(handle, NP_AGENT_ATTACH);
    register_fn reg = (register_fn)dlsym(handle, "napi_register_module_v1");
    agent.handoff = (struct np_handoff){ NP_HANDOFF_VERSION, sizeof agent.handoff, "", start_wall_ms, start_cpu_ms };
    snprintf(agent.handoff.lib_path, sizeof agent.handoff.lib_path, "%s", self);
    if (!attach || !reg || attach(&agent.handoff) != 0) {
        /* Linked with -z nodelete: it stays mapped, inert (never attached). */
        dlclose(handle);
        snprintf(why, whylen, "%s: not the agent of this build of the library", path);
        return -1;
    }
    agent.api_version = (api_version_fn)dlsym(handle, "node_api_module_get_api_version_v1");
    agent.register_module = reg;
    return 0;
}

/* node's entry points, exported (preload/exports.map): the agent's, or,
 * with no agent, an addon that exports nothing (the loader then takes its
 * token out of NODE_OPTIONS). */
__attribute__((visibility("default"))) napi_value napi_register_module_v1(napi_env env, napi_value exports);
napi_value napi_register_module_v1(napi_env env, napi_value exports)
{
    return agent.register_module ? agent.register_module(env, exports) : exports;
}

__attribute__((visibility("default"))) int32_t node_api_module_get_api_version_v1(void);
int32_t node_api_module_get_api_version_v1(void)
{
    return agent.api_version ? agent.api_version() : NAPI_VERSION;
}
