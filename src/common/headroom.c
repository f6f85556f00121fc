#include "common/headroom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A number from a one-line file ("max" and absent files give -1). */
static double read_number(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[64];
    double v = -1;
    if (!f) return -1;
    if (fgets(buf, sizeof buf, f) && strncmp(buf, "max", 3)) v = strtod(buf, NULL);
    fclose(f);
    return v;
}

static double mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    double kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* cgroup v2 or v1 limit minus usage, -1 if there is no limit. Values near
 * 2^63 mean "no limit" in v1. */
static double cgroup_room(void)
{
    double limit = read_number("/sys/fs/cgroup/memory.max");
    double used = read_number("/sys/fs/cgroup/memory.current");
    if (limit < 0) {
        limit = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
        used = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
    }
    if (limit < 0 || limit > 1e18 || used < 0) return -1;
    return limit > used ? limit - used : 0;
}

double np_headroom_bytes(void)
{
    double avail = mem_available(), room = cgroup_room();
    if (avail < 0) return room;
    if (room < 0) return avail;
    return avail < room ? avail : room;
}

int np_headroom_check(double heap_used, long factor, char *why, size_t whylen)
{
    double need = heap_used * (double)factor;
    double room = np_headroom_bytes();
    if (factor == 0 || room < 0 || need <= room) return 0;
    snprintf(why, whylen,
             "not enough memory for a heap snapshot: it needs about %.0f MB (%.0fx the %.0f MB heap), "
             "%.0f MB available; `heap snapshot force` takes it anyway",
             need / 1048576, (double)factor, heap_used / 1048576, room / 1048576);
    return -1;
}
