#include "shutdown.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu.h"
#include "heap.h"
#include "control.h"
#include "trace.h"
#include "js.h"
#include "memory.h" /* h-memory */
#include "common/log.h"

const int np_term_signals[NP_NTERMSIG] = { SIGINT, SIGTERM, SIGHUP };

int np_term_index(int sig)
{
    for (int i = 0; i < NP_NTERMSIG; i++)
        if (np_term_signals[i] == sig) return i;
    return -1;
}

void np_finish_thread(struct np_thread *t, const char *why)
{
    if (t->finished) return;
    t->finished = true;
    if (t->thread_id == 0) atomic_store(&np_agent.shutting_down, true);
    np_debug("writing final profiles (%s)", why);
    np_cpu_stop_and_write(t, NULL);
    np_heap_finish(t);
    np_memory_finish(t); /* h-memory: the last sample */
    if (np_trace_running(t)) {
        struct np_written w = { .count = 0 };
        np_trace_stop(t, &w);
    }
    if (t->thread_id == 0) np_control_close();
}

static napi_value on_process_exit(napi_env env, napi_callback_info info)
{
    struct np_thread *t;
    if (napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&t) == napi_ok && t)
        np_finish_thread(t, "exit");
    return NULL;
}

static int listener_count(napi_env env, const char *event)
{
    napi_value process = js_get(env, js_global(env), "process");
    napi_value name = js_string(env, event);
    double n = 0;
    if (js_to_double(env, js_call_method(env, process, "listenerCount", 1, &name), &n)) return 0;
    return (int)n;
}

/* 'newListener' runs before the listener is added, 'removeListener' after
 * it is removed: either way the count we store is the count once done. */
static napi_value on_listener_change(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    void *adding;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, &adding) != napi_ok || argc < 1) return NULL;
    char name[16];
    size_t len;
    if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) return NULL;
    for (int i = 0; i < NP_NTERMSIG; i++) {
        if (strcmp(name, np_signal_name(np_term_signals[i]))) continue;
        atomic_store(&np_agent.app_listeners[i], listener_count(env, name) + (adding ? 1 : 0));
    }
    return NULL;
}

static int track_app_signal_listeners(napi_env env)
{
    napi_value process = js_get(env, js_global(env), "process");
    napi_value add[2] = { js_string(env, "newListener"),
                          js_function(env, "nodeprofSignals", on_listener_change, (void *)1) };
    napi_value del[2] = { js_string(env, "removeListener"),
                          js_function(env, "nodeprofSignals", on_listener_change, NULL) };
    for (int i = 0; i < NP_NTERMSIG; i++)
        atomic_store(&np_agent.app_listeners[i], listener_count(env, np_signal_name(np_term_signals[i])));
    return js_call_method(env, process, "on", 2, add) && js_call_method(env, process, "on", 2, del) ? 0 : -1;
}

int np_shutdown_install(struct np_thread *t)
{
    napi_env env = t->env;
    napi_value process = js_get(env, js_global(env), "process");
    napi_value args[2] = { js_string(env, "exit"), js_function(env, "nodeprofExit", on_process_exit, t) };
    if (!js_call_method(env, process, "on", 2, args)) return -1;
    return t->thread_id == 0 ? track_app_signal_listeners(env) : 0;
}

void np_die_by_signal(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    /* Only if the signal is somehow survived (it cannot be with SIG_DFL
     * for these signals): end as a shell would report it. */
    _exit(128 + sig);
}

void np_shutdown_handle_signals(void)
{
    struct np_thread *t = np_agent.main;
    unsigned pending = atomic_exchange(&np_agent.pending_term, 0u);
    for (int i = 0; i < NP_NTERMSIG; i++) {
        int sig = np_term_signals[i];
        if (!(pending & (1u << sig))) continue;
        if (atomic_load(&np_agent.listened_at_signal[i])) continue; /* the app decides */
        np_info("%s: writing profiles, then dying of it as node would", np_signal_name(sig));
        np_finish_thread(t, np_signal_name(sig));
        np_die_by_signal(sig);
    }
}
