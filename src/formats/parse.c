/* Reading .cpuprofile and .heapprofile text into the model of profile.h.
 *
 * The text is walked once with the pull reader (jsonscan.h): no tree of the
 * whole document is ever built, call frames are read field by field (their
 * strings interned straight from the text), and numbers go straight into
 * arrays: sample ids in 4 bytes while they fit. Nodes are first collected as "raw"
 * nodes in file order, then checked to form one tree, renumbered in
 * preorder, and given their samples.
 *
 * What is tolerated, because real profiles have it: samples of a
 * .heapprofile that name nodes absent from its tree (V8 prunes the tree but
 * not the sample list; those samples are ignored), and negative timeDeltas
 * (samples out of order; they are put back in time order, as DevTools does).
 * A profile that nodeprof folded (cpufold.h, marked "nodeprofFolded") has
 * stand-in samples for the folded ones: its sample counts are its
 * hitCounts. Everything else that does not make one tree with valid samples is an
 * error. */
#include "formats/profile.h"
#include "formats/formats.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/intern.h"
#include "formats/jsonscan.h"
#include "formats/sampletime.h"
#include "formats/tree.h"

/* JSON numbers beyond 2^53 are not exact in JavaScript, so V8 writes none. */
#define MAX_EXACT ((int64_t)1 << 53)
/* Sample times (µs) must stay within this (some 285 years), so that
 * differences of times and their values in ns cannot overflow. */
#define MAX_TIME MAX_EXACT

enum raw_flag { HAS_ID = 1, HAS_FRAME = 2 };

struct raw_node {
    int64_t id;
    int64_t cost;        /* CPU: hitCount; heap: selfSize */
    size_t first_child;  /* CPU: index into child_ids */
    uint32_t nchildren;
    uint32_t parent;     /* raw index, NP_NO_NODE for none */
    uint32_t frame;
    unsigned flags;
};

/* Node ids to raw indices. V8 numbers its nodes 1..n, so an array indexed
 * by id - min serves the usual case; scattered ids go through a hash. */
struct id_map {
    int64_t min;
    uint32_t *dense;     /* raw index + 1, 0 for none; NULL if scattered */
    size_t span;
    struct np_index hash;
};

struct i64_vec {
    int64_t *v;
    size_t n, cap;
};

enum samples_form { SAMPLES_NONE, SAMPLES_IDS, SAMPLES_OBJECTS };

enum top_key { KEY_NODES = 1, KEY_HEAD = 2, KEY_SAMPLES = 4, KEY_DELTAS = 8, KEY_START = 16, KEY_END = 32,
               KEY_FOLDED = 64 };

struct builder {
    struct jscan_reader js;
    struct np_intern strings;
    struct np_frame *frames;
    size_t nframes, frames_cap;
    struct np_index frame_index;
    struct raw_node *raw;
    size_t nraw, raw_cap;
    struct id_map ids;
    struct i64_vec child_ids;
    struct i64_vec sample_ids;   /* CPU: node ids (if wide_ids); heap: nodeId of each sample */
    uint32_t *ids32;             /* CPU: node ids while all fit in 32 bits */
    size_t n32, cap32;
    bool wide_ids;
    struct i64_vec sample_sizes; /* heap: size of each sample */
    struct i64_vec deltas;
    struct np_line_ticks *ticks; /* node: the raw index until the tree is shaped */
    size_t nticks, ticks_cap;
    char *scratch;               /* a callFrame string with its escapes decoded */
    size_t scratch_cap;
    enum samples_form samples_form;
    unsigned seen;               /* enum top_key bits */
    int64_t start, end;
};

/* ---- errors and small containers ------------------------------------------ */

/* Records a one-line error unless one is already there; returns -1. */
__attribute__((format(printf, 2, 3)))
static int fail(struct builder *b, const char *fmt, ...)
{
    if (!b->js.failed && b->js.errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->js.err, b->js.errlen, fmt, ap);
        va_end(ap);
    }
    b->js.failed = 1;
    return -1;
}

static int grow_array(struct builder *b, void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 < need) cap2 *= 2;
    void *v2 = realloc(*v, cap2 * size);
    if (!v2) return fail(b, "out of memory");
    np_advise_huge_pages(v2);
    *v = v2;
    *cap = cap2;
    return 0;
}

static int push_i64(struct builder *b, struct i64_vec *vec, int64_t x)
{
    if (vec->n == vec->cap && grow_array(b, (void **)&vec->v, &vec->cap, vec->n + 1, sizeof *vec->v))
        return -1;
    vec->v[vec->n++] = x;
    return 0;
}

/* Reads the rest of an array of integers within [min, max] onto vec. */
static int read_int_elements(struct builder *b, struct i64_vec *vec, int64_t min, int64_t max)
{
    int r = 1;
    while (r == 1) {
        if (vec->n == vec->cap && grow_array(b, (void **)&vec->v, &vec->cap, vec->n + 1, sizeof *vec->v))
            return -1;
        size_t got;
        r = jscan_int_array(&b->js, min, max, vec->v + vec->n, vec->cap - vec->n, &got);
        vec->n += got;
    }
    return r;
}

/* Reads an array of integers within [min, max] onto vec. */
static int read_int_array(struct builder *b, struct i64_vec *vec, int64_t min, int64_t max)
{
    return jscan_begin_array(&b->js) ? -1 : read_int_elements(b, vec, min, max);
}

/* ---- frames ------------------------------------------------------------- */

static int same_frame(const void *ctx, uint32_t entry, const void *key)
{
    const struct builder *b = ctx;
    return !memcmp(&b->frames[entry], key, sizeof(struct np_frame));
}

static uint64_t frame_hash(const struct np_frame *f)
{
    return np_hash_bytes(f, sizeof *f);
}

static uint64_t frame_hash_of(const void *ctx, uint32_t entry)
{
    const struct builder *b = ctx;
    return frame_hash(&b->frames[entry]);
}

/* The frame's index, adding it if it is new. */
static int64_t intern_frame(struct builder *b, const struct np_frame *f)
{
    uint64_t h = frame_hash(f);
    int64_t found = np_index_find(&b->frame_index, h, f);
    if (found >= 0) return found;
    if (grow_array(b, (void **)&b->frames, &b->frames_cap, b->nframes + 1, sizeof *b->frames))
        return -1;
    b->frames[b->nframes] = *f;
    if (np_index_add(&b->frame_index, h, (uint32_t)b->nframes)) return fail(b, "out of memory");
    return (int64_t)b->nframes++;
}

/* A callFrame's fields as read, before they are checked (in a fixed order,
 * once the whole object is read) and interned. Strings point into the
 * text. The first of two equal keys counts, as it did with cJSON. */
enum frame_field { FIELD_NAME, FIELD_URL, FIELD_LINE, FIELD_COLUMN, NFIELDS };

struct frame_text {
    enum { FIELD_ABSENT, FIELD_SET, FIELD_BAD } state[NFIELDS];
    const char *str[2]; /* name, url: raw bodies */
    size_t len[2];
    int escaped[2];
    int64_t pos[2];     /* line, column as written (0-based) */
};

static const char *const field_names[NFIELDS] = { "functionName", "url", "lineNumber", "columnNumber" };

static int frame_key(const char *key, size_t len)
{
    for (int k = 0; k < NFIELDS; k++)
        if (jscan_key_is(key, len, field_names[k])) return k;
    return -1;
}

static int read_frame_string(struct builder *b, struct frame_text *t, int k)
{
    int c = jscan_peek(&b->js);
    if (c == '"') {
        t->state[k] = FIELD_SET;
        return jscan_raw_string(&b->js, &t->str[k], &t->len[k], &t->escaped[k]);
    }
    t->state[k] = c == 'n' ? FIELD_ABSENT : FIELD_BAD; /* null, or checked by jscan_skip */
    return jscan_skip(&b->js);
}

/* V8 positions are 0-based with -1 for none; accepted as cJSON read them:
 * any number whose value is an integer in [-1, INT32_MAX). */
static int read_frame_position(struct builder *b, struct frame_text *t, int k)
{
    int c = jscan_peek(&b->js);
    if (c == '-' || (c >= '0' && c <= '9')) {
        int64_t v;
        int r = jscan_number_int(&b->js, &v);
        if (r < 0) return -1;
        t->state[k] = r == 1 && v >= -1 && v < INT32_MAX ? FIELD_SET : FIELD_BAD;
        t->pos[k - FIELD_LINE] = v;
        return 0;
    }
    t->state[k] = c == 'n' ? FIELD_ABSENT : FIELD_BAD;
    return jscan_skip(&b->js);
}

static int read_frame_text(struct builder *b, struct frame_text *t)
{
    const char *key;
    size_t len;
    int r;
    unsigned seen = 0;
    if (jscan_begin_object(&b->js)) return -1;
    while ((r = jscan_next_member(&b->js, &key, &len)) == 1) {
        int k = frame_key(key, len);
        if (k < 0 || (seen & 1u << k)) {
            if (jscan_skip(&b->js)) return -1; /* scriptId, a later duplicate */
            continue;
        }
        seen |= 1u << k;
        if ((k <= FIELD_URL ? read_frame_string(b, t, k) : read_frame_position(b, t, k))) return -1;
    }
    return r;
}

/* The string's id; decodes its escapes first if it has any. */
static int64_t intern_field(struct builder *b, const struct frame_text *t, int k, int anonymous)
{
    const char *s = t->state[k] == FIELD_SET ? t->str[k] : "";
    size_t len = t->state[k] == FIELD_SET ? t->len[k] : 0;
    if (t->state[k] == FIELD_SET && t->escaped[k]) {
        if (grow_array(b, (void **)&b->scratch, &b->scratch_cap, len + 1, 1)) return -1;
        long n = jscan_unescape(s, len, b->scratch);
        if (n < 0) return fail(b, "callFrame.%s has a lone surrogate in a \\u escape", field_names[k]);
        s = b->scratch;
        len = (size_t)n;
        const char *nul = memchr(s, '\0', len); /* the string ends there, as in C */
        if (nul) len = (size_t)(nul - s);
    }
    /* DevTools shows an empty function name as "(anonymous)". */
    if (anonymous && len == 0) {
        s = "(anonymous)";
        len = strlen(s);
    }
    int64_t id = np_intern(&b->strings, s, len);
    return id < 0 ? fail(b, "out of memory") : id;
}

/* Reads a callFrame object at the cursor into a frame index. */
static int read_call_frame(struct builder *b, int64_t node_id, uint32_t *frame)
{
    struct frame_text t;
    memset(&t, 0, sizeof t);
    if (jscan_peek(&b->js) != '{') {
        if (jscan_skip(&b->js)) return -1;
        return fail(b, "node %lld: callFrame is not an object", (long long)node_id);
    }
    if (read_frame_text(b, &t)) return -1;
    for (int k = 0; k < NFIELDS; k++) {
        if (t.state[k] != FIELD_BAD) continue;
        if (k <= FIELD_URL) return fail(b, "node %lld: callFrame.%s is not a string", (long long)node_id, field_names[k]);
        return fail(b, "node %lld: callFrame.%s is not a line or column number", (long long)node_id, field_names[k]);
    }
    struct np_frame f;
    int64_t name_id = intern_field(b, &t, FIELD_NAME, 1);
    if (name_id < 0) return -1;
    int64_t url_id = intern_field(b, &t, FIELD_URL, 0);
    if (url_id < 0) return -1;
    f.name = (uint32_t)name_id;
    f.url = (uint32_t)url_id;
    f.line = t.state[FIELD_LINE] == FIELD_SET ? (int32_t)t.pos[0] + 1 : 0;
    f.column = t.state[FIELD_COLUMN] == FIELD_SET ? (int32_t)t.pos[1] + 1 : 0;
    int64_t index = intern_frame(b, &f);
    if (index < 0) return -1;
    *frame = (uint32_t)index;
    return 0;
}

/* ---- raw nodes ------------------------------------------------------------ */

static int same_id(const void *ctx, uint32_t entry, const void *key)
{
    const struct builder *b = ctx;
    return b->raw[entry].id == *(const int64_t *)key;
}

static uint64_t id_hash_of(const void *ctx, uint32_t entry)
{
    const struct builder *b = ctx;
    return np_hash_u64((uint64_t)b->raw[entry].id);
}

/* The raw index of the node with this id, or -1. */
static int64_t find_id(const struct builder *b, int64_t id)
{
    const struct id_map *m = &b->ids;
    if (m->dense) {
        uint64_t k = (uint64_t)id - (uint64_t)m->min;
        return k < m->span ? (int64_t)m->dense[k] - 1 : -1;
    }
    return np_index_find(&m->hash, np_hash_u64((uint64_t)id), &id);
}

static int duplicate_id(struct builder *b, int64_t id)
{
    return fail(b, "two nodes have the id %lld", (long long)id);
}

static int index_ids_dense(struct builder *b)
{
    struct id_map *m = &b->ids;
    m->dense = calloc(m->span, sizeof *m->dense);
    if (!m->dense) return fail(b, "out of memory");
    for (size_t i = 0; i < b->nraw; i++) {
        uint32_t *slot = &m->dense[b->raw[i].id - m->min];
        if (*slot) return duplicate_id(b, b->raw[i].id);
        *slot = (uint32_t)i + 1;
    }
    return 0;
}

/* Builds the id map once all nodes are read, and finds duplicate ids. */
static int index_ids(struct builder *b)
{
    struct id_map *m = &b->ids;
    int64_t min = INT64_MAX, max = INT64_MIN;
    for (size_t i = 0; i < b->nraw; i++) {
        if (b->raw[i].id < min) min = b->raw[i].id;
        if (b->raw[i].id > max) max = b->raw[i].id;
    }
    m->min = min;
    /* ids are within +-2^53, so max - min does not overflow */
    if (b->nraw > 0 && (uint64_t)(max - min) < 2 * (uint64_t)b->nraw + 1024) {
        m->span = (size_t)(max - min) + 1;
        return index_ids_dense(b);
    }
    np_index_init(&m->hash, same_id, id_hash_of, b);
    for (size_t i = 0; i < b->nraw; i++) {
        uint64_t h = np_hash_u64((uint64_t)b->raw[i].id);
        if (np_index_find(&m->hash, h, &b->raw[i].id) >= 0) return duplicate_id(b, b->raw[i].id);
        if (np_index_add(&m->hash, h, (uint32_t)i)) return fail(b, "out of memory");
    }
    return 0;
}

static int new_raw_node(struct builder *b, uint32_t parent, uint32_t *index)
{
    if (b->nraw >= UINT32_MAX - 1) return fail(b, "too many nodes");
    if (grow_array(b, (void **)&b->raw, &b->raw_cap, b->nraw + 1, sizeof *b->raw)) return -1;
    struct raw_node *n = &b->raw[b->nraw];
    memset(n, 0, sizeof *n);
    n->parent = parent;
    *index = (uint32_t)b->nraw++;
    return 0;
}

static int read_node_id(struct builder *b, uint32_t index)
{
    struct raw_node *n = &b->raw[index];
    if (n->flags & HAS_ID) return fail(b, "node %lld: two ids", (long long)n->id);
    if (jscan_int(&b->js, -MAX_EXACT, MAX_EXACT, &n->id)) return -1;
    n->flags |= HAS_ID;
    return 0;
}

static int read_node_frame(struct builder *b, uint32_t index)
{
    struct raw_node *n = &b->raw[index];
    if (n->flags & HAS_FRAME) return fail(b, "node %lld: two callFrames", (long long)n->id);
    n->flags |= HAS_FRAME;
    return read_call_frame(b, n->id, &n->frame);
}

static int check_node_complete(struct builder *b, uint32_t index)
{
    const struct raw_node *n = &b->raw[index];
    if (!(n->flags & HAS_ID)) return fail(b, "node number %u has no id", index + 1);
    if (!(n->flags & HAS_FRAME)) return fail(b, "node %lld has no callFrame", (long long)n->id);
    return 0;
}

/* ---- .cpuprofile nodes ------------------------------------------------------ */

/* One {"line":L,"ticks":T} of a node's positionTicks. */
static int read_line_ticks(struct builder *b, uint32_t index)
{
    int64_t line = -1, ticks = -1;
    const char *key;
    size_t len;
    int r;
    if (jscan_begin_object(&b->js)) return -1;
    while ((r = jscan_next_member(&b->js, &key, &len)) == 1) {
        if (jscan_key_is(key, len, "line")) r = jscan_int(&b->js, 0, INT32_MAX, &line);
        else if (jscan_key_is(key, len, "ticks")) r = jscan_int(&b->js, 0, MAX_EXACT, &ticks);
        else r = jscan_skip(&b->js);
        if (r) return -1;
    }
    if (r < 0) return -1;
    if (line < 0 || ticks < 0)
        return fail(b, "node %lld: positionTicks without line or ticks", (long long)b->raw[index].id);
    if (grow_array(b, (void **)&b->ticks, &b->ticks_cap, b->nticks + 1, sizeof *b->ticks)) return -1;
    b->ticks[b->nticks++] = (struct np_line_ticks){ index, (int32_t)line, ticks };
    return 0;
}

static int read_position_ticks(struct builder *b, uint32_t index)
{
    int r;
    if (jscan_begin_array(&b->js)) return -1;
    while ((r = jscan_next_element(&b->js)) == 1)
        if (read_line_ticks(b, index)) return -1;
    return r;
}

static int read_cpu_node_member(struct builder *b, uint32_t index, const char *key, size_t len)
{
    struct raw_node *n = &b->raw[index];
    if (jscan_key_is(key, len, "id")) return read_node_id(b, index);
    if (jscan_key_is(key, len, "callFrame")) return read_node_frame(b, index);
    if (jscan_key_is(key, len, "hitCount")) return jscan_int(&b->js, 0, MAX_EXACT, &n->cost);
    if (jscan_key_is(key, len, "children")) {
        if (n->nchildren) return fail(b, "node %lld: two children lists", (long long)n->id);
        size_t before = b->child_ids.n;
        if (read_int_array(b, &b->child_ids, -MAX_EXACT, MAX_EXACT)) return -1;
        n = &b->raw[index];
        if (b->child_ids.n - before >= UINT32_MAX) return fail(b, "too many children");
        n->first_child = before;
        n->nchildren = (uint32_t)(b->child_ids.n - before);
        return 0;
    }
    if (jscan_key_is(key, len, "positionTicks")) return read_position_ticks(b, index);
    return jscan_skip(&b->js); /* deoptReason, ... */
}

static int read_cpu_node(struct builder *b)
{
    uint32_t index;
    const char *key;
    size_t len;
    int r;
    if (jscan_begin_object(&b->js) || new_raw_node(b, NP_NO_NODE, &index)) return -1;
    while ((r = jscan_next_member(&b->js, &key, &len)) == 1)
        if (read_cpu_node_member(b, index, key, len)) return -1;
    return r < 0 ? -1 : check_node_complete(b, index);
}

static int read_cpu_nodes(struct builder *b)
{
    int r;
    if (jscan_begin_array(&b->js)) return -1;
    while ((r = jscan_next_element(&b->js)) == 1)
        if (read_cpu_node(b)) return -1;
    return r;
}

/* ---- .heapprofile tree ------------------------------------------------------ */

/* The heap tree is nested in the text; its nodes are read in preorder with
 * an explicit stack of open nodes, each either reading its own members or
 * inside its "children" array. */
struct open_node {
    uint32_t index;
    bool in_children;
};

struct open_stack {
    struct open_node *v;
    size_t n, cap;
};

static int open_heap_node(struct builder *b, struct open_stack *st, uint32_t parent)
{
    uint32_t index;
    if (jscan_begin_object(&b->js) || new_raw_node(b, parent, &index)) return -1;
    if (grow_array(b, (void **)&st->v, &st->cap, st->n + 1, sizeof *st->v)) return -1;
    st->v[st->n++] = (struct open_node){ index, false };
    return 0;
}

static int read_heap_member(struct builder *b, struct open_node *top, const char *key, size_t len)
{
    if (jscan_key_is(key, len, "id")) return read_node_id(b, top->index);
    if (jscan_key_is(key, len, "callFrame")) return read_node_frame(b, top->index);
    if (jscan_key_is(key, len, "selfSize")) return jscan_int(&b->js, 0, MAX_EXACT, &b->raw[top->index].cost);
    if (jscan_key_is(key, len, "children")) {
        top->in_children = true;
        return jscan_begin_array(&b->js);
    }
    return jscan_skip(&b->js);
}

/* One step: a member of the innermost open node, or its next child. */
static int heap_step(struct builder *b, struct open_stack *st)
{
    struct open_node *top = &st->v[st->n - 1];
    const char *key;
    size_t len;
    int r;
    if (top->in_children) {
        r = jscan_next_element(&b->js);
        if (r == 1) return open_heap_node(b, st, top->index);
        top->in_children = false;
        return r;
    }
    r = jscan_next_member(&b->js, &key, &len);
    if (r == 1) return read_heap_member(b, top, key, len);
    if (r < 0) return -1;
    st->n--;
    return check_node_complete(b, top->index);
}

static int read_heap_head(struct builder *b)
{
    struct open_stack st = { 0 };
    int rc = open_heap_node(b, &st, NP_NO_NODE);
    while (rc == 0 && st.n > 0) rc = heap_step(b, &st);
    free(st.v);
    return rc;
}

/* ---- samples -------------------------------------------------------------- */

static int read_heap_sample(struct builder *b)
{
    const char *key;
    size_t len;
    int r;
    int64_t node = 0, size = -1;
    bool has_node = false;
    if (jscan_begin_object(&b->js)) return -1;
    while ((r = jscan_next_member(&b->js, &key, &len)) == 1) {
        if (jscan_key_is(key, len, "nodeId")) {
            if (jscan_int(&b->js, -MAX_EXACT, MAX_EXACT, &node)) return -1;
            has_node = true;
        } else if (jscan_key_is(key, len, "size")) {
            if (jscan_int(&b->js, 0, MAX_EXACT, &size)) return -1;
        } else if (jscan_skip(&b->js)) {
            return -1;
        }
    }
    if (r < 0) return -1;
    if (!has_node || size < 0)
        return fail(b, "heap sample %zu lacks nodeId or size", b->sample_ids.n + 1);
    return push_i64(b, &b->sample_ids, node) || push_i64(b, &b->sample_sizes, size) ? -1 : 0;
}

/* Moves the sample ids read so far to 8 bytes each. */
static int widen_sample_ids(struct builder *b)
{
    if (grow_array(b, (void **)&b->sample_ids.v, &b->sample_ids.cap, b->n32 ? b->n32 : 1, sizeof(int64_t))) return -1;
    for (size_t i = 0; i < b->n32; i++) b->sample_ids.v[i] = b->ids32[i];
    b->sample_ids.n = b->n32;
    free(b->ids32);
    b->ids32 = NULL;
    b->n32 = b->cap32 = 0;
    b->wide_ids = true;
    return 0;
}

/* CPU sample ids take 4 bytes each while they fit (V8 numbers its nodes
 * from 1), 8 once one does not: 23 MB less for a 100 MB profile. */
static int append_sample_ids(struct builder *b, const int64_t *v, size_t n)
{
    if (!b->wide_ids) {
        size_t fit = 0;
        while (fit < n && v[fit] >= 0 && v[fit] < UINT32_MAX) fit++;
        if (fit == n) {
            if (grow_array(b, (void **)&b->ids32, &b->cap32, b->n32 + n, sizeof *b->ids32)) return -1;
            for (size_t i = 0; i < n; i++) b->ids32[b->n32 + i] = (uint32_t)v[i];
            b->n32 += n;
            return 0;
        }
        if (widen_sample_ids(b)) return -1;
    }
    if (grow_array(b, (void **)&b->sample_ids.v, &b->sample_ids.cap, b->sample_ids.n + n, sizeof(int64_t))) return -1;
    memcpy(b->sample_ids.v + b->sample_ids.n, v, n * sizeof *v);
    b->sample_ids.n += n;
    return 0;
}

/* The node ids of a .cpuprofile's samples, from the first element on. */
static int read_sample_ids(struct builder *b)
{
    int64_t chunk[1024];
    size_t got = 1;
    int r = jscan_int(&b->js, -MAX_EXACT, MAX_EXACT, &chunk[0]) ? -1 : 1;
    for (;;) {
        if (r < 0 || append_sample_ids(b, chunk, got)) return -1;
        if (r == 0) return 0;
        r = jscan_int_array(&b->js, -MAX_EXACT, MAX_EXACT, chunk, sizeof chunk / sizeof chunk[0], &got);
    }
}

/* "samples" is a list of node ids in a .cpuprofile and a list of objects in
 * a .heapprofile; each element must have the form of the first. */
static int read_samples(struct builder *b)
{
    int r;
    if (jscan_begin_array(&b->js)) return -1;
    while ((r = jscan_next_element(&b->js)) == 1) {
        enum samples_form form = jscan_peek(&b->js) == '{' ? SAMPLES_OBJECTS : SAMPLES_IDS;
        if (b->samples_form == SAMPLES_NONE) b->samples_form = form;
        if (form != b->samples_form) return jscan_fail(&b->js, "samples mix node ids and objects");
        if (form == SAMPLES_OBJECTS) {
            if (read_heap_sample(b)) return -1;
            continue;
        }
        return read_sample_ids(b); /* node ids: this one and the rest in bulk */
    }
    return r;
}

/* ---- the document ----------------------------------------------------------- */

static int read_top_member(struct builder *b, const char *key, size_t len)
{
    static const struct {
        const char *name;
        enum top_key bit;
    } keys[] = {
        { "nodes", KEY_NODES },         { "head", KEY_HEAD },          { "samples", KEY_SAMPLES },
        { "timeDeltas", KEY_DELTAS },   { "startTime", KEY_START },    { "endTime", KEY_END },
        { "nodeprofFolded", KEY_FOLDED },
    };
    size_t k = 0;
    while (k < sizeof keys / sizeof keys[0] && !jscan_key_is(key, len, keys[k].name)) k++;
    if (k == sizeof keys / sizeof keys[0]) return jscan_skip(&b->js);
    if (b->seen & keys[k].bit) return fail(b, "\"%s\" appears twice", keys[k].name);
    b->seen |= keys[k].bit;
    switch (keys[k].bit) {
    case KEY_NODES: return read_cpu_nodes(b);
    case KEY_HEAD: return read_heap_head(b);
    case KEY_SAMPLES: return read_samples(b);
    case KEY_DELTAS: return read_int_array(b, &b->deltas, -MAX_EXACT, MAX_EXACT);
    case KEY_START: return jscan_int(&b->js, -MAX_EXACT, MAX_EXACT, &b->start);
    case KEY_END: return jscan_int(&b->js, -MAX_EXACT, MAX_EXACT, &b->end);
    case KEY_FOLDED: return jscan_skip(&b->js);
    }
    return -1;
}

static int read_document(struct builder *b)
{
    const char *key;
    size_t len;
    int r;
    int c = jscan_peek(&b->js);
    if (c < 0) return fail(b, "not a profile: the input is empty");
    if (c != '{') return fail(b, "not a profile: the input is not a JSON object");
    if (jscan_begin_object(&b->js)) return -1;
    while ((r = jscan_next_member(&b->js, &key, &len)) == 1)
        if (read_top_member(b, key, len)) return -1;
    if (r < 0 || jscan_finish(&b->js)) return -1;
    if (b->sample_ids.n + b->n32 >= UINT32_MAX) return fail(b, "too many samples");
    return 0;
}

static int detect_kind(struct builder *b, enum np_profile_kind *kind)
{
    bool nodes = b->seen & KEY_NODES, head = b->seen & KEY_HEAD;
    if (nodes && head) return fail(b, "not a profile: it has both \"nodes\" (.cpuprofile) and \"head\" (.heapprofile)");
    if (!nodes && !head) return fail(b, "not a profile: no \"nodes\" (.cpuprofile) or \"head\" (.heapprofile)");
    if (nodes && b->samples_form == SAMPLES_OBJECTS) return fail(b, "a .cpuprofile's samples must be node ids");
    if (head && b->samples_form == SAMPLES_IDS) return fail(b, "a .heapprofile's samples must be objects");
    if (head && (b->seen & KEY_DELTAS)) return fail(b, "a .heapprofile has no timeDeltas");
    *kind = nodes ? NP_PROFILE_CPU : NP_PROFILE_HEAP;
    return 0;
}

/* ---- the .cpuprofile tree -------------------------------------------------- */

/* Gives every listed child its parent. */
static int link_children(struct builder *b)
{
    for (size_t i = 0; i < b->nraw; i++) {
        const struct raw_node *n = &b->raw[i];
        for (uint32_t k = 0; k < n->nchildren; k++) {
            int64_t child = b->child_ids.v[n->first_child + k];
            int64_t j = find_id(b, child);
            if (j < 0) return fail(b, "node %lld lists a child %lld that does not exist", (long long)n->id, (long long)child);
            struct raw_node *c = &b->raw[j];
            if (c->parent == i) return fail(b, "node %lld lists the child %lld twice", (long long)n->id, (long long)c->id);
            if (c->parent != NP_NO_NODE)
                return fail(b, "node %lld has two parents, %lld and %lld", (long long)c->id,
                            (long long)b->raw[c->parent].id, (long long)n->id);
            c->parent = (uint32_t)i;
        }
    }
    return 0;
}

static int find_root(struct builder *b, uint32_t *root)
{
    *root = NP_NO_NODE;
    for (size_t i = 0; i < b->nraw; i++) {
        if (b->raw[i].parent != NP_NO_NODE) continue;
        if (*root != NP_NO_NODE)
            return fail(b, "two roots: nodes %lld and %lld have no parent", (long long)b->raw[*root].id, (long long)b->raw[i].id);
        *root = (uint32_t)i;
    }
    if (*root == NP_NO_NODE) return fail(b, "the nodes form a cycle: every node has a parent");
    return 0;
}

/* ---- the model ------------------------------------------------------------ */

/* Shapes the raw nodes into p->nodes; returns the map raw index -> node. */
static uint32_t *shape_tree(struct builder *b, struct np_profile *p, uint32_t root)
{
    size_t n = b->nraw;
    uint32_t *parent = malloc(n * sizeof *parent);
    uint32_t *frame = malloc(n * sizeof *frame);
    uint32_t *map = malloc(n * sizeof *map);
    char why[200];
    if (!parent || !frame || !map) {
        fail(b, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        parent[i] = b->raw[i].parent;
        frame[i] = b->raw[i].frame;
    }
    if (np_tree_shape(n, root, parent, frame, &p->nodes, &p->nnodes, map, why, sizeof why)) {
        fail(b, "%s", why);
        goto fail;
    }
    free(parent);
    free(frame);
    return map;
fail:
    free(parent);
    free(frame);
    free(map);
    return NULL;
}

/* Each sample's node, written over the sample ids as they are read: the
 * uint32_t of sample i ends where the id of sample i + 1 begins, or before.
 * Wide ids then shrink in place, which saves a new array of 4 bytes per
 * sample (23 MB of peak memory for a 100 MB profile). */
static int map_cpu_samples(struct builder *b, struct np_profile *p, const uint32_t *pre)
{
    size_t n = b->wide_ids ? b->sample_ids.n : b->n32;
    char *v = b->wide_ids ? (char *)b->sample_ids.v : (char *)b->ids32;
    if (!v) {
        p->sample_node = malloc(sizeof *p->sample_node);
        return p->sample_node ? 0 : fail(b, "out of memory");
    }
    /* With dense ids, one table from id to node: one random access per
     * sample instead of two (id -> raw node -> node). */
    uint32_t *node_of = b->ids.dense ? malloc(b->ids.span * sizeof *node_of) : NULL;
    for (size_t k = 0; node_of && k < b->ids.span; k++)
        node_of[k] = b->ids.dense[k] ? pre[b->ids.dense[k] - 1] : NP_NO_NODE;
    for (size_t i = 0; i < n; i++) {
        int64_t id;
        if (b->wide_ids) {
            memcpy(&id, v + i * sizeof id, sizeof id);
        } else {
            uint32_t narrow;
            memcpy(&narrow, v + i * sizeof narrow, sizeof narrow);
            id = narrow;
        }
        uint32_t node;
        if (node_of) {
            uint64_t k = (uint64_t)id - (uint64_t)b->ids.min;
            node = k < b->ids.span ? node_of[k] : NP_NO_NODE;
        } else {
            int64_t j = find_id(b, id);
            node = j < 0 ? NP_NO_NODE : pre[j];
        }
        if (node == NP_NO_NODE) {
            free(node_of);
            return fail(b, "sample %zu names node %lld, which does not exist", i + 1, (long long)id);
        }
        memcpy(v + i * sizeof node, &node, sizeof node);
    }
    free(node_of);
    b->sample_ids.v = NULL;
    b->ids32 = NULL;
    p->sample_node = (uint32_t *)v;
    uint32_t *shrunk = realloc(v, (n ? n : 1) * sizeof *p->sample_node);
    if (shrunk) p->sample_node = shrunk;
    p->nsamples = n;
    return 0;
}

/* Old profiles may carry hitCount without samples: spread the profile's
 * duration evenly over the hits. */
static int cpu_costs_from_hits(struct builder *b, struct np_profile *p, const uint32_t *map)
{
    int64_t hits = 0;
    for (size_t i = 0; i < b->nraw; i++)
        if (__builtin_add_overflow(hits, b->raw[i].cost, &hits)) return fail(b, "hitCounts too large");
    int64_t interval = hits > 0 && p->end_us > p->start_us ? (p->end_us - p->start_us) / hits : 0;
    for (size_t i = 0; i < b->nraw; i++) {
        struct np_node *node = &p->nodes[map[i]];
        int64_t time;
        if (__builtin_mul_overflow(b->raw[i].cost, interval, &time) ||
            __builtin_add_overflow(node->self_weight, time, &node->self_weight))
            return fail(b, "hitCounts too large");
        node->self_count += b->raw[i].cost; /* <= hits, which did not overflow */
    }
    p->interval_us = interval;
    return 0;
}

/* A profile written by cpufold.c ("nodeprofFolded"): its first samples
 * stand in for folded ones, two per node, so the samples are counted from
 * hitCount, and the interval is the mean (the stand-ins' times are sums). */
static int folded_counts(struct builder *b, struct np_profile *p, const uint32_t *map)
{
    int64_t hits = 0, time = 0;
    for (size_t i = 0; i < b->nraw; i++) {
        struct np_node *node = &p->nodes[map[i]];
        if (__builtin_add_overflow(hits, b->raw[i].cost, &hits)) return fail(b, "hitCounts too large");
        node->self_count += b->raw[i].cost; /* <= hits, which did not overflow */
    }
    for (size_t i = 0; i < p->nsamples; i++) time += p->sample_weight[i];
    p->interval_us = hits > 0 ? time / hits : 0;
    return 0;
}

static int cpu_samples(struct builder *b, struct np_profile *p, const uint32_t *map)
{
    size_t n = b->wide_ids ? b->sample_ids.n : b->n32;
    if (b->deltas.n != n) return fail(b, "%zu samples but %zu timeDeltas", n, b->deltas.n);
    int64_t last;
    const char *why;
    if (map_cpu_samples(b, p, map)) return -1;
    if (np_deltas_to_weights(b->start, MAX_TIME, b->deltas.v, p->sample_node, n, &last, &why))
        return fail(b, "%s", why);
    p->sample_weight = b->deltas.v; /* now the weights; the model owns them */
    b->deltas.v = NULL;
    p->start_us = b->start;
    p->end_us = (b->seen & KEY_END) ? b->end : last;
    if (p->end_us < p->start_us) return fail(b, "endTime is before startTime");
    if (n == 0) return cpu_costs_from_hits(b, p, map);
    bool folded = b->seen & KEY_FOLDED;
    for (size_t i = 0; i < n; i++) {
        struct np_node *node = &p->nodes[p->sample_node[i]];
        node->self_count += !folded;
        node->self_weight += p->sample_weight[i]; /* all add up to at most 2 * MAX_TIME */
    }
    if (folded) return folded_counts(b, p, map);
    p->interval_us = np_median_positive(p->sample_weight, n);
    return 0;
}

/* Heap: bytes are the nodes' selfSize (what DevTools shows); objects are
 * the samples, which add up to selfSize per node in V8's output. */
static int heap_costs(struct builder *b, struct np_profile *p, const uint32_t *map)
{
    for (size_t i = 0; i < b->nraw; i++) {
        struct np_node *node = &p->nodes[map[i]];
        if (__builtin_add_overflow(node->self_weight, b->raw[i].cost, &node->self_weight))
            return fail(b, "selfSizes too large");
    }
    for (size_t i = 0; i < b->sample_ids.n; i++) {
        int64_t j = find_id(b, b->sample_ids.v[i]);
        if (j >= 0) p->nodes[map[j]].self_count++; /* else pruned by V8: ignored */
    }
    return 0;
}

static int sum_totals(struct builder *b, struct np_profile *p)
{
    for (size_t i = 0; i < p->nnodes; i++)
        if (__builtin_add_overflow(p->total_count, p->nodes[i].self_count, &p->total_count) ||
            __builtin_add_overflow(p->total_weight, p->nodes[i].self_weight, &p->total_weight))
            return fail(b, "the profile's totals are too large");
    return 0;
}

/* p->source_index from the map raw index (= index in "nodes") -> node. */
static int keep_source_index(struct builder *b, struct np_profile *p, const uint32_t *map)
{
    p->source_index = malloc((p->nnodes ? p->nnodes : 1) * sizeof *p->source_index);
    if (!p->source_index) return fail(b, "out of memory");
    for (size_t i = 0; i < p->nnodes; i++) p->source_index[i] = NP_NO_NODE;
    for (size_t i = b->nraw; i-- > 0;) p->source_index[map[i]] = (uint32_t)i;
    p->nsource = b->nraw;
    return 0;
}

/* The positionTicks move to the model, on the nodes they became. */
static void keep_line_ticks(struct builder *b, struct np_profile *p, const uint32_t *map)
{
    for (size_t i = 0; i < b->nticks; i++) b->ticks[i].node = map[b->ticks[i].node];
    p->line_ticks = b->ticks;
    p->nline_ticks = b->nticks;
    b->ticks = NULL;
    b->nticks = 0;
}

static int build_cpu(struct builder *b, struct np_profile *p)
{
    uint32_t root;
    if (b->nraw == 0) return fail(b, "the profile has no nodes");
    if (index_ids(b) || link_children(b) || find_root(b, &root)) return -1;
    uint32_t *map = shape_tree(b, p, root);
    if (!map) return -1;
    int rc = cpu_samples(b, p, map);
    if (rc == 0) rc = keep_source_index(b, p, map);
    if (rc == 0) keep_line_ticks(b, p, map);
    free(map);
    return rc;
}

/* The heap tree was read in preorder: node 0 is the root. */
static int build_heap(struct builder *b, struct np_profile *p)
{
    if (index_ids(b)) return -1;
    uint32_t *map = shape_tree(b, p, 0);
    if (!map) return -1;
    int rc = heap_costs(b, p, map);
    free(map);
    return rc;
}

static void builder_free(struct builder *b)
{
    np_intern_free(&b->strings);
    free(b->frames);
    np_index_free(&b->frame_index);
    free(b->raw);
    free(b->ids.dense);
    np_index_free(&b->ids.hash);
    free(b->child_ids.v);
    free(b->sample_ids.v);
    free(b->ids32);
    free(b->sample_sizes.v);
    free(b->deltas.v);
    free(b->ticks);
    free(b->scratch);
}

void np_profile_take_tables(struct np_profile *p, struct np_intern *strings, struct np_frame **frames,
                            size_t nframes)
{
    np_intern_drop_index(strings);
    p->strings = strings->strings;
    p->nstrings = strings->n;
    p->arena = strings->arena;
    memset(strings, 0, sizeof *strings);
    p->frames = *frames;
    p->nframes = nframes;
    *frames = NULL;
}

struct np_profile *np_profile_parse(const char *json, size_t len, char *err, size_t errlen)
{
    struct builder b;
    memset(&b, 0, sizeof b);
    jscan_init(&b.js, json, len, err, errlen);
    np_index_init(&b.frame_index, same_frame, frame_hash_of, &b);
    struct np_profile *p = calloc(1, sizeof *p);
    if (!p || np_intern_init(&b.strings)) {
        snprintf(err, errlen, "out of memory");
        free(p);
        builder_free(&b);
        return NULL;
    }
    int rc = read_document(&b);
    if (rc == 0) rc = detect_kind(&b, &p->kind);
    if (rc == 0) rc = p->kind == NP_PROFILE_CPU ? build_cpu(&b, p) : build_heap(&b, p);
    if (rc == 0) rc = sum_totals(&b, p);
    np_profile_take_tables(p, &b.strings, &b.frames, b.nframes);
    builder_free(&b);
    if (rc) {
        np_profile_free(p);
        return NULL;
    }
    return p;
}

void np_profile_free(struct np_profile *p)
{
    if (!p) return;
    free(p->strings);
    np_arena_free(p->arena);
    free(p->frames);
    free(p->nodes);
    free(p->sample_node);
    free(p->sample_weight);
    free(p->remap_from);
    free(p->remap_to);
    free(p->source_index);
    free(p->line_ticks);
    free(p);
}

enum np_profile_kind np_profile_kind(const struct np_profile *p)
{
    return p->kind;
}
