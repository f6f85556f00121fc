#include "common/clock.h"

#include <time.h>

static double ms_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

double np_wall_ms(void) { return ms_of(CLOCK_REALTIME); }
double np_thread_cpu_ms(void) { return ms_of(CLOCK_THREAD_CPUTIME_ID); }
