#include "agent_thread.h"

#include <signal.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "shutdown.h"

/* How long the main thread has to take over a terminating signal before we
 * conclude it is stuck in synchronous JavaScript. Node alone would already
 * be dead, so this is short; the brief's bound is 2 s. */
#define NP_TERM_DEADLINE_MS 1000

static void on_deadline(uv_timer_t *timer)
{
    (void)timer;
    for (int i = 0; i < NP_NTERMSIG; i++) {
        int sig = np_term_signals[i];
        unsigned bit = 1u << sig;
        if (!(atomic_load(&np_agent.pending_term) & bit)) continue;
        if (atomic_load(&np_agent.app_listeners[i]) > 0) {
            /* The app listens: it will see the signal when its thread is
             * free again, exactly as without us. */
            atomic_fetch_and(&np_agent.pending_term, ~bit);
            continue;
        }
        np_warn("%s: the main thread is busy in JavaScript; dying of it without writing the profile",
                np_signal_name(sig));
        np_die_by_signal(sig);
    }
}

static void on_term_signal(uv_signal_t *handle, int sig)
{
    (void)handle;
    atomic_fetch_or(&np_agent.pending_term, 1u << sig);
    if (napi_call_threadsafe_function(np_agent.main_wake, NULL, napi_tsfn_nonblocking) != napi_ok) {
        /* The main thread is shutting down: nothing will take the signal over. */
        if (atomic_load(&np_agent.app_listeners[np_term_index(sig)]) == 0) np_die_by_signal(sig);
    }
    uv_timer_start(&np_agent.term_deadline, on_deadline, NP_TERM_DEADLINE_MS, 0);
}

static void on_wake(uv_async_t *handle)
{
    if (atomic_load(&np_agent.stop_thread)) uv_stop(handle->loop);
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
    return uv_timer_init(&np_agent.loop, &np_agent.term_deadline);
}

int np_agent_thread_start(void)
{
    if (uv_loop_init(&np_agent.loop) ||
        uv_async_init(&np_agent.loop, &np_agent.thread_wake, on_wake) ||
        watch_signals()) {
        np_err("cannot set up the agent thread's event loop");
        return -1;
    }
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
