#include "agent.h"
#include "native/crash.h"

#include <fcntl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_thread.h"
#include "boot.h"
#include "common/log.h"
#include "common/outfile.h"
#include "common/scriptmatch.h"
#include "cpu.h"
#include "export.h"
#include "heap.h"
#include "helper_start.h"
#include "js.h"
#include "leakwatch.h"
#include "memory.h"
#include "output.h"
#include "process.h"
#include "rescue.h"
#include "service.h"
#include "session.h"
#include "shutdown.h"
#include "signals.h"
#include "thread.h"
#include "wake.h"

extern char **environ;

static void report_config_problem(void *ctx, const char *msg)
{
    (void)ctx;
    np_warn("%s", msg);
}

static void setup_logging(void)
{
    struct np_process *p = &np_process;
    p->log.level = p->cfg.log_level;
    if (p->cfg.log_file[0]) {
        char why[512];
        int fd = np_open_append(p->cfg.log_file, why, sizeof why);
        if (fd >= 0) p->log.fd = fd;
        else np_warn("NODEPROF_LOG_FILE=%s: %s; logging to stderr", p->cfg.log_file, why);
    }
    np_log_attach(&p->log);
}

/* A relative NODEPROF_MANIFEST is the working directory's at start-up, as
 * NODEPROF_DIR is: it was opened at each write, so after an app's chdir()
 * (npm scripts, daemons) the paths went to another file, or nowhere. */
static void manifest_at_start_up(struct np_config *cfg)
{
    char cwd[PATH_MAX], abs[sizeof cfg->manifest];
    if (!cfg->manifest[0] || cfg->manifest[0] == '/' || !getcwd(cwd, sizeof cwd)) return;
    if (snprintf(abs, sizeof abs, "%s/%s", cwd, cfg->manifest) < (int)sizeof abs) memcpy(cfg->manifest, abs, sizeof abs);
}

/* Reads the configuration once per process (the main thread comes first). */
static void configure(void)
{
    if (np_process.configured) return;
    np_process.configured = true;
    /* Parse quietly first to learn where log lines go, then for real. */
    np_config_load(&np_process.cfg, environ, NULL, NULL);
    setup_logging();
    np_config_load(&np_process.cfg, environ, report_config_problem, NULL);
    manifest_at_start_up(&np_process.cfg);
    np_output_init(&np_process.cfg);
}

/* worker_threads.threadId: 0 on the main thread. node runs its main
 * thread's JavaScript on the process's first thread; the test spares the
 * main thread the require of node:worker_threads (6 to 13 ms of CPU). */
static int current_thread_id(napi_env env)
{
    if (gettid() == getpid()) return 0;
    napi_value wt = js_builtin(env, "node:worker_threads");
    double id = 0;
    js_to_double(env, js_get(env, wt, "threadId"), &id);
    return (int)id;
}

static bool main_script_matches(napi_env env)
{
    if (!np_cfg()->match[0]) return true;
    napi_value argv = js_get(env, js_get(env, js_global(env), "process"), "argv");
    napi_value script;
    size_t len;
    char *path = NULL;
    if (argv && napi_get_element(env, argv, 1, &script) == napi_ok) path = js_to_utf8(env, script, &len);
    bool match = np_main_script_matches(np_cfg()->match, path);
    np_debug("NODEPROF_MATCH=%s %s %s", np_cfg()->match, match ? "matches" : "does not match",
             path ? path : "(no script)");
    free(path);
    return match;
}

/* The main thread's services: requests and signals from the agent thread
 * (through the main loop, or the rescue path), and the agent thread. */
static int start_main_services(napi_env env)
{
    /* Never keeps the app's event loop alive. */
    if (np_wake_bind(NP_WAKE_MAIN, env, np_service_run, false)) return -1;
    np_boot_mark("threadsafe function");
    if (np_agent_thread_start()) return -1;
    np_boot_mark("agent thread and FIFO");
    np_crash_install(env);
    np_export_start(env, np_output_dir(), np_crash_on_own_thread); /* only with NODEPROF_EXPORT */
    return 0;
}

static void free_thread(void *arg)
{
    struct np_thread *t = arg;
    if (t == np_main_thread()) np_set_main_thread(NULL);
    np_cpu_forget_thread(t);
    np_session_release(t->env, &t->session);
    free(t);
}

static struct np_thread *start_thread(napi_env env, int thread_id)
{
    struct np_thread *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->env = env;
    t->thread_id = thread_id;
    if (!np_session_available(env)) { /* the session itself opens on first use (session.h) */
        np_err("this node has no process.getBuiltinModule('node:inspector') (needs node >= 20.16); not profiling");
        free(t);
        return NULL;
    }
    np_shutdown_install(t);
    if (thread_id == 0) np_signals_track_app(env);
    np_boot_mark("exit and signal listeners");
    napi_add_env_cleanup_hook(env, free_thread, t);
    return t;
}

/* Last of our start-up, so that the profiles do not show it. */
static void start_profilers(struct np_thread *t)
{
    const struct np_config *cfg = np_cfg();
    /* A session that could not open has said so, once. */
    if (cfg->cpu && np_cpu_start(t, cfg->cpu_interval_us) && !t->session.failed) np_err("cannot start the CPU profiler");
    if (cfg->heap && np_heap_start(t, cfg->heap_interval) && !t->session.failed)
        np_err("cannot start the sampling heap profiler");
    np_memory_start(t);
    np_leakwatch_start(t);
    np_boot_mark("profilers");
}

static void agent_init(napi_env env)
{
    np_boot_mark("node and the loader");
    int thread_id = current_thread_id(env);
    np_boot_mark("thread id");
    if (thread_id == 0) {
        configure();
        np_boot_mark("configure");
        if (np_cfg()->disable || !main_script_matches(env)) return;
        np_process.active = true;
        np_output_name_process(env);
        /* The helper (helper_start.h): now, before the profiler starts
         * (its start-up is ours, not the app's), or at the first turn. */
        np_helper_schedule(env);
        np_boot_mark("helper");
    } else if (!np_process.active || np_rescue_is_helper(env) || !np_cfg()->workers) {
        return;
    }
    struct np_thread *t = start_thread(env, thread_id);
    if (t && thread_id == 0) {
        np_set_main_thread(t);
        if (start_main_services(env)) np_err("signals and control commands are unavailable");
    }
    if (t) start_profilers(t);
    if (t && thread_id == 0) np_boot_report("start-up");
}

/* Node-API entry point (exported; see src/exports.map). The loader reads
 * exports.nodeprof: anything but "active" makes it take our token out of
 * NODE_OPTIONS, so that children of an unprofiled process inherit none. */
__attribute__((visibility("default"))) napi_value napi_register_module_v1(napi_env env, napi_value exports)
{
    if (np_process.preload) agent_init(env); /* else dlopen()ed by someone else, not asked for */
    js_clear_exception(env, "nodeprof agent");
    if (np_process.active) js_set(env, exports, "nodeprof", js_string(env, "active"));
    return exports;
}

__attribute__((visibility("default"))) int32_t node_api_module_get_api_version_v1(void)
{
    return NAPI_VERSION;
}

/* Called once by the preloaded object's constructor, right after its
 * dlopen of this object (common/handoff.h), before node's main. */
__attribute__((visibility("default"))) int np_agent_attach(const struct np_handoff *handoff);
int np_agent_attach(const struct np_handoff *handoff)
{
    if (!handoff || handoff->version != NP_HANDOFF_VERSION || handoff->size != sizeof *handoff) return -1;
    np_process.preload = handoff;
    np_boot_begin(handoff->start_wall_ms, handoff->start_cpu_ms);
    return 0;
}
