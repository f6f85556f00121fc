#include "agent_thread.h"

#include <signal.h>
#include <string.h>

#include "agent.h"
#include "control.h"
#include "log.h"
#include "outfile.h"
#include "rescue.h"
#include "shutdown.h"

/* A terminating signal the app does not listen for: node alone would be
 * dead already. The main thread gets RESCUE_MS to take it over through its
 * event loop, then the rescue path runs it inside the busy JavaScript;
 * after LAST_RESORT_MS the process dies of the signal without a profile.
 * Under the 2 s that nodeprof promises. */
#define TERM_RESCUE_MS 300
#define TERM_LAST_RESORT_MS 1800

static bool still_pending(int i)
{
    int sig = np_term_signals[i];
    if (!(atomic_load(&np_agent.pending_term) & (1u << sig))) return false;
    if (atomic_load(&np_agent.app_listeners[i]) > 0) {
        /* The app listens: it sees the signal when its thread is free, as
         * without us. */
        atomic_fetch_and(&np_agent.pending_term, ~(1u << sig));
        return false;
    }
    return true;
}

static void on_term_rescue(uv_timer_t *timer)
{
    (void)timer;
    for (int i = 0; i < NP_NTERMSIG; i++)
        if (still_pending(i)) {
            np_rescue_request();
            return;
        }
}

static void on_term_last_resort(uv_timer_t *timer)
{
    (void)timer;
    for (int i = 0; i < NP_NTERMSIG; i++) {
        if (!still_pending(i)) continue;
        int sig = np_term_signals[i];
        np_warn("%s: the main thread is busy and could not write the profile in time; dying of it",
                np_signal_name(sig));
        np_control_close();
        np_remove_temp_files(np_agent.out_dir);
        np_die_by_signal(sig);
    }
}

static void on_term_signal(uv_signal_t *handle, int sig)
{
    (void)handle;
    atomic_fetch_or(&np_agent.pending_term, 1u << sig);
    if (napi_call_threadsafe_function(np_agent.main_wake, NULL, napi_tsfn_nonblocking) != napi_ok &&
        atomic_load(&np_agent.app_listeners[np_term_index(sig)]) == 0) {
        /* The main thread is tearing down: nothing will take it over. */
        np_control_close();
        np_die_by_signal(sig);
    }
    uv_timer_start(&np_agent.term_deadline, on_term_rescue, TERM_RESCUE_MS, 0);
    uv_timer_start(&np_agent.term_last_resort, on_term_last_resort, TERM_LAST_RESORT_MS, 0);
}

static enum np_verb signal_action_verb(void)
{
    switch (np_agent.cfg.signal_action) {
    case NP_SIGACT_TOGGLE: return NP_CMD_CPU_TOGGLE;
    case NP_SIGACT_HEAPSNAPSHOT: return NP_CMD_HEAP_SNAPSHOT;
    default: return NP_CMD_CPU_DUMP;
    }
}

/* A burst of signals coalesces: one request waits at a time. */
static void on_user_signal(uv_signal_t *handle, int sig)
{
    (void)handle; (void)sig;
    np_control_submit_internal(signal_action_verb(), "signal");
}

static void on_period(uv_timer_t *timer)
{
    (void)timer;
    np_control_submit_internal(NP_CMD_CPU_DUMP, "period");
    if (np_agent.cfg.heap) np_control_submit_internal(NP_CMD_HEAP_DUMP, "period");
}

/* Short-lived processes (build tools, npm) end before this and never pay
 * for the helper worker. */
#define HELPER_DELAY_MS 300

static void on_helper_start(uv_timer_t *timer)
{
    (void)timer;
    atomic_store(&np_agent.helper_wanted, true);
    napi_call_threadsafe_function(np_agent.main_wake, NULL, napi_tsfn_nonblocking);
}

static void on_wake(uv_async_t *handle)
{
    if (atomic_load(&np_agent.stop_thread)) uv_stop(handle->loop);
    np_control_on_wake();
}

static void *agent_thread_main(void *arg)
{
    (void)arg;
    uv_run(&np_agent.loop, UV_RUN_DEFAULT);
    return NULL;
}

static int watch_signals(void)
{
    for (int i = 0; i < NP_NTERMSIG; i++) {
        if (uv_signal_init(&np_agent.loop, &np_agent.term_watch[i]) ||
            uv_signal_start(&np_agent.term_watch[i], on_term_signal, np_term_signals[i]))
            return -1;
    }
    if (uv_timer_init(&np_agent.loop, &np_agent.term_deadline) ||
        uv_timer_init(&np_agent.loop, &np_agent.term_last_resort))
        return -1;
    if (np_agent.cfg.signal &&
        (uv_signal_init(&np_agent.loop, &np_agent.user_signal) ||
         uv_signal_start(&np_agent.user_signal, on_user_signal, np_agent.cfg.signal)))
        return -1;
    return 0;
}

static int start_period(void)
{
    long ms = np_agent.cfg.period_ms;
    if (ms <= 0) return 0;
    return uv_timer_init(&np_agent.loop, &np_agent.period) ||
           uv_timer_start(&np_agent.period, on_period, (uint64_t)ms, (uint64_t)ms);
}

int np_agent_thread_start(void)
{
    if (uv_loop_init(&np_agent.loop) ||
        uv_async_init(&np_agent.loop, &np_agent.thread_wake, on_wake) ||
        watch_signals() || start_period()) {
        np_err("cannot set up the agent thread's event loop");
        return -1;
    }
    np_control_open();
    np_rescue_start_heap_watch();
    if (np_agent.cfg.helper && (uv_timer_init(&np_agent.loop, &np_agent.helper_start) ||
                                uv_timer_start(&np_agent.helper_start, on_helper_start, HELPER_DELAY_MS, 0)))
        np_warn("cannot schedule the helper thread");
    /* Our thread takes no signals itself: the kernel delivers them to the
     * app's threads, and libuv's handler forwards them to every loop. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&np_agent.thread, NULL, agent_thread_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        np_err("cannot start the agent thread: %s", strerror(rc));
        return -1;
    }
    pthread_setname_np(np_agent.thread, "nodeprof");
    np_agent.thread_started = true;
    return 0;
}

void np_agent_thread_wake(void)
{
    if (np_agent.thread_started) uv_async_send(&np_agent.thread_wake);
}
