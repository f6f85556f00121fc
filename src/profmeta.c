#include "profmeta.h"

#include <time.h>

#include "process.h"

/* A profile that ended further from the monotonic now than this was not
 * taken on CLOCK_MONOTONIC (or long ago): it is placed as ending now. */
#define NEAR_NOW_NS (3600LL * 1000000000LL)

static __thread long next_heap_interval;

void np_profmeta_heap_interval(long bytes) { next_heap_interval = bytes; }
long np_profmeta_current_heap_interval(void) { return next_heap_interval; }

static int64_t ns_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void cpu_times(struct np_profile *p)
{
    int64_t wall = ns_of(CLOCK_REALTIME), mono = ns_of(CLOCK_MONOTONIC);
    int64_t start = p->start_us * 1000, end = p->end_us * 1000;
    if (p->start_us < 0 || p->end_us < p->start_us || p->end_us > INT64_MAX / 1000) return;
    if (end > mono - NEAR_NOW_NS && end < mono + NEAR_NOW_NS) p->wall_start_ns = start + (wall - mono);
    else p->wall_start_ns = wall - (end - start);
}

static void heap_times(struct np_profile *p, double span_start_ms)
{
    int64_t wall = ns_of(CLOCK_REALTIME);
    int64_t start = span_start_ms > 0 ? (int64_t)(span_start_ms * 1e6) : wall;
    if (start > wall) start = wall;
    p->wall_start_ns = start;
    p->duration_ns = wall - start;
}

void np_profmeta_fill(struct np_profile *p, double span_start_ms, long heap_interval)
{
    const struct np_config *cfg = np_cfg();
    if (p->kind == NP_PROFILE_CPU) {
        cpu_times(p);
    } else {
        heap_times(p, span_start_ms);
        p->heap_interval = heap_interval > 0 ? heap_interval : cfg->heap_interval;
    }
    p->labels = cfg->labels[0] ? cfg->labels : NULL;
}
