/* formats/memtimeline.h: the reader of .memory.jsonl lines, the Theil-Sen
 * fit and the verdicts on synthetic timelines whose answer is known. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "formats/memtimeline.h"

#define MB (1024.0 * 1024.0)

/* A sample line at t seconds with the given heap after a full GC (fresh)
 * and a heapUsed saw above it. */
static void add_line(struct np_mem_timeline *tl, double t, double after_mb, int fresh)
{
    char line[1024];
    double used = after_mb * MB + ((long)t % 3) * 4 * MB;
    snprintf(line, sizeof line,
             "{\"type\":\"sample\",\"t\":%.0f,\"rss\":%.0f,\"heapTotal\":%.0f,\"heapUsed\":%.0f,\"external\":1000,"
             "\"arrayBuffers\":10,\"heapAfterGC\":%.0f,\"afterGCFresh\":%s,"
             "\"spaces\":{\"old_space\":{\"used\":%.0f,\"committed\":%.0f},\"new_space\":{\"used\":5,\"committed\":9}},"
             "\"gc\":{\"scavenge\":{\"count\":2,\"ms\":1.5},\"markCompact\":{\"count\":%d,\"ms\":%d},"
             "\"incremental\":{\"count\":0,\"ms\":0},\"weak\":{\"count\":0,\"ms\":0},\"maxPauseMs\":%.1f},"
             "\"loopDelayMs\":{\"p50\":0.5,\"p99\":3,\"max\":%.1f}}",
             1e12 + t * 1000, used * 2, used * 1.5, used, after_mb * MB, fresh ? "true" : "false", used * 0.8,
             used * 0.9, fresh, fresh * 10, fresh ? 10.0 : 1.5, t);
    CHECK(np_memtl_read_line(tl, line, strlen(line)) == 2, "sample line read");
}

static struct np_mem_summary timeline(double hours, double (*level)(double frac), int fresh_every)
{
    struct np_mem_timeline tl;
    struct np_mem_summary s;
    np_memtl_init(&tl, 0);
    const char *header = "{\"type\":\"header\",\"format\":\"nodeprof-memory\",\"pid\":42,\"node\":\"v22.1.0\",\"startMs\":1,\"periodMs\":10000}";
    CHECK(np_memtl_read_line(&tl, header, strlen(header)) == 1, "header read");
    int n = (int)(hours * 360);
    for (int i = 0; i < n; i++) add_line(&tl, i * 10.0, level((double)i / n), i % fresh_every == 0);
    np_memtl_summarize(&tl, &s);
    CHECK(tl.pid == 42 && !strcmp(tl.node, "v22.1.0") && tl.period_ms == 10000, "header fields");
    CHECK(tl.nspaces == 2 && !strcmp(tl.space_names[0], "old_space"), "spaces by name");
    np_memtl_free(&tl);
    return s;
}

static double flat(double f) { (void)f; return 50; }
static double leak(double f) { return 50 + 100 * f; }              /* +100 MB over the run */
static double high_water(double f) { return f < 0.4 ? 50 + 200 * f : 130; }
static double noisy_flat(double f) { return 50 + ((int)(f * 1000) % 7 == 0 ? 30 : 0); } /* outliers */

static void test_theil_sen(void)
{
    double x[] = { 0, 1, 2, 3, 4, 5, 6 }, y[] = { 1, 3, 5, 7, 9, 11, 500 }; /* one outlier */
    double slope, icpt;
    CHECK(np_theil_sen(x, y, 7, &slope, &icpt) == 0, "fit");
    CHECK(fabs(slope - 2) < 1e-9 && fabs(icpt - 1) < 1e-9, "slope %g intercept %g", slope, icpt);
    CHECK(np_theil_sen(x, y, 1, &slope, &icpt) == 0 && slope == 0, "one point");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The slope is the median of the pairwise slopes: checked against a sort,
 * on random points with ties (the selection must handle repeated values). */
static void test_theil_sen_random(void)
{
    srand(7);
    for (int round = 0; round < 200; round++) {
        size_t n = 2 + (size_t)(rand() % 40);
        double x[64], y[64], slopes[64 * 63 / 2], slope, icpt;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            x[i] = (double)(rand() % 10);
            y[i] = (double)(rand() % 5);
        }
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (x[j] != x[i]) slopes[k++] = (y[j] - y[i]) / (x[j] - x[i]);
        qsort(slopes, k, sizeof *slopes, cmp_double);
        double want = k == 0 ? 0 : k % 2 ? slopes[k / 2] : (slopes[k / 2 - 1] + slopes[k / 2]) / 2;
        np_theil_sen(x, y, n, &slope, &icpt);
        CHECK(fabs(slope - want) < 1e-12, "round %d: slope %g, sorted median %g", round, slope, want);
    }
}

static void test_verdicts(void)
{
    struct np_mem_summary s = timeline(4, flat, 6);
    CHECK(s.verdict == NP_MEM_STEADY, "flat: %s", s.verdict_text);
    CHECK(!s.from_floor && s.points == 240, "after-GC points used: %zu", s.points);
    CHECK(fabs(s.duration_ms - (1440 - 1) * 10000.0) < 1, "duration %g", s.duration_ms);

    s = timeline(4, leak, 6);
    CHECK(s.verdict == NP_MEM_LEAK, "leak: %s", s.verdict_text);
    CHECK(fabs(s.slope_per_h / MB - 25) < 0.5, "25 MB/h: %g", s.slope_per_h / MB);
    CHECK(s.r2 > 0.99, "R² %g", s.r2);
    CHECK(strstr(s.verdict_text, "growing 25.0 MB/h for 4.0 hours (R\xc2\xb2 1.00): likely a leak") != NULL, "%s",
          s.verdict_text);

    s = timeline(4, high_water, 6);
    CHECK(s.verdict == NP_MEM_HIGH_WATER, "high water: %s", s.verdict_text);
    CHECK(!strcmp(s.verdict_text, "grew, then flat: a high-water mark, not a leak"), "%s", s.verdict_text);

    s = timeline(4, noisy_flat, 6);
    CHECK(s.verdict == NP_MEM_STEADY, "outliers do not make a leak: %s", s.verdict_text);

    /* no full GC at all: the heapUsed floor (the saw's troughs) is used */
    s = timeline(4, leak, 1000000);
    CHECK(s.from_floor && s.verdict == NP_MEM_LEAK, "floor: %s", s.verdict_text);
    s = timeline(4, flat, 1000000);
    CHECK(s.from_floor && s.verdict == NP_MEM_STEADY, "floor flat: %s", s.verdict_text);
}

static void test_gc_and_loop(void)
{
    struct np_mem_summary s = timeline(1, flat, 6);
    /* 360 samples: 2 scavenges of 1.5 ms each; every 6th a 10 ms mark-compact */
    CHECK(s.gc_count[NP_GC_SCAVENGE] == 720 && s.gc_count[NP_GC_MARK_COMPACT] == 60, "counts");
    CHECK(fabs(s.gc_ms - (360 * 1.5 + 600)) < 1e-6, "gc ms %g", s.gc_ms);
    CHECK(s.nworst == NP_MEMTL_WORST && s.worst[0].pause_ms == 10 && s.worst[NP_MEMTL_WORST - 1].pause_ms == 10,
          "worst pauses");
    CHECK(s.loop_p50_ms == 0.5 && s.loop_p99_ms == 3 && s.loop_max_ms == 3590, "loop %g %g %g", s.loop_p50_ms,
          s.loop_p99_ms, s.loop_max_ms);
}

static void test_bad_lines(void)
{
    struct np_mem_timeline tl;
    struct np_mem_summary s;
    np_memtl_init(&tl, 0);
    const char *bad[] = { "", "{", "[1,2]", "{\"type\":\"sample\"}", "{\"type\":\"other\",\"t\":1}", "null" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(np_memtl_read_line(&tl, bad[i], strlen(bad[i])) == 0, "bad line %zu", i);
    CHECK(tl.bad_lines == 6 && tl.n == 0, "counted");
    np_memtl_summarize(&tl, &s);
    CHECK(s.verdict == NP_MEM_TOO_SHORT, "empty: %s", s.verdict_text);
    /* the ring keeps the newest */
    np_memtl_free(&tl);
    np_memtl_init(&tl, 5);
    for (int i = 0; i < 12; i++) add_line(&tl, i, 10, 1);
    CHECK(tl.n == 5 && tl.samples[0].t_ms == 1e12 + 7000, "ring of 5: first %g", tl.samples[0].t_ms);
    np_memtl_summarize(&tl, &s);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    np_memtl_print_json(&tl, &s, out);
    np_memtl_write_html(&tl, &s, out);
    fclose(out);
    CHECK(text && strstr(text, "\"verdict\":\"steady\"") && strstr(text, "<html"), "json and html written");
    free(text);
    np_memtl_free(&tl);
}

/* Numbers a damaged file may carry where integers are expected: the
 * fuzzer found a pid of 1e102 converted to long (undefined behaviour,
 * which UBSan in this build reports). */
static void test_out_of_range_numbers(void)
{
    const char *pids[] = { "1.2e102", "-1e300", "0", "3.5", "4294967296" };
    for (size_t i = 0; i < sizeof pids / sizeof *pids; i++) {
        struct np_mem_timeline tl;
        char line[160];
        np_memtl_init(&tl, 0);
        snprintf(line, sizeof line, "{\"type\":\"header\",\"format\":\"nodeprof-memory\",\"pid\":%s}", pids[i]);
        CHECK(np_memtl_read_line(&tl, line, strlen(line)) == 1 && tl.have_header, "header with pid %s", pids[i]);
        CHECK(tl.pid == -1, "pid %s read as %ld", pids[i], tl.pid);
        np_memtl_free(&tl);
    }
}

int main(void)
{
    test_theil_sen();
    test_theil_sen_random();
    test_verdicts();
    test_gc_and_loop();
    test_bad_lines();
    test_out_of_range_numbers();
    return END();
}
