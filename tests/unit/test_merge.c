/* Unit tests of np_profile_merge (formats/merge.h) and np_sniff_not_profile
 * (formats/sniff.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "formats/formats.h"
#include "formats/merge.h"
#include "formats/profile.h"
#include "formats/sniff.h"

/* Two small CPU profiles: one with (root) > main > {a, b}, one with
 * (root) > main > {b, c} and (root) > (idle). */
static const char one[] =
    "{\"nodes\":["
    "{\"id\":1,\"callFrame\":{\"functionName\":\"(root)\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1},\"children\":[2]},"
    "{\"id\":2,\"callFrame\":{\"functionName\":\"main\",\"url\":\"file:///m.js\",\"lineNumber\":0,\"columnNumber\":0},\"children\":[3,4]},"
    "{\"id\":3,\"callFrame\":{\"functionName\":\"a\",\"url\":\"file:///m.js\",\"lineNumber\":1,\"columnNumber\":0}},"
    "{\"id\":4,\"callFrame\":{\"functionName\":\"b\",\"url\":\"file:///m.js\",\"lineNumber\":2,\"columnNumber\":0}}],"
    "\"startTime\":100,\"endTime\":400,\"samples\":[3,4,3],\"timeDeltas\":[100,100,100]}";
static const char two[] =
    "{\"nodes\":["
    "{\"id\":7,\"callFrame\":{\"functionName\":\"(root)\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1},\"children\":[8,11]},"
    "{\"id\":8,\"callFrame\":{\"functionName\":\"main\",\"url\":\"file:///m.js\",\"lineNumber\":0,\"columnNumber\":0},\"children\":[9,10]},"
    "{\"id\":9,\"callFrame\":{\"functionName\":\"b\",\"url\":\"file:///m.js\",\"lineNumber\":2,\"columnNumber\":0}},"
    "{\"id\":10,\"callFrame\":{\"functionName\":\"c\",\"url\":\"file:///m.js\",\"lineNumber\":3,\"columnNumber\":0}},"
    "{\"id\":11,\"callFrame\":{\"functionName\":\"(idle)\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1}}],"
    "\"startTime\":50,\"endTime\":1000,\"samples\":[9,10,11,11],\"timeDeltas\":[50,50,500,200]}";
static const char heap[] =
    "{\"head\":{\"callFrame\":{\"functionName\":\"(root)\",\"url\":\"\",\"lineNumber\":-1,\"columnNumber\":-1},"
    "\"selfSize\":0,\"id\":1,\"children\":[]},\"samples\":[]}";

static struct np_profile *parse(const char *json)
{
    char err[200];
    struct np_profile *p = np_profile_parse(json, strlen(json), err, sizeof err);
    CHECK(p != NULL, "parse: %s", err);
    return p;
}

/* The node for the stack names[0..n) under the root, or NP_NO_NODE. */
static uint32_t find(const struct np_profile *p, const char *const *names, size_t n)
{
    uint32_t at = 0;
    for (size_t d = 0; d < n; d++) {
        uint32_t found = NP_NO_NODE;
        for (uint32_t j = at + 1; j < p->nodes[at].end; j = p->nodes[j].end)
            if (!strcmp(np_frame_name(p, &p->frames[p->nodes[j].frame]), names[d])) found = j;
        if (found == NP_NO_NODE) return NP_NO_NODE;
        at = found;
    }
    return at;
}

static void test_merge(void)
{
    struct np_profile *a = parse(one), *b = parse(two), *h = parse(heap);
    if (!a || !b || !h) return;
    const struct np_profile *both[] = { a, b };
    char err[200] = "";
    struct np_profile *m = np_profile_merge(both, 2, err, sizeof err);
    CHECK(m != NULL, "merge: %s", err);
    if (m) {
        /* (root), main, a, b, c, (idle): main and b are shared */
        CHECK(m->nnodes == 6, "%zu nodes", m->nnodes);
        CHECK(m->total_count == 7 && m->total_weight == a->total_weight + b->total_weight,
              "totals %lld %lld", (long long)m->total_count, (long long)m->total_weight);
        const char *mb[] = { "main", "b" }, *mc[] = { "main", "c" }, *idle[] = { "(idle)" };
        uint32_t nb = find(m, mb, 2), nc = find(m, mc, 2), ni = find(m, idle, 1);
        CHECK(nb != NP_NO_NODE && m->nodes[nb].self_count == 2 && m->nodes[nb].self_weight == 150,
              "main > b: the same stack in both, both costs");
        CHECK(nc != NP_NO_NODE && m->nodes[nc].self_weight == 50, "main > c");
        CHECK(ni != NP_NO_NODE && m->nodes[ni].self_weight == 700, "(idle)");
        CHECK(m->nsamples == 7 && m->start_us == 50 && m->end_us == 1000, "samples and span");
        size_t frames_named_b = 0;
        for (size_t f = 0; f < m->nframes; f++) frames_named_b += !strcmp(np_frame_name(m, &m->frames[f]), "b");
        CHECK(frames_named_b == 1, "frames are shared");
        np_profile_free(m);
    }
    const struct np_profile *mixed[] = { a, h };
    CHECK(np_profile_merge(mixed, 2, err, sizeof err) == NULL && strstr(err, "heap"), "kinds: %s", err);
    CHECK(np_profile_merge(both, 0, err, sizeof err) == NULL, "nothing to merge");
    const struct np_profile *alone[] = { a };
    m = np_profile_merge(alone, 1, err, sizeof err);
    CHECK(m && m->nnodes == a->nnodes && m->total_weight == a->total_weight, "one profile: the same");
    np_profile_free(m);
    np_profile_free(a);
    np_profile_free(b);
    np_profile_free(h);
}

static void sniffs(const char *data, size_t len, const char *want)
{
    const char *got = np_sniff_not_profile(data, len);
    if (!want) CHECK(got == NULL, "%.20s: %s", data, got);
    else CHECK(got && strstr(got, want), "%.20s: %s", data, got ? got : "(null)");
}

static void test_sniff(void)
{
    sniffs(one, strlen(one), NULL);
    sniffs(heap, strlen(heap), NULL);
    sniffs("\xEF\xBB\xBF {\"nodes\":[]}", 16, NULL);
    sniffs("{\"snapshot\":{\"meta\":{}},\"nodes\":[]}", 35, "V8 heap snapshot");
    sniffs("\n { \"traceEvents\": [] }", 23, "trace-events");
    sniffs("[{\"pid\":1,\"ph\":\"X\",\"name\":\"x\"}]", 31, "trace-events");
    sniffs("", 0, "empty");
    sniffs(" \n\t", 3, "empty");
    sniffs("\x1f\x8b\x08\x00", 4, "gzip");
    sniffs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\"}", 64, "speedscope");
    sniffs("<!DOCTYPE html>", 15, "HTML");
    sniffs("main;hot 3\n", 11, "not a .cpuprofile");
    sniffs("{\"snap", 6, NULL); /* cut short: the parser decides */
}

int main(void)
{
    test_merge();
    test_sniff();
    return END();
}
