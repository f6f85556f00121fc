/* The agent's entry point: node calls napi_register_module_v1 when the
 * loader (loader.h) runs process.dlopen on this object, once per
 * JavaScript thread, before any user code of that thread. */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent_thread.h"
#include "boot.h"
#include "control.h"
#include "cpu.h"
#include "heap.h"
#include "helper_start.h"
#include "rescue.h"
#include "js.h"
#include "shutdown.h"

extern char **environ;

/* All process-wide mutable state of nodeprof. */
struct np_agent np_agent = {
    .log = { NP_LOG_WARN, 2 },
    .retention = { .lock = PTHREAD_MUTEX_INITIALIZER },
    .wake_lock = PTHREAD_MUTEX_INITIALIZER,
};

static void report_config_problem(void *ctx, const char *msg)
{
    (void)ctx;
    np_warn("%s", msg);
}

static void setup_logging(void)
{
    np_agent.log.level = np_agent.cfg.log_level;
    if (np_agent.cfg.log_file[0]) {
        int fd = open(np_agent.cfg.log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0) np_agent.log.fd = fd;
        else np_warn("NODEPROF_LOG_FILE=%s: cannot open: %s; logging to stderr", np_agent.cfg.log_file, strerror(errno));
    }
    np_log_attach(&np_agent.log);
}

/* Reads the configuration once per process (the main thread comes first). */
static void configure(void)
{
    if (np_agent.configured) return;
    np_agent.configured = true;
    struct np_config probe;
    /* Parse quietly first to learn where log lines go, then for real. */
    np_config_load(&probe, environ, NULL, NULL);
    np_agent.cfg = probe;
    setup_logging();
    np_config_load(&np_agent.cfg, environ, report_config_problem, NULL);
    if (np_agent.cfg.dir[0] == '/') {
        snprintf(np_agent.out_dir, sizeof np_agent.out_dir, "%s", np_agent.cfg.dir);
    } else {
        char cwd[PATH_MAX];
        const char *rel = np_agent.cfg.dir;
        if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, ".");
        while (rel[0] == '.' && rel[1] == '/') rel += 2;
        if (!strcmp(rel, ".")) rel = "";
        if (snprintf(np_agent.out_dir, sizeof np_agent.out_dir, "%s%s%s", cwd, *rel ? "/" : "", rel) >=
            (int)sizeof np_agent.out_dir)
            np_warn("NODEPROF_DIR=%.200s: path too long; profiles will not be written", np_agent.cfg.dir);
    }
    size_t len = strlen(np_agent.out_dir);
    while (len > 1 && np_agent.out_dir[len - 1] == '/') np_agent.out_dir[--len] = '\0';
    /* Exactly this mode: profiles name the app's functions and files, so
     * they are private unless NODEPROF_FILE_MODE says otherwise. */
    np_agent.file_mode = (mode_t)np_agent.cfg.file_mode;
    if (gethostname(np_agent.host, sizeof np_agent.host) != 0) strcpy(np_agent.host, "localhost");
    np_agent.host[sizeof np_agent.host - 1] = '\0';
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
    if (!np_agent.cfg.match[0]) return true;
    napi_value argv = js_get(env, js_get(env, js_global(env), "process"), "argv");
    napi_value script;
    size_t len;
    char *path = NULL;
    if (argv && napi_get_element(env, argv, 1, &script) == napi_ok) path = js_to_utf8(env, script, &len);
    bool match = path && fnmatch(np_agent.cfg.match, path, 0) == 0;
    np_debug("NODEPROF_MATCH=%s %s %s", np_agent.cfg.match, match ? "matches" : "does not match",
             path ? path : "(no script)");
    free(path);
    return match;
}

static void on_main_wake(napi_env env, napi_value js_cb, void *context, void *data)
{
    (void)js_cb; (void)context; (void)data;
    /* After the exit listener, node is tearing the environment down. */
    if (!env || !np_agent.main || np_agent.main->finished) return;
    np_shutdown_handle_signals();
    np_control_run_pending();
}

static void on_main_wake_finalized(napi_env env, void *data, void *hint)
{
    (void)env; (void)data; (void)hint;
    pthread_mutex_lock(&np_agent.wake_lock);
    atomic_store(&np_agent.main_wake_alive, false);
    pthread_mutex_unlock(&np_agent.wake_lock);
}

static int start_main_services(napi_env env)
{
    napi_value name = js_string(env, "nodeprof");
    if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, on_main_wake_finalized, NULL,
                                        on_main_wake, &np_agent.main_wake) != napi_ok)
        return -1;
    atomic_store(&np_agent.main_wake_alive, true);
    /* Never keeps the app's event loop alive. */
    napi_unref_threadsafe_function(env, np_agent.main_wake);
    np_boot_mark("threadsafe function");
    if (np_agent_thread_start()) return -1;
    np_boot_mark("agent thread and FIFO");
    return 0;
}

static void free_thread(void *arg)
{
    struct np_thread *t = arg;
    if (t == np_agent.main) np_agent.main = NULL;
    np_cpu_forget_thread(t);
    if (t->session.session) napi_delete_reference(t->env, t->session.session);
    free(t);
}

static struct np_thread *start_thread(napi_env env, int thread_id)
{
    struct np_thread *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->env = env;
    t->thread_id = thread_id;
    if (np_session_open(env, &t->session)) {
        free(t);
        return NULL;
    }
    np_shutdown_install(t);
    np_boot_mark("exit and signal listeners");
    napi_add_env_cleanup_hook(env, free_thread, t);
    return t;
}

/* Last of our start-up, so that the profiles do not show it. */
static void start_profilers(struct np_thread *t)
{
    if (np_agent.cfg.cpu && np_cpu_start(t, np_agent.cfg.cpu_interval_us))
        np_err("cannot start the CPU profiler");
    if (np_agent.cfg.heap && np_heap_start(t, np_agent.cfg.heap_interval))
        np_err("cannot start the sampling heap profiler");
    np_boot_mark("heap");
}

static void agent_init(napi_env env)
{
    if (!np_agent.preloaded) return; /* dlopen()ed by a stale loader, not asked for */
    np_boot_mark("node and the loader");
    int thread_id = current_thread_id(env);
    np_boot_mark("thread id");
    if (thread_id == 0) {
        configure();
        np_boot_mark("configure");
        if (np_agent.cfg.disable || !main_script_matches(env)) return;
        np_agent.active = true;
        /* The helper (helper_start.h): now, before the profiler starts
         * (its start-up is ours, not the app's), or at the first turn. */
        np_helper_schedule(env);
        np_boot_mark("helper");
    } else if (!np_agent.active || np_rescue_is_helper(env) || !np_agent.cfg.workers) {
        return;
    }
    struct np_thread *t = start_thread(env, thread_id);
    if (t && thread_id == 0) {
        np_agent.main = t;
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
    if (np_agent.in_node) agent_init(env);
    js_clear_exception(env, "nodeprof agent");
    if (np_agent.active) js_set(env, exports, "nodeprof", js_string(env, "active"));
    return exports;
}

__attribute__((visibility("default"))) int32_t node_api_module_get_api_version_v1(void)
{
    return NAPI_VERSION;
}

double np_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

bool np_wake_main(void)
{
    bool sent = false;
    pthread_mutex_lock(&np_agent.wake_lock);
    if (!atomic_load(&np_agent.shutting_down) && atomic_load(&np_agent.main_wake_alive))
        sent = napi_call_threadsafe_function(np_agent.main_wake, NULL, napi_tsfn_nonblocking) == napi_ok;
    pthread_mutex_unlock(&np_agent.wake_lock);
    return sent;
}
