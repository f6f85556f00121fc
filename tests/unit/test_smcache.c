/* The source-map cache (formats/smcache.h): a map is read once while its
 * files stay as they were, read again when the script or the map file is
 * replaced, scripts without a map and broken maps are remembered (their
 * reason told once), the budget evicts the least recently used entries but
 * never one the remap under way holds, and a profile remapped through the
 * cache twice comes out as it does without one. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "formats/formats.h"
#include "formats/profile.h"
#include "formats/remap.h"
#include "formats/smcache.h"
#include "formats/sourcemap.h"

/* A tsc map of one line: generated line 1 col 0 -> src/a.ts line 3 col 0. */
static const char MAP_A[] = "{\"version\":3,\"sources\":[\"src/a.ts\"],\"names\":[],\"mappings\":\"AAEA\"}";
/* The same position -> line 7 (a new build). */
static const char MAP_B[] = "{\"version\":3,\"sources\":[\"src/a.ts\"],\"names\":[],\"mappings\":\"AAMA\"}";

static char dir[] = "/tmp/np-unit-smcache-XXXXXX";

static void write_text(const char *name, const char *text, long mtime)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
    /* Distinct times, however fast the test runs. */
    struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };
    CHECK(utimensat(AT_FDCWD, path, times, 0) == 0, "utimensat: %s", strerror(errno));
}

static void url_of(const char *name, char *out, size_t len)
{
    snprintf(out, len, "file://%s/%s", dir, name);
}

static uint32_t line_of(const struct np_smscript *s)
{
    struct np_sm_origin o;
    return s && s->map && np_sourcemap_lookup(s->map, 0, 0, &o) == 0 ? o.line + 1 : 0;
}

static int get(struct np_smcache *c, const char *name, struct np_smscript **s, char *why, size_t len)
{
    char url[400];
    url_of(name, url, sizeof url);
    return np_smcache_get(c, url, s, why, len);
}

static void test_freshness(void)
{
    struct np_smcache *c = np_smcache_new((size_t)64 << 20);
    struct np_smscript *s;
    char why[600];
    write_text("a.js", "f()\n//# sourceMappingURL=a.js.map\n", 1000);
    write_text("a.js.map", MAP_A, 1000);
    write_text("plain.js", "f()\n", 1000);
    write_text("bad.js", "f()\n//# sourceMappingURL=bad.js.map\n", 1000);
    write_text("bad.js.map", "{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"A!\"}", 1000);

    np_smcache_begin(c);
    CHECK(get(c, "a.js", &s, why, sizeof why) == NP_LOCATE_FOUND && line_of(s) == 3, "a.js: line %u", line_of(s));
    CHECK(get(c, "plain.js", &s, why, sizeof why) == NP_LOCATE_NONE && s == NULL, "plain.js has no map");
    CHECK(get(c, "bad.js", &s, why, sizeof why) == NP_LOCATE_FAILED && why[0], "bad.js: a reason");
    CHECK(np_smcache_get(c, "node:internal/timers", &s, why, sizeof why) == NP_LOCATE_NONE, "node: is no file");
    np_smcache_end(c);
    struct np_smcache_stats st = np_smcache_stats(c);
    CHECK(st.entries == 3 && st.reads == 3 && st.hits == 0, "%zu entries, %zu reads, %zu hits", st.entries, st.reads,
          st.hits);

    /* Unchanged: all from the cache, the broken map's reason not told again. */
    np_smcache_begin(c);
    CHECK(get(c, "a.js", &s, why, sizeof why) == NP_LOCATE_FOUND && line_of(s) == 3, "a.js again");
    CHECK(get(c, "plain.js", &s, why, sizeof why) == NP_LOCATE_NONE, "plain.js again");
    CHECK(get(c, "bad.js", &s, why, sizeof why) == NP_LOCATE_FAILED && !why[0], "bad.js remembered: '%s'", why);
    np_smcache_end(c);
    st = np_smcache_stats(c);
    CHECK(st.reads == 3 && st.hits == 3, "%zu reads, %zu hits", st.reads, st.hits);

    /* A new map beside the same script (a deploy): read again. */
    write_text("a.js.map", MAP_B, 2000);
    np_smcache_begin(c);
    CHECK(get(c, "a.js", &s, why, sizeof why) == NP_LOCATE_FOUND && line_of(s) == 7, "new map: line %u", line_of(s));
    np_smcache_end(c);
    /* A new script naming no map any more. */
    write_text("a.js", "g()\n", 3000);
    np_smcache_begin(c);
    CHECK(get(c, "a.js", &s, why, sizeof why) == NP_LOCATE_NONE, "the new script has no map");
    np_smcache_end(c);
    /* A script that is gone is not kept, nor what it was. */
    char path[300];
    snprintf(path, sizeof path, "%s/plain.js", dir);
    unlink(path);
    np_smcache_begin(c);
    CHECK(get(c, "plain.js", &s, why, sizeof why) == NP_LOCATE_NONE, "gone");
    np_smcache_end(c);
    st = np_smcache_stats(c);
    CHECK(st.reads == 5 && st.entries == 2, "%zu reads, %zu entries", st.reads, st.entries);
    np_smcache_free(c);
}

static void test_budget(void)
{
    struct np_smcache *c = np_smcache_new(1); /* everything is over budget */
    struct np_smscript *s, *held;
    char why[600];
    write_text("a.js", "f()\n//# sourceMappingURL=a.js.map\n", 1000);
    write_text("a.js.map", MAP_A, 1000);
    write_text("b.js", "f()\n//# sourceMappingURL=b.js.map\n", 1000);
    write_text("b.js.map", MAP_A, 1000);
    np_smcache_begin(c);
    CHECK(get(c, "a.js", &held, why, sizeof why) == NP_LOCATE_FOUND, "a.js");
    CHECK(get(c, "b.js", &s, why, sizeof why) == NP_LOCATE_FOUND, "b.js");
    /* Both still usable within the remap (ASan would see a freed one). */
    CHECK(line_of(held) == 3 && line_of(s) == 3, "held entries");
    np_smcache_end(c);
    CHECK(np_smcache_stats(c).entries == 2, "the remap's own entries stay past its end");
    np_smcache_begin(c);
    CHECK(get(c, "b.js", &s, why, sizeof why) == NP_LOCATE_FOUND, "b.js again");
    np_smcache_end(c);
    struct np_smcache_stats st = np_smcache_stats(c);
    CHECK(st.entries == 1 && st.hits == 1, "a.js, unused, evicted: %zu entries, %zu hits", st.entries, st.hits);
    np_smcache_begin(c);
    CHECK(get(c, "a.js", &s, why, sizeof why) == NP_LOCATE_FOUND && line_of(s) == 3, "a.js read again");
    np_smcache_end(c);
    CHECK(np_smcache_stats(c).reads == 3, "%zu reads", np_smcache_stats(c).reads);
    np_smcache_free(c);
}

/* One frame of a.js at its first position, under a root. */
static struct np_profile *one_frame_profile(void)
{
    char json[1024], err[300];
    snprintf(json, sizeof json,
             "{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"(root)\",\"scriptId\":\"0\",\"url\":\"\","
             "\"lineNumber\":-1,\"columnNumber\":-1},\"children\":[2]},{\"id\":2,\"callFrame\":{\"functionName\":"
             "\"f\",\"scriptId\":\"1\",\"url\":\"file://%s/a.js\",\"lineNumber\":0,\"columnNumber\":0}}],"
             "\"startTime\":0,\"endTime\":1000,\"samples\":[2,2],\"timeDeltas\":[0,500]}", dir);
    struct np_profile *p = np_profile_parse(json, strlen(json), err, sizeof err);
    CHECK(p != NULL, "%s", err);
    return p;
}

static const char *mapped_url(const struct np_profile *p)
{
    for (size_t i = 0; i < p->nframes; i++)
        if (p->frames[i].line > 0) return p->strings[p->frames[i].url];
    return "";
}

static void test_remap_through_cache(void)
{
    struct np_smcache *c = np_smcache_new((size_t)64 << 20);
    write_text("a.js", "f()\n//# sourceMappingURL=a.js.map\n", 1000);
    write_text("a.js.map", MAP_A, 1000);
    char want[400], err[300];
    snprintf(want, sizeof want, "file://%s/src/a.ts", dir);
    for (int round = 0; round < 3; round++) {
        struct np_profile *p = one_frame_profile();
        if (!p) break;
        struct np_remap_options o = { .cache = round ? c : NULL };
        CHECK(np_profile_remap(p, &o, err, sizeof err) == 1, "round %d: %s", round, err);
        CHECK_STR(mapped_url(p), want);
        np_profile_free(p);
    }
    struct np_smcache_stats st = np_smcache_stats(c);
    CHECK(st.reads == 1 && st.hits == 1, "%zu reads, %zu hits", st.reads, st.hits);
    np_smcache_free(c);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp: %s", strerror(errno));
        return END();
    }
    test_freshness();
    test_budget();
    test_remap_through_cache();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    return END();
}
