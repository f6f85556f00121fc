#include "helper_start.h"

#include <stdlib.h>

#include "common/log.h"
#include "heapwatch.h"
#include "js.h"
#include "process.h"
#include "rescue.h"
#include "service.h"
#include "thread.h"
#include "wake.h"

/* `on`: the helper starts at the first event-loop turn at least this long
 * after the agent's init. A short script (a CLI that ends within it) never
 * pays for the helper's boot, which a process ending during it waits for
 * (bench/README.md); a process that goes busy for good later than this is
 * rescued. */
#define HELPER_DELAY_MS 50

/* The helper worker, and the heap watch that uses it. */
static void install(napi_env env)
{
    if (np_cfg()->heapsnapshot_near_limit > 0) np_heapwatch_init(env);
    np_rescue_install(env, np_service_run);
}

struct helper_timer {
    uv_timer_t timer;
    napi_env env; /* NULL once node tears the environment down */
};

static void timer_closed(uv_handle_t *h)
{
    free(h);
}

static void close_timer(void *arg)
{
    struct helper_timer *ht = arg;
    ht->env = NULL;
    uv_close((uv_handle_t *)&ht->timer, timer_closed);
}

/* A timer of the main loop: runs before the app's timers due in the same
 * turn (it was started first), so a timer that spins for good still finds
 * the helper created. Called from libuv, not JavaScript: a handle scope of
 * our own, as the CPU fold timer does. */
static void on_timer(uv_timer_t *timer)
{
    struct helper_timer *ht = (struct helper_timer *)timer;
    napi_env env = ht->env;
    napi_handle_scope scope;
    struct np_thread *main_thread = np_main_thread();
    if (!env || np_shutting_down() || !main_thread || main_thread->finished) return;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    install(env);
    js_clear_exception(env, "starting the helper worker");
    napi_close_handle_scope(env, scope);
}

static int start_later(napi_env env)
{
    uv_loop_t *loop = NULL;
    struct helper_timer *ht = calloc(1, sizeof *ht);
    if (!ht || napi_get_uv_event_loop(env, &loop) != napi_ok || !loop || uv_timer_init(loop, &ht->timer)) {
        free(ht);
        return -1;
    }
    ht->env = env;
    uv_unref((uv_handle_t *)&ht->timer); /* never keeps the app alive */
    uv_timer_start(&ht->timer, on_timer, HELPER_DELAY_MS, 0);
    napi_add_env_cleanup_hook(env, close_timer, ht);
    return 0;
}

void np_helper_schedule(napi_env env)
{
    int mode = np_cfg()->helper;
    if (mode == NP_HELPER_OFF) return;
    if (mode == NP_HELPER_EAGER || np_cfg()->heapsnapshot_near_limit > 0) {
        install(env);
        return;
    }
    if (start_later(env)) np_warn("no helper thread: commands wait while the main thread is busy");
}
