#include "formats/sampletime.h"

#include <stdlib.h>

/* ---- weights ------------------------------------------------------------- */

/* Turns the deltas into times, in place; sets *ordered if none goes back. */
static int deltas_to_times(int64_t start, int64_t limit, int64_t *v, size_t n, int *ordered)
{
    int64_t t = start;
    *ordered = 1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < 0) *ordered = 0;
        if (__builtin_add_overflow(t, v[i], &t) || t > limit || t < -limit) return -1;
        v[i] = t;
    }
    return 0;
}

struct timed_sample {
    int64_t time;
    uint32_t node;
    uint32_t seq;
};

static int cmp_timed(const void *a, const void *b)
{
    const struct timed_sample *x = a, *y = b;
    if (x->time != y->time) return x->time < y->time ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Puts samples back in time order, keeping the order of equal times. */
static int sort_by_time(int64_t *times, uint32_t *nodes, size_t n)
{
    struct timed_sample *t = malloc((n ? n : 1) * sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < n; i++) t[i] = (struct timed_sample){ times[i], nodes[i], (uint32_t)i };
    qsort(t, n, sizeof *t, cmp_timed);
    for (size_t i = 0; i < n; i++) {
        times[i] = t[i].time;
        nodes[i] = t[i].node;
    }
    free(t);
    return 0;
}

/* Each time becomes the time since the latest before it; returns the
 * latest time. */
static int64_t times_to_weights(int64_t start, int64_t *times, size_t n)
{
    int64_t prev = start;
    for (size_t i = 0; i < n; i++) {
        int64_t t = times[i];
        times[i] = t > prev ? t - prev : 0;
        if (t > prev) prev = t;
    }
    return prev;
}

/* The usual case, read only: no delta is negative, so each weight is its
 * delta already; checks the times and sets *last. Returns 1 if so, 0 if a
 * delta is negative, -1 if a time leaves [-limit, limit]. */
static int weights_are_deltas(int64_t start, int64_t limit, const int64_t *v, size_t n, int64_t *last)
{
    int64_t t = start;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < 0) return 0;
        if (__builtin_add_overflow(t, v[i], &t) || t > limit || t < -limit) return -1;
    }
    *last = t;
    return 1;
}

int np_deltas_to_weights(int64_t start, int64_t limit, int64_t *deltas, uint32_t *nodes, size_t n,
                         int64_t *last, const char **why)
{
    int ordered = weights_are_deltas(start, limit, deltas, n, last);
    if (ordered == 1) return 0; /* saves two passes over 46 MB for a 100 MB profile */
    if (ordered == 0 && deltas_to_times(start, limit, deltas, n, &ordered)) ordered = -1;
    if (ordered < 0) {
        *why = "timeDeltas add up to an impossible time";
        return -1;
    }
    if (!ordered && sort_by_time(deltas, nodes, n)) {
        *why = "out of memory";
        return -1;
    }
    *last = times_to_weights(start, deltas, n);
    return 0;
}

/* ---- median -------------------------------------------------------------- */

#define SMALL_VALUES 65536

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The k-th smallest (0-based) of the values >= SMALL_VALUES. */
static int64_t kth_large(const int64_t *w, size_t n, size_t k)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += w[i] >= SMALL_VALUES;
    int64_t *big = malloc((m ? m : 1) * sizeof *big);
    if (!big) return 0;
    m = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i] >= SMALL_VALUES) big[m++] = w[i];
    qsort(big, m, sizeof *big, cmp_i64);
    int64_t v = k < m ? big[k] : 0;
    free(big);
    return v;
}

/* A histogram of the small values finds the median unless it is large;
 * only then are the large values sorted. */
int64_t np_median_positive(const int64_t *w, size_t n)
{
    uint32_t *hist = calloc(SMALL_VALUES, sizeof *hist);
    size_t positive = 0, large = 0;
    if (!hist) return 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] <= 0) continue;
        positive++;
        if (w[i] < SMALL_VALUES) hist[w[i]]++;
        else large++;
    }
    size_t k = positive / 2, seen = 0;
    int64_t median = 0;
    for (size_t v = 1; v < SMALL_VALUES && positive; v++) {
        seen += hist[v];
        if (seen > k) {
            median = (int64_t)v;
            break;
        }
    }
    if (positive && !median) median = kth_large(w, n, k - (positive - large));
    free(hist);
    return median;
}
