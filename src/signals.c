#include "signals.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "common/outfile.h"
#include "dispatch.h"
#include "escalate.h"
#include "fifo.h"
#include "js.h"
#include "listeners.h"
#include "native/native.h"
#include "output.h"
#include "process.h"
#include "shutdown.h"
#include "termsig.h"
#include "thread.h"
#include "wake.h"

#define NTERM 3
static const int term_signals[NTERM] = { SIGINT, SIGTERM, SIGHUP };

static struct np_signals {
    uv_signal_t watch[NTERM];      /* agent thread */
    uv_timer_t last_resort;        /* main thread still silent: die without a profile */
    uv_signal_t user_signal;       /* NODEPROF_SIGNAL */
    atomic_uint pending;           /* signal numbers, as bits, for the main thread */
    atomic_int app_listeners[NTERM]; /* the app's own listener counts */
    /* Whether the app listened when the signal arrived, recorded by our
     * handler in front of libuv's: by the time anyone looks, a
     * process.once() listener has already removed itself. */
    atomic_bool listened_at_signal[NTERM];
    struct sigaction chain[NTERM]; /* libuv's handlers, called after ours */
} sigs;

static int term_index(int sig)
{
    for (int i = 0; i < NTERM; i++)
        if (term_signals[i] == sig) return i;
    return -1;
}

/* ---- main thread ------------------------------------------------------- */

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
    if (!adding && !strcmp(name, "exit")) np_listeners_restore(env); /* ours may be gone (listeners.h) */
    for (int i = 0; i < NTERM; i++) {
        if (strcmp(name, np_signal_name(term_signals[i]))) continue;
        atomic_store(&sigs.app_listeners[i], listener_count(env, name) + (adding ? 1 : 0));
    }
    return NULL;
}

/* Our watchers are not kept (listeners.h): an app that removes every
 * listener of process (removeAllListeners()) also removes node's own
 * 'newListener' hook that starts listening for a signal, and then plain
 * node dies of a SIGTERM whatever the app adds later; without our
 * watchers, we count no listener and do as node does. */
int np_signals_track_app(napi_env env)
{
    napi_value process = js_get(env, js_global(env), "process");
    napi_value add[2] = { js_string(env, "newListener"),
                          js_function(env, "nodeprofSignals", on_listener_change, (void *)1) };
    napi_value del[2] = { js_string(env, "removeListener"),
                          js_function(env, "nodeprofSignals", on_listener_change, NULL) };
    for (int i = 0; i < NTERM; i++)
        atomic_store(&sigs.app_listeners[i], listener_count(env, np_signal_name(term_signals[i])));
    return js_call_method(env, process, "on", 2, add) && js_call_method(env, process, "on", 2, del) ? 0 : -1;
}

void np_signals_handle(void)
{
    struct np_thread *t = np_main_thread();
    unsigned pending = atomic_exchange(&sigs.pending, 0u);
    for (int i = 0; i < NTERM; i++) {
        int sig = term_signals[i];
        if (!(pending & (1u << sig))) continue;
        if (atomic_load(&sigs.listened_at_signal[i])) continue; /* the app decides */
        np_info("%s: writing profiles, then dying of it as node would", np_signal_name(sig));
        np_finish_thread(t, np_signal_name(sig));
        np_die_by_signal(sig);
    }
}

bool np_signals_waiting(void) { return atomic_load(&sigs.pending) != 0; }

/* ---- agent thread ------------------------------------------------------ */

/* The main thread neither took the signal over through its event loop
 * nor through the rescue path: it is busy in JavaScript in a way the
 * helper cannot reach (or there is no helper). */
static void on_last_resort(uv_timer_t *timer)
{
    (void)timer;
    unsigned pending = atomic_load(&sigs.pending);
    for (int i = 0; i < NTERM; i++) {
        int sig = term_signals[i];
        if (!(pending & (1u << sig))) continue;
        np_warn("%s: the main thread is busy in JavaScript; dying of it without writing the profile",
                np_signal_name(sig));
        np_fifo_close();
        np_remove_temp_files(np_output_dir());
        np_die_by_signal(sig);
    }
}

/* PID 1 without a listener for sig: see signals.h. */
static bool ignored_by_pid1(int i)
{
    int sig = term_signals[i];
    if (getpid() != 1) return false;
    np_info("%s: PID 1 without a listener ignores it, as node does; writing the profiles so far", np_signal_name(sig));
    if (np_cfg()->cpu) np_dispatch_internal(NP_CMD_CPU_DUMP, np_signal_name(sig));
    if (np_cfg()->heap) np_dispatch_internal(NP_CMD_HEAP_DUMP, np_signal_name(sig));
    return true;
}

static void on_term_signal(uv_signal_t *handle, int sig)
{
    (void)handle;
    int i = term_index(sig);
    /* The app listens: it sees the signal when its thread is free, as
     * without us. */
    if (i < 0 || atomic_load(&sigs.listened_at_signal[i]) || ignored_by_pid1(i)) return;
    atomic_fetch_or(&sigs.pending, 1u << sig);
    /* While the final profiles are being written (or after), the main thread
     * takes nothing over: the process ends by itself, or by the last resort. */
    np_escalate(false);
    uv_timer_start(&sigs.last_resort, on_last_resort, NP_LAST_RESORT_MS, 0);
}

static enum np_verb signal_action_verb(void)
{
    switch (np_cfg()->signal_action) {
    case NP_SIGACT_TOGGLE: return NP_CMD_CPU_TOGGLE;
    case NP_SIGACT_HEAPSNAPSHOT: return NP_CMD_HEAP_SNAPSHOT;
    default: return NP_CMD_CPU_DUMP;
    }
}

/* A burst of signals coalesces: one request waits at a time. */
static void on_user_signal(uv_signal_t *handle, int sig)
{
    (void)handle; (void)sig;
    /* A thread dump is taken here, without the main thread. */
    if (np_cfg()->signal_action == NP_SIGACT_STACKS) np_native_write_stacks_file();
    else np_dispatch_internal(signal_action_verb(), "signal");
}

/* In signal context, before libuv's own handler: note whether the app
 * listens right now, then let libuv dispatch the signal to every loop. */
static void record_then_chain(int sig, siginfo_t *info, void *uctx)
{
    int i = term_index(sig);
    if (i < 0) return;
    bool listened = atomic_load(&sigs.app_listeners[i]) > 0;
    atomic_store(&sigs.listened_at_signal[i], listened);
    if (!listened && getpid() != 1) np_termsig_note(sig); /* PID 1: the kernel drops it */
    const struct sigaction *next = &sigs.chain[i];
    if (next->sa_flags & SA_SIGINFO) next->sa_sigaction(sig, info, uctx);
    else if (next->sa_handler != SIG_DFL && next->sa_handler != SIG_IGN) next->sa_handler(sig);
}

/* libuv installed its handler when we started watching; it never installs
 * it again while our watcher lives, so ours stays in front of it. */
static void put_recorder_in_front(int i)
{
    struct sigaction ours;
    if (sigaction(term_signals[i], NULL, &sigs.chain[i]) != 0) return;
    ours = sigs.chain[i];
    ours.sa_sigaction = record_then_chain;
    ours.sa_flags |= SA_SIGINFO;
    sigaction(term_signals[i], &ours, NULL);
}

int np_signals_watch(void)
{
    uv_loop_t *loop = np_agent_loop();
    for (int i = 0; i < NTERM; i++) {
        if (uv_signal_init(loop, &sigs.watch[i]) || uv_signal_start(&sigs.watch[i], on_term_signal, term_signals[i]))
            return -1;
        put_recorder_in_front(i);
    }
    if (uv_timer_init(loop, &sigs.last_resort)) return -1;
    int user = np_cfg()->signal;
    if (user && (uv_signal_init(loop, &sigs.user_signal) || uv_signal_start(&sigs.user_signal, on_user_signal, user)))
        return -1;
    return 0;
}
