/* Source maps: the v3 parser and lookup checked against the source-map npm
 * package's own originalPositionFor on the same maps (a tsc map, a minified
 * esbuild map with names, an index map made of both; the expected values
 * were printed by source-map 0.8.0), malformed maps refused with a reason,
 * and a profile's frames rewritten through maps found beside scripts,
 * inline, in a search directory, missing, malformed or behind a FIFO. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "formats/formats.h"
#include "formats/profile.h"
#include "formats/remap.h"
#include "formats/smlocate.h"
#include "formats/sourcemap.h"

static const char TSC_MAP[] =
    "{\"version\":3,\"file\":\"hot.js\",\"sourceRoot\":\"\",\"sources\":[\"../src/hot.ts\"],\"names\":[],\"mappings\":\";;;;AAGA,cAAqB,EAAU;IAC7B,MAAM,GAAG,GAAG,IAAI,CAAC,GAAG,EAAE,GAAG,EAAE,CAAC;IAC5B,IAAI,GAAG,GAAQ,EAAE,KAAK,EAAE,CAAC,EAAE,CAAC;IAC5B,OAAO,IAAI,CAAC,GAAG,EAAE,GAAG,GAAG,EAAE,CAAC;QACxB,GAAG,CAAC,KAAK,IAAI,IAAI,CAAC,IAAI,CAAC,GAAG,CAAC,KAAK,GAAG,CAAC,CAAC,CAAC;IACxC,CAAC;IACD,OAAO,GAAG,CAAC,KAAK,CAAC;AACnB,CAAC;AAEM,MAAM,KAAK,GAAG,CAAC,CAAS,EAAU,EAAE;IACzC,IAAI,CAAC,GAAG,CAAC,CAAC;IACV,KAAK,IAAI,CAAC,GAAG,CAAC,EAAE,CAAC,GAAG,CAAC,EAAE,CAAC,EAAE;QAAE,CAAC,IAAI,CAAC,GAAG,CAAC,CAAC;IACvC,OAAO,CAAC,CAAC;AACX,CAAC,CAAC;AAJW,QAAA,KAAK,GAAL,KAAK,CAIhB\"}";

static const char MIN_MAP[] =
    "{\"version\":3,\"sources\":[\"../src/hot.ts\",\"../src/main.ts\"],\"mappings\":\"aAGO,SAASA,EAAKC,EAAoB,CACvC,IAAMC,EAAM,KAAK,IAAI,EAAID,EACrBE,EAAW,CAAE,MAAO,CAAE,EAC1B,KAAO,KAAK,IAAI,EAAID,GAClBC,EAAI,OAAS,KAAK,KAAKA,EAAI,MAAQ,CAAC,EAEtC,OAAOA,EAAI,KACb,CAEO,IAAMC,EAASC,GAAsB,CAC1C,IAAIC,EAAI,EACR,QAASC,EAAI,EAAGA,EAAIF,EAAGE,IAAKD,GAAKC,EAAI,EACrC,OAAOD,CACT,ECfA,QAAQ,IAAIE,EAAK,GAAG,EAAI,EAAGC,EAAM,EAAE,GAAK,CAAC\",\"names\":[\"spin\",\"ms\",\"end\",\"acc\",\"arrow\",\"n\",\"s\",\"i\",\"spin\",\"arrow\"]}";

/* Generated (0-based line, column) -> what source-map's originalPositionFor
 * returned: source, 1-based line, column, name (NULL: none). */
struct expect {
    uint32_t line, column;
    const char *source;
    uint32_t oline, ocolumn;
    const char *name;
};

static const struct expect tsc_expect[] = {
    {4, 13, "../src/hot.ts", 4, 0, NULL},
    {4, 0, "../src/hot.ts", 4, 0, NULL},
    {4, 14, "../src/hot.ts", 4, 21, NULL},
    {5, 4, "../src/hot.ts", 5, 2, NULL},
    {0, 0, NULL, 0, 0, NULL},
    {12, 6, "../src/hot.ts", 13, 13, NULL},
    {12, 20, "../src/hot.ts", 13, 43, NULL},
    {19, 0, NULL, 0, 0, NULL},
    {100, 0, NULL, 0, 0, NULL},
};

static const struct expect min_expect[] = {
    {0, 22, "../src/hot.ts", 4, 16, "spin"},
    {0, 23, "../src/hot.ts", 4, 16, "spin"},
    {0, 13, "../src/hot.ts", 4, 7, NULL},
    {0, 0, NULL, 0, 0, NULL},
    {0, 5, NULL, 0, 0, NULL},
    {0, 300, "../src/main.ts", 2, 41, NULL},
};

/* The index map: TSC_MAP at (0, 0), MIN_MAP with sourceRoot "root" at
 * (30, 10). source-map gives the second section's source as "src/hot.ts"
 * (root/../src/hot.ts normalized); the parser leaves resolving to
 * np_sm_resolve_source, checked below. */
static const struct expect index_expect[] = {
    {4, 13, "../src/hot.ts", 4, 0, NULL},
    {30, 32, "root/../src/hot.ts", 4, 16, "spin"},
    {30, 10, NULL, 0, 0, NULL},
    {30, 9, NULL, 0, 0, NULL},
    {31, 0, NULL, 0, 0, NULL},
};

static void check_lookups(const char *label, const struct np_sourcemap *m, const struct expect *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct np_sm_origin o;
        int rc = np_sourcemap_lookup(m, e[i].line, e[i].column, &o);
        if (!e[i].source) {
            CHECK(rc == -1, "%s (%u,%u): mapped, source-map says no mapping", label, e[i].line, e[i].column);
            continue;
        }
        CHECK(rc == 0, "%s (%u,%u): no mapping", label, e[i].line, e[i].column);
        if (rc) continue;
        CHECK_STR(o.source, e[i].source);
        CHECK(o.line + 1 == e[i].oline && o.column == e[i].ocolumn, "%s (%u,%u): %u:%u, expected %u:%u", label,
              e[i].line, e[i].column, o.line + 1, o.column, e[i].oline, e[i].ocolumn);
        CHECK((o.name == NULL) == (e[i].name == NULL) && (!o.name || !strcmp(o.name, e[i].name)),
              "%s (%u,%u): name %s, expected %s", label, e[i].line, e[i].column, o.name ? o.name : "(none)",
              e[i].name ? e[i].name : "(none)");
    }
}

static struct np_sourcemap *parse(const char *text)
{
    char err[300] = "";
    struct np_sourcemap *m = np_sourcemap_parse(text, strlen(text), err, sizeof err);
    CHECK(m != NULL, "%s", err);
    return m;
}

static void test_against_source_map(void)
{
    struct np_sourcemap *m = parse(TSC_MAP);
    if (m) check_lookups("tsc", m, tsc_expect, sizeof tsc_expect / sizeof *tsc_expect);
    np_sourcemap_free(m);
    m = parse(MIN_MAP);
    if (m) check_lookups("esbuild --minify", m, min_expect, sizeof min_expect / sizeof *min_expect);
    np_sourcemap_free(m);

    char *index = malloc(strlen(TSC_MAP) + strlen(MIN_MAP) + 200);
    /* MIN_MAP ends with '}': give it a sourceRoot. */
    sprintf(index, "{\"version\":3,\"sections\":[{\"offset\":{\"line\":0,\"column\":0},\"map\":%s},"
                   "{\"offset\":{\"line\":30,\"column\":10},\"map\":%.*s,\"sourceRoot\":\"root\"}}]}",
            TSC_MAP, (int)strlen(MIN_MAP) - 1, MIN_MAP);
    m = parse(index);
    if (m) check_lookups("index map", m, index_expect, sizeof index_expect / sizeof *index_expect);
    np_sourcemap_free(m);
    free(index);
}

static void test_names(void)
{
    /* The minified line: the function e is spin, its parameter r is ms. */
    static const char line[] = "\"use strict\";function e(r){let o=Date.now()+r,t={total:0};";
    struct np_sourcemap *m = parse(MIN_MAP);
    if (!m) return;
    const char *name = np_sourcemap_name_of(m, 0, 23, line, strlen(line), "e");
    CHECK_STR(name, "spin");
    CHECK(np_sourcemap_name_of(m, 0, 23, line, strlen(line), "x") == NULL, "a name for an identifier not there");
    CHECK(np_sourcemap_name_of(m, 0, 23, line, strlen(line), "") == NULL, "a name for an anonymous function");
    CHECK(np_sourcemap_name_of(m, 0, 23, line, 10, "e") == NULL, "a name beyond the text");
    np_sourcemap_free(m);
}

static void check_refused(const char *text, const char *why_part)
{
    char err[300] = "";
    struct np_sourcemap *m = np_sourcemap_parse(text, strlen(text), err, sizeof err);
    CHECK(m == NULL, "accepted: %s", text);
    CHECK(strstr(err, why_part) != NULL, "'%s': reason '%s' lacks '%s'", text, err, why_part);
    np_sourcemap_free(m);
}

static void test_malformed(void)
{
    check_refused("", "not a source map");
    check_refused("[]", "not a source map");
    check_refused("{\"version\":2,\"sources\":[],\"mappings\":\"\"}", "version 3");
    check_refused("{\"sources\":[],\"mappings\":\"\"}", "version 3");
    check_refused("{\"version\":3,\"sources\":[]}", "mappings");
    check_refused("{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"AA\"}", "2 fields");
    check_refused("{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"AAAAAA\"}", "more than 5");
    check_refused("{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"A!AA\"}", "VLQ");
    check_refused("{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"ACAA\"}", "out of range");
    check_refused("{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"AADA\"}", "out of range");
    check_refused("{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"D\"}", "out of range");
    check_refused("{\"version\":3,\"sources\":[\"a\"],\"names\":[],\"mappings\":\"AAAAA\"}", "name index");
    check_refused("{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"gggggggB\"}", "VLQ");     /* > 32 bits */
    check_refused("{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"g\"}", "VLQ");            /* cut short */
    check_refused("{\"version\":3,\"sources\":\"a\",\"mappings\":\"\"}", "not an array");
    check_refused("{\"version\":3,\"sources\":[1],\"mappings\":\"\"}", "non-string");
    check_refused("{\"version\":3,\"sources\":[],\"sources\":[],\"mappings\":\"\"}", "twice");
    check_refused("{\"version\":3,\"sources\":[],\"mappings\":\"\"", "malformed JSON");
    check_refused("{\"version\":3,\"sources\":[],\"mappings\":\"\"} x", "malformed JSON");
    check_refused("{\"version\":3,\"sections\":[{\"offset\":{\"line\":0,\"column\":0},\"url\":\"a.map\"}]}", "url");
    check_refused("{\"version\":3,\"sections\":[{\"offset\":{\"line\":0,\"column\":0},\"map\":{\"version\":3,"
                  "\"sections\":[]}}]}", "sections of its own");
    check_refused("{\"version\":3,\"sections\":[{\"map\":{\"version\":3,\"sources\":[],\"mappings\":\"\"}}]}",
                  "offset");
    check_refused("{\"version\":3,\"sections\":[{\"offset\":{\"line\":0,\"column\":0}}]}", "no map");
    check_refused("{\"version\":3,\"sections\":[],\"mappings\":\"\"}", "index map with its own mappings");

    /* What is tolerated: null sources, a BOM, the XSSI prefix, empty and
     * unsorted mappings, unknown members. */
    struct np_sourcemap *m = parse("\xEF\xBB\xBF{\"version\":3,\"sources\":[null,\"b\"],\"mappings\":\"\",\"x_y\":{}}");
    if (m) CHECK(np_sourcemap_count(m) == 0, "mappings from nothing");
    np_sourcemap_free(m);
    m = parse(")]}'\n{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"KAAC,LAAD;;A\"}");
    if (m) {
        struct np_sm_origin o;
        CHECK(np_sourcemap_count(m) == 3, "3 mappings, got %zu", np_sourcemap_count(m));
        CHECK(np_sourcemap_lookup(m, 0, 2, &o) == 0 && o.column == 0, "unsorted columns not sorted");
        CHECK(np_sourcemap_lookup(m, 0, 6, &o) == 0 && o.column == 1, "unsorted columns not sorted");
        CHECK(np_sourcemap_lookup(m, 2, 0, &o) == -1, "a segment without a source maps");
    }
    np_sourcemap_free(m);
}

static void test_resolve(void)
{
    char out[512];
    CHECK(np_sm_resolve_source("/a/dist/x.js.map", "../src/x.ts", 1, out, sizeof out) == 0, "resolve");
    CHECK_STR(out, "file:///a/src/x.ts");
    CHECK(np_sm_resolve_source("/a/dist/x.js.map", "root/../src/./x.ts", 0, out, sizeof out) == 0, "resolve");
    CHECK_STR(out, "/a/dist/src/x.ts");
    CHECK(np_sm_resolve_source("/a/x.js", "/abs/my file#1.ts", 1, out, sizeof out) == 0, "resolve");
    CHECK_STR(out, "file:///abs/my%20file%231.ts");
    CHECK(np_sm_resolve_source("/a/x.js", "webpack://app/./src/x.ts", 1, out, sizeof out) == 0, "resolve");
    CHECK_STR(out, "webpack://app/./src/x.ts");
    CHECK(np_sm_resolve_source("/a/x.js", "../../../../x.ts", 0, out, sizeof out) == 0, "resolve");
    CHECK_STR(out, "/x.ts");
    CHECK(np_sm_resolve_source("/a/x.js", "x.ts", 0, out, 4) == -1, "does not fit");
    char path[64];
    CHECK(np_url_to_path("file:///a%20b/c.js", path, sizeof path) == 0, "file URL");
    CHECK_STR(path, "/a b/c.js");
    CHECK(np_url_to_path("node:internal/x", path, sizeof path) == -1, "node: is no file");
    CHECK(np_url_to_path("file://host/x.js", path, sizeof path) == -1, "a remote file");
    CHECK(np_url_to_path("file:///a%00b", path, sizeof path) == -1, "a NUL in a path");
}

/* ---- frames of a profile --------------------------------------------------- */

static char dir[] = "/tmp/np-unit-sm-XXXXXX";

static void write_text(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* A .cpuprofile with one node per (name, script, 0-based line, column). */
static struct np_profile *profile_of(const char *const frames[][4], size_t n)
{
    char *json = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&json, &len);
    fputs("{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"(root)\",\"url\":\"\",\"lineNumber\":-1,"
          "\"columnNumber\":-1},\"children\":[", f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%zu", i ? "," : "", i + 2);
    fputs("]}", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, ",{\"id\":%zu,\"callFrame\":{\"functionName\":\"%s\",\"url\":\"file://%s/%s\",\"lineNumber\":%s,"
                   "\"columnNumber\":%s},\"hitCount\":1}", i + 2, frames[i][0], dir, frames[i][1], frames[i][2],
                frames[i][3]);
    fputs("],\"startTime\":0,\"endTime\":100,\"samples\":[", f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%zu", i ? "," : "", i + 2);
    fputs("],\"timeDeltas\":[", f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s10", i ? "," : "");
    fputs("]}", f);
    fclose(f);
    char err[300] = "";
    struct np_profile *p = np_profile_parse(json, len, err, sizeof err);
    CHECK(p != NULL, "%s", err);
    free(json);
    return p;
}

struct reports {
    int count;
    char last[800];
};

static void collect(void *ctx, const char *msg)
{
    struct reports *r = ctx;
    r->count++;
    snprintf(r->last, sizeof r->last, "%s", msg);
}

/* The frame of node i + 1 (the root is node 0) as "name url:line:column". */
static void frame_text(const struct np_profile *p, size_t node, char *out, size_t len)
{
    const struct np_frame *f = &p->frames[p->nodes[node].frame];
    snprintf(out, len, "%s %s:%d:%d", p->strings[f->name], p->strings[f->url], f->line, f->column);
}

/* The HTML page's frame map: every pair, 0-based like the profile text,
 * and no '<' that could end its block. */
static void check_html_frame_map(const struct np_profile *p, const char *parent)
{
    char *page = NULL, err[200] = "", want[600];
    size_t len = 0;
    FILE *f = open_memstream(&page, &len);
    CHECK(np_html_write(p, "{}", 2, f, err, sizeof err) == 0, "html: %s", err);
    fclose(f);
    const char *open = strstr(page, "id=\"frame-map\">");
    const char *close = open ? strstr(open, "</script>") : NULL;
    CHECK(open && close, "no frame map block");
    if (open && close) {
        open += strlen("id=\"frame-map\">");
        CHECK(!memchr(open, '<', (size_t)(close - open)), "a '<' in the frame map");
        snprintf(want, sizeof want, "[\"spin\",\"file://%s/hot.js\",4,13,\"spin\",\"file://%s/src/hot.ts\",3,0]",
                 dir, parent);
        CHECK(strstr(open, want) != NULL, "%s not in %.*s", want, (int)(close - open), open);
        CHECK(strstr(open, "\"\\u003c/script>\\u003c!--\",\"file://") != NULL, "the name escaped: %.*s",
              (int)(close - open), open);
    }
    free(page);
}

static const char TSC_JS[] =
    "\"use strict\";\nObject.defineProperty(exports, \"__esModule\", { value: true });\nexports.arrow = void 0;\n"
    "exports.spin = spin;\nfunction spin(ms) {\n";
static const char MIN_JS[] = "\"use strict\";function e(r){let o=Date.now()+r,t={total:0};\n";

static void test_remap(void)
{
    char text[4096], sub[300];
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp: %s", strerror(errno));
        return;
    }
    char comment[2048];
    snprintf(comment, sizeof comment, "%s//# sourceMappingURL=hot.js.map\n", TSC_JS);
    write_text("hot.js", comment);
    write_text("hot.js.map", TSC_MAP);
    /* The minified bundle with its map inline (base64 of MIN_MAP). */
    {
        static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = strlen(MIN_MAP), o = 0;
        char *enc = malloc(n * 2 + 200);
        o = (size_t)sprintf(enc, "%s//# sourceMappingURL=data:application/json;charset=utf-8;base64,", MIN_JS);
        for (size_t i = 0; i < n; i += 3) {
            uint32_t v = (uint32_t)(unsigned char)MIN_MAP[i] << 16;
            if (i + 1 < n) v |= (uint32_t)(unsigned char)MIN_MAP[i + 1] << 8;
            if (i + 2 < n) v |= (unsigned char)MIN_MAP[i + 2];
            enc[o++] = b64[v >> 18 & 63];
            enc[o++] = b64[v >> 12 & 63];
            enc[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
            enc[o++] = i + 2 < n ? b64[v & 63] : '=';
        }
        enc[o++] = '\n';
        enc[o] = '\0';
        write_text("bundle.js", enc);
        free(enc);
    }
    write_text("gone.js", "f()\n//# sourceMappingURL=gone.js.map\n");
    write_text("bad.js", "f()\n//# sourceMappingURL=bad.js.map\n");
    write_text("bad.js.map", "{\"version\":3,\"sources\":[\"a\"],\"mappings\":\"A!\"}");
    write_text("plain.js", "function f() {}\n");
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s/fifo.js.map", dir);
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
    write_text("fifo.js", "f()\n//# sourceMappingURL=fifo.js.map\n");

    static const char *const frames[][4] = {
        { "spin", "hot.js", "4", "13" },    /* tsc: hot.ts:4:1 */
        { "spin", "hot.js", "4", "0" },     /* the same original frame: merged */
        { "e", "bundle.js", "0", "23" },    /* minified: spin at hot.ts:4:17 */
        { "f", "gone.js", "0", "0" },       /* a map that is not there */
        { "f", "bad.js", "0", "0" },        /* a malformed map */
        { "f", "fifo.js", "0", "0" },       /* a FIFO where the map should be */
        { "f", "plain.js", "0", "0" },      /* no map: no report */
        { "spin", "hot.js", "0", "0" },     /* no mapping there: stays */
        { "</script><!--", "hot.js", "12", "14" }, /* for the HTML page's frame map */
    };
    struct np_profile *p = profile_of(frames, sizeof frames / sizeof *frames);
    if (!p) return;
    struct reports rep = { 0 };
    struct np_remap_options o = { .report = collect, .ctx = &rep };
    char err[300] = "";
    long mapped = np_profile_remap(p, &o, err, sizeof err);
    CHECK(mapped == 4, "mapped %ld frames (%s)", mapped, err);
    CHECK(rep.count == 3, "%d reports, last: %s", rep.count, rep.last);
    /* Nodes 1 and 2 were siblings of one frame: merged. */
    CHECK(p->nnodes == 9, "%zu nodes", p->nnodes);
    CHECK(p->nodes[1].self_count == 2 && p->total_count == 9, "costs moved with the merge");
    frame_text(p, 1, text, sizeof text);
    /* ../src/hot.ts, relative to dir */
    char want[512], parent[256];
    snprintf(parent, sizeof parent, "%s", dir);
    *strrchr(parent, '/') = '\0';
    snprintf(want, sizeof want, "spin file://%s/src/hot.ts:4:1", parent);
    CHECK_STR(text, want);
    frame_text(p, 2, text, sizeof text);
    snprintf(want, sizeof want, "spin file://%s/src/hot.ts:4:17", parent);
    CHECK_STR(text, want);
    frame_text(p, 7, text, sizeof text);
    snprintf(want, sizeof want, "spin file://%s/hot.js:1:1", dir);
    CHECK_STR(text, want);
    CHECK(p->nremapped == 4, "%zu pairs kept for the HTML page", p->nremapped);
    check_html_frame_map(p, parent);
    for (size_t i = 0; i < p->nsamples; i++) CHECK(p->sample_node[i] < p->nnodes, "sample %zu", i);
    np_profile_free(p);

    /* A search directory: the map whose directories match the script's
     * most, from its file name up, wins; a tie is reported. */
    static const char *const subdirs[] = { "maps", "maps/app", "maps/other", "app" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, subdirs[i]);
        CHECK(mkdir(sub, 0700) == 0, "mkdir %s", sub);
    }
    write_text("maps/app/gone.js.map", TSC_MAP);
    write_text("maps/other/gone.js.map", MIN_MAP);
    write_text("maps/other/tie.js.map", MIN_MAP);
    write_text("maps/tie.js.map", MIN_MAP);
    static const char *const gone[][4] = { { "spin", "app/gone.js", "4", "13" }, { "e", "app/tie.js", "0", "23" } };
    p = profile_of(gone, 2);
    snprintf(sub, sizeof sub, "%s/maps", dir);
    o.search_dir = sub;
    rep.count = 0;
    mapped = p ? np_profile_remap(p, &o, err, sizeof err) : -1;
    CHECK(mapped == 1 && rep.count == 1 && strstr(rep.last, "several maps"), "search directory: %ld mapped, %d reports (%s)",
          mapped, rep.count, rep.last);
    if (p && mapped == 1) {
        frame_text(p, 1, text, sizeof text);
        snprintf(want, sizeof want, "spin file://%s/src/hot.ts:4:1", dir); /* beside app/gone.js */
        CHECK_STR(text, want);
    }
    np_profile_free(p);
    o.search_dir = "/nonexistent/np-unit";
    p = profile_of(gone, 1);
    CHECK(p && np_profile_remap(p, &o, err, sizeof err) == -1 && strstr(err, "--source-maps"), "bad DIR: %s", err);
    np_profile_free(p);
}

int main(void)
{
    test_against_source_map();
    test_names();
    test_malformed();
    test_resolve();
    test_remap();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (dir[strlen(dir) - 1] != 'X' && system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
    return END();
}
