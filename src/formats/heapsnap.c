/* Streaming reader of V8 .heapsnapshot files (heapsnap.h). */
#include "formats/heapsnap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (1u << 20)
#define MAX_DEPTH 512 /* nesting of the values we skip */
#define MAX_FIELDS 64

/* ---- the byte source: a file read through a fixed buffer, or memory ---- */

struct rd {
    int fd;                  /* -1: the whole input is in buf */
    const unsigned char *buf;
    unsigned char *own;      /* the read buffer when fd >= 0 */
    size_t len, pos;
    int eof, failed;
    char *err;
    size_t errlen;
};

static int fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct rd *r, const char *fmt, ...)
{
    if (r->failed) return -1;
    r->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, r->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Refills the buffer; 1 when there is a byte at pos, 0 at the end. */
static int fill(struct rd *r)
{
    if (r->pos < r->len) return 1;
    if (r->fd < 0 || r->eof || r->failed) return 0;
    for (;;) {
        ssize_t n = read(r->fd, r->own, READ_CHUNK);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { fail(r, "read error: %s", strerror(errno)); return 0; }
        if (n == 0) { r->eof = 1; return 0; }
        r->len = (size_t)n;
        r->pos = 0;
        return 1;
    }
}

/* The next non-blank byte, not consumed; -1 at the end. */
static int peek(struct rd *r)
{
    for (;;) {
        if (!fill(r)) return -1;
        unsigned char c = r->buf[r->pos];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return c;
        r->pos++;
    }
}

static int truncated(struct rd *r)
{
    return fail(r, "truncated or malformed JSON (unexpected end of input)");
}

static int expect(struct rd *r, int want, const char *where)
{
    int c = peek(r);
    if (c < 0) return truncated(r);
    if (c != want) return fail(r, "malformed JSON in %s: expected '%c', found '%c'", where, want, c);
    r->pos++;
    return 0;
}

/* After an element of an array or object: 1 for ',', 0 for the closer. */
static int next_item(struct rd *r, int closer, const char *where)
{
    int c = peek(r);
    if (c < 0) return truncated(r);
    r->pos++;
    if (c == ',') return 1;
    if (c == closer) return 0;
    return fail(r, "malformed JSON in %s: expected ',' or '%c', found '%c'", where, closer, c);
}

/* ---- strings ---- */

struct sbuf { char *p; size_t len, cap; };

static int sb_grow(struct rd *r, struct sbuf *b, size_t more)
{
    if (b->len + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + more) {
        if (cap > SIZE_MAX / 2) return fail(r, "out of memory for strings");
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) return fail(r, "out of memory for strings (%zu bytes)", cap);
    b->p = p;
    b->cap = cap;
    return 0;
}

static int sb_putc(struct rd *r, struct sbuf *b, char c)
{
    if (b->len == b->cap && sb_grow(r, b, 1)) return -1;
    b->p[b->len++] = c;
    return 0;
}

static int hex4(struct rd *r, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        if (!fill(r)) return truncated(r);
        int c = r->buf[r->pos++];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return fail(r, "malformed \\u escape in a string");
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 0;
}

static int put_utf8(struct rd *r, struct sbuf *b, unsigned cp)
{
    char t[4];
    int n;
    if (cp < 0x80) { t[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { t[0] = (char)(0xc0 | cp >> 6); t[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
    else if (cp < 0x10000) {
        t[0] = (char)(0xe0 | cp >> 12); t[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); t[2] = (char)(0x80 | (cp & 0x3f)); n = 3;
    } else {
        t[0] = (char)(0xf0 | cp >> 18); t[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); t[3] = (char)(0x80 | (cp & 0x3f)); n = 4;
    }
    if (sb_grow(r, b, (size_t)n)) return -1;
    memcpy(b->p + b->len, t, (size_t)n);
    b->len += (size_t)n;
    return 0;
}

/* \uXXXX, with a following low surrogate when it is a high one; lone
 * surrogates become U+FFFD. */
static int unicode_escape(struct rd *r, struct sbuf *b)
{
    unsigned cp;
    if (hex4(r, &cp)) return -1;
    if (cp >= 0xd800 && cp < 0xdc00) {
        if (fill(r) && r->buf[r->pos] == '\\') {
            r->pos++;
            if (!fill(r)) return truncated(r);
            if (r->buf[r->pos] != 'u') return put_utf8(r, b, 0xfffd) ? -1 : sb_putc(r, b, '\\');
            r->pos++;
            unsigned lo;
            if (hex4(r, &lo)) return -1;
            if (lo >= 0xdc00 && lo < 0xe000) return put_utf8(r, b, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
            if (put_utf8(r, b, 0xfffd)) return -1;
            cp = lo;
            if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd;
        } else cp = 0xfffd;
    } else if (cp >= 0xdc00 && cp < 0xe000) cp = 0xfffd;
    return put_utf8(r, b, cp);
}

/* A JSON string (the opening quote next), appended to B with a NUL. When B
 * is NULL the string is only skipped. */
static int read_string(struct rd *r, struct sbuf *b)
{
    if (expect(r, '"', "a string")) return -1;
    for (;;) {
        if (!fill(r)) return truncated(r);
        /* copy the run of plain bytes at once */
        const unsigned char *s = r->buf + r->pos, *e = r->buf + r->len, *q = s;
        while (q < e && *q != '"' && *q != '\\' && *q >= 0x20) q++;
        if (b && q > s) {
            if (sb_grow(r, b, (size_t)(q - s))) return -1;
            memcpy(b->p + b->len, s, (size_t)(q - s));
            b->len += (size_t)(q - s);
        }
        r->pos += (size_t)(q - s);
        if (q == e) continue;
        unsigned char c = *q;
        r->pos++;
        if (c == '"') return b ? sb_putc(r, b, '\0') : 0;
        if (c < 0x20) return fail(r, "malformed JSON: control character in a string");
        if (!fill(r)) return truncated(r);
        c = r->buf[r->pos++];
        char out;
        switch (c) {
        case '"': out = '"'; break;
        case '\\': out = '\\'; break;
        case '/': out = '/'; break;
        case 'b': out = '\b'; break;
        case 'f': out = '\f'; break;
        case 'n': out = '\n'; break;
        case 'r': out = '\r'; break;
        case 't': out = '\t'; break;
        case 'u':
            if (b ? unicode_escape(r, b) : hex4(r, &(unsigned){0})) return -1;
            continue;
        default: return fail(r, "malformed JSON: bad escape in a string");
        }
        if (b && sb_putc(r, b, out)) return -1;
    }
}

/* ---- numbers and skipping ---- */

/* An unsigned decimal integer, as V8 writes every number of the arrays. */
static int read_uint(struct rd *r, uint64_t *out, const char *where)
{
    int c = peek(r);
    if (c < 0) return truncated(r);
    if (c < '0' || c > '9') return fail(r, "malformed %s: expected an unsigned integer, found '%c'", where, c);
    uint64_t v = 0;
    for (;;) {
        const unsigned char *p = r->buf + r->pos, *e = r->buf + r->len;
        while (p < e && *p >= '0' && *p <= '9') {
            unsigned d = (unsigned)(*p++ - '0');
            if (v > (UINT64_MAX - d) / 10) return fail(r, "number out of range in %s", where);
            v = v * 10 + d;
        }
        r->pos = (size_t)(p - r->buf);
        if (p < e || !fill(r)) break;
    }
    if (fill(r)) {
        int n = r->buf[r->pos];
        if (n == '.' || n == 'e' || n == 'E') return fail(r, "malformed %s: expected an integer", where);
    }
    *out = v;
    return 0;
}

/* An array element and what follows it: 1 for ',', 0 for ']', -1 on error.
 * The fast path parses "123," straight from the buffer: the nodes and edges
 * arrays are nearly all of a snapshot's bytes. */
static inline int read_item(struct rd *r, uint64_t *out, const char *where)
{
    const unsigned char *p = r->buf + r->pos;
    if (r->len - r->pos >= 24 && *p >= '0' && *p <= '9') {
        uint64_t v = 0;
        int n = 0;
        while (*p >= '0' && *p <= '9' && n < 19) { v = v * 10 + (uint64_t)(*p++ - '0'); n++; }
        if (*p == ',' || *p == ']') {
            *out = v;
            r->pos = (size_t)(p - r->buf) + 1;
            return *p == ',';
        }
    }
    if (read_uint(r, out, where)) return -1;
    return next_item(r, ']', where);
}

/* Skips any JSON value (objects and arrays iteratively, to MAX_DEPTH). */
static int skip_value(struct rd *r)
{
    char stack[MAX_DEPTH];
    int depth = 0;
    for (;;) {
        int c = peek(r);
        if (c < 0) return truncated(r);
        if (c == '"') { if (read_string(r, NULL)) return -1; }
        else if (c == '{' || c == '[') {
            if (depth == MAX_DEPTH) return fail(r, "JSON nested too deeply");
            r->pos++;
            stack[depth++] = (char)(c == '{' ? '}' : ']');
            int d = peek(r);
            if (d < 0) return truncated(r);
            if (d == stack[depth - 1]) { r->pos++; depth--; }
            else if (c == '{') {
                if (read_string(r, NULL) || expect(r, ':', "an object")) return -1;
                continue;
            } else continue;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            r->pos++;
            while (fill(r)) {
                int d = r->buf[r->pos];
                if (!((d >= '0' && d <= '9') || d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-')) break;
                r->pos++;
            }
        } else if (c == 't' || c == 'f' || c == 'n') {
            const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
            for (const char *w = word; *w; w++) {
                if (!fill(r)) return truncated(r);
                if (r->buf[r->pos++] != *w) return fail(r, "malformed JSON: bad literal");
            }
        } else return fail(r, "malformed JSON: unexpected '%c'", c);
        /* after a value: close containers or move to the next item */
        for (;;) {
            if (depth == 0) return 0;
            int k = next_item(r, stack[depth - 1], "a skipped value");
            if (k < 0) return -1;
            if (k == 0) { depth--; continue; }
            if (stack[depth - 1] == '}' && (read_string(r, NULL) || expect(r, ':', "an object"))) return -1;
            break;
        }
    }
}

/* ---- the parse state ---- */

struct meta {
    int have;
    char *node_fields[MAX_FIELDS], *edge_fields[MAX_FIELDS];
    unsigned n_node_fields, n_edge_fields;
    int nf_type, nf_name, nf_id, nf_self, nf_edges, nf_detached; /* field positions */
    int ef_type, ef_name, ef_to;
    uint64_t node_count, edge_count;
    int have_node_count, have_edge_count;
};

struct ps {
    struct rd r;
    struct np_heapsnap *hs;
    struct meta m;
    struct sbuf strings;  /* the arena being built */
    uint64_t *offs;
    size_t n_offs, cap_offs;
    uint32_t *node_edges; /* edge_count field per node, until first_edge is built */
    size_t cap_nodes, cap_edges;
    uint64_t size_hint;   /* file size when known, to bound reservations */
    int have_nodes, have_edges, have_strings;
};

/* A list of strings: node_fields, edge_fields, a type name list. */
static int read_string_list(struct ps *p, char **out, unsigned max, unsigned *n, const char *what)
{
    struct rd *r = &p->r;
    if (expect(r, '[', what)) return -1;
    *n = 0;
    if (peek(r) == ']') { r->pos++; return 0; }
    do {
        if (peek(r) != '"') return fail(r, "snapshot.meta.%s: expected strings", what);
        struct sbuf b = { 0 };
        if (read_string(r, &b)) { free(b.p); return -1; }
        if (*n == max) { free(b.p); return fail(r, "snapshot.meta.%s: more than %u entries", what, max); }
        out[(*n)++] = b.p;
    } while (next_item(r, ']', what) == 1);
    return r->failed ? -1 : 0;
}

/* node_types / edge_types: an array whose entry at the type field's
 * position is the list of type names; the other entries are type words. */
static int read_types(struct ps *p, int which_node, const char *what)
{
    struct rd *r = &p->r;
    struct np_heapsnap *hs = p->hs;
    char ***dst = which_node ? &hs->node_types : &hs->edge_types;
    unsigned *n = which_node ? &hs->n_node_types : &hs->n_edge_types;
    if (*dst) return fail(r, "snapshot.meta.%s given twice", what);
    if (expect(r, '[', what)) return -1;
    if (peek(r) == ']') { r->pos++; return 0; }
    do {
        if (peek(r) == '[' && !*dst) {
            *dst = calloc(255, sizeof **dst);
            if (!*dst) return fail(r, "out of memory");
            if (read_string_list(p, *dst, 254, n, what)) return -1;
        } else if (skip_value(r)) return -1;
    } while (next_item(r, ']', what) == 1);
    return r->failed ? -1 : 0;
}

static int find_field(char **fields, unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++)
        if (!strcmp(fields[i], name)) return (int)i;
    return -1;
}

static int read_meta(struct ps *p)
{
    struct rd *r = &p->r;
    struct meta *m = &p->m;
    if (expect(r, '{', "snapshot.meta")) return -1;
    if (peek(r) == '}') { r->pos++; return 0; }
    do {
        struct sbuf key = { 0 };
        if (read_string(r, &key) || expect(r, ':', "snapshot.meta")) { free(key.p); return -1; }
        int rc;
        if (!strcmp(key.p, "node_fields") && !m->n_node_fields)
            rc = read_string_list(p, m->node_fields, MAX_FIELDS, &m->n_node_fields, "node_fields");
        else if (!strcmp(key.p, "edge_fields") && !m->n_edge_fields)
            rc = read_string_list(p, m->edge_fields, MAX_FIELDS, &m->n_edge_fields, "edge_fields");
        else if (!strcmp(key.p, "node_types")) rc = read_types(p, 1, "node_types");
        else if (!strcmp(key.p, "edge_types")) rc = read_types(p, 0, "edge_types");
        else rc = skip_value(r);
        free(key.p);
        if (rc) return -1;
    } while (next_item(r, '}', "snapshot.meta") == 1);
    return r->failed ? -1 : 0;
}

static int read_snapshot_header(struct ps *p)
{
    struct rd *r = &p->r;
    struct meta *m = &p->m;
    if (m->have) return fail(r, "\"snapshot\" given twice");
    if (expect(r, '{', "snapshot")) return -1;
    int have_meta = 0;
    if (peek(r) == '}') r->pos++;
    else do {
        struct sbuf key = { 0 };
        if (read_string(r, &key) || expect(r, ':', "snapshot")) { free(key.p); return -1; }
        int rc;
        if (!strcmp(key.p, "meta") && !have_meta) { rc = read_meta(p); have_meta = 1; }
        else if (!strcmp(key.p, "node_count")) { rc = read_uint(r, &m->node_count, "snapshot.node_count"); m->have_node_count = 1; }
        else if (!strcmp(key.p, "edge_count")) { rc = read_uint(r, &m->edge_count, "snapshot.edge_count"); m->have_edge_count = 1; }
        else rc = skip_value(r);
        free(key.p);
        if (rc) return -1;
    } while (next_item(r, '}', "snapshot") == 1);
    if (r->failed) return -1;
    if (!have_meta) return fail(r, "not a V8 heap snapshot: no snapshot.meta");
    m->nf_type = find_field(m->node_fields, m->n_node_fields, "type");
    m->nf_name = find_field(m->node_fields, m->n_node_fields, "name");
    m->nf_id = find_field(m->node_fields, m->n_node_fields, "id");
    m->nf_self = find_field(m->node_fields, m->n_node_fields, "self_size");
    m->nf_edges = find_field(m->node_fields, m->n_node_fields, "edge_count");
    m->nf_detached = find_field(m->node_fields, m->n_node_fields, "detachedness");
    m->ef_type = find_field(m->edge_fields, m->n_edge_fields, "type");
    m->ef_name = find_field(m->edge_fields, m->n_edge_fields, "name_or_index");
    m->ef_to = find_field(m->edge_fields, m->n_edge_fields, "to_node");
    if (m->nf_type < 0 || m->nf_name < 0 || m->nf_id < 0 || m->nf_self < 0 || m->nf_edges < 0)
        return fail(r, "not a V8 heap snapshot: snapshot.meta.node_fields lacks type, name, id, self_size or edge_count");
    if (m->ef_type < 0 || m->ef_name < 0 || m->ef_to < 0)
        return fail(r, "not a V8 heap snapshot: snapshot.meta.edge_fields lacks type, name_or_index or to_node");
    if (!p->hs->node_types || !p->hs->edge_types)
        return fail(r, "not a V8 heap snapshot: snapshot.meta has no node or edge type list");
    m->have = 1;
    return 0;
}

/* Room for one more node or edge: arrays start at the declared count
 * (bounded by what the file's size can hold) and double past it. */
static int grow(struct ps *p, void **arrs, const size_t *sizes, int n, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap * 2 : 4096;
    if (c < need) c = need;
    if (c > UINT32_MAX) c = UINT32_MAX;
    if (need > c) return fail(&p->r, "more than %u nodes or edges: not supported", UINT32_MAX);
    for (int i = 0; i < n; i++) {
        void *q = realloc(arrs[i], c * sizes[i]);
        if (!q) return fail(&p->r, "out of memory (%zu entries)", c);
        arrs[i] = q;
    }
    *cap = c;
    return 0;
}

static size_t initial_cap(struct ps *p, uint64_t declared, unsigned fields)
{
    uint64_t c = declared;
    /* each entry takes at least 2 bytes per field in the text ("0,") */
    if (p->size_hint && c > p->size_hint / (2 * fields)) c = p->size_hint / (2 * fields);
    if (!p->size_hint && c > (1u << 20)) c = 1u << 20;
    return (size_t)c;
}

static int read_nodes(struct ps *p)
{
    struct rd *r = &p->r;
    struct meta *m = &p->m;
    struct np_heapsnap *hs = p->hs;
    if (!m->have) return fail(r, "not a V8 heap snapshot: \"nodes\" before the \"snapshot\" meta that decodes it");
    if (p->have_nodes) return fail(r, "\"nodes\" given twice");
    p->have_nodes = 1;
    void *arrs[6] = { hs->node_type, hs->node_name, hs->node_id, hs->node_self, p->node_edges, hs->node_detached };
    const size_t sizes[6] = { 1, 4, 4, 8, 4, 1 };
    int na = m->nf_detached >= 0 ? 6 : 5;
    if (grow(p, arrs, sizes, na, &p->cap_nodes, initial_cap(p, m->node_count, m->n_node_fields))) goto out;
    if (expect(r, '[', "nodes")) goto out;
    uint64_t n = 0, vals[MAX_FIELDS];
    unsigned f = 0, nf = m->n_node_fields;
    if (peek(r) == ']') r->pos++;
    else for (int more = 1; more;) {
        if ((more = read_item(r, &vals[f], "nodes")) < 0) goto out;
        if (++f < nf) continue;
        f = 0;
        if (grow(p, arrs, sizes, na, &p->cap_nodes, n + 1)) goto out;
        uint64_t type = vals[m->nf_type], name = vals[m->nf_name], id = vals[m->nf_id], ec = vals[m->nf_edges];
        if (type >= hs->n_node_types) { fail(r, "node %llu: type %llu not in the meta", (unsigned long long)n, (unsigned long long)type); goto out; }
        if (name > UINT32_MAX || id > UINT32_MAX || ec > UINT32_MAX) { fail(r, "node %llu: a field out of range", (unsigned long long)n); goto out; }
        ((uint8_t *)arrs[0])[n] = (uint8_t)type;
        ((uint32_t *)arrs[1])[n] = (uint32_t)name;
        ((uint32_t *)arrs[2])[n] = (uint32_t)id;
        ((uint64_t *)arrs[3])[n] = vals[m->nf_self];
        ((uint32_t *)arrs[4])[n] = (uint32_t)ec;
        if (na == 6) ((uint8_t *)arrs[5])[n] = vals[m->nf_detached] > 2 ? 0 : (uint8_t)vals[m->nf_detached];
        n++;
    }
    if (!r->failed && f) fail(r, "nodes: %u values left over (not a multiple of %u fields)", f, nf);
    hs->node_count = (uint32_t)n;
out:
    hs->node_type = arrs[0]; hs->node_name = arrs[1]; hs->node_id = arrs[2]; hs->node_self = arrs[3];
    p->node_edges = arrs[4];
    hs->node_detached = arrs[5];
    return r->failed ? -1 : 0;
}

static int read_edges(struct ps *p)
{
    struct rd *r = &p->r;
    struct meta *m = &p->m;
    struct np_heapsnap *hs = p->hs;
    if (!m->have) return fail(r, "not a V8 heap snapshot: \"edges\" before the \"snapshot\" meta that decodes it");
    if (p->have_edges) return fail(r, "\"edges\" given twice");
    p->have_edges = 1;
    void *arrs[3] = { hs->edge_type, hs->edge_name, hs->edge_to };
    const size_t sizes[3] = { 1, 4, 4 };
    unsigned nf = m->n_edge_fields, nnf = m->n_node_fields;
    if (grow(p, arrs, sizes, 3, &p->cap_edges, initial_cap(p, m->edge_count, nf))) goto out;
    if (expect(r, '[', "edges")) goto out;
    uint64_t n = 0, vals[MAX_FIELDS];
    unsigned f = 0;
    if (peek(r) == ']') r->pos++;
    else for (int more = 1; more;) {
        if ((more = read_item(r, &vals[f], "edges")) < 0) goto out;
        if (++f < nf) continue;
        f = 0;
        if (grow(p, arrs, sizes, 3, &p->cap_edges, n + 1)) goto out;
        uint64_t type = vals[m->ef_type], name = vals[m->ef_name], to = vals[m->ef_to];
        if (type >= hs->n_edge_types) { fail(r, "edge %llu: type %llu not in the meta", (unsigned long long)n, (unsigned long long)type); goto out; }
        if (to % nnf || to / nnf > UINT32_MAX || name > UINT32_MAX) {
            fail(r, "edge %llu: bad to_node or name", (unsigned long long)n);
            goto out;
        }
        ((uint8_t *)arrs[0])[n] = (uint8_t)type;
        ((uint32_t *)arrs[1])[n] = (uint32_t)name;
        ((uint32_t *)arrs[2])[n] = (uint32_t)(to / nnf);
        n++;
    }
    if (!r->failed && f) fail(r, "edges: %u values left over (not a multiple of %u fields)", f, nf);
    hs->edge_count = (uint32_t)n;
out:
    hs->edge_type = arrs[0]; hs->edge_name = arrs[1]; hs->edge_to = arrs[2];
    return r->failed ? -1 : 0;
}

static int read_strings(struct ps *p)
{
    struct rd *r = &p->r;
    if (p->have_strings) return fail(r, "\"strings\" given twice");
    p->have_strings = 1;
    if (expect(r, '[', "strings")) return -1;
    if (peek(r) == ']') { r->pos++; return 0; }
    do {
        if (p->n_offs == p->cap_offs) {
            size_t c = p->cap_offs ? p->cap_offs * 2 : 1024;
            uint64_t *q = realloc(p->offs, c * sizeof *q);
            if (!q) return fail(r, "out of memory for strings");
            p->offs = q;
            p->cap_offs = c;
        }
        if (p->n_offs >= UINT32_MAX) return fail(r, "too many strings");
        p->offs[p->n_offs++] = p->strings.len;
        if (peek(r) != '"') return fail(r, "strings: expected a string");
        if (read_string(r, &p->strings)) return -1;
    } while (next_item(r, ']', "strings") == 1);
    return r->failed ? -1 : 0;
}

/* ---- checks and the finished model ---- */

static uint8_t type_index(char **names, unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return (uint8_t)i;
    return NP_HS_NONE;
}

static int finish(struct ps *p)
{
    struct rd *r = &p->r;
    struct np_heapsnap *hs = p->hs;
    struct meta *m = &p->m;
    if (!m->have) return fail(r, "not a V8 heap snapshot: no \"snapshot\" header");
    if (!p->have_nodes || !p->have_edges || !p->have_strings)
        return fail(r, "not a V8 heap snapshot: missing \"%s\"", !p->have_nodes ? "nodes" : !p->have_edges ? "edges" : "strings");
    if (hs->node_count == 0) return fail(r, "the snapshot has no nodes");
    if (m->have_node_count && m->node_count != hs->node_count)
        return fail(r, "snapshot.node_count says %llu nodes, the file has %u (truncated?)", (unsigned long long)m->node_count, hs->node_count);
    if (m->have_edge_count && m->edge_count != hs->edge_count)
        return fail(r, "snapshot.edge_count says %llu edges, the file has %u (truncated?)", (unsigned long long)m->edge_count, hs->edge_count);
    hs->string_count = (uint32_t)p->n_offs;
    hs->arena = p->strings.p ? p->strings.p : calloc(1, 1);
    p->strings.p = NULL;
    hs->str_off = p->offs;
    p->offs = NULL;
    if (!hs->arena) return fail(r, "out of memory");
    /* first_edge from the per-node counts, reusing their array */
    uint32_t *fe = realloc(p->node_edges, ((size_t)hs->node_count + 1) * sizeof *fe);
    if (!fe) return fail(r, "out of memory");
    p->node_edges = NULL;
    hs->first_edge = fe;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < hs->node_count; i++) {
        uint32_t c = fe[i];
        fe[i] = (uint32_t)sum;
        sum += c;
        if (sum > hs->edge_count) return fail(r, "node edge counts add up to more than the %u edges", hs->edge_count);
    }
    if (sum != hs->edge_count) return fail(r, "node edge counts add up to %llu, the file has %u edges", (unsigned long long)sum, hs->edge_count);
    fe[hs->node_count] = (uint32_t)sum;
    for (uint32_t i = 0; i < hs->node_count; i++)
        if (hs->node_name[i] >= hs->string_count) return fail(r, "node %u: name %u is not a string index", i, hs->node_name[i]);
    hs->nt_hidden = type_index(hs->node_types, hs->n_node_types, "hidden");
    hs->nt_array = type_index(hs->node_types, hs->n_node_types, "array");
    hs->nt_string = type_index(hs->node_types, hs->n_node_types, "string");
    hs->nt_object = type_index(hs->node_types, hs->n_node_types, "object");
    hs->nt_code = type_index(hs->node_types, hs->n_node_types, "code");
    hs->nt_closure = type_index(hs->node_types, hs->n_node_types, "closure");
    hs->nt_native = type_index(hs->node_types, hs->n_node_types, "native");
    hs->nt_synthetic = type_index(hs->node_types, hs->n_node_types, "synthetic");
    hs->nt_cons_string = type_index(hs->node_types, hs->n_node_types, "concatenated string");
    hs->nt_sliced_string = type_index(hs->node_types, hs->n_node_types, "sliced string");
    hs->et_context = type_index(hs->edge_types, hs->n_edge_types, "context");
    hs->et_element = type_index(hs->edge_types, hs->n_edge_types, "element");
    hs->et_property = type_index(hs->edge_types, hs->n_edge_types, "property");
    hs->et_internal = type_index(hs->edge_types, hs->n_edge_types, "internal");
    hs->et_hidden = type_index(hs->edge_types, hs->n_edge_types, "hidden");
    hs->et_shortcut = type_index(hs->edge_types, hs->n_edge_types, "shortcut");
    hs->et_weak = type_index(hs->edge_types, hs->n_edge_types, "weak");
    for (uint32_t e = 0; e < hs->edge_count; e++) {
        if (hs->edge_to[e] >= hs->node_count) return fail(r, "edge %u points past the last node", e);
        if (np_hs_edge_named(hs, hs->edge_type[e]) && hs->edge_name[e] >= hs->string_count)
            return fail(r, "edge %u: name %u is not a string index", e, hs->edge_name[e]);
    }
    return 0;
}

static void free_meta(struct meta *m)
{
    for (unsigned i = 0; i < m->n_node_fields; i++) free(m->node_fields[i]);
    for (unsigned i = 0; i < m->n_edge_fields; i++) free(m->edge_fields[i]);
}

static struct np_heapsnap *parse(struct ps *p)
{
    struct rd *r = &p->r;
    p->hs = calloc(1, sizeof *p->hs);
    if (!p->hs) { fail(r, "out of memory"); return NULL; }
    int c = peek(r);
    if (c < 0 && !r->failed) fail(r, "empty file: not a heap snapshot");
    else if (c >= 0 && c != '{') fail(r, "not a V8 heap snapshot (not a JSON object)");
    else if (c == '{') {
        r->pos++;
        if (peek(r) == '}') r->pos++;
        else do {
            if (peek(r) != '"') { fail(r, "malformed JSON: expected a key"); break; }
            struct sbuf key = { 0 };
            if (read_string(r, &key) || expect(r, ':', "the top object")) { free(key.p); break; }
            int rc;
            if (!strcmp(key.p, "snapshot")) rc = read_snapshot_header(p);
            else if (!strcmp(key.p, "nodes")) rc = read_nodes(p);
            else if (!strcmp(key.p, "edges")) rc = read_edges(p);
            else if (!strcmp(key.p, "strings")) rc = read_strings(p);
            else rc = skip_value(r);
            free(key.p);
            if (rc) break;
        } while (next_item(r, '}', "the top object") == 1);
        if (!r->failed && peek(r) >= 0) fail(r, "malformed JSON: data after the snapshot");
        if (!r->failed) finish(p);
    }
    free_meta(&p->m);
    free(p->strings.p);
    free(p->offs);
    free(p->node_edges);
    if (r->failed) {
        np_heapsnap_free(p->hs);
        return NULL;
    }
    return p->hs;
}

struct np_heapsnap *np_heapsnap_read_mem(const void *data, size_t len, char *err, size_t errlen)
{
    struct ps p = { .r = { .fd = -1, .buf = data, .len = len, .err = err, .errlen = errlen } };
    p.size_hint = len ? len : 1;
    return parse(&p);
}

struct np_heapsnap *np_heapsnap_read_file(const char *path, char *err, size_t errlen)
{
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "is a directory");
        if (fd) close(fd);
        return NULL;
    }
    struct ps p = { .r = { .fd = fd, .err = err, .errlen = errlen } };
    p.r.own = malloc(READ_CHUNK);
    if (!p.r.own) {
        snprintf(err, errlen, "out of memory");
        if (fd) close(fd);
        return NULL;
    }
    p.r.buf = p.r.own;
    if (S_ISREG(st.st_mode)) p.size_hint = st.st_size > 0 ? (uint64_t)st.st_size : 1;
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    struct np_heapsnap *hs = parse(&p);
    free(p.r.own);
    if (fd) close(fd);
    return hs;
}

void np_heapsnap_free(struct np_heapsnap *hs)
{
    if (!hs) return;
    free(hs->node_detached);
    free(hs->node_type); free(hs->node_name); free(hs->node_id); free(hs->node_self); free(hs->first_edge);
    free(hs->edge_type); free(hs->edge_name); free(hs->edge_to);
    free(hs->arena); free(hs->str_off);
    if (hs->node_types) for (unsigned i = 0; i < hs->n_node_types; i++) free(hs->node_types[i]);
    if (hs->edge_types) for (unsigned i = 0; i < hs->n_edge_types; i++) free(hs->edge_types[i]);
    free(hs->node_types); free(hs->edge_types);
    free(hs);
}
