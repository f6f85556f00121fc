/* np_pprof_parse (pprofread.h): inflate, one pass over the Profile
 * message for its tables (strings, functions, locations, sample types),
 * then one over its samples, which may come before the tables. */
#include "formats/pprofread.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "formats/formats.h"
#include "formats/intern.h"
#include "formats/tree.h"

#define MAX_LABELS 64

/* ---- protobuf wire format ------------------------------------------------------------ */

struct pbr {
    const uint8_t *p, *end;
    bool bad;
};

static uint64_t rd_varint(struct pbr *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) break;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    r->bad = true;
    return 0;
}

/* The next field: its number, and its value (varint) or body (sub).
 * Fixed-width fields are skipped (none is read here). 0 at the end or on
 * malformed input (r->bad). */
static int rd_field(struct pbr *r, uint32_t *field, int *wire, uint64_t *v, struct pbr *sub)
{
    while (r->p < r->end && !r->bad) {
        uint64_t key = rd_varint(r);
        *field = (uint32_t)(key >> 3);
        *wire = (int)(key & 7);
        if (key >> 3 > UINT32_MAX || *field == 0) break;
        if (*wire == 0) {
            *v = rd_varint(r);
            return !r->bad;
        }
        size_t skip;
        if (*wire == 2) {
            uint64_t len = rd_varint(r);
            if (r->bad || len > (uint64_t)(r->end - r->p)) break;
            sub->p = r->p;
            sub->end = r->p + len;
            sub->bad = false;
            r->p += len;
            return 1;
        } else if (*wire == 1) {
            skip = 8;
        } else if (*wire == 5) {
            skip = 4;
        } else {
            break;
        }
        if (skip > (size_t)(r->end - r->p)) break;
        r->p += skip;
    }
    if (r->p < r->end) r->bad = true;
    return 0;
}

/* One element of a repeated integer field, packed (wire 2) or not. */
struct ints {
    struct pbr packed;
    uint64_t one;
    int left; /* unpacked: 1 until taken */
    bool is_packed;
};

static void ints_of(struct ints *it, int wire, uint64_t v, const struct pbr *sub)
{
    it->is_packed = wire == 2;
    it->packed = it->is_packed ? *sub : (struct pbr){ NULL, NULL, false };
    it->one = v;
    it->left = wire == 0;
}

static bool ints_next(struct ints *it, uint64_t *out, bool *bad)
{
    if (!it->is_packed) {
        if (!it->left) return false;
        it->left = 0;
        *out = it->one;
        return true;
    }
    if (it->packed.p >= it->packed.end) return false;
    *out = rd_varint(&it->packed);
    if (it->packed.bad) *bad = true;
    return !it->packed.bad;
}

/* ---- the tables -------------------------------------------------------------------- */

struct str { const char *s; size_t len; };
struct fn { uint64_t id; int64_t name, file, start_line; };
struct line { uint64_t function; int64_t line, column; };
struct loc { uint64_t id; size_t first_line, nlines; };

struct reader {
    const uint8_t *msg;
    size_t len;
    struct str *strings; size_t nstrings, cap_strings;
    struct fn *fns; size_t nfns, cap_fns;
    struct loc *locs; size_t nlocs, cap_locs;
    struct line *lines; size_t nlines, cap_lines;
    int64_t types[16][2]; size_t ntypes;
    int64_t time_nanos, duration_nanos, period;
    size_t nsamples;
    int count_at, weight_at; /* value indexes; count_at may be -1 */
    enum np_profile_kind kind;
    char *err; size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return 0;
    size_t c = *cap ? *cap * 2 : 64;
    if (c > SIZE_MAX / size) return -1;
    void *g = realloc(*arr, c * size);
    if (!g) return -1;
    *arr = g;
    *cap = c;
    return 0;
}
#define GROW(r, arr, n) grow((void **)&(r)->arr, &(r)->cap_##arr, (r)->n, sizeof *(r)->arr)

static int read_function(struct reader *r, struct pbr *m)
{
    if (GROW(r, fns, nfns)) return fail(r, "out of memory");
    struct fn f = { 0 };
    uint32_t field; int wire; uint64_t v = 0; struct pbr sub;
    while (rd_field(m, &field, &wire, &v, &sub)) {
        if (wire != 0) continue;
        if (field == 1) f.id = v;
        else if (field == 2) f.name = (int64_t)v;
        else if (field == 4) f.file = (int64_t)v;
        else if (field == 5) f.start_line = (int64_t)v;
    }
    r->fns[r->nfns++] = f;
    return m->bad ? fail(r, "malformed Function") : 0;
}

static int read_line(struct reader *r, struct pbr *m)
{
    if (GROW(r, lines, nlines)) return fail(r, "out of memory");
    struct line l = { 0 };
    uint32_t field; int wire; uint64_t v = 0; struct pbr sub;
    while (rd_field(m, &field, &wire, &v, &sub)) {
        if (wire != 0) continue;
        if (field == 1) l.function = v;
        else if (field == 2) l.line = (int64_t)v;
        else if (field == 3) l.column = (int64_t)v;
    }
    r->lines[r->nlines++] = l;
    return m->bad ? fail(r, "malformed Line") : 0;
}

static int read_location(struct reader *r, struct pbr *m)
{
    if (GROW(r, locs, nlocs)) return fail(r, "out of memory");
    struct loc l = { 0, r->nlines, 0 };
    uint32_t field; int wire; uint64_t v = 0; struct pbr sub;
    while (rd_field(m, &field, &wire, &v, &sub)) {
        if (field == 1 && wire == 0) l.id = v;
        else if (field == 4 && wire == 2 && read_line(r, &sub)) return -1;
    }
    l.nlines = r->nlines - l.first_line;
    r->locs[r->nlocs++] = l;
    return m->bad ? fail(r, "malformed Location") : 0;
}

static void read_value_type(struct pbr *m, int64_t *type, int64_t *unit)
{
    uint32_t field; int wire; uint64_t v = 0; struct pbr sub;
    while (rd_field(m, &field, &wire, &v, &sub)) {
        if (field == 1 && wire == 0) *type = (int64_t)v;
        if (field == 2 && wire == 0) *unit = (int64_t)v;
    }
}

static int read_tables(struct reader *r)
{
    struct pbr m = { r->msg, r->msg + r->len, false }, sub;
    uint32_t field; int wire; uint64_t v = 0;
    int64_t unused = 0;
    while (rd_field(&m, &field, &wire, &v, &sub)) {
        int rc = 0;
        if (field == 1 && wire == 2) {
            if (r->ntypes == 16) return fail(r, "more than 16 sample types");
            r->types[r->ntypes][0] = r->types[r->ntypes][1] = 0;
            read_value_type(&sub, &r->types[r->ntypes][0], &r->types[r->ntypes][1]);
            r->ntypes++;
        } else if (field == 2 && wire == 2) {
            r->nsamples++;
        } else if (field == 4 && wire == 2) {
            rc = read_location(r, &sub);
        } else if (field == 5 && wire == 2) {
            rc = read_function(r, &sub);
        } else if (field == 6 && wire == 2) {
            if (GROW(r, strings, nstrings)) return fail(r, "out of memory");
            r->strings[r->nstrings++] = (struct str){ (const char *)sub.p, (size_t)(sub.end - sub.p) };
        } else if (field == 9 && wire == 0) {
            r->time_nanos = (int64_t)v;
        } else if (field == 10 && wire == 0) {
            r->duration_nanos = (int64_t)v;
        } else if (field == 11 && wire == 2) {
            read_value_type(&sub, &unused, &unused);
        } else if (field == 12 && wire == 0) {
            r->period = (int64_t)v;
        }
        if (rc) return -1;
    }
    if (m.bad) return fail(r, "malformed profile.proto message");
    if (r->nstrings == 0 || r->strings[0].len != 0) return fail(r, "no string table (or its first string is not empty)");
    return 0;
}

static bool str_is(const struct reader *r, int64_t id, const char *s)
{
    return id >= 0 && (uint64_t)id < r->nstrings && r->strings[id].len == strlen(s) &&
           !memcmp(r->strings[id].s, s, r->strings[id].len);
}

/* CPU (a type in nanoseconds: cpu, wall) or heap (inuse_space). */
static int pick_kind(struct reader *r)
{
    r->count_at = r->weight_at = -1;
    for (size_t i = 0; i < r->ntypes; i++)
        if (str_is(r, r->types[i][0], "inuse_space")) {
            r->kind = NP_PROFILE_HEAP;
            r->weight_at = (int)i;
        }
    for (size_t i = 0; r->weight_at < 0 && i < r->ntypes; i++)
        if (str_is(r, r->types[i][1], "nanoseconds")) {
            r->kind = NP_PROFILE_CPU;
            r->weight_at = (int)i;
        }
    if (r->weight_at < 0)
        return fail(r, "a pprof profile of neither CPU time (a sample type in nanoseconds) nor live heap (inuse_space)");
    const char *count = r->kind == NP_PROFILE_HEAP ? "inuse_objects" : "samples";
    for (size_t i = 0; i < r->ntypes; i++)
        if (str_is(r, r->types[i][0], count)) r->count_at = (int)i;
    return 0;
}

static int by_fn_id(const void *a, const void *b)
{
    uint64_t x = ((const struct fn *)a)->id, y = ((const struct fn *)b)->id;
    return (x > y) - (x < y);
}

static int by_loc_id(const void *a, const void *b)
{
    uint64_t x = ((const struct loc *)a)->id, y = ((const struct loc *)b)->id;
    return (x > y) - (x < y);
}

/* ---- the tree ---------------------------------------------------------------------- */

struct builder {
    struct reader *r;
    struct np_intern strings;
    struct np_frame *frames; size_t nframes, cap_frames;
    struct np_index frame_index;
    uint32_t *parent, *frame; size_t nraw, cap_raw, max_raw;
    uint32_t *leaf;          /* per sample: its last raw node */
    int64_t (*values)[2];    /* per sample: count, weight */
    /* the string labels that every sample so far carried: string ids */
    int64_t label_key[MAX_LABELS], label_str[MAX_LABELS];
    size_t nlabels;
};

static int same_frame(const void *ctx, uint32_t entry, const void *key)
{
    const struct builder *b = ctx;
    return !memcmp(&b->frames[entry], key, sizeof(struct np_frame));
}

static uint64_t frame_hash_of(const void *ctx, uint32_t entry)
{
    const struct builder *b = ctx;
    return np_hash_bytes(&b->frames[entry], sizeof(struct np_frame));
}

static int64_t intern_str(struct builder *b, int64_t id)
{
    const struct reader *r = b->r;
    if (id < 0 || (uint64_t)id >= r->nstrings) return 0;
    /* The model's strings end at their first NUL. */
    size_t len = strnlen(r->strings[id].s, r->strings[id].len);
    return np_intern(&b->strings, r->strings[id].s, len);
}

static int clamp_line(int64_t v)
{
    return v > 0 && v < INT32_MAX ? (int)v : 0;
}

/* The frame's index, added if new; -1 without memory. */
static int64_t frame_index(struct builder *b, struct np_frame g)
{
    uint64_t h = np_hash_bytes(&g, sizeof g);
    int64_t found = np_index_find(&b->frame_index, h, &g);
    if (found >= 0) return found;
    if (grow((void **)&b->frames, &b->cap_frames, b->nframes, sizeof *b->frames)) return -1;
    b->frames[b->nframes] = g;
    if (np_index_add(&b->frame_index, h, (uint32_t)b->nframes)) return -1;
    return (int64_t)b->nframes++;
}

/* A frame from string table ids; a nameless function is "(anonymous)", as
 * the inspector's profiles name them. */
static int64_t add_frame(struct builder *b, int64_t name_id, int64_t file_id, int64_t line, int64_t column)
{
    int64_t name = intern_str(b, name_id), url = intern_str(b, file_id);
    if (name == 0) name = np_intern(&b->strings, "(anonymous)", 11);
    if (name < 0 || url < 0) return -1;
    return frame_index(b, (struct np_frame){ (uint32_t)name, (uint32_t)url, clamp_line(line), clamp_line(column) });
}

static int add_raw(struct builder *b, uint32_t parent, uint32_t frame)
{
    if (b->nraw >= b->max_raw) return fail(b->r, "the stacks are too deep for the file's size (a crafted file?)");
    if (b->nraw == b->cap_raw) {
        size_t c = b->cap_raw ? b->cap_raw * 2 : 1024;
        uint32_t *p = realloc(b->parent, c * sizeof *p), *f = p ? realloc(b->frame, c * sizeof *f) : NULL;
        if (p) b->parent = p;
        if (f) b->frame = f;
        if (!p || !f) return fail(b->r, "out of memory");
        b->cap_raw = c;
    }
    b->parent[b->nraw] = parent;
    b->frame[b->nraw++] = frame;
    return 0;
}

/* The frames of one location, root-most (its last line) first, under
 * *node. */
static int add_location(struct builder *b, uint64_t id, uint32_t *node)
{
    struct reader *r = b->r;
    struct loc key = { id, 0, 0 };
    const struct loc *l = r->nlocs ? bsearch(&key, r->locs, r->nlocs, sizeof *r->locs, by_loc_id) : NULL;
    if (!l) return fail(r, "a sample names location %llu, which is not in the file", (unsigned long long)id);
    for (size_t k = l->nlines; k-- > 0;) {
        const struct line *ln = &r->lines[l->first_line + k];
        struct fn fkey = { ln->function, 0, 0, 0 };
        const struct fn *f = r->nfns ? bsearch(&fkey, r->fns, r->nfns, sizeof *r->fns, by_fn_id) : NULL;
        int64_t frame = add_frame(b, f ? f->name : 0, f ? f->file : 0, ln->line > 0 ? ln->line : (f ? f->start_line : 0),
                                  ln->column);
        if (frame < 0) return fail(r, "out of memory");
        if (add_raw(b, *node, (uint32_t)frame)) return -1;
        *node = (uint32_t)(b->nraw - 1);
    }
    return 0;
}

/* Keeps the labels that this sample carries too, with the same value. */
static void keep_common_labels(struct builder *b, const int64_t *key, const int64_t *str, size_t n, bool first)
{
    if (first) {
        b->nlabels = n;
        memcpy(b->label_key, key, n * sizeof *key);
        memcpy(b->label_str, str, n * sizeof *str);
        return;
    }
    size_t kept = 0;
    for (size_t i = 0; i < b->nlabels; i++)
        for (size_t j = 0; j < n; j++)
            if (key[j] == b->label_key[i] && str[j] == b->label_str[i]) {
                b->label_key[kept] = b->label_key[i];
                b->label_str[kept++] = b->label_str[i];
                break;
            }
    b->nlabels = kept;
}

static void read_label(struct pbr *m, int64_t *key, int64_t *str)
{
    uint32_t field; int wire; uint64_t v = 0; struct pbr sub;
    *key = *str = 0;
    while (rd_field(m, &field, &wire, &v, &sub)) {
        if (field == 1 && wire == 0) *key = (int64_t)v;
        if (field == 2 && wire == 0) *str = (int64_t)v;
    }
}

static int read_sample(struct builder *b, struct pbr *m, size_t index)
{
    struct reader *r = b->r;
    uint64_t *ids = NULL;
    size_t nids = 0, cap = 0, nvalues = 0;
    int64_t values[2] = { 0, 0 }, key[MAX_LABELS], str[MAX_LABELS];
    size_t nlabels = 0;
    uint32_t field; int wire; uint64_t v = 0; struct pbr sub;
    bool bad = false;
    while (rd_field(m, &field, &wire, &v, &sub)) {
        struct ints it;
        uint64_t x;
        if (field == 3 && wire == 2) {
            if (nlabels < MAX_LABELS) read_label(&sub, &key[nlabels], &str[nlabels]);
            if (nlabels < MAX_LABELS && str[nlabels]) nlabels++; /* string labels only */
            continue;
        }
        if ((field != 1 && field != 2) || (wire != 0 && wire != 2)) continue;
        ints_of(&it, wire, v, &sub);
        while (ints_next(&it, &x, &bad)) {
            if (field == 2) {
                if ((int)nvalues == r->weight_at) values[1] = (int64_t)x;
                if ((int)nvalues == r->count_at) values[0] = (int64_t)x;
                nvalues++;
            } else if (nids < cap || grow((void **)&ids, &cap, nids, sizeof *ids) == 0) {
                ids[nids++] = x;
            } else {
                free(ids);
                return fail(r, "out of memory");
            }
        }
    }
    int rc = 0;
    if (m->bad || bad) rc = fail(r, "malformed Sample");
    else if (nvalues != r->ntypes) rc = fail(r, "a sample has %zu values for %zu sample types", nvalues, r->ntypes);
    else if (values[0] < 0 || values[1] < 0) rc = fail(r, "negative sample values (a diff profile?) cannot be merged");
    uint32_t node = 0;
    for (size_t k = nids; rc == 0 && k-- > 0;) rc = add_location(b, ids[k], &node);
    free(ids);
    if (rc) return -1;
    if (r->kind == NP_PROFILE_CPU) values[1] /= 1000; /* the model's µs */
    b->leaf[index] = node;
    b->values[index][0] = values[0];
    b->values[index][1] = values[1];
    keep_common_labels(b, key, str, nlabels, index == 0);
    return 0;
}

static int read_samples(struct builder *b)
{
    struct reader *r = b->r;
    struct pbr m = { r->msg, r->msg + r->len, false }, sub;
    uint32_t field; int wire; uint64_t v = 0;
    size_t index = 0;
    while (rd_field(&m, &field, &wire, &v, &sub))
        if (field == 2 && wire == 2 && read_sample(b, &sub, index++)) return -1;
    return 0;
}

/* ---- the model ----------------------------------------------------------------------- */

static int add_costs(struct builder *b, struct np_profile *p, const uint32_t *map)
{
    for (size_t s = 0; s < b->r->nsamples; s++) {
        struct np_node *n = &p->nodes[map[b->leaf[s]]];
        if (__builtin_add_overflow(n->self_count, b->values[s][0], &n->self_count) ||
            __builtin_add_overflow(n->self_weight, b->values[s][1], &n->self_weight) ||
            __builtin_add_overflow(p->total_count, b->values[s][0], &p->total_count) ||
            __builtin_add_overflow(p->total_weight, b->values[s][1], &p->total_weight))
            return fail(b->r, "the profile's totals are too large");
    }
    return 0;
}

/* "k=v,k=v" of the labels every sample carries (those a ',' or '=' would
 * garble are left out), in the arena. */
static int set_labels(struct builder *b, struct np_profile *p)
{
    const struct reader *r = b->r;
    char text[1024];
    size_t used = 0;
    for (size_t i = 0; i < b->nlabels; i++) {
        if (b->label_key[i] <= 0 || (uint64_t)b->label_key[i] >= r->nstrings ||
            (uint64_t)b->label_str[i] >= r->nstrings)
            continue;
        const struct str *k = &r->strings[b->label_key[i]], *v = &r->strings[b->label_str[i]];
        if (memchr(k->s, ',', k->len) || memchr(k->s, '=', k->len) || memchr(k->s, 0, k->len) ||
            memchr(v->s, ',', v->len) || memchr(v->s, 0, v->len))
            continue;
        int n = snprintf(text + used, sizeof text - used, "%s%.*s=%.*s", used ? "," : "", (int)k->len, k->s,
                         (int)v->len, v->s);
        if (n < 0 || (size_t)n >= sizeof text - used) break;
        used += (size_t)n;
    }
    if (!used) return 0;
    p->labels = np_arena_strdup(b->strings.arena, text, used);
    return p->labels ? 0 : fail(b->r, "out of memory");
}

static void set_times(const struct reader *r, struct np_profile *p)
{
    p->wall_start_ns = r->time_nanos > 0 ? r->time_nanos : 0;
    p->duration_ns = r->duration_nanos > 0 ? r->duration_nanos : 0;
    if (p->kind == NP_PROFILE_CPU) {
        p->start_us = p->wall_start_ns / 1000;
        p->end_us = p->start_us + p->duration_ns / 1000;
        p->interval_us = r->period > 0 ? r->period / 1000 : 0;
    } else {
        p->heap_interval = r->period > 0 ? r->period : 0;
    }
}

static int build(struct builder *b, struct np_profile *p)
{
    struct reader *r = b->r;
    int64_t root_name = np_intern(&b->strings, "(root)", 6);
    int64_t root = root_name < 0 ? -1 : frame_index(b, (struct np_frame){ (uint32_t)root_name, 0, 0, 0 });
    if (root < 0) return fail(r, "out of memory");
    if (add_raw(b, NP_NO_NODE, (uint32_t)root)) return -1;
    b->leaf = malloc((r->nsamples ? r->nsamples : 1) * sizeof *b->leaf);
    b->values = malloc((r->nsamples ? r->nsamples : 1) * sizeof *b->values);
    if (!b->leaf || !b->values) return fail(r, "out of memory");
    if (read_samples(b)) return -1;
    uint32_t *map = malloc(b->nraw * sizeof *map);
    if (!map) return fail(r, "out of memory");
    int rc = np_tree_shape(b->nraw, 0, b->parent, b->frame, &p->nodes, &p->nnodes, map, r->err, r->errlen);
    if (rc == 0) rc = add_costs(b, p, map);
    free(map);
    if (rc == 0) rc = set_labels(b, p);
    if (rc) return -1;
    set_times(r, p);
    return 0;
}

static void builder_free(struct builder *b)
{
    np_intern_free(&b->strings);
    free(b->frames);
    np_index_free(&b->frame_index);
    free(b->parent);
    free(b->frame);
    free(b->leaf);
    free(b->values);
}

static struct np_profile *to_model(struct reader *r)
{
    struct builder b = { .r = r };
    struct np_profile *p = calloc(1, sizeof *p);
    np_index_init(&b.frame_index, same_frame, frame_hash_of, &b);
    b.max_raw = r->len > NP_PPROF_MAX_NODES / NP_PPROF_NODES_PER_BYTE ? NP_PPROF_MAX_NODES
                                                                       : r->len * NP_PPROF_NODES_PER_BYTE + 1024;
    int rc = !p || np_intern_init(&b.strings) ? fail(r, "out of memory") : build(&b, p);
    if (rc == 0) {
        p->kind = r->kind;
        np_profile_take_tables(p, &b.strings, &b.frames, b.nframes);
    }
    builder_free(&b);
    if (rc) {
        np_profile_free(p);
        return NULL;
    }
    return p;
}

/* ---- gzip ---------------------------------------------------------------------------- */

static uint8_t *inflate_all(const uint8_t *data, size_t len, size_t *out_len, struct reader *r)
{
    z_stream z = { 0 };
    if (inflateInit2(&z, 15 + 16) != Z_OK) {
        fail(r, "out of memory");
        return NULL;
    }
    size_t cap = len * 4 + 4096, n = 0;
    uint8_t *buf = malloc(cap);
    z.next_in = (Bytef *)data;
    int rc = Z_OK;
    size_t in_left = len;
    while (buf && rc != Z_STREAM_END) {
        if (n == cap) {
            size_t c = cap * 2 > NP_PPROF_MAX_INFLATED ? NP_PPROF_MAX_INFLATED : cap * 2;
            uint8_t *g = c > cap ? realloc(buf, c) : NULL;
            if (!g) break;
            buf = g;
            cap = c;
        }
        uInt chunk_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
        z.avail_in = chunk_in;
        z.next_out = buf + n;
        z.avail_out = (uInt)(cap - n > (1u << 30) ? (1u << 30) : cap - n);
        uInt before_out = z.avail_out;
        rc = inflate(&z, Z_NO_FLUSH);
        n += before_out - z.avail_out;
        in_left -= chunk_in - z.avail_in;
        if (rc != Z_OK && rc != Z_STREAM_END) break;
        if (rc == Z_OK && z.avail_out && !in_left) break; /* truncated */
    }
    inflateEnd(&z);
    if (buf && rc == Z_STREAM_END) {
        *out_len = n;
        return buf;
    }
    if (!buf) fail(r, "out of memory");
    else if (n == cap && cap == NP_PPROF_MAX_INFLATED) fail(r, "larger than %lu MiB once inflated", NP_PPROF_MAX_INFLATED >> 20);
    else fail(r, "malformed or truncated gzip data");
    free(buf);
    return NULL;
}

int np_pprof_sniff(const void *data, size_t len)
{
    const uint8_t *d = data;
    return len >= 2 && ((d[0] == 0x1f && d[1] == 0x8b) || d[0] == 0x0a);
}

struct np_profile *np_pprof_parse(const void *data, size_t len, char *err, size_t errlen)
{
    struct reader r = { .err = err, .errlen = errlen };
    const uint8_t *d = data;
    uint8_t *inflated = NULL;
    if (len >= 2 && d[0] == 0x1f && d[1] == 0x8b) {
        if (!(inflated = inflate_all(d, len, &r.len, &r))) return NULL;
        r.msg = inflated;
    } else {
        r.msg = d;
        r.len = len;
    }
    struct np_profile *p = NULL;
    if (read_tables(&r) == 0 && pick_kind(&r) == 0) {
        if (r.nfns) qsort(r.fns, r.nfns, sizeof *r.fns, by_fn_id);
        if (r.nlocs) qsort(r.locs, r.nlocs, sizeof *r.locs, by_loc_id);
        p = to_model(&r);
    }
    free(r.strings);
    free(r.fns);
    free(r.locs);
    free(r.lines);
    free(inflated);
    return p;
}
