/* The constructor: runs in every process the library is preloaded into,
 * before main. In node, when it is going to profile, it loads the agent
 * (agentload.h) and makes node bind it before user code, by adding the
 * loader token (loader.h) to NODE_OPTIONS; when it decides not to profile,
 * it takes out any token of ours a parent passed down. Anywhere else it
 * does nothing at all. */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agentload.h"
#include "napi_weak.h"
#include "common/log.h"
#include "common/envfile.h"
#include "common/nodeopts.h"
#include "common/loader.h"

/* node exports node::Start and the Node-API; sh, ls and python3 neither.
 * Weak, so that this object links and loads everywhere. */
extern int _ZN4node5StartEiPPc(int, char **) __attribute__((weak));

static bool process_is_node(void)
{
    return _ZN4node5StartEiPPc != NULL && napi_create_function != NULL && uv_loop_init != NULL;
}

static bool env_says_disabled(void)
{
    const char *v = getenv("NODEPROF_DISABLE");
    return v && (!strcmp(v, "1") || !strcasecmp(v, "on") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"));
}

/* Our own path, absolute, found from an address inside this object. */
static bool find_own_path(char *out)
{
    Dl_info info;
    if (!dladdr((void *)&process_is_node, &info) || !info.dli_fname) return false;
    return realpath(info.dli_fname, out) != NULL;
}

/* Are we in LD_PRELOAD, or were we dlopen()ed by someone's loader? A node
 * child whose parent stripped LD_PRELOAD still inherits NODE_OPTIONS; it
 * must not be profiled (nor broken). */
static bool listed_in_ld_preload(const char *self)
{
    const char *list = getenv("LD_PRELOAD");
    struct stat me, st;
    if (!list || stat(self, &me) != 0) return false;
    char item[PATH_MAX];
    while (*list) {
        size_t len = strcspn(list, " :");
        if (len > 0 && len < sizeof item) {
            memcpy(item, list, len);
            item[len] = '\0';
            if (stat(item, &st) == 0 && st.st_ino == me.st_ino && st.st_dev == me.st_dev) return true;
            /* A bare name found through the library path: dladdr's answer is the file. */
            if (!strchr(item, '/')) return true;
        }
        list += len + (list[len] != '\0');
    }
    return false;
}

/* node's permission model denies reading our loader and loading addons:
 * the preload would throw before the app's first line. Stay out, and take
 * out a token a parent passed down. */
static bool permission_model_on(int argc, char **argv, const char *node_options)
{
    return np_argv_has_permission_model(argc, argv) || np_nodeopts_has_permission_model(node_options);
}

/* The NODE_OPTIONS node will use: the environment's, or else those of its
 * --env-file files (envfile.h), which our token in the environment would
 * otherwise replace. */
static const char *node_options_in_force(int argc, char **argv, char *buf, size_t len)
{
    const char *env = getenv("NODE_OPTIONS");
    if (env || !argv) return env;
    return np_envfile_node_options(argc, argv, buf, len) == 1 ? buf : NULL;
}

/* Not profiling this process: no child inherits a token from it either. */
static void strip_tokens(void)
{
    char options[16384];
    if (np_nodeopts_strip(getenv("NODE_OPTIONS"), options, sizeof options) != NP_NODEOPTS_CHANGED) return;
    if (options[0]) setenv("NODE_OPTIONS", options, 1);
    else unsetenv("NODE_OPTIONS");
}

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static void inject_agent(const char *self, const char *node_options)
{
    char token[8192], why[PATH_MAX + 200];
    int kind = np_loader_token(self, token, sizeof token, why, sizeof why);
    if (kind < 0) {
        np_err("%s; not profiling this process", why);
        strip_tokens();
        return;
    }
    /* The last resort changes what the app sees (loader.h): say why. */
    if (kind == NP_LOADER_DATA)
        np_info("no trusted " NP_LOADER_NAME " (%s); loading the agent through --import=data:", why);
    char options[16384];
    switch (np_nodeopts_inject(node_options, token, options, sizeof options)) {
    case NP_NODEOPTS_CHANGED: setenv("NODE_OPTIONS", options, 1); break;
    case NP_NODEOPTS_UNCHANGED: break;
    case NP_NODEOPTS_ERROR:
        np_err("NODE_OPTIONS too long; not profiling this process");
        strip_tokens();
        break;
    }
}

/* glibc passes argc, argv and envp to the constructors of shared objects. */
__attribute__((constructor)) static void nodeprof_preload(int argc, char **argv, char **envp)
{
    (void)envp;
    if (!process_is_node()) return;
    /* The agent's start-up clock (boot.h) starts here. */
    double wall = clock_ms(CLOCK_MONOTONIC), cpu = clock_ms(CLOCK_THREAD_CPUTIME_ID);
    char self[PATH_MAX], why[2 * PATH_MAX + 200];
    static char from_files[16384];
    if (!find_own_path(self) || !listed_in_ld_preload(self)) return;
    const char *node_options = env_says_disabled() ? NULL : node_options_in_force(argc, argv, from_files, sizeof from_files);
    if (env_says_disabled() || (argv && np_argv_runs_no_code(argc, argv))) {
        strip_tokens(); /* a syntax check, help or version: nothing to profile, silently */
    } else if (argv && permission_model_on(argc, argv, node_options)) {
        np_warn("node's permission model is on; not profiling this process");
        strip_tokens();
    } else if (np_agent_load(self, wall, cpu, why, sizeof why) != 0) {
        np_err("%s; not profiling this process", why);
        strip_tokens();
    } else {
        inject_agent(self, node_options);
    }
}
