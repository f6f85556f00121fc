/* Profile converters: parsing (good, malformed, deep), each writer's exact
 * output on small hand-written profiles (tests/fixtures/profiles), and the
 * pprof output decoded back. Run from the repository root. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "common/config.h" /* np_format_name */
#include "formats/formats.h"
#include "formats/pbenc.h"
#include "formats/profile.h"
#include "formats/sampletime.h"

#define FIXTURES "tests/fixtures/profiles/"

/* ---- helpers ------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0;
    FILE *mem = open_memstream(&buf, &cap);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) fwrite(chunk, 1, n, mem);
    fclose(f);
    fclose(mem);
    *len = cap;
    return buf;
}

struct loaded {
    char *json;
    size_t len;
    struct np_profile *p;
};

static struct loaded load_fixture(const char *name)
{
    struct loaded l = { 0 };
    char path[256], err[256] = "";
    snprintf(path, sizeof path, FIXTURES "%s", name);
    l.json = read_file(path, &l.len);
    CHECK(l.json != NULL, "cannot read %s", path);
    if (!l.json) return l;
    l.p = np_profile_parse(l.json, l.len, err, sizeof err);
    CHECK(l.p != NULL, "%s: %s", name, err);
    return l;
}

static void unload(struct loaded *l)
{
    np_profile_free(l->p);
    free(l->json);
}

/* The output of one format, as a string (len in *len). */
static char *render(const struct loaded *l, unsigned format, size_t *len)
{
    char *buf = NULL, err[256] = "";
    size_t n = 0;
    FILE *mem = open_memstream(&buf, &n);
    int rc = np_format_write(l->p, l->json, l->len, format, mem, err, sizeof err);
    fclose(mem);
    CHECK(rc == 0, "format %s: %s", np_format_name(format), err);
    if (len) *len = n;
    return buf;
}

static void check_output(const struct loaded *l, unsigned format, const char *expected_file)
{
    size_t n, elen;
    char *got = render(l, format, &n);
    char path[256];
    snprintf(path, sizeof path, FIXTURES "%s", expected_file);
    char *want = read_file(path, &elen);
    CHECK(want && n == elen && !memcmp(got, want, n), "%s differs:\n--- got\n%s--- want\n%s", expected_file,
          got, want ? want : "(missing)");
    free(got);
    free(want);
}

static struct np_profile *parse_text(const char *json, char *err, size_t errlen)
{
    err[0] = '\0';
    return np_profile_parse(json, strlen(json), err, errlen);
}

/* ---- the model ---------------------------------------------------------- */

static const struct np_frame *node_frame(const struct np_profile *p, uint32_t i)
{
    return &p->frames[p->nodes[i].frame];
}

static void test_cpu_model(void)
{
    struct loaded l = load_fixture("small.cpuprofile");
    if (!l.p) return;
    const struct np_profile *p = l.p;
    CHECK(np_profile_kind(p) == NP_PROFILE_CPU, "kind");
    /* 9 nodes, the two sibling "hot" nodes merged into one. */
    CHECK(p->nnodes == 8, "nnodes %zu", p->nnodes);
    CHECK_STR(np_frame_name(p, node_frame(p, 0)), "(root)");
    CHECK(p->nodes[0].parent == NP_NO_NODE && p->nodes[0].end == p->nnodes, "root");
    CHECK_STR(np_frame_name(p, node_frame(p, 4)), "(anonymous)");
    CHECK_STR(np_frame_name(p, node_frame(p, 5)), "hot");
    CHECK(node_frame(p, 5)->line == 10 && node_frame(p, 5)->column == 13, "1-based position");
    CHECK(p->nodes[5].self_count == 4 && p->nodes[5].self_weight == 400, "merged hot %lld", (long long)p->nodes[5].self_count);
    CHECK(p->nodes[6].parent == 5 && p->nodes[6].depth == 3, "recursive hot");
    CHECK(p->nodes[4].end == 8, "subtree end %u", p->nodes[4].end);
    CHECK(p->total_count == 10 && p->total_weight == 1000, "totals");
    CHECK(p->nsamples == 10 && p->start_us == 1000 && p->end_us == 2100, "times");
    CHECK(p->interval_us == 100, "interval %lld", (long long)p->interval_us);
    CHECK(p->strings[0][0] == '\0', "string 0 is empty");
    unload(&l);
}

static void test_heap_model(void)
{
    struct loaded l = load_fixture("small.heapprofile");
    if (!l.p) return;
    const struct np_profile *p = l.p;
    CHECK(np_profile_kind(p) == NP_PROFILE_HEAP, "kind");
    CHECK(p->nnodes == 5, "nnodes");
    /* The sample naming node 99 (absent, as V8 writes them) is ignored. */
    CHECK(p->total_count == 4, "objects %lld", (long long)p->total_count);
    CHECK(p->total_weight == 3072 + 1024 + 512, "bytes %lld", (long long)p->total_weight);
    CHECK(p->nodes[2].self_count == 2 && p->nodes[2].self_weight == 3072, "makeBig");
    unload(&l);
}

/* ---- exact outputs ----------------------------------------------------- */

static void test_text_outputs(void)
{
    struct loaded cpu = load_fixture("small.cpuprofile");
    struct loaded heap = load_fixture("small.heapprofile");
    if (cpu.p) {
        check_output(&cpu, NP_FMT_COLLAPSED, "small.cpuprofile.collapsed.txt");
        check_output(&cpu, NP_FMT_SPEEDSCOPE, "small.cpuprofile.speedscope.json");
        check_output(&cpu, NP_FMT_TOP, "small.cpuprofile.top.txt");
        check_output(&cpu, NP_FMT_CPUPROFILE, "small.cpuprofile");
    }
    if (heap.p) {
        check_output(&heap, NP_FMT_COLLAPSED, "small.heapprofile.collapsed.txt");
        check_output(&heap, NP_FMT_SPEEDSCOPE, "small.heapprofile.speedscope.json");
        check_output(&heap, NP_FMT_TOP, "small.heapprofile.top.txt");
    }
    unload(&cpu);
    unload(&heap);
}

static void test_top_options(void)
{
    struct loaded l = load_fixture("small.cpuprofile");
    if (!l.p) return;
    char *buf = NULL, err[128];
    size_t n;
    FILE *mem = open_memstream(&buf, &n);
    CHECK(np_top_write(l.p, mem, 1, NP_TOP_BY_TOTAL, err, sizeof err) == 0, "top");
    fclose(mem);
    /* Heading, column names, one row: the module function, 70% in total. */
    const char *row = strchr(strchr(buf, '\n') + 1, '\n') + 1;
    CHECK(strstr(row, "(anonymous)") && strstr(row, "70.0%") && !strchr(strchr(row, '\n') + 1, '\n'), "%s", buf);
    free(buf);
    unload(&l);
}

/* ---- pprof, decoded ---------------------------------------------------- */

static unsigned char *gunzip(const char *data, size_t len, size_t *out_len)
{
    z_stream z = { 0 };
    size_t cap = 1 << 16, n = 0;
    unsigned char *out = malloc(cap);
    if (inflateInit2(&z, 15 + 16) != Z_OK) return NULL;
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    int rc;
    do {
        if (n == cap) out = realloc(out, cap *= 2);
        z.next_out = out + n;
        z.avail_out = (uInt)(cap - n);
        rc = inflate(&z, Z_NO_FLUSH);
        n = cap - z.avail_out;
    } while (rc == Z_OK);
    inflateEnd(&z);
    *out_len = n;
    if (rc != Z_STREAM_END) { free(out); return NULL; }
    return out;
}

struct pb_reader {
    const unsigned char *p, *end;
    int bad;
};

static uint64_t rd_varint(struct pb_reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) { r->bad = 1; return 0; }
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return v;
    }
    r->bad = 1;
    return 0;
}

/* Next field: 1 with its number, and either a varint or a sub-reader. */
static int rd_field(struct pb_reader *r, uint32_t *field, uint64_t *value, struct pb_reader *sub)
{
    if (r->p >= r->end || r->bad) return 0;
    uint64_t key = rd_varint(r);
    *field = (uint32_t)(key >> 3);
    if ((key & 7) == 0) {
        *value = rd_varint(r);
    } else if ((key & 7) == 2) {
        uint64_t len = rd_varint(r);
        if (len > (uint64_t)(r->end - r->p)) { r->bad = 1; return 0; }
        sub->p = r->p;
        sub->end = r->p + len;
        sub->bad = 0;
        r->p += len;
    } else {
        r->bad = 1;
        return 0;
    }
    return !r->bad;
}

/* What the tests look at in a decoded pprof Profile. */
struct pprof_summary {
    const char *strings[64];
    size_t nstrings;
    int64_t type[2], unit[2], period_type, period_unit;
    int64_t period, time_nanos, duration_nanos;
    int64_t value_sum[2];
    size_t nsamples, nlocations, nfunctions;
    size_t nlabels;              /* over all samples */
    int64_t label_key[2], label_str[2]; /* the last sample's first two */
    int64_t comment;
    uint64_t max_location_ref;
    char string_copies[64][64];
};

static void read_value_type(struct pb_reader *m, int64_t *type, int64_t *unit)
{
    uint32_t f;
    uint64_t v = 0;
    struct pb_reader sub;
    while (rd_field(m, &f, &v, &sub)) {
        if (f == 1) *type = (int64_t)v;
        if (f == 2) *unit = (int64_t)v;
    }
}

static void read_sample(struct pprof_summary *s, struct pb_reader *m)
{
    uint32_t f;
    uint64_t v = 0;
    struct pb_reader sub;
    size_t labels = 0;
    while (rd_field(m, &f, &v, &sub)) {
        int k = 0;
        if (f == 3) { /* Label { key = 1; str = 2; } */
            if (labels < 2) read_value_type(&sub, &s->label_key[labels], &s->label_str[labels]);
            labels++;
            s->nlabels++;
            continue;
        }
        while (sub.p < sub.end && !sub.bad) {
            uint64_t x = rd_varint(&sub);
            if (f == 1 && x > s->max_location_ref) s->max_location_ref = x;
            if (f == 2 && k < 2) s->value_sum[k++] += (int64_t)x;
        }
    }
    s->nsamples++;
}

static int decode_pprof(const char *gz, size_t len, struct pprof_summary *s)
{
    size_t n;
    unsigned char *raw = gunzip(gz, len, &n);
    if (!raw) return -1;
    memset(s, 0, sizeof *s);
    struct pb_reader r = { raw, raw + n, 0 }, sub;
    uint32_t f;
    uint64_t v = 0;
    int ntypes = 0;
    while (rd_field(&r, &f, &v, &sub)) {
        switch (f) {
        case 1: if (ntypes < 2) { read_value_type(&sub, &s->type[ntypes], &s->unit[ntypes]); ntypes++; } break;
        case 2: read_sample(s, &sub); break;
        case 4: s->nlocations++; break;
        case 5: s->nfunctions++; break;
        case 6:
            if (s->nstrings < 64) {
                size_t l = (size_t)(sub.end - sub.p) < 63 ? (size_t)(sub.end - sub.p) : 63;
                memcpy(s->string_copies[s->nstrings], sub.p, l);
                s->string_copies[s->nstrings][l] = '\0';
                s->strings[s->nstrings] = s->string_copies[s->nstrings];
                s->nstrings++;
            }
            break;
        case 9: s->time_nanos = (int64_t)v; break;
        case 10: s->duration_nanos = (int64_t)v; break;
        case 11: read_value_type(&sub, &s->period_type, &s->period_unit); break;
        case 12: s->period = (int64_t)v; break;
        case 13: s->comment = (int64_t)v; break;
        }
    }
    int bad = r.bad;
    free(raw);
    return bad ? -1 : 0;
}

static const char *str_at(const struct pprof_summary *s, int64_t i)
{
    return i >= 0 && (size_t)i < s->nstrings ? s->strings[i] : "(bad index)";
}

static void test_pprof_cpu(void)
{
    struct loaded l = load_fixture("small.cpuprofile");
    if (!l.p) return;
    size_t n;
    char *gz = render(&l, NP_FMT_PPROF, &n);
    struct pprof_summary s;
    CHECK(gz && n > 18 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b, "gzip magic");
    CHECK(decode_pprof(gz, n, &s) == 0, "pprof decodes");
    CHECK_STR(str_at(&s, 0), "");
    CHECK_STR(str_at(&s, s.type[0]), "samples");
    CHECK_STR(str_at(&s, s.unit[0]), "count");
    CHECK_STR(str_at(&s, s.type[1]), "cpu");
    CHECK_STR(str_at(&s, s.unit[1]), "nanoseconds");
    CHECK_STR(str_at(&s, s.period_type), "cpu");
    CHECK(s.value_sum[0] == 10, "sample count %lld", (long long)s.value_sum[0]);
    CHECK(s.value_sum[1] == 1000 * 1000, "cpu ns %lld", (long long)s.value_sum[1]);
    CHECK(s.period == 100 * 1000, "period");
    /* V8's monotonic startTime is not a date: no time_nanos unless the
     * writer was told the wall clock's. */
    CHECK(s.time_nanos == 0 && s.duration_nanos == 1100 * 1000, "times");
    CHECK(s.nlabels == 0 && s.comment == 0, "no labels");
    CHECK(s.nsamples == 6, "one sample per stack: %zu", s.nsamples);
    CHECK(s.nlocations == l.p->nframes && s.nfunctions == l.p->nframes, "locations");
    CHECK(s.max_location_ref <= s.nlocations, "location ids in range");
    free(gz);
    unload(&l);
}

static void test_pprof_heap(void)
{
    struct loaded l = load_fixture("small.heapprofile");
    if (!l.p) return;
    size_t n;
    char *gz = render(&l, NP_FMT_PPROF, &n);
    struct pprof_summary s;
    CHECK(decode_pprof(gz, n, &s) == 0, "pprof decodes");
    CHECK_STR(str_at(&s, s.type[0]), "inuse_objects");
    CHECK_STR(str_at(&s, s.type[1]), "inuse_space");
    CHECK_STR(str_at(&s, s.unit[1]), "bytes");
    CHECK(s.value_sum[0] == 4 && s.value_sum[1] == 4608, "values %lld %lld", (long long)s.value_sum[0],
          (long long)s.value_sum[1]);
    free(gz);
    unload(&l);
}

/* What the agent adds (profmeta.h): wall time, duration, the heap's
 * period in bytes, and labels on every sample and in a comment. */
static void test_pprof_heap_meta(void)
{
    struct loaded l = load_fixture("small.heapprofile");
    if (!l.p) return;
    l.p->wall_start_ns = 1764500000123456789LL;
    l.p->duration_ns = 5000000000LL;
    l.p->heap_interval = 65536;
    l.p->labels = "service=checkout,version=abc123";
    size_t n;
    char *gz = render(&l, NP_FMT_PPROF, &n);
    struct pprof_summary s;
    CHECK(decode_pprof(gz, n, &s) == 0, "pprof decodes");
    CHECK(s.time_nanos == 1764500000123456789LL && s.duration_nanos == 5000000000LL, "times");
    CHECK_STR(str_at(&s, s.period_type), "space");
    CHECK_STR(str_at(&s, s.period_unit), "bytes");
    CHECK(s.period == 65536, "period %lld", (long long)s.period);
    CHECK(s.nsamples > 0 && s.nlabels == 2 * s.nsamples, "two labels a sample: %zu on %zu", s.nlabels, s.nsamples);
    CHECK_STR(str_at(&s, s.label_key[0]), "service");
    CHECK_STR(str_at(&s, s.label_str[0]), "checkout");
    CHECK_STR(str_at(&s, s.label_key[1]), "version");
    CHECK_STR(str_at(&s, s.label_str[1]), "abc123");
    CHECK_STR(str_at(&s, s.comment), "labels: service=checkout,version=abc123");
    free(gz);
    unload(&l);
}

static void test_pbenc(void)
{
    struct pb_buf b;
    pb_init(&b);
    pb_varint(&b, 300);
    CHECK(b.len == 2 && b.data[0] == 0xac && b.data[1] == 0x02, "varint 300");
    pb_reset(&b);
    pb_int64(&b, 1, -1);
    CHECK(b.len == 11 && b.data[0] == 0x08 && b.data[10] == 0x01, "int64 -1 takes ten bytes");
    pb_reset(&b);
    size_t mark = pb_open(&b);
    for (int i = 0; i < 200; i++) pb_varint(&b, 1);
    pb_close(&b, 2, mark);
    CHECK(b.len == 203 && b.data[0] == 0x12 && b.data[1] == 0xc8 && b.data[2] == 0x01 && b.data[3] == 1,
          "nested length with a two-byte varint");
    pb_free(&b);
}

/* ---- malformed input ---------------------------------------------------- */

#define NODE(id, name, kids) "{\"id\":" #id ",\"callFrame\":{\"functionName\":\"" name "\",\"url\":\"\",\"lineNumber\":0,\"columnNumber\":0}" kids "}"

static const struct {
    const char *json;
    const char *why; /* a part of the expected message */
} malformed[] = {
    { "", "empty" },
    { "[]", "not a JSON object" },
    { "{}", "no \"nodes\"" },
    { "{\"nodes\":[]}", "no nodes" },
    { "{\"nodes\":[" NODE(1, "a", ""), "truncated" },
    { "{\"nodes\":[" NODE(1, "a", "") "]", "truncated" },
    { "{\"nodes\":[" NODE(1, "a", "") "]} x", "after the end" },
    { "{\"nodes\":[" NODE(1, "a", "") ",]}", "expected an object" },
    { "{\"nodes\":{}}", "expected an array" },
    { "{\"nodes\":[{\"id\":\"1\"}]}", "expected an integer" },
    { "{\"nodes\":[{\"id\":1.5}]}", "not a fraction" },
    { "{\"nodes\":[{\"id\":1}]}", "no callFrame" },
    { "{\"nodes\":[{\"callFrame\":{}}]}", "no id" },
    { "{\"nodes\":[{\"id\":1,\"callFrame\":[]}]}", "callFrame is not an object" },
    { "{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":7}}]}", "functionName is not a string" },
    { "{\"nodes\":[{\"id\":1,\"callFrame\":{\"lineNumber\":\"x\"}}]}", "lineNumber" },
    { "{\"nodes\":[{\"id\":1,\"callFrame\":{\"lineNumber\":1e300}}]}", "lineNumber" },
    { "{\"nodes\":[{\"id\":123456789012345678901234567890,\"callFrame\":{}}]}", "out of range" },
    { "{\"nodes\":[{\"id\":1e300,\"callFrame\":{}}]}", "out of range" },
    { "{\"nodes\":[" NODE(1, "a", "") "," NODE(1, "b", "") "]}", "two nodes have the id 1" },
    { "{\"nodes\":[" NODE(1, "a", ",\"children\":[2]") "]}", "child 2 that does not exist" },
    { "{\"nodes\":[" NODE(1, "a", ",\"children\":[2,3]") "," NODE(2, "b", ",\"children\":[3]") "," NODE(3, "c", "") "]}",
      "two parents" },
    { "{\"nodes\":[" NODE(1, "a", ",\"children\":[2]") "," NODE(2, "b", ",\"children\":[1]") "]}", "cycle" },
    { "{\"nodes\":[" NODE(1, "a", "") "," NODE(2, "b", ",\"children\":[3]") "," NODE(3, "c", ",\"children\":[2]") "]}",
      "not reachable" },
    { "{\"nodes\":[" NODE(1, "a", "") "," NODE(2, "b", "") "]}", "two roots" },
    { "{\"nodes\":[" NODE(1, "a", ",\"children\":[1]") "]}", "cycle" },
    { "{\"nodes\":[" NODE(1, "a", "") "],\"samples\":[2],\"timeDeltas\":[1]}", "sample 1 names node 2" },
    { "{\"nodes\":[" NODE(1, "a", "") "],\"samples\":[1,1],\"timeDeltas\":[1]}", "2 samples but 1 timeDeltas" },
    { "{\"nodes\":[" NODE(1, "a", "") "],\"samples\":[1],\"timeDeltas\":[\"1\"]}", "expected an integer" },
    { "{\"nodes\":[" NODE(1, "a", "") "],\"samples\":[1],\"timeDeltas\":[1e400]}", "out of range" },
    { "{\"nodes\":[" NODE(1, "a", "") "],\"samples\":[1,1],\"timeDeltas\":[9007199254740992,9007199254740992],"
      "\"startTime\":9007199254740992}", "impossible time" },
    { "{\"nodes\":[" NODE(1, "a", "") "],\"startTime\":10,\"endTime\":5}", "endTime is before startTime" },
    { "{\"nodes\":[" NODE(1, "a", "") "],\"samples\":[{\"nodeId\":1,\"size\":1}]}", "must be node ids" },
    { "{\"nodes\":[" NODE(1, "a", "") "],\"nodes\":[]}", "appears twice" },
    { "{\"nodes\":[" NODE(1, "a", ",\"hitCount\":-1") "]}", "out of range" },
    { "{\"nodes\":[" NODE(1, "a", "") "],\"head\":{\"id\":9,\"callFrame\":{}}}", "both" },
    { "{\"head\":[]}", "expected an object" },
    { "{\"head\":{\"id\":1}}", "no callFrame" },
    { "{\"head\":{\"id\":1,\"callFrame\":{},\"selfSize\":-5}}", "out of range" },
    { "{\"head\":{\"id\":1,\"callFrame\":{},\"children\":[{\"id\":1,\"callFrame\":{}}]}}", "two nodes have the id 1" },
    { "{\"head\":{\"id\":1,\"callFrame\":{},\"children\":[{\"id\":2,\"callFrame\":{}}", "truncated" },
    { "{\"head\":{\"id\":1,\"callFrame\":{}},\"samples\":[1]}", "must be objects" },
    { "{\"head\":{\"id\":1,\"callFrame\":{}},\"samples\":[{\"size\":1}]}", "lacks nodeId" },
    { "{\"head\":{\"id\":1,\"callFrame\":{}},\"samples\":[{\"nodeId\":1,\"size\":1},2]}", "mix" },
    { "{\"a\":\"\\x\"}", "bad escape" },
    { "{\"a\":\"\\u12\"}", "bad \\u escape" },
    { "{\"a\":\"tab\there\"}", "control character" },
    { "{\"a\":[1,2}", "expected ',' or ']'" },
    { "{\"a\":tru}", "expected a value" },
    { "{\"a\":-}", "expected a value" },
    { "{\"a\":1.}", "bad number" },
    { "{\"a\" 1}", "expected ':'" },
    { "{\"a\":1,}", "expected a string" },
};

static void test_malformed(void)
{
    char err[256];
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        struct np_profile *p = parse_text(malformed[i].json, err, sizeof err);
        CHECK(p == NULL, "case %zu accepted: %s", i, malformed[i].json);
        np_profile_free(p);
        CHECK(strstr(err, malformed[i].why) != NULL, "case %zu: '%s' lacks '%s'", i, err, malformed[i].why);
        CHECK(!strchr(err, '\n'), "case %zu: one line", i);
    }
}

/* Every prefix of a valid profile is truncated JSON: each must fail
 * cleanly (ASan and valgrind watch for reads past the end). */
static void test_every_truncation(void)
{
    const char *names[] = { "small.cpuprofile", "small.heapprofile" };
    for (size_t k = 0; k < 2; k++) {
        size_t len;
        char path[256], err[256];
        snprintf(path, sizeof path, FIXTURES "%s", names[k]);
        char *json = read_file(path, &len);
        if (!json) { CHECK(0, "cannot read %s", path); continue; }
        while (len > 0 && (json[len - 1] == '\n' || json[len - 1] == ' ')) len--;
        int accepted = 0;
        for (size_t cut = 0; cut < len; cut++) {
            /* An exact-size copy, so that any read past the end is caught. */
            char *copy = malloc(cut ? cut : 1);
            memcpy(copy, json, cut);
            struct np_profile *p = np_profile_parse(copy, cut, err, sizeof err);
            accepted += p != NULL;
            np_profile_free(p);
            free(copy);
        }
        CHECK(accepted == 0, "%s: %d truncations accepted", names[k], accepted);
        free(json);
    }
}

/* ---- tolerated oddities ------------------------------------------------- */

static void test_empty_profile(void)
{
    char err[256];
    struct np_profile *p = parse_text("{\"nodes\":[" NODE(1, "(root)", "") "],\"startTime\":5,\"endTime\":5,"
                                      "\"samples\":[],\"timeDeltas\":[]}", err, sizeof err);
    CHECK(p != NULL, "root only: %s", err);
    if (!p) return;
    CHECK(p->total_count == 0 && p->nnodes == 1, "empty totals");
    struct loaded l = { (char *)"", 0, p };
    for (unsigned f = NP_FMT_PPROF; f <= NP_FMT_TOP; f <<= 1) {
        if (f == NP_FMT_HTML) continue;
        free(render(&l, f, NULL));
    }
    np_profile_free(p);
}

static void test_negative_deltas(void)
{
    char err[256];
    /* Times 110, 100, 130: the first two swap back into order. */
    struct np_profile *p = parse_text("{\"nodes\":[" NODE(1, "r", ",\"children\":[2,3]") "," NODE(2, "a", "") ","
                                      NODE(3, "b", "") "],\"startTime\":100,\"endTime\":140,"
                                      "\"samples\":[2,3,2],\"timeDeltas\":[10,-10,30]}", err, sizeof err);
    CHECK(p != NULL, "negative deltas: %s", err);
    if (!p) return;
    CHECK(p->sample_node[0] == 2 && p->sample_node[1] == 1, "sorted by time");
    CHECK(p->sample_weight[0] == 0 && p->sample_weight[1] == 10 && p->sample_weight[2] == 20, "weights %lld %lld %lld",
          (long long)p->sample_weight[0], (long long)p->sample_weight[1], (long long)p->sample_weight[2]);
    np_profile_free(p);
}

static void test_hits_without_samples(void)
{
    char err[256];
    struct np_profile *p = parse_text("{\"nodes\":[" NODE(1, "r", ",\"children\":[2]") "," NODE(2, "a", ",\"hitCount\":4")
                                      "],\"startTime\":0,\"endTime\":4000}", err, sizeof err);
    CHECK(p != NULL, "hitCount only: %s", err);
    if (!p) return;
    CHECK(p->total_count == 4 && p->total_weight == 4000 && p->interval_us == 1000, "hits spread over the duration");
    np_profile_free(p);
}

/* Call frames are read field by field, as cJSON read them before: escapes
 * decoded (surrogate pairs to one 4-byte character), the first of two equal
 * keys counts, null is absent, a string cut at \u0000, positions written
 * as any number whose value is an integer; integer arrays with spaces and
 * long numbers take the general path. */
static void test_call_frames(void)
{
    char err[256];
    struct np_profile *p = parse_text(
        "{\"nodes\":[{\"id\":1,\"callFrame\":{\"url\":\"a\\/b\\ud83d\\ude00\\u0041\",\"scriptId\":\"7\","
        "\"functionName\":\"f\",\"functionName\":7,\"lineNumber\":1e1,\"columnNumber\":4.0,\"lineNumber\":\"x\"},"
        "\"children\":[ 2 , 3 ]},"
        "{\"id\":2,\"callFrame\":{\"functionName\":null,\"functionName\":\"g\",\"url\":\"\\u0000z\"}},"
        "{\"id\":3,\"callFrame\":{\"functionName\":\"\\u0000h\",\"lineNumber\":-1,\"columnNumber\":5}}],"
        "\"samples\":[2, 3,2 ,3],\"timeDeltas\":[123456789012,-0,1E2,2]}",
        err, sizeof err);
    CHECK(p != NULL, "call frames: %s", err);
    if (!p) return;
    const struct np_frame *root = &p->frames[p->nodes[0].frame];
    CHECK_STR(np_frame_name(p, root), "f");
    CHECK_STR(np_frame_url(p, root), "a/b\xf0\x9f\x98\x80" "A");
    CHECK(root->line == 11 && root->column == 5, "positions %d %d", (int)root->line, (int)root->column);
    CHECK_STR(np_frame_name(p, &p->frames[p->nodes[1].frame]), "(anonymous)"); /* null, then a duplicate */
    CHECK_STR(np_frame_url(p, &p->frames[p->nodes[1].frame]), "");
    CHECK_STR(np_frame_name(p, &p->frames[p->nodes[2].frame]), "(anonymous)"); /* cut at \u0000 */
    CHECK(p->frames[p->nodes[2].frame].line == 0, "line -1 is none");
    CHECK(p->nsamples == 4 && p->sample_node[0] == 1 && p->sample_node[1] == 2, "samples");
    np_profile_free(p);
    static const char *const bad[] = {
        "{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"\\ud83d\"}}]}",
        "{\"nodes\":[{\"id\":1,\"callFrame\":{\"url\":\"\\ude00\\ud83d\"}}]}",
        "{\"nodes\":[{\"id\":1,\"callFrame\":{\"lineNumber\":2147483647}}]}",
        "{\"nodes\":[{\"id\":1,\"callFrame\":{\"columnNumber\":-2}}]}",
        "{\"nodes\":[{\"id\":1,\"callFrame\":{\"url\":true}}]}",
        "{\"nodes\":[{\"id\":1,\"callFrame\":{}}],\"samples\":[1,1 x],\"timeDeltas\":[1,1]}",
    };
    static const char *const why[] = { "surrogate", "surrogate", "lineNumber", "columnNumber", "url is not a string", "expected ',' or ']'" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = parse_text(bad[i], err, sizeof err);
        CHECK(p == NULL && strstr(err, why[i]), "bad frame %zu: %s", i, p ? "accepted" : err);
        np_profile_free(p);
    }
}

/* Sample ids are kept in 4 bytes while they fit, in 8 from the first
 * that does not (here after 1500, across the reader's 1024-id chunks). */
static void test_wide_sample_ids(void)
{
    char err[256];
    size_t cap = 64 * 1024, len = 0;
    char *json = malloc(cap);
    len += (size_t)snprintf(json + len, cap - len,
                            "{\"nodes\":[{\"id\":-5,\"callFrame\":{\"functionName\":\"r\"},\"children\":[5000000000]},"
                            "{\"id\":5000000000,\"callFrame\":{\"functionName\":\"w\"}}],\"samples\":[");
    for (int i = 0; i < 1500; i++) len += (size_t)snprintf(json + len, cap - len, "-5,");
    len += (size_t)snprintf(json + len, cap - len, "5000000000,-5],\"timeDeltas\":[");
    for (int i = 0; i < 1502; i++) len += (size_t)snprintf(json + len, cap - len, i ? ",1" : "1");
    len += (size_t)snprintf(json + len, cap - len, "]}");
    struct np_profile *p = np_profile_parse(json, len, err, sizeof err);
    CHECK(p != NULL, "wide sample ids: %s", err);
    if (p) {
        CHECK(p->nsamples == 1502 && p->sample_node[0] == 0 && p->sample_node[1500] == 1 && p->sample_node[1501] == 0,
              "wide sample ids map to their nodes");
        CHECK(p->nodes[1].self_count == 1 && p->nodes[0].self_count == 1501, "wide sample counts");
    }
    np_profile_free(p);
    free(json);
}

static void test_strings(void)
{
    char err[256];
    struct np_profile *p = parse_text("{\"nodes\":[{\"id\":1,\"callFrame\":{\"functionName\":\"q\\\"\\u00e9\\n\","
                                      "\"url\":null}}],\"ignored\":[[[{\"deep\":[1,{},[]]}]],true,false,null,-0.5e3]}",
                                      err, sizeof err);
    CHECK(p != NULL, "escapes and unknown keys: %s", err);
    if (!p) return;
    CHECK_STR(np_frame_name(p, &p->frames[0]), "q\"\xc3\xa9\n");
    struct loaded l = { (char *)"", 0, p };
    char *json = render(&l, NP_FMT_SPEEDSCOPE, NULL);
    CHECK(json && strstr(json, "\"name\":\"q\\\"\xc3\xa9\\n\""), "JSON escapes: %s", json);
    free(json);
    np_profile_free(p);
}

static void test_median(void)
{
    const int64_t large[] = { 90000, 70000, 80000 }, mixed[] = { 70000, 5, 0, 80000 }, none[] = { 0, -3 };
    const int64_t small[] = { 3, 1000, 1000, 999, 1001, 2000000 };
    CHECK(np_median_positive(large, 3) == 80000, "large");
    CHECK(np_median_positive(mixed, 4) == 70000, "mixed");
    CHECK(np_median_positive(none, 2) == 0, "none");
    CHECK(np_median_positive(small, 6) == 1000, "small");
}

/* ---- depth --------------------------------------------------------------- */

#define DEEP 10000

/* A .cpuprofile with one chain DEEP nodes deep and one sample at its end. */
static char *deep_cpuprofile(void)
{
    char *buf;
    size_t n;
    FILE *f = open_memstream(&buf, &n);
    fputs("{\"nodes\":[", f);
    for (int i = 1; i <= DEEP; i++) {
        fprintf(f, "%s{\"id\":%d,\"callFrame\":{\"functionName\":\"f%d\",\"url\":\"x.js\",\"lineNumber\":%d},"
                   "\"children\":[", i > 1 ? "," : "", i, i % 7, i % 7);
        if (i < DEEP) fprintf(f, "%d", i + 1);
        fputs("]}", f);
    }
    fprintf(f, "],\"samples\":[%d,%d],\"timeDeltas\":[5,5],\"startTime\":0,\"endTime\":10}", DEEP, DEEP / 2);
    fclose(f);
    return buf;
}

/* The same as a .heapprofile: DEEP objects nested in each other. */
static char *deep_heapprofile(void)
{
    char *buf;
    size_t n;
    FILE *f = open_memstream(&buf, &n);
    fputs("{\"head\":", f);
    for (int i = 1; i <= DEEP; i++)
        fprintf(f, "{\"callFrame\":{\"functionName\":\"g\",\"url\":\"y.js\"},\"selfSize\":%d,\"id\":%d,\"children\":[",
                i == DEEP ? 64 : 0, i);
    for (int i = 1; i <= DEEP; i++) fputs("]}", f);
    fputs(",\"samples\":[]}", f);
    fclose(f);
    return buf;
}

static void test_deep(void)
{
    char err[256];
    char *cpu = deep_cpuprofile(), *heap = deep_heapprofile();
    struct np_profile *p = parse_text(cpu, err, sizeof err);
    CHECK(p != NULL, "deep cpu: %s", err);
    if (p) {
        CHECK(p->nnodes == DEEP && p->nodes[DEEP - 1].depth == DEEP - 1, "depth");
        struct loaded l = { cpu, strlen(cpu), p };
        size_t n;
        char *collapsed = render(&l, NP_FMT_COLLAPSED, &n);
        size_t semis = 0;
        for (size_t i = 0; i < n; i++) semis += collapsed[i] == ';';
        CHECK(semis == (DEEP - 2) + (DEEP / 2 - 2), "two stacks of %d and %d frames: %zu", DEEP - 1, DEEP / 2 - 1, semis);
        free(collapsed);
        char *top = render(&l, NP_FMT_TOP, NULL);
        /* f1..f6 recur every 7 levels; each stack counts once: 100%. */
        CHECK(top && strstr(top, "100.0%"), "recursive totals");
        free(top);
        free(render(&l, NP_FMT_PPROF, NULL));
        free(render(&l, NP_FMT_SPEEDSCOPE, NULL));
        np_profile_free(p);
    }
    p = parse_text(heap, err, sizeof err);
    CHECK(p != NULL, "deep heap: %s", err);
    if (p) {
        CHECK(p->nnodes == DEEP && p->total_weight == 64, "deep heap model");
        np_profile_free(p);
    }
    free(cpu);
    free(heap);
}

/* Nesting in keys the parser skips costs no C stack either. */
static void test_deep_skip(void)
{
    size_t depth = 200000;
    char *json = malloc(2 * depth + 64);
    size_t n = 0;
    n += (size_t)sprintf(json, "{\"x\":");
    for (size_t i = 0; i < depth; i++) json[n++] = '[';
    for (size_t i = 0; i < depth; i++) json[n++] = ']';
    n += (size_t)sprintf(json + n, ",\"head\":{\"id\":1,\"callFrame\":{}}}");
    char err[256];
    struct np_profile *p = np_profile_parse(json, n, err, sizeof err);
    CHECK(p != NULL, "deep skipped value: %s", err);
    np_profile_free(p);
    free(json);
}

static void test_extensions(void)
{
    CHECK_STR(np_format_extension(NP_FMT_PPROF, NP_PROFILE_CPU), ".cpu.pb.gz");
    CHECK_STR(np_format_extension(NP_FMT_PPROF, NP_PROFILE_HEAP), ".heap.pb.gz");
    CHECK_STR(np_format_extension(NP_FMT_COLLAPSED, NP_PROFILE_CPU), ".cpu.collapsed.txt");
    CHECK_STR(np_format_extension(NP_FMT_SPEEDSCOPE, NP_PROFILE_HEAP), ".heap.speedscope.json");
    CHECK_STR(np_format_extension(NP_FMT_HTML, NP_PROFILE_CPU), ".cpu.html");
    CHECK_STR(np_format_extension(NP_FMT_TOP, NP_PROFILE_CPU), ".cpu.top.txt");
    /* Every format/kind pair has its own extension (NODEPROF_KEEP counts by it). */
    const unsigned all[] = { NP_FMT_CPUPROFILE, NP_FMT_PPROF, NP_FMT_COLLAPSED, NP_FMT_SPEEDSCOPE, NP_FMT_HTML, NP_FMT_TOP };
    const char *seen[12];
    int n = 0;
    for (size_t f = 0; f < sizeof all / sizeof *all; f++)
        for (int k = 0; k < 2; k++) {
            const char *ext = np_format_extension(all[f], k ? NP_PROFILE_HEAP : NP_PROFILE_CPU);
            CHECK(ext != NULL, "format %#x", all[f]);
            for (int i = 0; ext && i < n; i++) CHECK(strcmp(seen[i], ext), "%s twice", ext);
            if (ext) seen[n++] = ext;
        }
    CHECK_STR(np_format_extension(NP_FMT_CPUPROFILE, NP_PROFILE_CPU), ".cpuprofile");
    CHECK_STR(np_format_extension(NP_FMT_CPUPROFILE, NP_PROFILE_HEAP), ".heapprofile");
}

int main(void)
{
    test_cpu_model();
    test_heap_model();
    test_text_outputs();
    test_top_options();
    test_pprof_cpu();
    test_pprof_heap();
    test_pprof_heap_meta();
    test_pbenc();
    test_malformed();
    test_every_truncation();
    test_empty_profile();
    test_negative_deltas();
    test_hits_without_samples();
    test_median();
    test_strings();
    test_call_frames();
    test_wide_sample_ids();
    test_deep();
    test_deep_skip();
    test_extensions();
    return END();
}
