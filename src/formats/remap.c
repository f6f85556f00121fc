/* Source-mapping a profile's frames (remap.h).
 *
 * Everything is built beside the profile and swapped in at the end, so an
 * allocation failure halfway leaves the profile as it was:
 *   1. each script (a frame url) is located once and its map parsed;
 *   2. each frame is looked up, its new strings interned into a copy of the
 *      string table;
 *   3. frames that became equal are merged, and if any were, the tree is
 *      shaped again (tree.h) so that sibling calls of one function merge. */
#include "formats/remap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/intern.h"
#include "formats/smcache.h"
#include "formats/smlocate.h"
#include "formats/tree.h"

struct script {
    struct np_smscript own;   /* without a cache: read for this remap */
    struct np_smscript *kept; /* with one: the cache's entry, or NULL */
    int as_url;               /* the profile names it by a file: URL */
};

static struct np_smscript *data_of(struct script *s)
{
    return s->kept ? s->kept : &s->own;
}

struct remap {
    struct np_profile *p;
    const struct np_remap_options *o;
    struct np_smdir *dir;
    uint32_t *script_of;      /* per string id: index into scripts, or NP_NO_NODE */
    struct script *scripts;
    size_t nscripts, nmaps;
    struct np_intern strings; /* p's strings, then the new ones */
    struct np_frame *frames;  /* the new frames, one per old frame */
    size_t nmapped;
};

static void report(const struct remap *r, const char *msg)
{
    if (r->o->report) r->o->report(r->o->ctx, msg);
}

/* ---- 1. maps ---------------------------------------------------------------- */

static int add_script(struct remap *r, uint32_t url)
{
    struct script *grown = realloc(r->scripts, (r->nscripts + 1) * sizeof *grown);
    if (!grown) return -1;
    r->scripts = grown;
    struct script *s = &r->scripts[r->nscripts];
    const char *name = r->p->strings[url];
    struct np_located loc;
    char why[600], msg[700];
    memset(s, 0, sizeof *s);
    r->script_of[url] = (uint32_t)r->nscripts++;
    s->as_url = !strncmp(name, "file:", 5);
    int res;
    if (r->o->cache && !r->dir) {
        res = np_smcache_get(r->o->cache, name, &s->kept, why, sizeof why);
        if (res < 0) return -1;
    } else {
        res = np_sourcemap_locate(name, r->dir, &loc, why, sizeof why);
    }
    if (res == NP_LOCATE_FAILED && why[0]) {
        snprintf(msg, sizeof msg, "source map not used, frames of %s left as they are: %s", name, why);
        report(r, msg);
    } else if (res == NP_LOCATE_FOUND && !s->kept) {
        s->own.map = loc.map;
        memcpy(s->own.base, loc.base, sizeof s->own.base);
        s->own.text = loc.script;
        s->own.len = loc.script_len;
    }
    if (res == NP_LOCATE_FOUND) r->nmaps++;
    return 0;
}

static int load_maps(struct remap *r)
{
    const struct np_profile *p = r->p;
    r->script_of = malloc(p->nstrings * sizeof *r->script_of);
    if (!r->script_of) return -1;
    memset(r->script_of, 0xff, p->nstrings * sizeof *r->script_of);
    for (size_t i = 0; i < p->nframes; i++) {
        const struct np_frame *f = &p->frames[i];
        if (f->url == 0 || f->line <= 0 || r->script_of[f->url] != NP_NO_NODE) continue;
        if (add_script(r, f->url)) return -1;
    }
    return 0;
}

/* ---- 2. frames ----------------------------------------------------------------- */

static int intern_copy(struct remap *r)
{
    if (np_intern_init(&r->strings)) return -1;
    for (size_t i = 1; i < r->p->nstrings; i++) /* ids stay: p's strings are distinct */
        if (np_intern(&r->strings, r->p->strings[i], strlen(r->p->strings[i])) != (int64_t)i) return -1;
    return 0;
}

/* Indexes the starts of the script's lines; -1 without memory. */
static int index_lines(struct np_smscript *s)
{
    size_t n = 1;
    for (size_t i = 0; i < s->len; i++) n += s->text[i] == '\n';
    if (s->len > UINT32_MAX || !(s->lines = malloc(n * sizeof *s->lines))) return -1;
    s->lines[0] = 0;
    s->nlines = 1;
    for (size_t i = 0; i < s->len; i++)
        if (s->text[i] == '\n') s->lines[s->nlines++] = (uint32_t)i + 1;
    return 0;
}

/* The original name of the function V8 calls generated, or NULL. V8 names
 * methods "Class.method"; the identifier in the text is the last part. */
static const char *original_name(struct np_smscript *s, uint32_t line, uint32_t column, const char *generated)
{
    const char *ident = strrchr(generated, '.');
    ident = ident ? ident + 1 : generated;
    if (!s->text || !*ident || *ident == '(' || (!s->lines && index_lines(s))) return NULL;
    if (line >= s->nlines) return NULL;
    size_t start = s->lines[line], end = line + 1 < s->nlines ? s->lines[line + 1] : s->len;
    return np_sourcemap_name_of(s->map, line, column, s->text + start, end - start, ident);
}

/* Looks frame f up; 1 if it was mapped into *out, 0 if it stays, -1. */
static int map_frame(struct remap *r, const struct np_frame *f, struct np_frame *out)
{
    *out = *f;
    if (f->url == 0 || f->line <= 0 || r->script_of[f->url] == NP_NO_NODE) return 0;
    struct script *sc = &r->scripts[r->script_of[f->url]];
    struct np_smscript *s = data_of(sc);
    struct np_sm_origin o;
    char url[4096 * 3 + 16];
    uint32_t column = f->column > 0 ? (uint32_t)f->column - 1 : 0;
    if (!s->map || np_sourcemap_lookup(s->map, (uint32_t)f->line - 1, column, &o)) return 0;
    if (o.line >= INT32_MAX || o.column >= INT32_MAX) return 0;
    if (np_sm_resolve_source(s->base, o.source, sc->as_url, url, sizeof url)) return 0;
    int64_t url_id = np_intern(&r->strings, url, strlen(url));
    const char *name = original_name(s, (uint32_t)f->line - 1, column, r->p->strings[f->name]);
    int64_t name_id = name && *name ? np_intern(&r->strings, name, strlen(name)) : f->name;
    if (url_id < 0 || name_id < 0) return -1;
    out->url = (uint32_t)url_id;
    out->name = (uint32_t)name_id;
    out->line = (int32_t)o.line + 1;
    out->column = (int32_t)o.column + 1;
    return 1;
}

/* Maps every frame, recording the pairs (generated frame, its index). */
static int map_frames(struct remap *r, struct np_frame **from, uint32_t **to)
{
    const struct np_profile *p = r->p;
    r->frames = malloc((p->nframes ? p->nframes : 1) * sizeof *r->frames);
    *from = malloc((p->nframes ? p->nframes : 1) * sizeof **from);
    *to = malloc((p->nframes ? p->nframes : 1) * sizeof **to);
    if (!r->frames || !*from || !*to || intern_copy(r)) return -1;
    for (size_t i = 0; i < p->nframes; i++) {
        int rc = map_frame(r, &p->frames[i], &r->frames[i]);
        if (rc < 0) return -1;
        if (rc == 0) continue;
        (*from)[r->nmapped] = p->frames[i];
        (*to)[r->nmapped++] = (uint32_t)i;
    }
    return 0;
}

/* ---- 3. merging ---------------------------------------------------------------- */

struct frame_set {
    const struct np_frame *frames;
};

static int same_frame(const void *ctx, uint32_t entry, const void *key)
{
    const struct frame_set *s = ctx;
    return !memcmp(&s->frames[entry], key, sizeof(struct np_frame));
}

static uint64_t frame_hash_of(const void *ctx, uint32_t entry)
{
    const struct frame_set *s = ctx;
    return np_hash_bytes(&s->frames[entry], sizeof(struct np_frame));
}

/* Compacts r->frames to distinct frames; fmap[old] = new. Returns the new
 * count, or -1. */
static long merge_frames(struct remap *r, uint32_t *fmap)
{
    struct frame_set set = { r->frames };
    struct np_index index;
    size_t n = 0;
    np_index_init(&index, same_frame, frame_hash_of, &set);
    for (size_t i = 0; i < r->p->nframes; i++) {
        uint64_t h = np_hash_bytes(&r->frames[i], sizeof r->frames[i]);
        int64_t found = np_index_find(&index, h, &r->frames[i]);
        if (found >= 0) {
            fmap[i] = (uint32_t)found;
            continue;
        }
        r->frames[n] = r->frames[i];
        if (np_index_add(&index, h, (uint32_t)n)) {
            np_index_free(&index);
            return -1;
        }
        fmap[i] = (uint32_t)n++;
    }
    np_index_free(&index);
    return (long)n;
}

/* Shapes the tree again with the merged frames, moving costs and samples
 * onto the merged nodes. */
static int reshape(struct np_profile *p, const uint32_t *fmap)
{
    size_t n = p->nnodes;
    uint32_t *parent = malloc(n * sizeof *parent), *frame = malloc(n * sizeof *frame);
    uint32_t *map = malloc(n * sizeof *map);
    struct np_node *nodes = NULL;
    size_t count;
    char why[200];
    int rc = -1;
    if (!parent || !frame || !map) goto out;
    for (size_t i = 0; i < n; i++) {
        parent[i] = p->nodes[i].parent;
        frame[i] = fmap[p->nodes[i].frame];
    }
    if (np_tree_shape(n, 0, parent, frame, &nodes, &count, map, why, sizeof why)) goto out;
    for (size_t i = 0; i < n; i++) {
        nodes[map[i]].self_count += p->nodes[i].self_count;
        nodes[map[i]].self_weight += p->nodes[i].self_weight;
    }
    /* A merged node's first source node is the first of those merged.
     * parent[] is free now, and count <= n: it takes the new indices. */
    if (p->source_index) {
        for (size_t k = 0; k < count; k++) parent[k] = NP_NO_NODE;
        for (size_t i = 0; i < n; i++)
            if (p->source_index[i] < parent[map[i]]) parent[map[i]] = p->source_index[i];
        memcpy(p->source_index, parent, count * sizeof *parent);
    }
    for (size_t i = 0; i < p->nsamples; i++) p->sample_node[i] = map[p->sample_node[i]];
    for (size_t i = 0; i < p->nline_ticks; i++) p->line_ticks[i].node = map[p->line_ticks[i].node];
    free(p->nodes);
    p->nodes = nodes;
    p->nnodes = count;
    rc = 0;
out:
    free(parent);
    free(frame);
    free(map);
    return rc;
}

/* Swaps the new frames and strings in; only reshape() can still fail, and
 * it changes nothing when it does. */
static int commit(struct remap *r, struct np_frame *from, uint32_t *to)
{
    struct np_profile *p = r->p;
    uint32_t *fmap = malloc((p->nframes ? p->nframes : 1) * sizeof *fmap);
    long n = fmap ? merge_frames(r, fmap) : -1;
    if (n < 0 || ((size_t)n < p->nframes && reshape(p, fmap))) {
        free(fmap);
        return -1;
    }
    if ((size_t)n == p->nframes)
        for (size_t i = 0; i < p->nnodes; i++) p->nodes[i].frame = fmap[p->nodes[i].frame];
    for (size_t k = 0; k < r->nmapped; k++) to[k] = fmap[to[k]];
    free(fmap);
    free(p->frames);
    free(p->strings);
    np_arena_free(p->arena);
    np_profile_take_tables(p, &r->strings, &r->frames, (size_t)n);
    free(p->remap_from);
    free(p->remap_to);
    p->remap_from = from;
    p->remap_to = to;
    p->nremapped = r->nmapped;
    return 0;
}

static void remap_free(struct remap *r)
{
    if (r->o->cache) np_smcache_end(r->o->cache);
    for (size_t i = 0; i < r->nscripts; i++) {
        np_sourcemap_free(r->scripts[i].own.map);
        free(r->scripts[i].own.text);
        free(r->scripts[i].own.lines);
    }
    free(r->scripts);
    free(r->script_of);
    np_smdir_free(r->dir);
    np_intern_free(&r->strings);
    free(r->frames);
}

long np_profile_remap(struct np_profile *p, const struct np_remap_options *o, char *err, size_t errlen)
{
    struct remap r = { .p = p, .o = o };
    struct np_frame *from = NULL;
    uint32_t *to = NULL;
    long rc = -1;
    if (o->search_dir && !(r.dir = np_smdir_open(o->search_dir, err, errlen))) return -1;
    if (o->cache) np_smcache_begin(o->cache);
    if (load_maps(&r)) goto oom;
    if (r.nmaps == 0) {
        rc = 0;
        goto out;
    }
    if (map_frames(&r, &from, &to)) goto oom;
    if (r.nmapped == 0) {
        rc = 0;
        goto out;
    }
    if (commit(&r, from, to)) goto oom;
    remap_free(&r);
    return (long)p->nremapped;
oom:
    snprintf(err, errlen, "source maps: out of memory");
out:
    free(from);
    free(to);
    remap_free(&r);
    return rc;
}
