#include "formats/memtimeline.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

const char *const np_gc_kind_names[NP_GC_KINDS] = { "scavenge", "markCompact", "incremental", "weak" };

#define MIB (1024.0 * 1024.0)
#define HOUR_MS 3600000.0
#define THEIL_SEN_MAX 1000

void np_memtl_init(struct np_mem_timeline *tl, size_t max_samples)
{
    memset(tl, 0, sizeof *tl);
    tl->pid = -1;
    tl->max_samples = max_samples;
}

void np_memtl_free(struct np_mem_timeline *tl)
{
    free(tl->samples);
    tl->samples = NULL;
    tl->n = tl->cap = 0;
}

int np_memtl_space(struct np_mem_timeline *tl, const char *name)
{
    for (int i = 0; i < tl->nspaces; i++)
        if (!strncmp(tl->space_names[i], name, NP_MEM_SPACE_NAME - 1)) return i;
    if (tl->nspaces == NP_MEM_SPACES) return -1;
    snprintf(tl->space_names[tl->nspaces], NP_MEM_SPACE_NAME, "%s", name);
    return tl->nspaces++;
}

int np_memtl_add(struct np_mem_timeline *tl, const struct np_mem_sample *s)
{
    if (tl->max_samples && tl->n == tl->max_samples) {
        memmove(tl->samples, tl->samples + 1, (tl->n - 1) * sizeof *tl->samples);
        tl->n--;
    }
    if (tl->n == tl->cap) {
        size_t cap = tl->cap ? tl->cap * 2 : 64;
        if (tl->max_samples && cap > tl->max_samples) cap = tl->max_samples;
        struct np_mem_sample *more = realloc(tl->samples, cap * sizeof *more);
        if (!more) return -1;
        tl->samples = more;
        tl->cap = cap;
    }
    tl->samples[tl->n++] = *s;
    return 0;
}

/* ---- reading ---------------------------------------------------------- */

static double num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : -1;
}

static void read_header(struct np_mem_timeline *tl, const cJSON *root)
{
    const cJSON *node = cJSON_GetObjectItemCaseSensitive(root, "node");
    tl->have_header = true;
    double pid = num(root, "pid");
    /* a pid is a positive int; anything else (2^400 from a damaged file)
     * must not reach the conversion, which is undefined out of range */
    tl->pid = pid >= 1 && pid <= INT_MAX && pid == (double)(long)pid ? (long)pid : -1;
    if (cJSON_IsString(node)) snprintf(tl->node, sizeof tl->node, "%s", node->valuestring);
    tl->start_ms = num(root, "startMs");
    tl->period_ms = num(root, "periodMs");
}

static void read_spaces(struct np_mem_timeline *tl, const cJSON *spaces, struct np_mem_sample *s)
{
    const cJSON *sp;
    cJSON_ArrayForEach(sp, spaces) {
        if (!sp->string || !cJSON_IsObject(sp)) continue;
        int i = np_memtl_space(tl, sp->string);
        if (i < 0) continue;
        s->space_used[i] = num(sp, "used");
        s->space_committed[i] = num(sp, "committed");
    }
}

static void read_gc(const cJSON *gc, struct np_mem_sample *s)
{
    for (int k = 0; k < NP_GC_KINDS; k++) {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(gc, np_gc_kind_names[k]);
        double c = num(kind, "count"), ms = num(kind, "ms");
        s->gc_count[k] = c < 0 ? 0 : c;
        s->gc_ms[k] = ms < 0 ? 0 : ms;
    }
    s->gc_max_ms = num(gc, "maxPauseMs");
}

static void read_sample(struct np_mem_timeline *tl, const cJSON *root, struct np_mem_sample *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < NP_MEM_SPACES; i++) s->space_used[i] = s->space_committed[i] = -1;
    s->t_ms = num(root, "t");
    s->rss = num(root, "rss");
    s->heap_total = num(root, "heapTotal");
    s->heap_used = num(root, "heapUsed");
    s->external = num(root, "external");
    s->array_buffers = num(root, "arrayBuffers");
    s->heap_after_gc = num(root, "heapAfterGC");
    s->after_gc_fresh = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "afterGCFresh"));
    read_gc(cJSON_GetObjectItemCaseSensitive(root, "gc"), s);
    const cJSON *loop = cJSON_GetObjectItemCaseSensitive(root, "loopDelayMs");
    s->loop_p50_ms = num(loop, "p50");
    s->loop_p99_ms = num(loop, "p99");
    s->loop_max_ms = num(loop, "max");
    read_spaces(tl, cJSON_GetObjectItemCaseSensitive(root, "spaces"), s);
}

int np_memtl_read_line(struct np_mem_timeline *tl, const char *line, size_t len)
{
    if (len > NP_MEMTL_LINE_MAX) { tl->bad_lines++; return 0; }
    cJSON *root = cJSON_ParseWithLengthOpts(line, len, NULL, 0);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    int kind = 0;
    if (cJSON_IsString(type) && !strcmp(type->valuestring, "header")) {
        read_header(tl, root);
        kind = 1;
    } else if (cJSON_IsString(type) && !strcmp(type->valuestring, "sample") && num(root, "t") >= 0) {
        struct np_mem_sample s;
        read_sample(tl, root, &s);
        kind = np_memtl_add(tl, &s) ? -1 : 2;
    } else {
        tl->bad_lines++;
    }
    cJSON_Delete(root);
    return kind;
}

/* ---- analysis --------------------------------------------------------- */

/* The k-th smallest of v[0..n) (Hoare's quickselect; reorders v): linear
 * time on average, where sorting the 500,000 pairwise slopes of a
 * Theil-Sen fit took tens of milliseconds of the main thread (ctl memory). */
static double select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                double tmp = v[i]; v[i] = v[j]; v[j] = tmp;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return v[k];
    }
    return v[k];
}

/* The median of v[0..n) (reorders v). */
static double median(double *v, size_t n)
{
    if (n == 0) return 0;
    double upper = select_kth(v, n, n / 2);
    if (n % 2) return upper;
    /* the lower middle is the largest of the part below n / 2 */
    double lower = v[0];
    for (size_t i = 1; i < n / 2; i++)
        if (v[i] > lower) lower = v[i];
    return (lower + upper) / 2;
}

int np_theil_sen(const double *x, const double *y, size_t n, double *slope, double *intercept)
{
    *slope = *intercept = 0;
    if (n < 2) return 0;
    size_t m = n < THEIL_SEN_MAX ? n : THEIL_SEN_MAX;
    size_t *pick = malloc(m * sizeof *pick);
    double *slopes = malloc(m * (m - 1) / 2 * sizeof *slopes);
    double *rest = malloc(m * sizeof *rest);
    if (!pick || !slopes || !rest) {
        free(pick); free(slopes); free(rest);
        return -1;
    }
    for (size_t i = 0; i < m; i++) pick[i] = m == n ? i : i * (n - 1) / (m - 1);
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++) {
            double dx = x[pick[j]] - x[pick[i]];
            if (dx != 0) slopes[k++] = (y[pick[j]] - y[pick[i]]) / dx;
        }
    *slope = median(slopes, k);
    for (size_t i = 0; i < m; i++) rest[i] = y[pick[i]] - *slope * x[pick[i]];
    *intercept = median(rest, m);
    free(pick); free(slopes); free(rest);
    return 0;
}

static double r_squared(const double *x, const double *y, size_t n, double slope, double intercept)
{
    double mean = 0, ss_tot = 0, ss_res = 0;
    for (size_t i = 0; i < n; i++) mean += y[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double e = y[i] - (slope * x[i] + intercept);
        ss_res += e * e;
        ss_tot += (y[i] - mean) * (y[i] - mean);
    }
    if (ss_tot <= 0) return ss_res <= 0 ? 1 : 0;
    double r2 = 1 - ss_res / ss_tot;
    return r2 < 0 ? 0 : r2;
}

/* heapUsed less the young generation, whose garbage comes and goes between
 * scavenges (seconds apart when the new space is large): what is left moves
 * only by promotion and full GCs. */
static double settled_heap(const struct np_mem_timeline *tl, const struct np_mem_sample *s)
{
    for (int i = 0; i < tl->nspaces; i++)
        if (!strcmp(tl->space_names[i], "new_space") && s->space_used[i] >= 0 && s->space_used[i] <= s->heap_used)
            return s->heap_used - s->space_used[i];
    return s->heap_used;
}

/* The points the fit uses: fresh after-GC figures, else the floor of the
 * settled heap. x in ms since the first sample. Returns the count. */
static size_t fit_points(const struct np_mem_timeline *tl, double *x, double *y, bool *from_floor)
{
    const struct np_mem_sample *s = tl->samples;
    double t0 = s[0].t_ms, span = s[tl->n - 1].t_ms - t0;
    size_t n = 0;
    for (size_t i = 0; i < tl->n; i++)
        if (s[i].after_gc_fresh && s[i].heap_after_gc >= 0) {
            x[n] = s[i].t_ms - t0;
            y[n++] = s[i].heap_after_gc;
        }
    *from_floor = n < NP_MEMTL_MIN_POINTS;
    if (!*from_floor) return n;
    /* at least 4 samples a window: a trough between two GCs falls in it */
    size_t windows = tl->n / 4 < NP_MEMTL_FLOOR_WINDOWS ? tl->n / 4 : NP_MEMTL_FLOOR_WINDOWS;
    if (windows < 4) windows = tl->n < 4 ? tl->n : 4;
    n = 0;
    for (size_t w = 0; w < windows; w++) {
        double lo = span * (double)w / (double)windows, hi = span * (double)(w + 1) / (double)windows;
        double best = -1, at = 0;
        for (size_t i = 0; i < tl->n; i++) {
            double t = s[i].t_ms - t0;
            bool inside = t >= lo && (t < hi || (w == windows - 1 && t <= hi));
            double v = settled_heap(tl, &s[i]);
            if (inside && v >= 0 && (best < 0 || v < best)) {
                best = v;
                at = t;
            }
        }
        if (best >= 0) { x[n] = at; y[n++] = best; }
    }
    return n;
}

static void gc_figures(const struct np_mem_timeline *tl, struct np_mem_summary *out)
{
    for (size_t i = 0; i < tl->n; i++) {
        const struct np_mem_sample *s = &tl->samples[i];
        for (int k = 0; k < NP_GC_KINDS; k++) {
            out->gc_count[k] += s->gc_count[k];
            out->gc_total_ms[k] += s->gc_ms[k];
            /* incremental marking steps run inside the mark-compact's time
             * on some nodes and apart on others: counted as pause either way */
            out->gc_ms += s->gc_ms[k];
        }
        if (s->gc_max_ms <= 0) continue;
        /* keep the NP_MEMTL_WORST largest, largest first */
        if (out->nworst < NP_MEMTL_WORST) out->nworst++;
        else if (out->worst[NP_MEMTL_WORST - 1].pause_ms >= s->gc_max_ms) continue;
        size_t at = out->nworst - 1;
        while (at > 0 && out->worst[at - 1].pause_ms < s->gc_max_ms) {
            out->worst[at] = out->worst[at - 1];
            at--;
        }
        out->worst[at].pause_ms = s->gc_max_ms;
        out->worst[at].at_ms = s->t_ms - tl->samples[0].t_ms;
    }
    out->gc_share = out->duration_ms > 0 ? out->gc_ms / out->duration_ms : 0;
}

static void loop_and_rss(const struct np_mem_timeline *tl, struct np_mem_summary *out)
{
    double *p50 = malloc(tl->n * sizeof *p50);
    size_t n50 = 0;
    out->loop_p50_ms = out->loop_p99_ms = out->loop_max_ms = -1;
    out->rss_max = -1;
    for (size_t i = 0; i < tl->n; i++) {
        const struct np_mem_sample *s = &tl->samples[i];
        if (p50 && s->loop_p50_ms >= 0) p50[n50++] = s->loop_p50_ms;
        if (s->loop_p99_ms > out->loop_p99_ms) out->loop_p99_ms = s->loop_p99_ms;
        if (s->loop_max_ms > out->loop_max_ms) out->loop_max_ms = s->loop_max_ms;
        if (s->rss > out->rss_max) out->rss_max = s->rss;
    }
    if (n50) out->loop_p50_ms = median(p50, n50);
    free(p50);
    out->rss_start = tl->samples[0].rss;
    out->rss_end = tl->samples[tl->n - 1].rss;
}

/* "3.9 s", "12 min", "5.2 hours" */
static void human_duration(char *buf, size_t size, double ms)
{
    if (ms < 120000) snprintf(buf, size, "%.1f s", ms / 1000);
    else if (ms < 2 * HOUR_MS) snprintf(buf, size, "%.0f min", ms / 60000);
    else snprintf(buf, size, "%.1f hours", ms / HOUR_MS);
}

static void verdict(struct np_mem_summary *o)
{
    char span[32];
    human_duration(span, sizeof span, o->duration_ms);
    if (o->points < 2) {
        o->verdict = NP_MEM_TOO_SHORT;
        snprintf(o->verdict_text, sizeof o->verdict_text, "too few samples to tell");
    } else if (o->growth < o->threshold) {
        o->verdict = NP_MEM_STEADY;
        snprintf(o->verdict_text, sizeof o->verdict_text, "steady");
    } else if (o->tail_slope_per_h >= 0.3 * o->slope_per_h) {
        o->verdict = NP_MEM_LEAK;
        snprintf(o->verdict_text, sizeof o->verdict_text,
                 "growing %.1f MB/h for %s (R\xc2\xb2 %.2f): likely a leak; take snapshots (see `nodeprof heap leaks`)",
                 o->slope_per_h / MIB, span, o->r2);
    } else {
        o->verdict = NP_MEM_HIGH_WATER;
        snprintf(o->verdict_text, sizeof o->verdict_text, "grew, then flat: a high-water mark, not a leak");
    }
}

static void fit(const struct np_mem_timeline *tl, struct np_mem_summary *out)
{
    double *x = malloc((tl->n + NP_MEMTL_FLOOR_WINDOWS) * sizeof *x);
    double *y = malloc((tl->n + NP_MEMTL_FLOOR_WINDOWS) * sizeof *y);
    if (!x || !y) { free(x); free(y); return; }
    size_t n = fit_points(tl, x, y, &out->from_floor);
    double slope = 0, icpt = 0, tail = 0, tail_icpt = 0;
    out->points = n;
    if (n >= 2 && np_theil_sen(x, y, n, &slope, &icpt) == 0) {
        size_t from = n - (n / 3 >= 3 ? n / 3 : (n >= 3 ? 3 : n));
        np_theil_sen(x + from, y + from, n - from, &tail, &tail_icpt);
        out->r2 = r_squared(x, y, n, slope, icpt);
        /* a fitted level, not a measurement: never below zero */
        out->start_level = icpt > 0 ? icpt : 0;
        out->end_level = icpt + slope * out->duration_ms > 0 ? icpt + slope * out->duration_ms : 0;
        out->slope_per_h = slope * HOUR_MS;
        out->tail_slope_per_h = tail * HOUR_MS;
        out->growth = slope * out->duration_ms;
        double base = icpt > 0 ? icpt : y[0];
        out->threshold = 0.10 * base > 2 * MIB ? 0.10 * base : 2 * MIB;
    }
    free(x);
    free(y);
}

void np_memtl_summarize(const struct np_mem_timeline *tl, struct np_mem_summary *out)
{
    memset(out, 0, sizeof *out);
    out->samples = tl->n;
    out->first_after_gc = out->last_after_gc = -1;
    if (tl->n == 0) {
        verdict(out);
        return;
    }
    out->duration_ms = tl->samples[tl->n - 1].t_ms - tl->samples[0].t_ms;
    for (size_t i = 0; i < tl->n; i++)
        if (tl->samples[i].heap_after_gc >= 0) {
            if (out->first_after_gc < 0) out->first_after_gc = tl->samples[i].heap_after_gc;
            out->last_after_gc = tl->samples[i].heap_after_gc;
        }
    if (tl->n >= 2) fit(tl, out);
    gc_figures(tl, out);
    loop_and_rss(tl, out);
    verdict(out);
}

/* ---- output ----------------------------------------------------------- */

static void print_mb(FILE *out, double bytes)
{
    if (bytes < 0) fputs("?", out);
    else fprintf(out, "%.1f MB", bytes / MIB);
}

static void print_duration(FILE *out, double ms)
{
    if (ms < 120000) fprintf(out, "%.1f s", ms / 1000);
    else if (ms < 2 * HOUR_MS) fprintf(out, "%.1f min", ms / 60000);
    else fprintf(out, "%.2f h", ms / HOUR_MS);
}

void np_memtl_print_text(const struct np_mem_timeline *tl, const struct np_mem_summary *s, FILE *out)
{
    if (tl->have_header) fprintf(out, "process: pid %ld, node %s\n", tl->pid, tl->node[0] ? tl->node : "?");
    fprintf(out, "duration: ");
    print_duration(out, s->duration_ms);
    fprintf(out, " (%zu samples)\n", s->samples);
    if (s->samples == 0) {
        fprintf(out, "verdict: %s\n", s->verdict_text);
        return;
    }
    fprintf(out, "heap after full GC: ");
    print_mb(out, s->first_after_gc);
    fputs(" at start, ", out);
    print_mb(out, s->last_after_gc);
    fputs(" at end", out);
    fprintf(out, "; fit over %zu %s: ", s->points, s->from_floor ? "floor points of heapUsed less the new space (too few full GCs)"
                                                                  : "after-GC points");
    print_mb(out, s->start_level);
    fputs(" -> ", out);
    print_mb(out, s->end_level);
    fprintf(out, ", %+.2f MB/h (R\xc2\xb2 %.2f)\n", s->slope_per_h / MIB, s->r2);
    fputs("rss: ", out);
    print_mb(out, s->rss_start);
    fputs(" -> ", out);
    print_mb(out, s->rss_end);
    fputs(" (max ", out);
    print_mb(out, s->rss_max);
    fputs(")\n", out);
    fprintf(out, "gc: %.2f%% of the time (%.0f ms)", s->gc_share * 100, s->gc_ms);
    for (int k = 0; k < NP_GC_KINDS; k++)
        fprintf(out, "; %s %.0f (%.0f ms)", np_gc_kind_names[k], s->gc_count[k], s->gc_total_ms[k]);
    fputc('\n', out);
    if (s->nworst) {
        fputs("worst pauses:", out);
        for (size_t i = 0; i < s->nworst; i++)
            fprintf(out, "%s %.1f ms at +%.1f s", i ? "," : "", s->worst[i].pause_ms, s->worst[i].at_ms / 1000);
        fputc('\n', out);
    }
    if (s->loop_max_ms >= 0)
        fprintf(out, "event loop delay: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", s->loop_p50_ms, s->loop_p99_ms,
                s->loop_max_ms);
    fprintf(out, "verdict: %s\n", s->verdict_text);
}

static const char *verdict_word(enum np_mem_verdict v)
{
    switch (v) {
    case NP_MEM_STEADY: return "steady";
    case NP_MEM_LEAK: return "leak";
    case NP_MEM_HIGH_WATER: return "high-water";
    default: return "too-short";
    }
}

/* -1 is "unknown" except for the signed figures (slopes, growth). */
static void json_num(FILE *out, const char *key, double v, bool comma)
{
    bool is_signed = strstr(key, "lope") || !strcmp(key, "growthBytes");
    if ((v < 0 && !is_signed) || !isfinite(v)) fprintf(out, "\"%s\":null", key);
    else fprintf(out, "\"%s\":%.17g", key, v);
    if (comma) fputc(',', out);
}

void np_memtl_print_json(const struct np_mem_timeline *tl, const struct np_mem_summary *s, FILE *out)
{
    fputc('{', out);
    if (tl->have_header) fprintf(out, "\"pid\":%ld,", tl->pid);
    fprintf(out, "\"samples\":%zu,\"fitPoints\":%zu,\"fromFloor\":%s,", s->samples, s->points,
            s->from_floor ? "true" : "false");
    json_num(out, "durationMs", s->duration_ms, true);
    json_num(out, "heapAfterGCStart", s->first_after_gc, true);
    json_num(out, "heapAfterGCEnd", s->last_after_gc, true);
    json_num(out, "fitStart", s->start_level, true);
    json_num(out, "fitEnd", s->end_level, true);
    json_num(out, "slopeBytesPerHour", s->slope_per_h, true);
    json_num(out, "tailSlopeBytesPerHour", s->tail_slope_per_h, true);
    json_num(out, "growthBytes", s->growth, true);
    json_num(out, "thresholdBytes", s->threshold, true);
    json_num(out, "r2", s->r2, true);
    json_num(out, "gcMs", s->gc_ms, true);
    json_num(out, "gcShare", s->gc_share, true);
    fputs("\"gc\":{", out);
    for (int k = 0; k < NP_GC_KINDS; k++) {
        fprintf(out, "%s\"%s\":{", k ? "," : "", np_gc_kind_names[k]);
        json_num(out, "count", s->gc_count[k], true);
        json_num(out, "ms", s->gc_total_ms[k], false);
        fputc('}', out);
    }
    fputs("},\"worstPauses\":[", out);
    for (size_t i = 0; i < s->nworst; i++) {
        fputs(i ? ",{" : "{", out);
        json_num(out, "atMs", s->worst[i].at_ms, true);
        json_num(out, "ms", s->worst[i].pause_ms, false);
        fputc('}', out);
    }
    fputs("],", out);
    json_num(out, "loopDelayP50Ms", s->loop_p50_ms, true);
    json_num(out, "loopDelayP99Ms", s->loop_p99_ms, true);
    json_num(out, "loopDelayMaxMs", s->loop_max_ms, true);
    json_num(out, "rssStart", s->rss_start, true);
    json_num(out, "rssEnd", s->rss_end, true);
    json_num(out, "rssMax", s->rss_max, true);
    fprintf(out, "\"verdict\":\"%s\",\"verdictText\":", verdict_word(s->verdict));
    /* the text has no quotes or backslashes; R² is UTF-8 */
    fprintf(out, "\"%s\"}\n", s->verdict_text);
}
