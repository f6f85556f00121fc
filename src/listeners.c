#include "listeners.h"

#include <stdbool.h>
#include <string.h>

#include "js.h"

static struct np_listeners {
    struct { char event[16]; napi_ref fn; } kept[NP_KEPT_MAX];
    int n;
    bool tick_queued; /* a restore on the next tick is queued */
} kept_listeners;

static napi_value process_of(napi_env env)
{
    return js_get(env, js_global(env), "process");
}

static napi_value prepend(napi_env env, napi_value process, const char *event, napi_value fn)
{
    napi_value args[2] = { js_string(env, event), fn };
    return js_call_method(env, process, "prependListener", 2, args);
}

/* Whether fn is among event's listeners. */
static bool listening(napi_env env, napi_value process, const char *event, napi_value fn)
{
    napi_value name = js_string(env, event), list = js_call_method(env, process, "listeners", 1, &name);
    napi_value found = list ? js_call_method(env, list, "includes", 1, &fn) : NULL;
    bool yes = true; /* cannot tell: leave it */
    if (found) napi_get_value_bool(env, found, &yes);
    return yes;
}

static void restore_now(napi_env env, napi_value process)
{
    for (int i = 0; i < kept_listeners.n; i++) {
        napi_value fn;
        if (napi_get_reference_value(env, kept_listeners.kept[i].fn, &fn) != napi_ok || !fn) continue;
        if (!listening(env, process, kept_listeners.kept[i].event, fn)) prepend(env, process, kept_listeners.kept[i].event, fn);
    }
}

/* Only puts back: queueing again from here would never let the tick
 * queue drain. */
static napi_value on_tick(napi_env env, napi_callback_info info)
{
    (void)info;
    kept_listeners.tick_queued = false;
    napi_value process = process_of(env);
    if (process) restore_now(env, process);
    return NULL;
}

void np_listeners_restore(napi_env env)
{
    napi_value process = process_of(env);
    if (!process) return;
    restore_now(env, process);
    if (kept_listeners.tick_queued) return;
    napi_value tick = js_function(env, "nodeprofListeners", on_tick, NULL);
    kept_listeners.tick_queued = js_call_method(env, process, "nextTick", 1, &tick) != NULL;
}

int np_listeners_keep(napi_env env, const char *event, napi_value fn)
{
    napi_value process = process_of(env);
    if (kept_listeners.n == NP_KEPT_MAX || strlen(event) >= sizeof kept_listeners.kept[0].event || !process ||
        !prepend(env, process, event, fn))
        return -1;
    strcpy(kept_listeners.kept[kept_listeners.n].event, event);
    if (napi_create_reference(env, fn, 1, &kept_listeners.kept[kept_listeners.n].fn) != napi_ok) return -1;
    kept_listeners.n++;
    return 0;
}
