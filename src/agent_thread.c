#include "agent_thread.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "control.h"
#include "common/log.h"
#include "common/outfile.h"
#include "native/crash.h"
#include "native/native.h"
#include "rescue.h"
#include "shutdown.h"

/* A terminating signal the app does not listen for: node alone would be
 * dead already. The main thread gets RESCUE_MS to take it over through its
 * event loop, then the rescue path runs it inside the busy JavaScript;
 * after LAST_RESORT_MS the process dies of the signal without a profile.
 * Under the 2 s that nodeprof promises, with room for a loaded machine's
 * late timers (measured: up to 450 ms late). */
#define TERM_RESCUE_MS 200
#define TERM_LAST_RESORT_MS 1200

static bool still_pending(int i)
{
    int sig = np_term_signals[i];
    if (!(atomic_load(&np_agent.pending_term) & (1u << sig))) return false;
    if (atomic_load(&np_agent.listened_at_signal[i])) {
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
        np_warn("%s: the main thread is busy in JavaScript; dying of it without writing the profile",
                np_signal_name(sig));
        np_control_close();
        np_remove_temp_files(np_agent.out_dir);
        np_die_by_signal(sig);
    }
}

/* Node as PID 1 of a namespace (a container's entrypoint) with no listener
 * for sig: the kernel drops a default-action signal sent to PID 1, so node
 * alone goes on running. So does the app under nodeprof; it gets the profile
 * so far on disk (as `cpu dump`), for the SIGKILL that usually follows. */
static bool ignored_by_pid1(int sig)
{
    int i = np_term_index(sig);
    if (getpid() != 1 || i < 0 || atomic_load(&np_agent.listened_at_signal[i])) return false;
    np_info("%s: PID 1 without a listener ignores it, as node does; writing the profiles so far", np_signal_name(sig));
    if (np_agent.cfg.cpu) np_control_submit_internal(NP_CMD_CPU_DUMP, np_signal_name(sig));
    if (np_agent.cfg.heap) np_control_submit_internal(NP_CMD_HEAP_DUMP, np_signal_name(sig));
    return true;
}

static void on_term_signal(uv_signal_t *handle, int sig)
{
    (void)handle;
    if (ignored_by_pid1(sig)) return;
    atomic_fetch_or(&np_agent.pending_term, 1u << sig);
    /* While the final profiles are being written (or after), the main thread
     * takes nothing over: the process ends by itself, or by the last resort. */
    if (np_wake_main()) uv_timer_start(&np_agent.term_deadline, on_term_rescue, TERM_RESCUE_MS, 0);
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
    if (np_agent.cfg.signal_action == NP_SIGACT_STACKS) { np_native_write_stacks_file(); return; } /* src/native */
    np_control_submit_internal(signal_action_verb(), "signal");
}

static void on_period(uv_timer_t *timer)
{
    (void)timer;
    np_control_submit_internal(NP_CMD_CPU_DUMP, "period");
    if (np_agent.cfg.heap) np_control_submit_internal(NP_CMD_HEAP_DUMP, "period");
}

static void on_wake(uv_async_t *handle)
{
    (void)handle;
    np_control_on_wake();
}

static void *agent_thread_main(void *arg)
{
    (void)arg;
    uv_run(&np_agent.loop, UV_RUN_DEFAULT);
    return NULL;
}

/* In signal context, before libuv's own handler: note whether the app
 * listens right now, then let libuv dispatch the signal to every loop. */
static void record_then_chain(int sig, siginfo_t *info, void *uctx)
{
    int i = np_term_index(sig);
    if (i < 0) return;
    atomic_store(&np_agent.listened_at_signal[i], atomic_load(&np_agent.app_listeners[i]) > 0);
    const struct sigaction *next = &np_agent.term_chain[i];
    if (next->sa_flags & SA_SIGINFO) next->sa_sigaction(sig, info, uctx);
    else if (next->sa_handler != SIG_DFL && next->sa_handler != SIG_IGN) next->sa_handler(sig);
}

/* libuv installed its handler when we started watching; it never installs
 * it again while our watcher lives, so ours stays in front of it. */
static void put_recorder_in_front(int i)
{
    struct sigaction ours;
    if (sigaction(np_term_signals[i], NULL, &np_agent.term_chain[i]) != 0) return;
    ours = np_agent.term_chain[i];
    ours.sa_sigaction = record_then_chain;
    ours.sa_flags |= SA_SIGINFO;
    sigaction(np_term_signals[i], &ours, NULL);
}

static int watch_signals(void)
{
    for (int i = 0; i < NP_NTERMSIG; i++) {
        if (uv_signal_init(&np_agent.loop, &np_agent.term_watch[i]) ||
            uv_signal_start(&np_agent.term_watch[i], on_term_signal, np_term_signals[i]))
            return -1;
        put_recorder_in_front(i);
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
    np_crash_load_unwinder_on(&np_agent.loop); /* src/native */
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
