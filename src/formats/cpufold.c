/* Folding CPU profile windows into an aggregate; see cpufold.h. Windows are
 * read with the profile reader (parse.c): its model already has each
 * node's samples and time, and the samples in time order with their times. */
#include "formats/cpufold.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/intern.h"
#include "formats/profile.h"
#include "formats/emit.h"

struct fold_node {
    uint32_t parent; /* NP_NO_NODE for the root (node 0) */
    uint32_t frame;
    int64_t hits;    /* folded samples */
    int64_t time;    /* folded µs */
};

/* Folded positionTicks: samples of a node at one line of its function. */
struct fold_tick {
    uint32_t node;
    int32_t line;
    int64_t ticks;
};

struct np_cpufold {
    struct np_intern strings;
    struct np_frame *frames; /* name and url are ids in strings */
    size_t nframes, frames_cap;
    struct np_index frame_index;
    struct fold_node *nodes;
    size_t nnodes, nodes_cap;
    struct np_index node_index; /* (parent, frame) of every node but the root */
    struct fold_tick *ticks;
    size_t nticks, ticks_cap;
    struct np_index tick_index; /* (node, line) */
    unsigned long folds;
    int64_t start_us;  /* startTime of the first folded window */
    int64_t until_us;  /* time of the last folded sample */
    int64_t samples;
    uint32_t last_node; /* node of the last folded sample, or NP_NO_NODE */
    bool broken;        /* no memory for the tables */
};

/* ---- tables ----------------------------------------------------------------- */

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need) cap2 *= 2;
    void *v2 = realloc(*v, cap2 * size);
    if (!v2) return -1;
    *v = v2;
    *cap = cap2;
    return 0;
}

static int same_frame(const void *ctx, uint32_t entry, const void *key)
{
    const struct np_cpufold *f = ctx;
    return !memcmp(&f->frames[entry], key, sizeof(struct np_frame));
}

static uint64_t frame_hash_of(const void *ctx, uint32_t entry)
{
    const struct np_cpufold *f = ctx;
    return np_hash_bytes(&f->frames[entry], sizeof(struct np_frame));
}

struct node_key {
    uint32_t parent, frame;
};

static uint64_t node_hash(uint32_t parent, uint32_t frame)
{
    return np_hash_u64((uint64_t)parent << 32 | frame);
}

static int same_node(const void *ctx, uint32_t entry, const void *key)
{
    const struct np_cpufold *f = ctx;
    const struct node_key *k = key;
    return f->nodes[entry].parent == k->parent && f->nodes[entry].frame == k->frame;
}

static uint64_t node_hash_of(const void *ctx, uint32_t entry)
{
    const struct np_cpufold *f = ctx;
    return node_hash(f->nodes[entry].parent, f->nodes[entry].frame);
}

static uint64_t tick_hash(uint32_t node, int32_t line)
{
    return np_hash_u64((uint64_t)node << 32 | (uint32_t)line);
}

static int same_tick(const void *ctx, uint32_t entry, const void *key)
{
    const struct np_cpufold *f = ctx;
    const struct fold_tick *k = key;
    return f->ticks[entry].node == k->node && f->ticks[entry].line == k->line;
}

static uint64_t tick_hash_of(const void *ctx, uint32_t entry)
{
    const struct np_cpufold *f = ctx;
    return tick_hash(f->ticks[entry].node, f->ticks[entry].line);
}

static int init_tables(struct np_cpufold *f)
{
    memset(f, 0, sizeof *f);
    np_index_init(&f->frame_index, same_frame, frame_hash_of, f);
    np_index_init(&f->node_index, same_node, node_hash_of, f);
    np_index_init(&f->tick_index, same_tick, tick_hash_of, f);
    f->last_node = NP_NO_NODE;
    return np_intern_init(&f->strings);
}

static void free_tables(struct np_cpufold *f)
{
    np_intern_free(&f->strings);
    free(f->frames);
    np_index_free(&f->frame_index);
    free(f->nodes);
    np_index_free(&f->node_index);
    free(f->ticks);
    np_index_free(&f->tick_index);
}

struct np_cpufold *np_cpufold_new(void)
{
    struct np_cpufold *f = malloc(sizeof *f);
    if (f && init_tables(f)) {
        free_tables(f);
        free(f);
        return NULL;
    }
    return f;
}

void np_cpufold_free(struct np_cpufold *f)
{
    if (!f) return;
    free_tables(f);
    free(f);
}

void np_cpufold_reset(struct np_cpufold *f)
{
    free_tables(f);
    /* without memory for even the empty tables, every later call fails */
    f->broken = init_tables(f) != 0;
}

unsigned long np_cpufold_folds(const struct np_cpufold *f) { return f->folds; }
size_t np_cpufold_nodes(const struct np_cpufold *f) { return f->nnodes; }
int64_t np_cpufold_samples(const struct np_cpufold *f) { return f->samples; }

/* ---- mapping a window onto the aggregate --------------------------------------- */

/* The aggregate's frame for frame pf of p, added if new; -1 without memory. */
static int64_t fold_frame(struct np_cpufold *f, const struct np_profile *p, const struct np_frame *pf)
{
    const char *name = p->strings[pf->name], *url = p->strings[pf->url];
    int64_t name_id = np_intern(&f->strings, name, strlen(name));
    int64_t url_id = np_intern(&f->strings, url, strlen(url));
    if (name_id < 0 || url_id < 0) return -1;
    struct np_frame key;
    memset(&key, 0, sizeof key);
    key.name = (uint32_t)name_id;
    key.url = (uint32_t)url_id;
    key.line = pf->line;
    key.column = pf->column;
    uint64_t h = np_hash_bytes(&key, sizeof key);
    int64_t found = np_index_find(&f->frame_index, h, &key);
    if (found >= 0) return found;
    if (f->nframes >= UINT32_MAX - 1 ||
        grow((void **)&f->frames, &f->frames_cap, f->nframes + 1, sizeof *f->frames))
        return -1;
    f->frames[f->nframes] = key;
    if (np_index_add(&f->frame_index, h, (uint32_t)f->nframes)) return -1;
    return (int64_t)f->nframes++;
}

static int64_t add_node(struct np_cpufold *f, uint32_t parent, uint32_t frame)
{
    if (f->nnodes >= UINT32_MAX - 1 || grow((void **)&f->nodes, &f->nodes_cap, f->nnodes + 1, sizeof *f->nodes))
        return -1;
    f->nodes[f->nnodes] = (struct fold_node){ parent, frame, 0, 0 };
    if (parent != NP_NO_NODE && np_index_add(&f->node_index, node_hash(parent, frame), (uint32_t)f->nnodes))
        return -1;
    return (int64_t)f->nnodes++;
}

/* The child of parent with this frame, added if new. */
static int64_t fold_child(struct np_cpufold *f, uint32_t parent, uint32_t frame)
{
    struct node_key key = { parent, frame };
    int64_t found = np_index_find(&f->node_index, node_hash(parent, frame), &key);
    return found >= 0 ? found : add_node(f, parent, frame);
}

/* map[i]: the aggregate node of p's node i; the root always maps to the
 * aggregate's root. Returns NULL without memory. */
static uint32_t *map_nodes(struct np_cpufold *f, const struct np_profile *p)
{
    uint32_t *map = malloc((p->nnodes ? p->nnodes : 1) * sizeof *map);
    uint32_t *frame_map = malloc((p->nframes ? p->nframes : 1) * sizeof *frame_map);
    if (!map || !frame_map) goto fail;
    for (size_t i = 0; i < p->nframes; i++) frame_map[i] = NP_NO_NODE;
    for (size_t i = 0; i < p->nnodes; i++) {
        const struct np_node *n = &p->nodes[i];
        if (frame_map[n->frame] == NP_NO_NODE) {
            int64_t fr = fold_frame(f, p, &p->frames[n->frame]);
            if (fr < 0) goto fail;
            frame_map[n->frame] = (uint32_t)fr;
        }
        int64_t node;
        if (i == 0) node = f->nnodes ? 0 : add_node(f, NP_NO_NODE, frame_map[n->frame]);
        else node = fold_child(f, map[n->parent], frame_map[n->frame]); /* parents come first */
        if (node < 0) goto fail;
        map[i] = (uint32_t)node;
    }
    free(frame_map);
    return map;
fail:
    free(map);
    free(frame_map);
    return NULL;
}

static struct np_profile *parse_window(const char *json, size_t len, char *err, size_t errlen)
{
    struct np_profile *p = np_profile_parse(json, len, err, errlen);
    if (p && np_profile_kind(p) != NP_PROFILE_CPU) {
        snprintf(err, errlen, "not a CPU profile");
        np_profile_free(p);
        return NULL;
    }
    return p;
}

/* ---- folding ---------------------------------------------------------------- */

/* Adds a window's positionTicks to the folded ones of its nodes. */
static int fold_ticks(struct np_cpufold *f, const struct np_profile *p, const uint32_t *map)
{
    for (size_t i = 0; i < p->nline_ticks; i++) {
        const struct np_line_ticks *t = &p->line_ticks[i];
        struct fold_tick key = { map[t->node], t->line, 0 };
        uint64_t h = tick_hash(key.node, key.line);
        int64_t found = np_index_find(&f->tick_index, h, &key);
        if (found < 0) {
            if (f->nticks >= UINT32_MAX - 1 ||
                grow((void **)&f->ticks, &f->ticks_cap, f->nticks + 1, sizeof *f->ticks))
                return -1;
            f->ticks[f->nticks] = key;
            if (np_index_add(&f->tick_index, h, (uint32_t)f->nticks)) return -1;
            found = (int64_t)f->nticks++;
        }
        f->ticks[found].ticks += t->ticks;
    }
    return 0;
}

/* The time a window's first sample stands for beyond its own delta: from
 * the last folded sample to the window's start (0 before any fold). */
static int64_t chain_gap(const struct np_cpufold *f, const struct np_profile *p)
{
    return f->folds && p->start_us > f->until_us ? p->start_us - f->until_us : 0;
}

int np_cpufold_add(struct np_cpufold *f, const char *json, size_t len, char *err, size_t errlen)
{
    if (f->broken) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct np_profile *p = parse_window(json, len, err, errlen);
    if (!p) return -1;
    uint32_t *map = map_nodes(f, p);
    if (!map) {
        snprintf(err, errlen, "out of memory");
        np_profile_free(p);
        return -1;
    }
    /* Per-line costs are a detail of DevTools' source view: without memory
     * for them, some are missing, and the fold goes on. */
    fold_ticks(f, p, map);
    if (!f->folds) f->start_us = f->until_us = p->start_us;
    for (size_t i = 0; i < p->nnodes; i++) {
        f->nodes[map[i]].hits += p->nodes[i].self_count;
        f->nodes[map[i]].time += p->nodes[i].self_weight;
    }
    int64_t gap = chain_gap(f, p);
    if (p->nsamples > 0) {
        f->nodes[map[p->sample_node[0]]].time += gap;
        f->last_node = map[p->sample_node[p->nsamples - 1]];
    }
    /* so that the folded times add up to until_us - start_us */
    f->until_us += (p->nsamples > 0 ? gap : 0) + p->total_weight;
    f->samples += p->total_count;
    f->folds++;
    free(map);
    np_profile_free(p);
    return 0;
}

/* ---- writing ---------------------------------------------------------------- */

struct merge_out {
    const struct np_cpufold *f;
    const struct np_profile *w; /* the window, or NULL */
    const uint32_t *wmap;       /* window node -> aggregate node */
    int64_t *whits;             /* per aggregate node: window samples */
    uint32_t *first, *kids;     /* children lists */
    struct fold_tick *ticks;    /* folded and window positionTicks, by node and line */
    size_t nticks, next_tick;
    FILE *out;
};

static int by_node_and_line(const void *a, const void *b)
{
    const struct fold_tick *x = a, *y = b;
    if (x->node != y->node) return x->node < y->node ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

/* The positionTicks of the merged profile: the folded ones and the
 * window's, sorted by node and line, one entry per line. */
static int merge_ticks(struct merge_out *m)
{
    const struct np_cpufold *f = m->f;
    size_t wn = m->w ? m->w->nline_ticks : 0, n = f->nticks + wn;
    m->ticks = malloc((n ? n : 1) * sizeof *m->ticks);
    if (!m->ticks) return -1;
    if (f->nticks) memcpy(m->ticks, f->ticks, f->nticks * sizeof *m->ticks);
    for (size_t i = 0; i < wn; i++) {
        const struct np_line_ticks *t = &m->w->line_ticks[i];
        m->ticks[f->nticks + i] = (struct fold_tick){ m->wmap[t->node], t->line, t->ticks };
    }
    qsort(m->ticks, n, sizeof *m->ticks, by_node_and_line);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out && m->ticks[out - 1].node == m->ticks[i].node && m->ticks[out - 1].line == m->ticks[i].line)
            m->ticks[out - 1].ticks += m->ticks[i].ticks;
        else
            m->ticks[out++] = m->ticks[i];
    }
    m->nticks = out;
    return 0;
}

/* Node i's positionTicks, if it has any (nodes are written in order). */
static void write_ticks(struct merge_out *m, size_t i)
{
    bool first = true;
    for (; m->next_tick < m->nticks && m->ticks[m->next_tick].node == i; m->next_tick++) {
        const struct fold_tick *t = &m->ticks[m->next_tick];
        fprintf(m->out, "%s{\"line\":%d,\"ticks\":%lld}", first ? ",\"positionTicks\":[" : ",", (int)t->line,
                (long long)t->ticks);
        first = false;
    }
    if (!first) fputc(']', m->out);
}

/* Children lists by a counting sort on the parent (parent < child). */
static int list_children(struct merge_out *m)
{
    size_t n = m->f->nnodes;
    m->first = calloc(n + 2, sizeof *m->first);
    m->kids = malloc((n ? n : 1) * sizeof *m->kids);
    if (!m->first || !m->kids) return -1;
    for (size_t i = 1; i < n; i++) m->first[m->f->nodes[i].parent + 2]++;
    for (size_t i = 2; i < n + 2; i++) m->first[i] += m->first[i - 1];
    for (size_t i = 1; i < n; i++) m->kids[m->first[m->f->nodes[i].parent + 1]++] = (uint32_t)i;
    return 0; /* node i's children: kids[first[i] .. first[i + 1]) */
}

static void write_node(struct merge_out *m, size_t i)
{
    const struct np_cpufold *f = m->f;
    const struct fold_node *n = &f->nodes[i];
    const struct np_frame *fr = &f->frames[n->frame];
    const char *name = f->strings.strings[fr->name];
    FILE *out = m->out;
    fprintf(out, "%s{\"id\":%zu,\"callFrame\":{\"functionName\":", i ? "," : "", i + 1);
    /* the reader turned V8's empty names into "(anonymous)"; give them back */
    np_json_string(out, strcmp(name, "(anonymous)") ? name : "");
    fputs(",\"scriptId\":\"0\",\"url\":", out);
    np_json_string(out, f->strings.strings[fr->url]);
    fprintf(out, ",\"lineNumber\":%d,\"columnNumber\":%d},\"hitCount\":%lld,\"children\":[",
            (int)fr->line - 1, (int)fr->column - 1, (long long)(n->hits + m->whits[i]));
    for (uint32_t k = m->first[i]; k < m->first[i + 1]; k++)
        fprintf(out, "%s%u", k > m->first[i] ? "," : "", m->kids[k] + 1);
    fputc(']', out);
    write_ticks(m, i);
    fputc('}', out);
}

static bool has_folded_cost(const struct fold_node *n)
{
    return n->hits > 0 || n->time > 0;
}

/* Calls emit(m, id, delta) for every sample of the merged profile. */
typedef void (*sample_fn)(struct merge_out *m, uint64_t id, int64_t delta, bool first);

static size_t each_sample(struct merge_out *m, sample_fn emit)
{
    const struct np_cpufold *f = m->f;
    size_t count = 0;
    for (size_t i = 0; i < f->nnodes; i++) {
        if (i == f->last_node || !has_folded_cost(&f->nodes[i])) continue;
        emit(m, i + 1, 0, count++ == 0);
        emit(m, i + 1, f->nodes[i].time, false), count++;
    }
    if (f->last_node != NP_NO_NODE && has_folded_cost(&f->nodes[f->last_node])) {
        emit(m, (uint64_t)f->last_node + 1, 0, count++ == 0);
        emit(m, (uint64_t)f->last_node + 1, f->nodes[f->last_node].time, false), count++;
    }
    if (!m->w) return count;
    int64_t gap = chain_gap(f, m->w);
    for (size_t k = 0; k < m->w->nsamples; k++) {
        int64_t delta = m->w->sample_weight[k] + (k == 0 ? gap : 0);
        emit(m, (uint64_t)m->wmap[m->w->sample_node[k]] + 1, delta, count++ == 0);
    }
    return count;
}

static void emit_id(struct merge_out *m, uint64_t id, int64_t delta, bool first)
{
    (void)delta;
    fprintf(m->out, first ? "%llu" : ",%llu", (unsigned long long)id);
}

static void emit_delta(struct merge_out *m, uint64_t id, int64_t delta, bool first)
{
    (void)id;
    fprintf(m->out, first ? "%lld" : ",%lld", (long long)delta);
}

static void write_merged(struct merge_out *m)
{
    const struct np_cpufold *f = m->f;
    FILE *out = m->out;
    int64_t start = f->folds ? f->start_us : (m->w ? m->w->start_us : 0);
    int64_t end = f->until_us;
    if (m->w && m->w->end_us > end) end = m->w->end_us;
    if (end < start) end = start;
    fputs("{\"nodes\":[", out);
    for (size_t i = 0; i < f->nnodes; i++) write_node(m, i);
    fprintf(out, "],\"startTime\":%lld,\"endTime\":%lld,\"samples\":[", (long long)start, (long long)end);
    each_sample(m, emit_id);
    fputs("],\"timeDeltas\":[", out);
    size_t n = each_sample(m, emit_delta);
    size_t window = m->w ? m->w->nsamples : 0;
    fprintf(out, "],\"nodeprofFolded\":{\"folds\":%lu,\"foldedSamples\":%lld,\"standInSamples\":%zu}}",
            f->folds, (long long)f->samples, n - window);
}

/* Window samples per aggregate node. */
static int64_t *window_hits(const struct np_cpufold *f, const struct np_profile *w, const uint32_t *wmap)
{
    int64_t *hits = calloc(f->nnodes ? f->nnodes : 1, sizeof *hits);
    if (hits && w)
        for (size_t i = 0; i < w->nnodes; i++) hits[wmap[i]] += w->nodes[i].self_count;
    return hits;
}

int np_cpufold_merge(struct np_cpufold *f, const char *window, size_t len, char **out, size_t *outlen,
                     char *err, size_t errlen)
{
    struct merge_out m = { .f = f };
    struct np_profile *w = NULL;
    uint32_t *wmap = NULL;
    int rc = -1;
    *out = NULL;
    *outlen = 0;
    if (f->broken) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (window && !(w = parse_window(window, len, err, errlen))) return -1;
    if (w && !(wmap = map_nodes(f, w))) goto oom;
    if (!f->nnodes) {
        snprintf(err, errlen, "nothing to write: no window and nothing folded");
        goto out;
    }
    m.w = w;
    m.wmap = wmap;
    m.whits = window_hits(f, w, wmap);
    if (!m.whits || list_children(&m) || merge_ticks(&m)) goto oom;
    m.out = open_memstream(out, outlen);
    if (!m.out) goto oom;
    write_merged(&m);
    bool failed = ferror(m.out) != 0;
    if (fclose(m.out) || failed || !*out) {
        free(*out);
        *out = NULL;
        goto oom;
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    free(m.whits);
    free(m.ticks);
    free(m.first);
    free(m.kids);
    free(wmap);
    np_profile_free(w);
    return rc;
}
