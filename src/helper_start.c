#include "helper_start.h"

#include "agent.h"
#include "common/log.h"
#include "js.h"
#include "rescue.h"

static napi_threadsafe_function first_turn;

static void start_now(napi_env env, napi_value js_cb, void *context, void *data)
{
    (void)js_cb; (void)context; (void)data;
    napi_threadsafe_function self = first_turn;
    first_turn = NULL;
    if (self) napi_release_threadsafe_function(self, napi_tsfn_release);
    /* Not after the exit listener: node is tearing the environment down. */
    if (!env || atomic_load(&np_agent.shutting_down) || !np_agent.main || np_agent.main->finished) return;
    np_rescue_install(env);
    js_clear_exception(env, "starting the helper worker");
}

/* Called at init, run by node at the loop's first turn: a thread-safe
 * function runs its calls from a uv_async handle, inside a callback scope,
 * so the process.nextTick calls that new Worker() makes are run after it,
 * as after any callback. Unref'd: a loop with nothing else to do ends. */
static int at_first_turn(napi_env env)
{
    napi_value name = js_string(env, "nodeprof-helper-start");
    if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, start_now, &first_turn) !=
        napi_ok)
        return -1;
    napi_unref_threadsafe_function(env, first_turn);
    if (napi_call_threadsafe_function(first_turn, NULL, napi_tsfn_nonblocking) != napi_ok) {
        napi_release_threadsafe_function(first_turn, napi_tsfn_release);
        first_turn = NULL;
        return -1;
    }
    return 0;
}

void np_helper_schedule(napi_env env)
{
    int mode = np_agent.cfg.helper;
    if (mode == NP_HELPER_OFF) return;
    if (mode == NP_HELPER_EAGER || np_agent.cfg.heapsnapshot_near_limit > 0) {
        np_rescue_install(env);
        return;
    }
    if (at_first_turn(env)) np_warn("no helper thread: commands wait while the main thread is busy");
}
