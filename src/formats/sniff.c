#include "formats/sniff.h"

#include <string.h>

/* How far into the file a trace's "ph" key is looked for. */
#define LOOK 4096

static size_t skip_space(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
    return i;
}

/* The first key of the object at s[i] ('{'), if it has no escapes;
 * *klen = 0 if there is none. */
static const char *first_key(const char *s, size_t i, size_t len, size_t *klen)
{
    *klen = 0;
    i = skip_space(s, i + 1, len);
    if (i >= len || s[i] != '"') return NULL;
    const char *key = s + i + 1;
    const char *close = memchr(key, '"', len - i - 1);
    if (!close) return NULL;
    *klen = (size_t)(close - key);
    return key;
}

static int key_is(const char *key, size_t klen, const char *name)
{
    return key && klen == strlen(name) && !memcmp(key, name, klen);
}

static int mentions(const char *s, size_t len, const char *what)
{
    return memmem(s, len < LOOK ? len : LOOK, what, strlen(what)) != NULL;
}

static const char *sniff_object(const char *s, size_t i, size_t len)
{
    size_t klen;
    const char *key = first_key(s, i, len, &klen);
    if (key_is(key, klen, "snapshot"))
        return "a V8 heap snapshot, not a profile: read it with `nodeprof heap summary`, or open it in Chrome "
               "DevTools (Memory tab)";
    if (key_is(key, klen, "traceEvents"))
        return "a trace-events file, not a profile: open it in https://ui.perfetto.dev or chrome://tracing";
    if (key_is(key, klen, "$schema") && mentions(s, len, "speedscope"))
        return "a speedscope file, not a profile: open it in https://www.speedscope.app";
    return NULL;
}

const char *np_sniff_not_profile(const char *s, size_t len)
{
    if (len >= 2 && (unsigned char)s[0] == 0x1f && (unsigned char)s[1] == 0x8b)
        return "gzip-compressed (a pprof profile?), not a .cpuprofile or .heapprofile: read a pprof "
               "profile with `go tool pprof`";
    size_t i = len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3) ? 3 : 0; /* a UTF-8 BOM */
    i = skip_space(s, i, len);
    if (i == len) return "an empty file: no profile in it";
    if (s[i] == '{') return sniff_object(s, i, len);
    if (s[i] == '[' && mentions(s + i, len - i, "\"ph\""))
        return "a trace-events file, not a profile: open it in https://ui.perfetto.dev or chrome://tracing";
    if (s[i] == '<') return "an HTML or XML file, not a profile (a nodeprof flame graph opens in a browser)";
    return "not a .cpuprofile or .heapprofile (those are JSON objects)";
}
