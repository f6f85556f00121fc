#include "agent_thread.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "common/log.h"
#include "dispatch.h"
#include "escalate.h"
#include "fifo.h"
#include "heapwatch.h"
#include "native/crash.h"
#include "native/native.h"
#include "http.h"
#include "process.h"
#include "service.h"
#include "signals.h"
#include "wake.h"

static struct np_agent_thread {
    pthread_t thread;
    uv_timer_t period;           /* NODEPROF_PERIOD */
} agent;

static void on_period(uv_timer_t *timer)
{
    (void)timer;
    np_dispatch_internal(NP_CMD_CPU_DUMP, "period");
    if (np_cfg()->heap) np_dispatch_internal(NP_CMD_HEAP_DUMP, "period");
}

static int start_period(void)
{
    long ms = np_cfg()->period_ms;
    if (ms <= 0) return 0;
    return uv_timer_init(np_agent_loop(), &agent.period) ||
           uv_timer_start(&agent.period, on_period, (uint64_t)ms, (uint64_t)ms);
}

/* Woken (wake.h): a timer to arm, replies to send. */
static void on_wake(void)
{
    np_escalate_on_agent_wake();
    np_dispatch_send_replies();
}

static void *agent_thread_main(void *arg)
{
    (void)arg;
    np_crash_on_own_thread();
    uv_run(np_agent_loop(), UV_RUN_DEFAULT);
    return NULL;
}

int np_agent_thread_start(void)
{
    if (np_agent_loop_init(on_wake) || np_escalate_init(np_service_waiting) || np_signals_watch() ||
        start_period()) {
        np_err("cannot set up the agent thread's event loop");
        return -1;
    }
    /* Native stacks are answered on the agent thread itself. */
    np_dispatch_set_agent_answer(np_native_take);
    np_fifo_open((struct np_fifo_sink){ np_dispatch_line, np_dispatch_reject });
    np_heapwatch_start();
    np_crash_load_unwinder_on(np_agent_loop());
    np_http_start();
    /* Our thread takes no signals itself: the kernel delivers them to the
     * app's threads, and libuv's handler forwards them to every loop. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&agent.thread, NULL, agent_thread_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        np_err("cannot start the agent thread: %s", strerror(rc));
        return -1;
    }
    pthread_setname_np(agent.thread, "nodeprof");
    return 0;
}
