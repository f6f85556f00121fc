/* Source Map v3 parsing and lookup (sourcemap.h).
 *
 * The map's members may come in any order, and "mappings" refers to
 * "sources" and "names" by index, so a map's mappings string is kept (one
 * cJSON string) until its object is closed and decoded then. Decoding is in
 * two passes over the string: count the segments, allocate exactly, then
 * decode. Every index and position is checked as it is decoded; a map with
 * one bad mapping is refused whole, as the source-map package refuses it. */
#include "formats/sourcemap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "formats/jsonscan.h"

/* One mapping: a generated position and where it came from. */
struct segment {
    uint32_t gen_line, gen_col;
    uint32_t source; /* NP_SM_NONE: a generated range with no origin */
    uint32_t line, column;
    uint32_t name;   /* NP_SM_NONE: no name */
};

struct np_sourcemap {
    struct segment *seg;
    size_t nseg;
    char **sources; /* sourceRoot joined in */
    size_t nsources;
    char **names;
    size_t nnames;
};

/* One (possibly embedded) map being read: its tables are appended to the
 * result's, so its indices are offset by what was there before. */
struct map_part {
    cJSON *mappings;
    cJSON *sources, *names;
    char *root;
    int64_t version;
    int seen_version, has_sections;
};

struct parser {
    struct jscan_reader js;
    struct np_sourcemap *m;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct parser *ps, const char *fmt, ...)
{
    if (!ps->js.failed && ps->js.errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->js.err, ps->js.errlen, fmt, ap);
        va_end(ap);
    }
    ps->js.failed = 1;
    return -1;
}

/* ---- VLQ ------------------------------------------------------------------ */

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Reads one base64 VLQ value (at most 32 bits of magnitude and sign). */
static int read_vlq(const char **p, const char *end, int64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 5) {
        if (*p == end || shift > 30) return -1;
        int d = base64_value((unsigned char)**p);
        if (d < 0) return -1;
        (*p)++;
        v |= (uint64_t)(d & 31) << shift;
        if (!(d & 32)) break;
    }
    if (v > UINT32_MAX) return -1;
    *out = (v & 1) ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
    return 0;
}

/* ---- mappings ------------------------------------------------------------- */

static size_t count_segments(const char *s, size_t len)
{
    size_t n = 0;
    int in_segment = 0;
    for (size_t i = 0; i < len; i++) {
        int sep = s[i] == ',' || s[i] == ';';
        if (!sep && !in_segment) n++;
        in_segment = !sep;
    }
    return n;
}

/* The running values of the fields, which carry over from segment to
 * segment (the generated column only within a line). */
struct vlq_state {
    int64_t line, col, source, oline, ocol, name;
};

static int add_checked(int64_t *acc, int64_t delta, int64_t limit)
{
    *acc += delta;
    return *acc < 0 || *acc >= limit ? -1 : 0;
}

/* Decodes the segment at *p (up to the next separator) into seg. */
static int decode_segment(struct parser *ps, const char **p, const char *end, struct vlq_state *st,
                          size_t nsources, size_t nnames, struct segment *seg)
{
    int64_t f[5];
    int n = 0;
    while (*p < end && **p != ',' && **p != ';') {
        if (n == 5) return fail(ps, "mappings: a segment has more than 5 fields");
        if (read_vlq(p, end, &f[n++])) return fail(ps, "mappings: bad VLQ value");
    }
    if (n != 1 && n != 4 && n != 5) return fail(ps, "mappings: a segment has %d fields", n);
    if (add_checked(&st->col, f[0], UINT32_MAX)) return fail(ps, "mappings: column out of range");
    seg->gen_line = (uint32_t)st->line;
    seg->gen_col = (uint32_t)st->col;
    seg->source = seg->name = NP_SM_NONE;
    seg->line = seg->column = 0;
    if (n == 1) return 0;
    if (add_checked(&st->source, f[1], (int64_t)nsources) || add_checked(&st->oline, f[2], UINT32_MAX) ||
        add_checked(&st->ocol, f[3], UINT32_MAX))
        return fail(ps, "mappings: source index or original position out of range");
    if (n == 5 && add_checked(&st->name, f[4], (int64_t)nnames))
        return fail(ps, "mappings: name index out of range");
    seg->source = (uint32_t)st->source;
    seg->line = (uint32_t)st->oline;
    seg->column = (uint32_t)st->ocol;
    if (n == 5) seg->name = (uint32_t)st->name;
    return 0;
}

/* Appends the segments of one mappings string; the part's sources and
 * names start at index base_source and base_name of the result's tables,
 * and its generated positions are shifted by the section's offset. */
static int decode_mappings(struct parser *ps, const char *s, size_t len, size_t nsources, size_t nnames,
                           uint32_t base_source, uint32_t base_name, int64_t off_line, int64_t off_col)
{
    struct np_sourcemap *m = ps->m;
    size_t count = count_segments(s, len);
    if (count == 0) return 0;
    if (count > (SIZE_MAX / sizeof *m->seg) - m->nseg) return fail(ps, "out of memory");
    struct segment *grown = realloc(m->seg, (m->nseg + count) * sizeof *m->seg);
    if (!grown) return fail(ps, "out of memory");
    m->seg = grown;
    struct vlq_state st = { 0 };
    const char *p = s, *end = s + len;
    while (p < end) {
        if (*p == ';') {
            st.line++;
            st.col = 0;
            p++;
        } else if (*p == ',') {
            p++;
        } else {
            struct segment *seg = &m->seg[m->nseg];
            if (decode_segment(ps, &p, end, &st, nsources, nnames, seg)) return -1;
            int64_t line = st.line + off_line, col = st.col + (st.line == 0 ? off_col : 0);
            if (line >= UINT32_MAX || col >= UINT32_MAX) return fail(ps, "mappings: position out of range");
            seg->gen_line = (uint32_t)line;
            seg->gen_col = (uint32_t)col;
            if (seg->source != NP_SM_NONE) seg->source += base_source;
            if (seg->name != NP_SM_NONE) seg->name += base_name;
            m->nseg++;
        }
    }
    return 0;
}

static int by_generated(const void *a, const void *b)
{
    const struct segment *x = a, *y = b;
    if (x->gen_line != y->gen_line) return x->gen_line < y->gen_line ? -1 : 1;
    if (x->gen_col != y->gen_col) return x->gen_col < y->gen_col ? -1 : 1;
    return memcmp(x, y, sizeof *x);
}

/* Generators write columns in order, so this is usually a check only. */
static void sort_segments(struct np_sourcemap *m)
{
    for (size_t i = 1; i < m->nseg; i++) {
        if (by_generated(&m->seg[i - 1], &m->seg[i]) > 0) {
            qsort(m->seg, m->nseg, sizeof *m->seg, by_generated);
            return;
        }
    }
}

/* ---- string tables ---------------------------------------------------------- */

static int append_string(struct parser *ps, char ***v, size_t *n, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    char **grown = s ? realloc(*v, (*n + 1) * sizeof **v) : NULL;
    if (!grown) {
        free(s);
        return fail(ps, "out of memory");
    }
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    *v = grown;
    (*v)[(*n)++] = s;
    return 0;
}

/* sourceRoot + "/" + source, as the source-map package joins them. */
static int append_source(struct parser *ps, const char *root, const char *source)
{
    struct np_sourcemap *m = ps->m;
    if (!*root) return append_string(ps, &m->sources, &m->nsources, "", source);
    size_t lr = strlen(root);
    int slash = root[lr - 1] != '/' && source[0] != '/';
    char *joined = malloc(lr + 2);
    if (!joined) return fail(ps, "out of memory");
    snprintf(joined, lr + 2, "%s%s", root, slash ? "/" : "");
    int rc = append_string(ps, &m->sources, &m->nsources, joined, source);
    free(joined);
    return rc;
}

/* Appends the part's sources and names to the result's tables. */
static int append_tables(struct parser *ps, const struct map_part *part)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, part->sources) {
        const char *s = cJSON_IsString(item) ? item->valuestring : "";
        if (append_source(ps, part->root ? part->root : "", s)) return -1;
    }
    cJSON_ArrayForEach(item, part->names) {
        const char *s = cJSON_IsString(item) ? item->valuestring : "";
        if (append_string(ps, &ps->m->names, &ps->m->nnames, "", s)) return -1;
    }
    return 0;
}

/* ---- the map object --------------------------------------------------------- */

/* Reads an array whose elements are all strings (or null). */
static int read_string_array(struct parser *ps, const char *what, cJSON **out)
{
    if (*out) return fail(ps, "\"%s\" appears twice", what);
    cJSON *a = jscan_cjson(&ps->js);
    if (!a) return -1;
    *out = a;
    if (!cJSON_IsArray(a)) return fail(ps, "\"%s\" is not an array", what);
    const cJSON *item;
    cJSON_ArrayForEach(item, a)
        if (!cJSON_IsString(item) && !cJSON_IsNull(item)) return fail(ps, "\"%s\" holds a non-string", what);
    return 0;
}

static int read_string(struct parser *ps, const char *what, cJSON **out)
{
    if (*out) return fail(ps, "\"%s\" appears twice", what);
    cJSON *s = jscan_cjson(&ps->js);
    if (!s) return -1;
    *out = s;
    if (!cJSON_IsString(s) && !cJSON_IsNull(s)) return fail(ps, "\"%s\" is not a string", what);
    return 0;
}

static int read_sections(struct parser *ps, struct map_part *part);

static int read_member(struct parser *ps, struct map_part *part, cJSON **root, const char *key, size_t len,
                       int allow_sections)
{
    if (jscan_key_is(key, len, "version")) {
        part->seen_version = 1;
        return jscan_int(&ps->js, 0, 1000, &part->version);
    }
    if (jscan_key_is(key, len, "sources")) return read_string_array(ps, "sources", &part->sources);
    if (jscan_key_is(key, len, "names")) return read_string_array(ps, "names", &part->names);
    if (jscan_key_is(key, len, "mappings")) return read_string(ps, "mappings", &part->mappings);
    if (jscan_key_is(key, len, "sourceRoot")) return read_string(ps, "sourceRoot", root);
    if (jscan_key_is(key, len, "sections")) {
        if (!allow_sections) return fail(ps, "a section's map has sections of its own");
        if (part->has_sections) return fail(ps, "\"sections\" appears twice");
        part->has_sections = 1;
        return read_sections(ps, part);
    }
    return jscan_skip(&ps->js); /* file, sourcesContent, ignoreList, x_... */
}

static void part_free(struct map_part *part)
{
    cJSON_Delete(part->mappings);
    cJSON_Delete(part->sources);
    cJSON_Delete(part->names);
}

static int finish_part(struct parser *ps, struct map_part *part, int64_t off_line, int64_t off_col)
{
    if (!part->seen_version || part->version != 3) return fail(ps, "not a version 3 source map");
    if (part->has_sections) {
        if (part->mappings || part->sources) return fail(ps, "an index map with its own mappings");
        return 0;
    }
    if (!part->mappings || !cJSON_IsString(part->mappings)) return fail(ps, "no \"mappings\"");
    uint32_t base_source = (uint32_t)ps->m->nsources, base_name = (uint32_t)ps->m->nnames;
    if (append_tables(ps, part)) return -1;
    const char *s = part->mappings->valuestring;
    return decode_mappings(ps, s, strlen(s), ps->m->nsources - base_source, ps->m->nnames - base_name,
                           base_source, base_name, off_line, off_col);
}

/* Reads one map object at the cursor. */
static int read_map(struct parser *ps, int64_t off_line, int64_t off_col, int allow_sections)
{
    struct map_part part = { 0 };
    cJSON *root = NULL;
    const char *key;
    size_t len;
    int r;
    if (jscan_peek(&ps->js) != '{') return fail(ps, "not a source map: not a JSON object");
    if (jscan_begin_object(&ps->js)) return -1;
    while ((r = jscan_next_member(&ps->js, &key, &len)) == 1)
        if (read_member(ps, &part, &root, key, len, allow_sections)) break;
    if (r == 0 && !ps->js.failed) {
        part.root = root && cJSON_IsString(root) ? root->valuestring : NULL;
        r = finish_part(ps, &part, off_line, off_col);
    }
    cJSON_Delete(root);
    part_free(&part);
    return ps->js.failed ? -1 : 0;
}

/* "offset": {"line": L, "column": C} */
static int read_offset(struct parser *ps, int64_t *line, int64_t *col)
{
    const char *key;
    size_t len;
    int r;
    if (jscan_begin_object(&ps->js)) return -1;
    while ((r = jscan_next_member(&ps->js, &key, &len)) == 1) {
        if (jscan_key_is(key, len, "line")) r = jscan_int(&ps->js, 0, UINT32_MAX - 1, line);
        else if (jscan_key_is(key, len, "column")) r = jscan_int(&ps->js, 0, UINT32_MAX - 1, col);
        else r = jscan_skip(&ps->js);
        if (r) return -1;
    }
    return r;
}

static int read_section(struct parser *ps)
{
    const char *key;
    size_t len;
    int r, has_map = 0;
    int64_t line = -1, col = -1;
    if (jscan_begin_object(&ps->js)) return -1;
    while ((r = jscan_next_member(&ps->js, &key, &len)) == 1) {
        if (jscan_key_is(key, len, "offset")) {
            if (line >= 0) return fail(ps, "a section has two offsets");
            if (read_offset(ps, &line, &col)) return -1;
        } else if (jscan_key_is(key, len, "map")) {
            /* The offset comes first in every generator's output; the spec
             * lists it first, and an offset after the map is refused. */
            if (has_map) return fail(ps, "a section has two maps");
            if (line < 0 || col < 0) return fail(ps, "a section's offset is missing or follows its map");
            has_map = 1;
            if (read_map(ps, line, col, 0)) return -1;
        } else if (jscan_key_is(key, len, "url")) {
            return fail(ps, "index map sections with a \"url\" are not supported");
        } else if (jscan_skip(&ps->js)) {
            return -1;
        }
    }
    if (r == 0 && !has_map) return fail(ps, "a section has no map");
    return r;
}

static int read_sections(struct parser *ps, struct map_part *part)
{
    (void)part;
    int r;
    if (jscan_begin_array(&ps->js)) return -1;
    while ((r = jscan_next_element(&ps->js)) == 1)
        if (read_section(ps)) return -1;
    return r;
}

/* ---- public ------------------------------------------------------------------- */

struct np_sourcemap *np_sourcemap_parse(const char *json, size_t len, char *err, size_t errlen)
{
    struct parser ps;
    if (errlen) err[0] = '\0';
    if (len > NP_SOURCEMAP_MAX_BYTES) {
        snprintf(err, errlen, "source map larger than %zu MiB", NP_SOURCEMAP_MAX_BYTES >> 20);
        return NULL;
    }
    jscan_init(&ps.js, json, len, err, errlen);
    ps.m = calloc(1, sizeof *ps.m);
    if (!ps.m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (len >= 3 && !memcmp(json, "\xEF\xBB\xBF", 3)) ps.js.p += 3; /* a UTF-8 BOM */
    /* Maps served over HTTP may start with )]}' to defeat XSSI; skip that line. */
    if (ps.js.end - ps.js.p >= 4 && !memcmp(ps.js.p, ")]}'", 4)) {
        const char *nl = memchr(ps.js.p, '\n', (size_t)(ps.js.end - ps.js.p));
        ps.js.p = nl ? nl + 1 : ps.js.end;
    }
    if (read_map(&ps, 0, 0, 1) || jscan_finish(&ps.js)) {
        np_sourcemap_free(ps.m);
        return NULL;
    }
    sort_segments(ps.m);
    return ps.m;
}

void np_sourcemap_free(struct np_sourcemap *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->nsources; i++) free(m->sources[i]);
    for (size_t i = 0; i < m->nnames; i++) free(m->names[i]);
    free(m->sources);
    free(m->names);
    free(m->seg);
    free(m);
}

/* The index of the first segment after (line, column): the segments are
 * sorted by generated position. */
static size_t first_after(const struct np_sourcemap *m, uint32_t line, uint32_t column)
{
    size_t lo = 0, hi = m->nseg;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct segment *s = &m->seg[mid];
        if (s->gen_line < line || (s->gen_line == line && s->gen_col <= column)) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

int np_sourcemap_lookup(const struct np_sourcemap *m, uint32_t line, uint32_t column,
                        struct np_sm_origin *o)
{
    size_t lo = first_after(m, line, column);
    if (lo == 0 || m->seg[lo - 1].gen_line != line) return -1;
    size_t i = lo - 1;
    /* Of several mappings at one position, the first. */
    while (i > 0 && m->seg[i - 1].gen_line == line && m->seg[i - 1].gen_col == m->seg[i].gen_col) i--;
    const struct segment *s = &m->seg[i];
    if (s->source == NP_SM_NONE) return -1;
    o->source = m->sources[s->source];
    o->name = s->name == NP_SM_NONE ? NULL : m->names[s->name];
    o->line = s->line;
    o->column = s->column;
    return 0;
}

static int ident_char(unsigned char c)
{
    return c == '_' || c == '$' || c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

const char *np_sourcemap_name_of(const struct np_sourcemap *m, uint32_t line, uint32_t column,
                                 const char *text, size_t len, const char *ident)
{
    size_t n = strlen(ident);
    if (n == 0) return NULL;
    size_t lo = first_after(m, line, column);
    for (size_t i = lo, tried = 0; i-- > 0 && tried < 16 && m->seg[i].gen_line == line; tried++) {
        const struct segment *s = &m->seg[i];
        if (s->name == NP_SM_NONE || s->gen_col > len || len - s->gen_col < n) continue;
        const char *at = text + s->gen_col;
        if (!memcmp(at, ident, n) && (s->gen_col + n == len || !ident_char((unsigned char)at[n])))
            return m->names[s->name];
    }
    return NULL;
}

size_t np_sourcemap_count(const struct np_sourcemap *m)
{
    return m->nseg;
}

size_t np_sourcemap_bytes(const struct np_sourcemap *m)
{
    size_t n = sizeof *m + m->nseg * sizeof *m->seg + (m->nsources + m->nnames) * sizeof(char *);
    for (size_t i = 0; i < m->nsources; i++) n += m->sources[i] ? strlen(m->sources[i]) + 1 : 0;
    for (size_t i = 0; i < m->nnames; i++) n += m->names[i] ? strlen(m->names[i]) + 1 : 0;
    return n;
}
