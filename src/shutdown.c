#include "shutdown.h"

#include "common/config.h"
#include "common/log.h"
#include "cpu.h"
#include "export.h"
#include "fifo.h"
#include "heap.h"
#include "js.h"
#include "leakwatch.h"
#include "listeners.h"
#include "memory.h"
#include "termsig.h"
#include "trace.h"
#include "wake.h"

void np_finish_thread(struct np_thread *t, const char *why)
{
    if (t->finished) return;
    t->finished = true;
    if (t->thread_id == 0) np_begin_shutdown();
    np_debug("writing final profiles (%s)", why);
    np_cpu_stop_and_write(t, NULL);
    np_heap_finish(t);
    np_leakwatch_finish(t);
    np_memory_finish(t);
    if (np_trace_running(t)) {
        struct np_written w = { .count = 0 };
        np_trace_stop(t, &w);
    }
    if (t->thread_id == 0) np_fifo_close();
    if (t->thread_id == 0) np_export_drain(); /* issue 11 §2: pending uploads, at most NODEPROF_EXPORT_EXIT_WAIT */
}

static napi_value on_process_exit(napi_env env, napi_callback_info info)
{
    struct np_thread *t;
    if (napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&t) != napi_ok || !t) return NULL;
    np_finish_thread(t, "exit");
    int sig = t->thread_id == 0 ? np_termsig_arrived() : 0;
    if (sig) { /* it would have killed plain node already (termsig.h) */
        np_info("%s arrived before the exit: dying of it as node would", np_signal_name(sig));
        np_die_by_signal(sig);
    }
    return NULL;
}

int np_shutdown_install(struct np_thread *t)
{
    napi_env env = t->env;
    napi_value fn = js_function(env, "nodeprofExit", on_process_exit, t);
    if (t->thread_id == 0) return np_listeners_keep(env, "exit", fn); /* put back if the app removes it */
    napi_value process = js_get(env, js_global(env), "process");
    napi_value args[2] = { js_string(env, "exit"), fn };
    return js_call_method(env, process, "on", 2, args) ? 0 : -1;
}
