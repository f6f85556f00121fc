/* np_profile_merge (merge.h): every input node is renumbered into one list
 * whose node 0 stands for all the roots, then shaped (tree.h), which
 * merges the siblings that have become equal: the same stack from two
 * profiles. */
#include "formats/merge.h"

#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/intern.h"
#include "formats/sampletime.h"
#include "formats/tree.h"

struct merger {
    struct np_intern strings;
    struct np_frame *frames;
    size_t nframes;
    struct np_index frame_index;
    /* all input nodes but the roots, after node 0 (the common root) */
    uint32_t *parent, *frame;
    size_t nraw;
};

static int same_frame(const void *ctx, uint32_t entry, const void *key)
{
    const struct merger *m = ctx;
    return !memcmp(&m->frames[entry], key, sizeof(struct np_frame));
}

static uint64_t frame_hash_of(const void *ctx, uint32_t entry)
{
    const struct merger *m = ctx;
    return np_hash_bytes(&m->frames[entry], sizeof(struct np_frame));
}

/* Frame f of p in the merged tables; -1 without memory. frames has room
 * for every input frame, so it never grows. */
static int64_t add_frame(struct merger *m, const struct np_profile *p, const struct np_frame *f)
{
    int64_t name = np_intern(&m->strings, p->strings[f->name], strlen(p->strings[f->name]));
    int64_t url = np_intern(&m->strings, p->strings[f->url], strlen(p->strings[f->url]));
    if (name < 0 || url < 0) return -1;
    struct np_frame g = { (uint32_t)name, (uint32_t)url, f->line, f->column };
    uint64_t h = np_hash_bytes(&g, sizeof g);
    int64_t found = np_index_find(&m->frame_index, h, &g);
    if (found >= 0) return found;
    m->frames[m->nframes] = g;
    if (np_index_add(&m->frame_index, h, (uint32_t)m->nframes)) return -1;
    return (int64_t)m->nframes++;
}

/* Appends p's nodes (its root becomes node 0); first[i] is where p's node i
 * went. */
static int add_nodes(struct merger *m, const struct np_profile *p, uint32_t *first)
{
    first[0] = 0;
    for (size_t i = 1; i < p->nnodes; i++) {
        int64_t f = add_frame(m, p, &p->frames[p->nodes[i].frame]);
        if (f < 0) return -1;
        first[i] = (uint32_t)m->nraw;
        m->parent[m->nraw] = first[p->nodes[i].parent];
        m->frame[m->nraw++] = (uint32_t)f;
    }
    return 0;
}

static int add_costs(struct np_profile *out, const struct np_profile *p, const uint32_t *first, const uint32_t *map)
{
    for (size_t i = 0; i < p->nnodes; i++) {
        struct np_node *node = &out->nodes[map[first[i]]];
        if (__builtin_add_overflow(node->self_count, p->nodes[i].self_count, &node->self_count) ||
            __builtin_add_overflow(node->self_weight, p->nodes[i].self_weight, &node->self_weight))
            return -1;
    }
    if (__builtin_add_overflow(out->total_count, p->total_count, &out->total_count) ||
        __builtin_add_overflow(out->total_weight, p->total_weight, &out->total_weight))
        return -1;
    for (size_t s = 0; s < p->nsamples; s++) {
        out->sample_node[out->nsamples] = map[first[p->sample_node[s]]];
        out->sample_weight[out->nsamples++] = p->sample_weight[s];
    }
    return 0;
}

static void set_times(struct np_profile *out, const struct np_profile *const *in, size_t n)
{
    out->start_us = in[0]->start_us;
    out->end_us = in[0]->end_us;
    for (size_t k = 1; k < n; k++) {
        if (in[k]->start_us < out->start_us) out->start_us = in[k]->start_us;
        if (in[k]->end_us > out->end_us) out->end_us = in[k]->end_us;
    }
    out->interval_us = out->nsamples ? np_median_positive(out->sample_weight, out->nsamples) : in[0]->interval_us;
}

/* The wall-clock span that covers every input that has one (start_us may
 * be V8's monotonic clock in one input and the wall clock in another), and
 * the largest heap sampling interval. */
static void set_wall_span(struct np_profile *out, const struct np_profile *const *in, size_t n)
{
    int64_t start = 0, end = 0;
    for (size_t k = 0; k < n; k++) {
        const struct np_profile *p = in[k];
        if (p->heap_interval > out->heap_interval) out->heap_interval = p->heap_interval;
        if (p->wall_start_ns <= 0) continue;
        int64_t d = p->duration_ns;
        if (!d && p->kind == NP_PROFILE_CPU && p->end_us > p->start_us && p->end_us - p->start_us < INT64_MAX / 1000)
            d = (p->end_us - p->start_us) * 1000;
        int64_t e;
        if (__builtin_add_overflow(p->wall_start_ns, d, &e)) e = INT64_MAX;
        if (!start || p->wall_start_ns < start) start = p->wall_start_ns;
        if (e > end) end = e;
    }
    out->wall_start_ns = start;
    out->duration_ns = end - start;
}

/* 1 if "key=value" is one of the comma-separated labels. */
static int has_label(const char *labels, const char *kv, size_t len)
{
    for (const char *s = labels; s && *s;) {
        size_t l = strcspn(s, ",");
        if (l == len && !memcmp(s, kv, len)) return 1;
        s += l + (s[l] == ',');
    }
    return 0;
}

/* The labels that every input has, with the same value: a fleet's merge
 * keeps service=checkout and drops the pod names. In the arena. */
static int set_common_labels(struct np_profile *out, const struct np_profile *const *in, size_t n,
                             struct np_arena *arena)
{
    const char *first = in[0]->labels;
    size_t len = first ? strlen(first) : 0, used = 0;
    char *text = len ? malloc(len + 1) : NULL;
    if (len && !text) return -1;
    for (const char *s = first; s && *s;) {
        size_t l = strcspn(s, ",");
        int everywhere = 1;
        for (size_t k = 1; k < n && everywhere; k++) everywhere = has_label(in[k]->labels, s, l);
        if (everywhere && l) {
            if (used) text[used++] = ',';
            memcpy(text + used, s, l);
            used += l;
        }
        s += l + (s[l] == ',');
    }
    if (used) out->labels = np_arena_strdup(arena, text, used);
    free(text);
    return used && !out->labels ? -1 : 0;
}

static int check_inputs(const struct np_profile *const *in, size_t n, size_t *nodes, size_t *frames,
                        size_t *samples, char *err, size_t errlen)
{
    if (n == 0) {
        snprintf(err, errlen, "no profiles to merge");
        return -1;
    }
    *nodes = 1;
    *frames = 1;
    *samples = 0;
    for (size_t k = 0; k < n; k++) {
        if (in[k]->kind != in[0]->kind) {
            snprintf(err, errlen, "cannot merge a CPU profile with a heap profile");
            return -1;
        }
        *nodes += in[k]->nnodes;
        *frames += in[k]->nframes;
        *samples += in[k]->nsamples;
    }
    if (*nodes >= UINT32_MAX || *frames >= UINT32_MAX || *samples >= SIZE_MAX / sizeof(int64_t)) {
        snprintf(err, errlen, "the profiles are too large to merge");
        return -1;
    }
    return 0;
}

static void merger_free(struct merger *m)
{
    np_intern_free(&m->strings);
    free(m->frames);
    np_index_free(&m->frame_index);
    free(m->parent);
    free(m->frame);
}

/* Lays the inputs over one root and shapes the result into out. */
static int build(struct merger *m, struct np_profile *out, const struct np_profile *const *in, size_t n,
                 char *err, size_t errlen)
{
    uint32_t **first = calloc(n, sizeof *first);
    uint32_t *map = NULL;
    int rc = -1;
    if (!first) goto oom;
    int64_t root = add_frame(m, in[0], &in[0]->frames[in[0]->nodes[0].frame]);
    if (root < 0) goto oom;
    m->parent[0] = NP_NO_NODE;
    m->frame[0] = (uint32_t)root;
    m->nraw = 1;
    for (size_t k = 0; k < n; k++)
        if (!(first[k] = malloc(in[k]->nnodes * sizeof **first)) || add_nodes(m, in[k], first[k])) goto oom;
    if (!(map = malloc(m->nraw * sizeof *map))) goto oom;
    if (np_tree_shape(m->nraw, 0, m->parent, m->frame, &out->nodes, &out->nnodes, map, err, errlen)) goto out;
    for (size_t k = 0; k < n; k++)
        if (add_costs(out, in[k], first[k], map)) {
            snprintf(err, errlen, "the profiles' totals are too large");
            goto out;
        }
    set_times(out, in, n);
    set_wall_span(out, in, n);
    /* A timeline of some inputs only would leave the others' costs out of
     * the writers that follow it (speedscope): then there is none. */
    for (size_t k = 0; k < n; k++)
        if (in[k]->kind == NP_PROFILE_CPU && !in[k]->nsamples && in[k]->total_count) out->nsamples = 0;
    if (set_common_labels(out, in, n, m->strings.arena)) goto oom;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    for (size_t k = 0; first && k < n; k++) free(first[k]);
    free(first);
    free(map);
    return rc;
}

struct np_profile *np_profile_merge(const struct np_profile *const *in, size_t n, char *err, size_t errlen)
{
    size_t nodes, frames, samples;
    if (check_inputs(in, n, &nodes, &frames, &samples, err, errlen)) return NULL;
    struct merger m = { 0 };
    struct np_profile *out = calloc(1, sizeof *out);
    np_index_init(&m.frame_index, same_frame, frame_hash_of, &m);
    m.frames = malloc(frames * sizeof *m.frames);
    m.parent = malloc(nodes * sizeof *m.parent);
    m.frame = malloc(nodes * sizeof *m.frame);
    if (out) {
        out->kind = in[0]->kind;
        out->sample_node = malloc((samples ? samples : 1) * sizeof *out->sample_node);
        out->sample_weight = malloc((samples ? samples : 1) * sizeof *out->sample_weight);
    }
    int rc = -1;
    if (!out || !m.frames || !m.parent || !m.frame || !out->sample_node || !out->sample_weight ||
        np_intern_init(&m.strings))
        snprintf(err, errlen, "out of memory");
    else
        rc = build(&m, out, in, n, err, errlen);
    if (rc == 0) {
        np_profile_take_tables(out, &m.strings, &m.frames, m.nframes);
    }
    merger_free(&m);
    if (rc) {
        np_profile_free(out);
        return NULL;
    }
    return out;
}
