#include "formats/startsample.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Finds `key` (with its quotes and colon) at the top level's tail: the
 * keys after "nodes", whose values hold no strings. */
static char *find_key(char *json, size_t len, const char *key)
{
    const char *nodes_end = NULL;
    /* the last occurrence: "nodes" comes first, its strings cannot hold an
     * unescaped quote, so `"samples":[` can only be the real key */
    for (char *p = json; (p = memmem(p, len - (size_t)(p - json), key, strlen(key))); p++) nodes_end = p;
    return (char *)nodes_end;
}

static bool read_i64(const char *p, int64_t *out, const char **end)
{
    char *e;
    long long v = strtoll(p, &e, 10);
    if (e == p) return false;
    *out = v;
    *end = e;
    return true;
}

#define MAX_DROPPED 4
#define LOADER_FILE "/nodeprof-loader.cjs\""
#define LOADER_DATA "\"data:text/javascript;base64,Ly8gbm9kZXByb2YgbG9hZGVy"

/* Node `id`'s call frame is our inspector call (first: the first sample)
 * or, after it, the rest of our start-up that a tick may catch: node's
 * process.dlopen returning into the loader, the loader itself. */
static bool is_our_frame(const char *json, int64_t id, bool first)
{
    char head[64];
    snprintf(head, sizeof head, "{\"id\":%" PRId64 ",\"callFrame\":{\"functionName\":\"", id);
    const char *node = strstr(json, head);
    if (!node) return false;
    const char *name = node + strlen(head);
    if (!strncmp(name, "dispatch\"", 9) || !strncmp(name, "post\"", 5)) return true;
    if (first) return false;
    if (!strncmp(name, "dlopen\"", 7)) return true;
    /* the frame's url: the next "url": after the name (a string cannot
     * hold an unescaped quote) */
    const char *url = strstr(name, "\"url\":");
    const char *end = url ? strstr(url + 6, "\",\"") : NULL;
    if (!url || !end) return false;
    size_t n = strlen(LOADER_FILE);
    return ((size_t)(end + 1 - url) >= n && !strncmp(end + 1 - n, LOADER_FILE, n)) ||
           !strncmp(url + 6, LOADER_DATA, strlen(LOADER_DATA));
}

/* Replaces [from, to) with text; returns the new length. */
static size_t splice(char *json, size_t len, char *from, char *to, const char *text)
{
    size_t n = strlen(text), tail = len - (size_t)(to - json);
    memmove(from + n, to, tail + 1);
    memcpy(from, text, n);
    return len - (size_t)(to - from) + n;
}

int np_drop_start_sample(char *json, size_t *len)
{
    char *samples = find_key(json, *len, "\"samples\":[");
    char *deltas = find_key(json, *len, "\"timeDeltas\":[");
    char *start = find_key(json, *len, "\"startTime\":");
    if (!samples || !deltas || !start || samples > deltas) return 0;
    char *s0 = samples + 11, *d0 = deltas + 14, *st = start + 12;
    const char *sp = s0, *dp = d0, *e;
    int64_t id, d, t0, moved = 0;
    int dropped = 0;
    if (!read_i64(st, &t0, &e)) return 0;
    char *st_end = (char *)e;
    /* Drop samples while they are ours and one of the app's follows. */
    while (dropped < MAX_DROPPED && read_i64(sp, &id, &e) && *e == ',' && is_our_frame(json, id, dropped == 0)) {
        const char *next;
        if (!read_i64(dp, &d, &next) || *next != ',') break;
        sp = e + 1;
        dp = next + 1;
        moved += d;
        dropped++;
    }
    /* the delta of the first sample kept moves into startTime too */
    if (dropped == 0 || !read_i64(dp, &d, &e)) return 0;
    moved += d;
    char text[32];
    /* From the end backwards, so that earlier pointers stay valid. */
    size_t n = splice(json, *len, d0, (char *)e, "0");
    n = splice(json, n, s0, (char *)sp, "");
    snprintf(text, sizeof text, "%" PRId64, t0 + moved);
    n = splice(json, n, st, st_end, text);
    *len = n;
    return dropped;
}
