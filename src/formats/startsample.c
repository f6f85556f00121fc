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

/* The call frame of node `id` is our inspector call. */
static bool is_start_frame(const char *json, int64_t id)
{
    char head[64];
    snprintf(head, sizeof head, "{\"id\":%" PRId64 ",\"callFrame\":{\"functionName\":\"", id);
    const char *node = strstr(json, head);
    if (!node) return false;
    const char *name = node + strlen(head);
    return !strncmp(name, "dispatch\"", 9) || !strncmp(name, "post\"", 5);
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
    int64_t first, second, d0, d1, t0;
    const char *e1, *e2, *e3, *e4, *e5;
    if (!samples || !deltas || !start || samples > deltas) return 0;
    char *s0 = samples + 11, *dd = deltas + 14, *st = start + 12;
    if (!read_i64(s0, &first, &e1) || *e1 != ',' || !read_i64(e1 + 1, &second, &e2) ||
        !read_i64(dd, &d0, &e3) || *e3 != ',' || !read_i64(e3 + 1, &d1, &e4) || !read_i64(st, &t0, &e5) ||
        !is_start_frame(json, first))
        return 0;
    (void)second;
    char text[64];
    /* From the end backwards, so that earlier pointers stay valid. */
    snprintf(text, sizeof text, "0");
    size_t n = splice(json, *len, dd, (char *)e4, text);   /* d0,d1 -> 0 */
    n = splice(json, n, s0, (char *)e1 + 1, "");            /* drop the first sample */
    snprintf(text, sizeof text, "%" PRId64, t0 + d0 + d1);
    n = splice(json, n, st, (char *)e5, text);
    *len = n;
    return 1;
}
