#include "heapwatch.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "dispatch.h"
#include "js.h"
#include "process.h"
#include "rescue.h"
#include "wake.h"

#define HEAP_POLL_MS 50

static struct np_heapwatch {
    double heap_limit;           /* bytes: the old generation's limit */
    atomic_int taken;            /* snapshots taken so far */
    uv_timer_t timer;            /* agent thread */
} watch;

/* The value of a "--flag=N" (MiB) in node's own arguments or NODE_OPTIONS;
 * the last one wins, as in node. 0 if absent. */
static double flag_mb(napi_env env, const char *flag)
{
    napi_value process = js_get(env, js_global(env), "process");
    napi_value args = js_call_method(env, js_get(env, process, "execArgv"), "join", 0, NULL);
    size_t len, flen = strlen(flag);
    char *argv = args ? js_to_utf8(env, args, &len) : NULL;
    const char *sources[2] = { getenv("NODE_OPTIONS"), argv };
    double mb = 0;
    for (int i = 0; i < 2; i++)
        for (const char *hit = sources[i]; hit && (hit = strstr(hit, flag)); hit += flen)
            if (hit[flen] == '=') mb = strtod(hit + flen + 1, NULL);
    free(argv);
    return mb;
}

/* The old generation's limit, where node dies of "heap out of memory".
 * Exact when --max-old-space-size is given (the usual case in containers).
 * Otherwise heap_size_limit less the young generation, whose size V8 does
 * not expose: three semi-spaces of 16 MiB (node 20 and 22; larger on 24,
 * which makes the thresholds a little late there). */
static void read_heap_limit(napi_env env)
{
    double old_mb = flag_mb(env, "--max-old-space-size");
    if (old_mb > 0) {
        watch.heap_limit = old_mb * 1048576;
        return;
    }
    double limit = 0, semi = flag_mb(env, "--max-semi-space-size");
    napi_value stats = js_call_method(env, js_builtin(env, "node:v8"), "getHeapStatistics", 0, NULL);
    js_to_double(env, js_get(env, stats, "heap_size_limit"), &limit);
    double young = 3 * (semi > 0 ? semi : 16) * 1048576;
    watch.heap_limit = limit > 2 * young ? limit - young : limit;
}

void np_heapwatch_init(napi_env env)
{
    read_heap_limit(env);
}

/* The k-th snapshot (k = 0, 1, ...) when the heap passes 1 - 0.25 / 2^k of
 * its limit. On the helper's thread. */
static void check_heap_used(double used)
{
    int taken = atomic_load(&watch.taken);
    if (watch.heap_limit <= 0 || taken >= np_cfg()->heapsnapshot_near_limit) return;
    double threshold = watch.heap_limit * (1.0 - 0.25 / (double)(1 << taken));
    np_debug("heap %.1f MB, next snapshot at %.1f MB", used / 1048576, threshold / 1048576);
    if (used < threshold) return;
    atomic_store(&watch.taken, taken + 1);
    np_info("heap at %.0f MB of %.0f MB: taking a heap snapshot", used / 1048576, watch.heap_limit / 1048576);
    np_dispatch_internal(NP_CMD_HEAP_SNAPSHOT, "near-limit");
    /* Now: a heap this close to its limit may not leave the loop a turn. */
    np_rescue_request();
}

static void on_poll(uv_timer_t *timer)
{
    if (np_shutting_down() || atomic_load(&watch.taken) >= np_cfg()->heapsnapshot_near_limit) {
        uv_timer_stop(timer);
        return;
    }
    if (np_rescue_ready()) np_rescue_read_heap(check_heap_used);
}

void np_heapwatch_start(void)
{
    if (np_cfg()->heapsnapshot_near_limit <= 0 || watch.heap_limit <= 0) return;
    uv_timer_init(np_agent_loop(), &watch.timer);
    uv_timer_start(&watch.timer, on_poll, HEAP_POLL_MS, HEAP_POLL_MS);
}
