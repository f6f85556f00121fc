#include "boot.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define MAX_STEPS 24

struct boot_step {
    const char *step;
    double wall, cpu;
};

static struct {
    double wall0, cpu0; /* the previous mark */
    int n;
    struct boot_step steps[MAX_STEPS];
} boot;

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

void np_boot_mark(const char *step)
{
    if (gettid() != getpid()) return; /* the main thread's start-up only */
    double wall = clock_ms(CLOCK_MONOTONIC), cpu = clock_ms(CLOCK_THREAD_CPUTIME_ID);
    if (step && boot.n < MAX_STEPS && boot.wall0 > 0)
        boot.steps[boot.n++] = (struct boot_step){ step, wall - boot.wall0, cpu - boot.cpu0 };
    boot.wall0 = wall;
    boot.cpu0 = cpu;
}

void np_boot_begin(double wall_ms, double cpu_ms)
{
    boot.wall0 = wall_ms;
    boot.cpu0 = cpu_ms;
}

void np_boot_report(const char *what)
{
    if (boot.n == 0 || gettid() != getpid()) return;
    char line[2048];
    int len = 0;
    double wall = 0, cpu = 0;
    for (int i = 0; i < boot.n && len < (int)sizeof line; i++) {
        len += snprintf(line + len, sizeof line - (size_t)len, "%s%s %.2f/%.2f", i ? ", " : "",
                        boot.steps[i].step, boot.steps[i].wall, boot.steps[i].cpu);
        if (i > 0) { wall += boot.steps[i].wall; cpu += boot.steps[i].cpu; }
    }
    np_debug("%s (ms wall/CPU of the main thread): %s; ours %.2f/%.2f", what, line, wall, cpu);
    boot.n = 0;
}
