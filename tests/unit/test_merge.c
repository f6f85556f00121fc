/* Unit tests of np_profile_merge (formats/merge.h), np_sniff_not_profile
 * (formats/sniff.h) and the pprof reader (formats/pprofread.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "formats/formats.h"
#include "formats/merge.h"
#include "formats/pprofread.h"
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

/* p as pprof, read back. */
static struct np_profile *through_pprof(const struct np_profile *p)
{
    char *buf = NULL, err[200] = "";
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    CHECK(mem && np_format_write(p, NULL, 0, NP_FMT_PPROF, mem, err, sizeof err) == 0, "write: %s", err);
    if (mem) fclose(mem);
    CHECK(np_pprof_sniff(buf, len), "sniffed as pprof");
    struct np_profile *q = np_pprof_parse(buf, len, err, sizeof err);
    CHECK(q != NULL, "pprof read back: %s", err);
    free(buf);
    return q;
}

static void test_pprof_read(void)
{
    struct np_profile *a = parse(one), *b = parse(two);
    if (!a || !b) return;
    a->wall_start_ns = 1764500000000000000LL;
    a->labels = "service=checkout,pod=a";
    b->wall_start_ns = 1764500010000000000LL;
    b->labels = "pod=b,service=checkout";
    struct np_profile *pa = through_pprof(a), *pb = through_pprof(b);
    if (!pa || !pb) return;
    CHECK(pa->kind == NP_PROFILE_CPU, "kind");
    CHECK(pa->total_count == a->total_count && pa->total_weight == a->total_weight, "totals: %lld %lld",
          (long long)pa->total_count, (long long)pa->total_weight);
    CHECK(pa->wall_start_ns == a->wall_start_ns && pa->duration_ns == 300 * 1000, "times");
    CHECK(pa->nsamples == 0, "no timeline");
    CHECK(pa->labels && !strcmp(pa->labels, "service=checkout,pod=a"), "labels %s", pa->labels ? pa->labels : "(none)");
    static const char *const main_a[] = { "main", "a" };
    uint32_t n = find(pa, main_a, 2);
    CHECK(n != NP_NO_NODE && pa->nodes[n].self_count == 2 && pa->nodes[n].self_weight == 200, "main > a: 2 samples, 200 us");

    /* Mixed: a's JSON with b's pprof; wall span of both, shared label only. */
    const struct np_profile *mixed[] = { pa, pb, a };
    char err[200];
    struct np_profile *m = np_profile_merge(mixed, 3, err, sizeof err);
    CHECK(m != NULL, "merge: %s", err);
    if (m) {
        CHECK(m->total_count == 2 * a->total_count + b->total_count, "counts add up");
        CHECK(m->total_weight == 2 * a->total_weight + b->total_weight, "weights add up");
        CHECK(m->labels && !strcmp(m->labels, "service=checkout"), "shared labels: %s", m->labels ? m->labels : "(none)");
        CHECK(m->wall_start_ns == a->wall_start_ns && m->duration_ns == 10000000000LL + 950 * 1000,
              "span %lld %lld", (long long)m->wall_start_ns, (long long)m->duration_ns);
        CHECK(m->nsamples == 0, "no timeline when an input has none");
        np_profile_free(m);
    }
    /* Refused: not a profile of a kind we know, truncated, garbage. */
    static const unsigned char alloc_only[] = { 0x0a, 0x04, 0x08, 0x01, 0x10, 0x02, 0x32, 0x00, 0x32, 0x0b,
        'a', 'l', 'l', 'o', 'c', '_', 's', 'p', 'a', 'c', 'e', 0x32, 0x05, 'b', 'y', 't', 'e', 's' };
    CHECK(!np_pprof_parse(alloc_only, sizeof alloc_only, err, sizeof err) && strstr(err, "neither CPU"), "%s", err);
    CHECK(!np_pprof_parse("\x1f\x8b\x08\x00", 4, err, sizeof err) && strstr(err, "gzip"), "%s", err);
    CHECK(!np_pprof_parse("\x0a\x7f", 2, err, sizeof err), "truncated");
    np_profile_free(pa);
    np_profile_free(pb);
    np_profile_free(a);
    np_profile_free(b);
}

int main(void)
{
    test_merge();
    test_pprof_read();
    test_sniff();
    return END();
}
