/* Folding CPU profile windows (cpufold.h): a long generated profile is cut
 * into windows, folded, merged with the last one, and the result read back
 * must give every stack the samples and time of the unfolded profile, span
 * the same time, stay the same size however many windows were folded, and
 * convert to every format. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "check.h"
#include "common/config.h" /* np_format_name */
#include "formats/cpufold.h"
#include "formats/formats.h"
#include "formats/profile.h"
#include "formats/emit.h"

/* ---- a generated profile ------------------------------------------------------ */

/* A fixed tree: (root) > (program), (idle), main > work > {hot, cold},
 * main > "" (anonymous) > hot, and a frame seen only late ("late"). */
#define NNODES 9
static const struct { int parent; const char *name; const char *url; int line; } tree[NNODES] = {
    { -1, "(root)", "", -1 },         { 0, "(program)", "", -1 },    { 0, "(idle)", "", -1 },
    { 0, "main", "file:///app.js", 1 }, { 3, "work", "file:///app.js", 10 }, { 4, "hot", "file:///app.js", 20 },
    { 4, "cold", "file:///app.js", 30 }, { 3, "", "file:///app.js", 40 }, { 7, "late", "file:///b \"q\".js", 5 },
};

struct sample {
    int node;
    int64_t time;
};

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* n samples from start: mostly 1000 µs apart, some 0, some long gaps;
 * node 8 ("late") only in the second half. */
static struct sample *make_samples(size_t n, int64_t start)
{
    struct sample *s = malloc(n * sizeof *s);
    int64_t t = start;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next_rand();
        t += r % 50 == 0 ? 0 : r % 97 == 0 ? 25000 : 900 + (int64_t)(r % 200);
        int node = 1 + (int)((r >> 20) % (NNODES - 1));
        if (node == 8 && i < n / 2) node = 5;
        s[i] = (struct sample){ node, t };
    }
    return s;
}

/* A .cpuprofile of samples [a, b) from start to end; node ids are offset by
 * id_base and the children listed in reverse, as a restarted V8 would
 * number them differently. Only nodes with samples and their ancestors are
 * listed (V8 lists those too). */
static char *window_json(const struct sample *s, size_t a, size_t b, int64_t start, int64_t end, int id_base)
{
    bool used[NNODES] = { true };
    for (size_t i = a; i < b; i++)
        for (int n = s[i].node; n >= 0; n = tree[n].parent) used[n] = true;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    fputs("{\"nodes\":[", out);
    bool first = true;
    for (int i = 0; i < NNODES; i++) {
        if (!used[i]) continue;
        fprintf(out, "%s{\"id\":%d,\"callFrame\":{\"functionName\":", first ? "" : ",", id_base + i);
        np_json_string(out, tree[i].name);
        fprintf(out, ",\"scriptId\":\"%d\",\"url\":", i);
        np_json_string(out, tree[i].url);
        fprintf(out, ",\"lineNumber\":%d,\"columnNumber\":%d},\"children\":[", tree[i].line, tree[i].line < 0 ? -1 : 2);
        bool kid_first = true;
        for (int k = NNODES - 1; k > 0; k--) {
            if (tree[k].parent != i || !used[k]) continue;
            fprintf(out, "%s%d", kid_first ? "" : ",", id_base + k);
            kid_first = false;
        }
        fputs("]}", out);
        first = false;
    }
    fprintf(out, "],\"startTime\":%lld,\"endTime\":%lld,\"samples\":[", (long long)start, (long long)end);
    for (size_t i = a; i < b; i++) fprintf(out, "%s%d", i > a ? "," : "", id_base + s[i].node);
    fputs("],\"timeDeltas\":[", out);
    int64_t prev = start;
    for (size_t i = a; i < b; i++) {
        fprintf(out, "%s%lld", i > a ? "," : "", (long long)(s[i].time - prev));
        prev = s[i].time;
    }
    fputs("]}", out);
    fclose(out);
    return buf;
}

/* "stack count weight" lines of a profile, sorted: what every format is
 * made of. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *stack_costs(const struct np_profile *p)
{
    char **lines = calloc(p->nnodes, sizeof *lines);
    size_t nl = 0;
    uint32_t *frames = NULL;
    size_t cap = 0;
    for (uint32_t i = 0; i < p->nnodes; i++) {
        const struct np_node *n = &p->nodes[i];
        if (!n->self_count && !n->self_weight) continue;
        long depth = np_stack_frames(p, i, &frames, &cap);
        size_t len = 0;
        FILE *out = open_memstream(&lines[nl], &len);
        for (long d = 0; d < depth; d++) {
            const struct np_frame *f = &p->frames[frames[d]];
            fprintf(out, "%s(%s:%d:%d);", np_frame_name(p, f), np_frame_url(p, f), f->line, f->column);
        }
        fprintf(out, " %lld %lld\n", (long long)n->self_count, (long long)n->self_weight);
        fclose(out);
        nl++;
    }
    qsort(lines, nl, sizeof *lines, cmp_str);
    char *all = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&all, &len);
    for (size_t i = 0; i < nl; i++) {
        fputs(lines[i], out);
        free(lines[i]);
    }
    fclose(out);
    free(lines);
    free(frames);
    return all;
}

static struct np_profile *parse(const char *json, size_t len)
{
    char err[256] = "";
    struct np_profile *p = np_profile_parse(json, len, err, sizeof err);
    CHECK(p != NULL, "parse: %s", err);
    return p;
}

/* ---- folding a long profile ---------------------------------------------------- */

#define NSAMPLES 20000
#define START 1000000000LL

/* Folds nwin - 1 windows and merges the last; returns the merged text. */
static char *fold_run(struct np_cpufold *f, const struct sample *s, size_t n, size_t nwin, int64_t end)
{
    char err[256] = "";
    int64_t start = START;
    for (size_t k = 0; k < nwin; k++) {
        size_t a = n * k / nwin, b = n * (k + 1) / nwin;
        /* the next window starts as this one ends, between two samples */
        int64_t wend = k + 1 < nwin ? s[b - 1].time + (s[b].time - s[b - 1].time) / 2 : end;
        char *w = window_json(s, a, b, start, wend, 1 + (int)k * 100);
        if (k + 1 < nwin) {
            CHECK(np_cpufold_add(f, w, strlen(w), err, sizeof err) == 0, "fold %zu: %s", k, err);
            free(w);
            start = wend;
            continue;
        }
        char *out = NULL;
        size_t len = 0;
        CHECK(np_cpufold_merge(f, w, strlen(w), &out, &len, err, sizeof err) == 0, "merge: %s", err);
        CHECK(out && strlen(out) == len, "merged text has its length");
        free(w);
        return out;
    }
    return NULL;
}

static void test_fold_preserves_costs(void)
{
    struct sample *s = make_samples(NSAMPLES, START);
    int64_t end = s[NSAMPLES - 1].time + 700;
    char *whole = window_json(s, 0, NSAMPLES, START, end, 1);
    struct np_profile *ref = parse(whole, strlen(whole));
    char *want = stack_costs(ref);
    static const size_t windows[] = { 2, 3, 10, 57 };
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
        struct np_cpufold *f = np_cpufold_new();
        char *merged = fold_run(f, s, NSAMPLES, windows[i], end);
        CHECK(np_cpufold_folds(f) == windows[i] - 1, "%lu folds", np_cpufold_folds(f));
        struct np_profile *p = merged ? parse(merged, strlen(merged)) : NULL;
        if (p) {
            char *got = stack_costs(p);
            CHECK(!strcmp(got, want), "%zu windows: stacks differ:\n--- got\n%s--- want\n%s", windows[i], got, want);
            CHECK(p->start_us == ref->start_us && p->end_us == ref->end_us, "span %lld..%lld",
                  (long long)p->start_us, (long long)p->end_us);
            CHECK(p->total_count == NSAMPLES, "%lld samples", (long long)p->total_count);
            CHECK(p->total_weight == ref->total_weight, "time %lld != %lld", (long long)p->total_weight,
                  (long long)ref->total_weight);
            CHECK(p->interval_us > 900 && p->interval_us < 2000, "interval %lld", (long long)p->interval_us);
            /* every format accepts it */
            for (unsigned fmt = NP_FMT_PPROF; fmt <= NP_FMT_TOP; fmt <<= 1) {
                char err[256] = "", *buf = NULL;
                size_t n = 0;
                FILE *mem = open_memstream(&buf, &n);
                CHECK(np_format_write(p, merged, strlen(merged), fmt, mem, err, sizeof err) == 0, "%s: %s",
                      np_format_name(fmt), err);
                fclose(mem);
                CHECK(n > 0, "%s output is empty", np_format_name(fmt));
                free(buf);
            }
            free(got);
        }
        np_profile_free(p);
        free(merged);
        np_cpufold_free(f);
    }
    free(want);
    np_profile_free(ref);
    free(whole);
    free(s);
}

/* DevTools credits each sample with the delta after it; the stand-in pairs
 * must give every node its folded time that way too, and the node of the
 * last folded sample the window's first delta. */
static void test_following_reading(void)
{
    struct sample *s = make_samples(3000, START);
    struct np_cpufold *f = np_cpufold_new();
    char *merged = fold_run(f, s, 3000, 4, s[2999].time + 500);
    cJSON *doc = merged ? cJSON_Parse(merged) : NULL;
    CHECK(doc != NULL, "merged text is JSON");
    if (doc) {
        cJSON *samples = cJSON_GetObjectItem(doc, "samples"), *deltas = cJSON_GetObjectItem(doc, "timeDeltas");
        int n = cJSON_GetArraySize(samples);
        CHECK(n == cJSON_GetArraySize(deltas), "as many deltas as samples");
        int64_t preceding = 0;
        for (int i = 0; i < n; i++) {
            int64_t d = (int64_t)cJSON_GetArrayItem(deltas, i)->valuedouble;
            CHECK(d >= 0, "delta %d is %lld", i, (long long)d);
            preceding += d;
        }
        int64_t start = (int64_t)cJSON_GetObjectItem(doc, "startTime")->valuedouble;
        CHECK(start + preceding == s[2999].time, "deltas end at the last sample");
        CHECK(cJSON_GetObjectItem(doc, "nodeprofFolded") != NULL, "marked as folded");
        /* the last stand-in pair is the last folded sample's node */
        size_t last_folded = 3000 * 3 / 4 - 1;
        int standins = (int)cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "nodeprofFolded"), "standInSamples")->valuedouble;
        CHECK(standins % 2 == 0 && standins > 0 && standins + 750 == n, "%d stand-ins", standins);
        /* pairs (0, time) of one node each */
        for (int i = 0; i + 1 < standins; i += 2) {
            CHECK(cJSON_GetArrayItem(deltas, i)->valuedouble == 0, "stand-in %d has delta 0", i);
            CHECK(cJSON_GetArrayItem(samples, i)->valuedouble == cJSON_GetArrayItem(samples, i + 1)->valuedouble,
                  "stand-ins %d and %d are one node", i, i + 1);
        }
        int id = (int)cJSON_GetArrayItem(samples, standins - 1)->valuedouble;
        cJSON *node = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "nodes"), id - 1);
        const char *name = cJSON_GetObjectItem(cJSON_GetObjectItem(node, "callFrame"), "functionName")->valuestring;
        CHECK_STR(name, tree[s[last_folded].node].name);
    }
    cJSON_Delete(doc);
    free(merged);
    np_cpufold_free(f);
    free(s);
}

/* Folding the same stacks again and again does not grow the aggregate. */
static void test_bounded(void)
{
    struct sample *s = make_samples(2000, START);
    struct np_cpufold *f = np_cpufold_new();
    char err[256] = "";
    size_t nodes_after_first = 0, len_first = 0, len_last = 0;
    int64_t start = START;
    for (int k = 0; k < 200; k++) {
        struct sample *shifted = malloc(2000 * sizeof *shifted);
        int64_t shift = (int64_t)k * (s[1999].time - START + 1000);
        for (int i = 0; i < 2000; i++) shifted[i] = (struct sample){ s[i].node, s[i].time + shift };
        char *w = window_json(shifted, 0, 2000, start, shifted[1999].time + 1000, 1);
        CHECK(np_cpufold_add(f, w, strlen(w), err, sizeof err) == 0, "fold %d: %s", k, err);
        start = shifted[1999].time + 1000;
        free(w);
        free(shifted);
        if (k == 0) nodes_after_first = np_cpufold_nodes(f);
        if (k == 0 || k == 199) {
            char *out = NULL;
            size_t len = 0;
            CHECK(np_cpufold_merge(f, NULL, 0, &out, &len, err, sizeof err) == 0, "merge: %s", err);
            if (k == 0) len_first = len;
            else len_last = len;
            free(out);
        }
    }
    CHECK(np_cpufold_nodes(f) == nodes_after_first, "%zu nodes, %zu after the first fold", np_cpufold_nodes(f),
          nodes_after_first);
    CHECK(np_cpufold_samples(f) == 200 * 2000, "%lld samples", (long long)np_cpufold_samples(f));
    /* only the numbers' digits grow */
    CHECK(len_last < len_first + 200, "merged text %zu bytes, %zu after one fold", len_last, len_first);
    np_cpufold_reset(f);
    CHECK(np_cpufold_folds(f) == 0 && np_cpufold_nodes(f) == 0 && np_cpufold_samples(f) == 0, "reset empties it");
    char *w = window_json(s, 0, 2000, START, s[1999].time + 10, 1);
    CHECK(np_cpufold_add(f, w, strlen(w), err, sizeof err) == 0, "fold after reset: %s", err);
    CHECK(np_cpufold_samples(f) == 2000, "only the new window");
    free(w);
    np_cpufold_free(f);
    free(s);
}

static void test_errors(void)
{
    struct np_cpufold *f = np_cpufold_new();
    char err[256] = "", *out = (char *)1;
    size_t len = 1;
    CHECK(np_cpufold_add(f, "{", 1, err, sizeof err) == -1 && err[0], "malformed window refused");
    CHECK(np_cpufold_folds(f) == 0 && np_cpufold_nodes(f) == 0, "aggregate unchanged");
    const char *heap = "{\"head\":{\"id\":1,\"callFrame\":{\"functionName\":\"(root)\"},\"selfSize\":0,\"children\":[]},\"samples\":[]}";
    err[0] = 0;
    CHECK(np_cpufold_add(f, heap, strlen(heap), err, sizeof err) == -1, "heap profile refused: %s", err);
    CHECK(np_cpufold_merge(f, NULL, 0, &out, &len, err, sizeof err) == -1 && !out, "nothing to merge");
    CHECK(np_cpufold_merge(f, "[]", 2, &out, &len, err, sizeof err) == -1 && !out, "malformed window");
    /* a window without samples (hitCount only) folds too */
    const char *hits = "{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"(root)\",\"url\":\"\"},\"children\":[2]},"
                       "{\"id\":2,\"callFrame\":{\"functionName\":\"f\",\"url\":\"a.js\",\"lineNumber\":0},\"hitCount\":4}],"
                       "\"startTime\":0,\"endTime\":4000}";
    CHECK(np_cpufold_add(f, hits, strlen(hits), err, sizeof err) == 0, "hits-only window: %s", err);
    CHECK(np_cpufold_merge(f, NULL, 0, &out, &len, err, sizeof err) == 0, "merge: %s", err);
    struct np_profile *p = out ? parse(out, len) : NULL;
    CHECK(p && p->total_count == 4 && p->total_weight == 4000, "hits-only: %lld samples, %lld us",
          p ? (long long)p->total_count : -1, p ? (long long)p->total_weight : -1);
    CHECK(out && strstr(out, "\"functionName\":\"f\""), "names kept");
    np_profile_free(p);
    free(out);
    np_cpufold_free(f);
}

/* With nothing folded, merging keeps the window's costs and span. */
static void test_merge_without_fold(void)
{
    struct sample *s = make_samples(500, START);
    char *w = window_json(s, 0, 500, START, s[499].time + 10, 7);
    struct np_profile *ref = parse(w, strlen(w));
    struct np_cpufold *f = np_cpufold_new();
    char err[256] = "", *out = NULL;
    size_t len = 0;
    CHECK(np_cpufold_merge(f, w, strlen(w), &out, &len, err, sizeof err) == 0, "merge: %s", err);
    struct np_profile *p = out ? parse(out, len) : NULL;
    if (p && ref) {
        char *a = stack_costs(p), *b = stack_costs(ref);
        CHECK(!strcmp(a, b), "same stacks");
        CHECK(p->start_us == ref->start_us && p->end_us == ref->end_us, "same span");
        free(a);
        free(b);
    }
    np_profile_free(p);
    np_profile_free(ref);
    free(out);
    free(w);
    np_cpufold_free(f);
    free(s);
}

/* A window of one hot function with its positionTicks (JSON text of them). */
static char *ticks_window(int id_base, int64_t start, int hits, const char *ticks)
{
    char *w = malloc(2048);
    int n = snprintf(w, 2048,
                     "{\"nodes\":[{\"id\":%d,\"callFrame\":{\"functionName\":\"(root)\",\"scriptId\":\"0\",\"url\":\"\","
                     "\"lineNumber\":-1,\"columnNumber\":-1},\"hitCount\":0,\"children\":[%d]},{\"id\":%d,\"callFrame\":"
                     "{\"functionName\":\"hot\",\"scriptId\":\"3\",\"url\":\"file:///a.js\",\"lineNumber\":4,"
                     "\"columnNumber\":0},\"hitCount\":%d,\"positionTicks\":[%s]}],\"startTime\":%lld,\"endTime\":%lld,"
                     "\"samples\":[",
                     id_base, id_base + 1, id_base + 1, hits, ticks, (long long)start, (long long)(start + hits * 1000));
    for (int i = 0; i < hits; i++) n += snprintf(w + n, 2048 - (size_t)n, "%s%d", i ? "," : "", id_base + 1);
    n += snprintf(w + n, 2048 - (size_t)n, "],\"timeDeltas\":[");
    for (int i = 0; i < hits; i++) n += snprintf(w + n, 2048 - (size_t)n, "%s1000", i ? "," : "");
    snprintf(w + n, 2048 - (size_t)n, "]}");
    return w;
}

/* positionTicks (DevTools' per-line costs) survive folding: the merged
 * profile's hot node has every window's ticks, added by line. */
static void test_position_ticks(void)
{
    char *w1 = ticks_window(1, 0, 3, "{\"line\":5,\"ticks\":2},{\"line\":6,\"ticks\":1}");
    char *w2 = ticks_window(10, 3000, 2, "{\"line\":7,\"ticks\":1},{\"line\":6,\"ticks\":1}");
    char *w3 = ticks_window(1, 5000, 1, "{\"ticks\":1,\"line\":5}");
    struct np_cpufold *f = np_cpufold_new();
    char err[256] = "", *out = NULL;
    size_t len = 0;
    CHECK(np_cpufold_add(f, w1, strlen(w1), err, sizeof err) == 0, "fold 1: %s", err);
    CHECK(np_cpufold_add(f, w2, strlen(w2), err, sizeof err) == 0, "fold 2: %s", err);
    CHECK(np_cpufold_merge(f, w3, strlen(w3), &out, &len, err, sizeof err) == 0, "merge: %s", err);
    cJSON *doc = out ? cJSON_Parse(out) : NULL;
    const cJSON *node;
    int found = 0;
    cJSON_ArrayForEach(node, cJSON_GetObjectItem(doc, "nodes")) {
        const cJSON *frame = cJSON_GetObjectItem(node, "callFrame");
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(frame, "functionName")), "hot")) continue;
        found++;
        CHECK(cJSON_GetObjectItem(node, "hitCount")->valueint == 6, "hitCount");
        char text[256] = "";
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(node, "positionTicks")) {
            size_t at = strlen(text);
            snprintf(text + at, sizeof text - at, "%d:%d ", cJSON_GetObjectItem(t, "line")->valueint,
                     cJSON_GetObjectItem(t, "ticks")->valueint);
        }
        CHECK_STR(text, "5:3 6:2 7:1 ");
    }
    CHECK(found == 1, "%d hot nodes in %s", found, out ? out : "(none)");
    /* Our reader gives them back as they were written. */
    struct np_profile *p = out ? parse(out, len) : NULL;
    int64_t sum = 0;
    for (size_t i = 0; p && i < p->nline_ticks; i++) sum += p->line_ticks[i].ticks;
    CHECK(p && p->nline_ticks == 3 && sum == 6, "%zu line ticks, %lld in all", p ? p->nline_ticks : 0, (long long)sum);
    /* Without positionTicks in the windows, none in the merge. */
    np_cpufold_reset(f);
    free(out);
    out = NULL;
    char *bare = ticks_window(1, 0, 2, "");
    CHECK(np_cpufold_add(f, bare, strlen(bare), err, sizeof err) == 0, "fold: %s", err);
    CHECK(np_cpufold_merge(f, NULL, 0, &out, &len, err, sizeof err) == 0, "merge: %s", err);
    CHECK(out && !strstr(out, "positionTicks"), "%s", out ? out : "(none)");
    np_profile_free(p);
    cJSON_Delete(doc);
    free(out);
    free(bare);
    free(w1);
    free(w2);
    free(w3);
    np_cpufold_free(f);
}

int main(void)
{
    test_fold_preserves_costs();
    test_following_reading();
    test_bounded();
    test_errors();
    test_merge_without_fold();
    test_position_ticks();
    return END();
}
