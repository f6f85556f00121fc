/* nodeprof heap: summary, diff, retainers and leaks of .heapsnapshot
 * files, read by the streaming parser (formats/heapsnap.h) and analysed
 * over its compact arrays (formats/heapgraph.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bigheap.h"
#include "cli.h"
#include "formats/heapgraph.h"
#include "formats/heapsnap.h"

static const char heap_usage[] =
    "usage: nodeprof heap summary FILE [-n N] [--json]\n"
    "       nodeprof heap diff BASE FILE [-n N] [--json] [--force]\n"
    "       nodeprof heap retainers FILE (--class NAME | --id ID) [-n N]\n"
    "       nodeprof heap leaks BASELINE TARGET FINAL [-n N] [--json] [--force]\n"
    "\n"
    "Reads V8 .heapsnapshot files of any size with a streaming C parser.\n"
    "  summary    per constructor (DevTools' Summary classes): count, shallow and\n"
    "             retained size (from the dominator tree), largest first; the largest objects\n"
    "  diff       DevTools' Comparison: objects matched by snapshot id; per constructor new,\n"
    "             deleted, delta, allocated, freed and size delta. Snapshots of different\n"
    "             processes are refused (more than 5% of the ids they share, strings and\n"
    "             numbers aside, name different objects); --force compares them anyway\n"
    "  retainers  the shortest retaining paths (from the GC roots, weak edges excluded)\n"
    "             of the objects of a class (the N largest) or of one object id\n"
    "  leaks      the three-snapshot technique: objects allocated between BASELINE and\n"
    "             TARGET and still alive in FINAL, grouped by constructor and retaining path\n"
    "  -n N       rows to print (default 20)\n"
    "  --json     machine-readable output\n";

static int heap_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int heap_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("nodeprof: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

struct opts {
    const char *files[3];
    int nfiles, json, force;
    long n;
    const char *cls;
    int have_id;
    uint32_t id;
};

static int parse_opts(int argc, char **argv, int max_files, struct opts *o)
{
    o->n = 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "--force")) o->force = 1;
        else if (!strcmp(a, "-n") || !strcmp(a, "--count") || !strcmp(a, "--class") || !strcmp(a, "--id")) {
            if (i + 1 >= argc) { heap_error("heap %s: %s needs a value", argv[0], a); return 2; }
            const char *v = argv[++i];
            if (!strcmp(a, "--class")) { o->cls = v; continue; }
            char *end;
            errno = 0;
            unsigned long long x = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-' || (a[1] == 'n' && (x < 1 || x > 1000000)) || x > UINT32_MAX) {
                heap_error("heap %s: bad value for %s: %s", argv[0], a, v);
                return 2;
            }
            if (!strcmp(a, "--id")) { o->id = (uint32_t)x; o->have_id = 1; }
            else o->n = (long)x;
        } else if (a[0] == '-' && a[1]) {
            heap_error("heap %s: unknown option %s (see nodeprof heap --help)", argv[0], a);
            return 2;
        } else if (o->nfiles == max_files) {
            heap_error("heap %s: too many files (see nodeprof heap --help)", argv[0]);
            return 2;
        } else o->files[o->nfiles++] = a;
    }
    if (o->nfiles != max_files) {
        heap_error("heap %s: %d snapshot file%s needed (see nodeprof heap --help)", argv[0], max_files, max_files > 1 ? "s" : "");
        return 2;
    }
    return 0;
}

/* A snapshot with its dominators and classes. */
struct snap {
    const char *path;
    struct np_heapsnap *hs;
    uint32_t *idom;
    uint64_t *retained;
    struct np_heapclasses cls;
};

static int load(const char *path, struct snap *s, int analyse)
{
    char err[512];
    memset(s, 0, sizeof *s);
    s->path = path;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) cli_bigheap_prepare((size_t)st.st_size);
    s->hs = np_heapsnap_read_file(path, err, sizeof err);
    if (!s->hs) return heap_error("%s: %s", path, err);
    if (np_heapgraph_propagate_detachedness(s->hs)) return heap_error("%s: out of memory", path);
    if (analyse && np_heapgraph_dominators(s->hs, &s->idom, &s->retained, err, sizeof err))
        return heap_error("%s: %s", path, err);
    if (np_heapgraph_classes(s->hs, s->idom, s->retained, &s->cls, err, sizeof err))
        return heap_error("%s: %s", path, err);
    return 0;
}

static void unload(struct snap *s)
{
    np_heapgraph_classes_free(&s->cls);
    free(s->idom);
    free(s->retained);
    np_heapsnap_free(s->hs);
}

static void json_strn(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; p < (const unsigned char *)s + n; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void json_str(FILE *f, const char *s)
{
    json_strn(f, s, strlen(s));
}

/* A name for the terminal: control characters shown as '?', cut after MAX. */
static void text_strn(FILE *f, const char *s, size_t n, size_t max)
{
    for (size_t i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        fputc(c < 0x20 || c == 0x7f ? '?' : c, f);
    }
    if (n > max) fputs("...", f);
}

static void text_str(FILE *f, const char *s, size_t max)
{
    text_strn(f, s, strlen(s), max);
}

static const char *human(uint64_t b, char *buf, size_t len)
{
    if (b < 1024) snprintf(buf, len, "%" PRIu64 " B", b);
    else if (b < 1024 * 1024) snprintf(buf, len, "%.1f kB", b / 1024.0);
    else if (b < (uint64_t)1024 * 1024 * 1024) snprintf(buf, len, "%.1f MB", b / 1048576.0);
    else snprintf(buf, len, "%.2f GB", b / 1073741824.0);
    return buf;
}

static int finish_output(int rc)
{
    if (rc == 0 && (fflush(stdout) || ferror(stdout))) return heap_error("cannot write to standard output: %s", strerror(errno));
    return rc;
}

/* A node's class name: its Summary class, or as DevTools would name it. */
static const char *cls_name(const struct snap *s, uint32_t v, char *tmp, size_t len)
{
    uint32_t c = s->cls.class_of[v];
    return c != NP_NO_CLASS ? s->cls.classes[c].name : np_heapgraph_class_name(s->hs, v, tmp, len);
}

/* ---- summary ---- */

static const struct np_heapclass *sort_classes_base;
static int by_retained(const void *a, const void *b)
{
    const struct np_heapclass *x = &sort_classes_base[*(const uint32_t *)a], *y = &sort_classes_base[*(const uint32_t *)b];
    if (x->retained != y->retained) return x->retained > y->retained ? -1 : 1;
    if (x->shallow != y->shallow) return x->shallow > y->shallow ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The N nodes with the largest retained sizes, synthetic nodes left out. */
static uint32_t top_objects(const struct snap *s, uint32_t *out, uint32_t n)
{
    const struct np_heapsnap *hs = s->hs;
    uint32_t have = 0;
    for (uint32_t i = 0; i < hs->node_count; i++) {
        if (hs->node_type[i] == hs->nt_synthetic || s->cls.class_of[i] == NP_NO_CLASS) continue;
        uint64_t r = s->retained[i];
        if (have == n && r <= s->retained[out[have - 1]]) continue;
        uint32_t j = have < n ? have++ : have - 1;
        while (j > 0 && s->retained[out[j - 1]] < r) { out[j] = out[j - 1]; j--; }
        out[j] = i;
    }
    return have;
}

/* Prints NAME in a column of 40, cut at 37 with "...". */
static void print_name_column(const char *name)
{
    text_str(stdout, name, 37);
    int w = (int)(strlen(name) > 37 ? 40 : strlen(name));
    printf("%*s", 40 - w, "");
}

/* The classes in ORDER (largest retained first) and the largest objects. */
struct summary {
    const struct snap *s;
    const uint32_t *order, *top;
    uint32_t ntop;
    uint64_t objects, shallow;
};

static void print_summary_json(const char *file, const struct summary *m)
{
    const struct snap *s = m->s;
    const struct np_heapsnap *hs = s->hs;
    char tmp[256];
    printf("{\"file\":");
    json_str(stdout, file);
    printf(",\"nodes\":%u,\"edges\":%u,\"objects\":%" PRIu64 ",\"shallow_size\":%" PRIu64 ",\"total_size\":%" PRIu64
           ",\"classes_total\":%u,\"classes\":[",
           hs->node_count, hs->edge_count, m->objects, m->shallow, s->retained[0], s->cls.n);
    for (uint32_t i = 0; i < s->cls.n; i++) {
        const struct np_heapclass *k = &s->cls.classes[m->order[i]];
        printf("%s{\"name\":", i ? "," : "");
        json_str(stdout, k->name);
        printf(",\"count\":%" PRIu64 ",\"shallow_size\":%" PRIu64 ",\"retained_size\":%" PRIu64 "}", k->count, k->shallow, k->retained);
    }
    printf("],\"largest\":[");
    for (uint32_t i = 0; i < m->ntop; i++) {
        uint32_t v = m->top[i];
        printf("%s{\"id\":%u,\"class\":", i ? "," : "", hs->node_id[v]);
        json_str(stdout, cls_name(s, v, tmp, sizeof tmp));
        printf(",\"type\":");
        json_str(stdout, hs->node_types[hs->node_type[v]]);
        printf(",\"shallow_size\":%" PRIu64 ",\"retained_size\":%" PRIu64 "}", hs->node_self[v], s->retained[v]);
    }
    printf("]}\n");
}

static void print_summary_text(const char *file, long n, const struct summary *m)
{
    const struct snap *s = m->s;
    const struct np_heapsnap *hs = s->hs;
    uint32_t rows = s->cls.n < (uint64_t)n ? s->cls.n : (uint32_t)n;
    char b1[32], b2[32], tmp[256];
    printf("%s: %" PRIu64 " objects, %s (shallow total), %u classes; %u nodes, %u edges\n\n", file, m->objects,
           human(m->shallow, b1, sizeof b1), s->cls.n, hs->node_count, hs->edge_count);
    printf("%-40s %10s %12s %12s %7s\n", "Constructor", "Count", "Shallow", "Retained", "Ret%");
    for (uint32_t i = 0; i < rows; i++) {
        const struct np_heapclass *k = &s->cls.classes[m->order[i]];
        print_name_column(k->name);
        printf(" %10" PRIu64 " %12s %12s %6.1f%%\n", k->count, human(k->shallow, b1, sizeof b1),
               human(k->retained, b2, sizeof b2), s->retained[0] ? 100.0 * (double)k->retained / (double)s->retained[0] : 0.0);
    }
    if (s->cls.n > rows) printf("... %u more classes (-n)\n", s->cls.n - rows);
    printf("%-40s %10" PRIu64 " %12s %12s\n", "Total", m->objects, human(m->shallow, b1, sizeof b1),
           human(s->retained[0], b2, sizeof b2));
    printf("\nLargest objects (retained size):\n%-12s %-40s %12s %12s\n", "Id", "Class", "Shallow", "Retained");
    for (uint32_t i = 0; i < m->ntop; i++) {
        uint32_t v = m->top[i];
        printf("@%-11u ", hs->node_id[v]);
        print_name_column(cls_name(s, v, tmp, sizeof tmp));
        printf(" %12s %12s\n", human(hs->node_self[v], b1, sizeof b1), human(s->retained[v], b2, sizeof b2));
    }
}

static int heap_summary(int argc, char **argv)
{
    struct opts o = { 0 };
    int rc = parse_opts(argc, argv, 1, &o);
    if (rc) return rc;
    struct snap s;
    if (load(o.files[0], &s, 1)) { unload(&s); return 1; }
    uint32_t *order = malloc((s.cls.n ? s.cls.n : 1) * sizeof *order);
    uint32_t *top = malloc((size_t)o.n * sizeof *top);
    if (!order || !top) { free(order); free(top); unload(&s); return heap_error("out of memory"); }
    struct summary m = { .s = &s, .order = order, .top = top };
    for (uint32_t c = 0; c < s.cls.n; c++) {
        order[c] = c;
        m.objects += s.cls.classes[c].count;
        m.shallow += s.cls.classes[c].shallow;
    }
    sort_classes_base = s.cls.classes;
    qsort(order, s.cls.n, sizeof *order, by_retained);
    m.ntop = top_objects(&s, top, (uint32_t)o.n);
    if (o.json) print_summary_json(o.files[0], &m);
    else print_summary_text(o.files[0], o.n, &m);
    free(order);
    free(top);
    unload(&s);
    return finish_output(0);
}

/* ---- diff ---- */

struct idrec { const char *cls; uint32_t id; uint32_t node; };

static int by_class_id(const void *a, const void *b)
{
    const struct idrec *x = a, *y = b;
    int c = strcmp(x->cls, y->cls);
    if (c) return c;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int by_id(const void *a, const void *b)
{
    const struct idrec *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The Summary's objects of S as (class, id) records, sorted by SORTER. */
static struct idrec *records(const struct snap *s, size_t *n, int (*sorter)(const void *, const void *))
{
    struct idrec *r = malloc(((size_t)s->hs->node_count + 1) * sizeof *r);
    if (!r) return NULL;
    size_t k = 0;
    for (uint32_t i = 0; i < s->hs->node_count; i++) {
        uint32_t c = s->cls.class_of[i];
        if (c == NP_NO_CLASS) continue;
        r[k++] = (struct idrec){ s->cls.classes[c].name, s->hs->node_id[i], i };
    }
    qsort(r, k, sizeof *r, sorter);
    *n = k;
    return r;
}

/* Kinds whose objects die young and whose ids are reused the most. */
static int churns(const char *type)
{
    return strstr(type, "string") || !strcmp(type, "number") || !strcmp(type, "bigint");
}

/* Whether A and B can be snapshots of one process. V8 numbers objects
 * from the same start in every process, so ids alone cannot tell; but an
 * id names one object, whose type and name (a constructor, a string's
 * text) do not change. Not quite for the process's life: an object
 * allocated where a dead one was, before the next snapshot, can inherit
 * its id, and short-lived strings and numbers churn most. Measured on
 * examples/leak.js under the leak watch (node 24): 2.5% to 5.0% of one
 * process's shared ids disagree, almost all of them strings (a
 * concatenated string flattened, or another string at its address) and
 * numbers; leaving out ids that are a string or a number on either side,
 * 0.02% to 0.1% disagree. Two runs of an app disagree on 29% to 92% of
 * those. So only those are compared: refused when more than 5% of them
 * (at least 100 compared) disagree on type or name, when no id at all is
 * shared, or when the meta's type lists differ; --force skips the check. */
static int same_process(const struct snap *a, const struct snap *b, const struct idrec *ra, size_t na,
                        const struct idrec *rb, size_t nb, char *why, size_t len)
{
    const struct np_heapsnap *x = a->hs, *y = b->hs;
    int meta_same = x->n_node_types == y->n_node_types && x->n_edge_types == y->n_edge_types;
    for (unsigned i = 0; meta_same && i < x->n_node_types; i++) meta_same = !strcmp(x->node_types[i], y->node_types[i]);
    for (unsigned i = 0; meta_same && i < x->n_edge_types; i++) meta_same = !strcmp(x->edge_types[i], y->edge_types[i]);
    if (!meta_same) {
        snprintf(why, len, "their node or edge type lists differ (different V8 versions)");
        return 0;
    }
    uint64_t shared = 0, common = 0, differ = 0;
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        if (ra[i].id < rb[j].id) i++;
        else if (ra[i].id > rb[j].id) j++;
        else {
            uint32_t u = ra[i].node, v = rb[j].node;
            const char *tu = x->node_types[x->node_type[u]], *tv = y->node_types[y->node_type[v]];
            shared++;
            if (!churns(tu) && !churns(tv)) {
                common++;
                if (strcmp(tu, tv) || strcmp(np_hs_str(x, x->node_name[u]), np_hs_str(y, y->node_name[v]))) differ++;
            }
            i++, j++;
        }
    }
    if (common >= 100 && differ * 20 > common) {
        snprintf(why, len, "%" PRIu64 " of the %" PRIu64 " object ids they share (strings and numbers aside) name different objects",
                 differ, common);
        return 0;
    }
    if (shared == 0 && na > 0 && nb > 0) {
        snprintf(why, len, "they share no object id");
        return 0;
    }
    return 1;
}

struct delta {
    const char *name;
    uint64_t added, removed, added_size, removed_size;
};

static int64_t count_delta(const struct delta *d) { return (int64_t)d->added - (int64_t)d->removed; }
static int64_t size_delta(const struct delta *d) { return (int64_t)d->added_size - (int64_t)d->removed_size; }

static int by_size_delta(const void *a, const void *b)
{
    const struct delta *x = a, *y = b;
    int64_t dx = size_delta(x), dy = size_delta(y);
    if (dx != dy) return dx > dy ? -1 : 1;
    int64_t cx = count_delta(x), cy = count_delta(y);
    if (cx != cy) return cx > cy ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Merges RA and RB (sorted by class, then id) into D, one entry per class
 * with new or deleted objects: DevTools matches objects within a class.
 * Returns the number of entries. */
static size_t class_deltas(const struct snap *a, const struct idrec *ra, size_t na, const struct snap *b,
                           const struct idrec *rb, size_t nb, struct delta *d)
{
    size_t nd = 0, i = 0, j = 0;
    while (i < na || j < nb) {
        const char *cls = i < na && (j >= nb || strcmp(ra[i].cls, rb[j].cls) <= 0) ? ra[i].cls : rb[j].cls;
        struct delta *x = &d[nd++];
        *x = (struct delta){ .name = cls };
        while (i < na || j < nb) {
            int ia = i < na && !strcmp(ra[i].cls, cls), ib = j < nb && !strcmp(rb[j].cls, cls);
            if (!ia && !ib) break;
            if (ia && (!ib || ra[i].id < rb[j].id)) { x->removed++; x->removed_size += a->hs->node_self[ra[i].node]; i++; }
            else if (ib && (!ia || rb[j].id < ra[i].id)) { x->added++; x->added_size += b->hs->node_self[rb[j].node]; j++; }
            else { i++; j++; }
        }
        if (!x->added && !x->removed) nd--;
    }
    return nd;
}

static void print_diff_json(const struct opts *o, const struct delta *d, size_t nd)
{
    printf("{\"base\":");
    json_str(stdout, o->files[0]);
    printf(",\"file\":");
    json_str(stdout, o->files[1]);
    printf(",\"classes\":[");
    for (size_t k = 0; k < nd; k++) {
        printf("%s{\"name\":", k ? "," : "");
        json_str(stdout, d[k].name);
        printf(",\"new\":%" PRIu64 ",\"deleted\":%" PRIu64 ",\"delta\":%" PRId64 ",\"alloc_size\":%" PRIu64
               ",\"freed_size\":%" PRIu64 ",\"size_delta\":%" PRId64 "}",
               d[k].added, d[k].removed, count_delta(&d[k]), d[k].added_size, d[k].removed_size, size_delta(&d[k]));
    }
    printf("]}\n");
}

static void print_diff_text(const struct opts *o, const struct delta *d, size_t nd)
{
    size_t rows = nd < (size_t)o->n ? nd : (size_t)o->n;
    char b1[32], b2[32], b3[40];
    printf("%s -> %s\n\n%-40s %9s %9s %9s %12s %12s %13s\n", o->files[0], o->files[1], "Constructor", "# New", "# Deleted",
           "# Delta", "Alloc. Size", "Freed Size", "Size Delta");
    for (size_t k = 0; k < rows; k++) {
        int64_t sd = size_delta(&d[k]);
        snprintf(b3, sizeof b3, "%s%s", sd < 0 ? "-" : "+", human((uint64_t)(sd < 0 ? -sd : sd), b1, sizeof b1));
        print_name_column(d[k].name);
        printf(" %9" PRIu64 " %9" PRIu64 " %+9" PRId64 " %12s %12s %13s\n", d[k].added, d[k].removed, count_delta(&d[k]),
               human(d[k].added_size, b2, sizeof b2), human(d[k].removed_size, b1, sizeof b1), b3);
    }
    if (nd > rows) printf("... %zu more classes (-n)\n", nd - rows);
}

static int heap_diff(int argc, char **argv)
{
    struct opts o = { 0 };
    int rc = parse_opts(argc, argv, 2, &o);
    if (rc) return rc;
    struct snap a, b;
    if (load(o.files[0], &a, 0)) { unload(&a); return 1; }
    if (load(o.files[1], &b, 0)) { unload(&a); unload(&b); return 1; }
    size_t na = 0, nb = 0;
    struct idrec *ra = records(&a, &na, by_id), *rb = records(&b, &nb, by_id);
    struct delta *d = malloc(((size_t)a.cls.n + b.cls.n + 1) * sizeof *d);
    char why[200];
    if (!ra || !rb || !d) rc = heap_error("out of memory");
    else if (!o.force && !same_process(&a, &b, ra, na, rb, nb, why, sizeof why))
        rc = heap_error("%s and %s are not snapshots of one process: %s; object ids cannot be matched (--force compares them anyway)",
                        o.files[0], o.files[1], why);
    if (rc == 0) {
        qsort(ra, na, sizeof *ra, by_class_id);
        qsort(rb, nb, sizeof *rb, by_class_id);
        size_t nd = class_deltas(&a, ra, na, &b, rb, nb, d);
        qsort(d, nd, sizeof *d, by_size_delta);
        if (o.json) print_diff_json(&o, d, nd);
        else print_diff_text(&o, d, nd);
        rc = finish_output(0);
    }
    free(ra); free(rb); free(d);
    unload(&a);
    unload(&b);
    return rc;
}

/* ---- retaining paths ---- */

/* DevTools' distance filter: weak edges never retain; nor do the native
 * context's sloppy_function_map and the shared links of descriptor arrays
 * (crbug.com/413608). */
static int path_edge(const struct np_heapsnap *hs, uint32_t from, uint32_t e)
{
    uint8_t t = hs->edge_type[e];
    if (t == hs->et_weak) return 0;
    if (hs->node_type[from] == hs->nt_hidden)
        return !(np_hs_edge_named(hs, t) && !strcmp(np_hs_str(hs, hs->edge_name[e]), "sloppy_function_map") &&
                 !strcmp(np_hs_str(hs, hs->node_name[from]), "system / NativeContext"));
    if (hs->node_type[from] == hs->nt_array && !strcmp(np_hs_str(hs, hs->node_name[from]), "(map descriptors)")) {
        if (np_hs_edge_named(hs, t)) return 1; /* DevTools parses the name: not a number, kept */
        uint32_t idx = hs->edge_name[e];
        return idx < 2 || idx % 3 != 1;
    }
    return 1;
}

/* Breadth-first from the root's user roots (its non-synthetic children,
 * the globals), then from the root for the rest, as DevTools computes
 * distances; via[v] is the edge that first reached v (UINT32_MAX: none). */
static uint32_t *shortest_paths(const struct np_heapsnap *hs, uint32_t **src_out)
{
    uint32_t n = hs->node_count;
    uint32_t *via = malloc(n * sizeof *via), *src = malloc(n * sizeof *src), *queue = malloc(n * sizeof *queue);
    uint8_t *seen = calloc(n, 1);
    if (!via || !src || !queue || !seen) { free(via); free(src); free(queue); free(seen); return NULL; }
    memset(via, 0xff, n * sizeof *via);
    size_t qh = 0, qt = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0) {
            for (uint32_t e = hs->first_edge[0]; e < hs->first_edge[1]; e++) {
                uint32_t to = hs->edge_to[e];
                if (hs->node_type[to] == hs->nt_synthetic || seen[to] || to == 0) continue;
                seen[to] = 1; via[to] = e; src[to] = 0; queue[qt++] = to;
            }
        } else if (!seen[0]) { seen[0] = 1; queue[qt++] = 0; }
        while (qh < qt) {
            uint32_t v = queue[qh++];
            for (uint32_t e = hs->first_edge[v]; e < hs->first_edge[v + 1]; e++) {
                uint32_t to = hs->edge_to[e];
                if (seen[to] || !path_edge(hs, v, e)) continue;
                seen[to] = 1; via[to] = e; src[to] = v; queue[qt++] = to;
            }
        }
    }
    free(queue);
    free(seen);
    *src_out = src;
    return via;
}

/* One hop as DevTools' Retainers view names it. */
static void edge_label(const struct np_heapsnap *hs, uint32_t e, char *buf, size_t len)
{
    uint8_t t = hs->edge_type[e];
    const char *name = np_hs_edge_named(hs, t) ? np_hs_str(hs, hs->edge_name[e]) : NULL;
    if (t == hs->et_element || t == hs->et_hidden) snprintf(buf, len, "[%u]", hs->edge_name[e]);
    else if (t == hs->et_context) snprintf(buf, len, "->%s", name);
    else if (t == hs->et_internal || t == hs->et_hidden) snprintf(buf, len, "{%s}", name);
    else snprintf(buf, len, strchr(name, ' ') ? "[\"%s\"]" : ".%s", name);
}

/* "(GC roots) → (Handle scope) → ... → ->cache Map → {table} (array) →
 * [] Session": the chain from the root's child down to V, each hop's edge
 * before the node it leads to; objects and natives by class, synthetic
 * nodes by name, the others as "(type)". GROUP_INDEXES writes numeric
 * element and internal indexes as [] and {}, so that the paths of the
 * members of one collection compare equal. */
static void print_path(FILE *f, const struct snap *s, const uint32_t *via, const uint32_t *src, uint32_t v,
                       int group_indexes)
{
    const struct np_heapsnap *hs = s->hs;
    uint32_t chain[64];
    int k = 0;
    for (uint32_t x = v; k < 64 && x != 0; x = src[x]) {
        chain[k++] = x;
        if (via[x] == UINT32_MAX) break;
    }
    char tmp[256], lab[256];
    if (k == 64) fputs("... →", f);
    for (int i = k - 1; i >= 0; i--) {
        uint32_t x = chain[i];
        if (i != k - 1 || k == 64) fputs(" → ", f);
        if (via[x] != UINT32_MAX && src[x] != 0) {
            edge_label(hs, via[x], lab, sizeof lab);
            size_t n = strlen(lab);
            if (group_indexes && n > 2 && (lab[0] == '[' || lab[0] == '{') && strspn(lab + 1, "0123456789") == n - 2) {
                lab[1] = lab[n - 1];
                lab[2] = '\0';
            }
            text_str(f, lab, 60);
            fputc(' ', f);
        }
        uint8_t t = hs->node_type[x];
        if (t == hs->nt_synthetic) text_str(f, np_hs_str(hs, hs->node_name[x]), 60);
        else if (t == hs->nt_object || t == hs->nt_native) text_str(f, cls_name(s, x, tmp, sizeof tmp), 60);
        else text_str(f, np_heapgraph_class_name(hs, x, tmp, sizeof tmp), 60);
    }
}

static int heap_retainers(int argc, char **argv)
{
    struct opts o = { 0 };
    int rc = parse_opts(argc, argv, 1, &o);
    if (rc) return rc;
    if (!o.cls == !o.have_id) return heap_error("heap retainers: give one of --class NAME or --id ID"), 2;
    struct snap s;
    if (load(o.files[0], &s, 1)) { unload(&s); return 1; }
    const struct np_heapsnap *hs = s.hs;
    uint32_t *src = NULL, *via = shortest_paths(hs, &src);
    uint32_t *pick = malloc((size_t)o.n * sizeof *pick);
    if (!via || !pick) { free(via); free(src); free(pick); unload(&s); return heap_error("out of memory"); }
    uint32_t have = 0;
    char tmp[256], b1[32], b2[32];
    for (uint32_t i = 0; i < hs->node_count; i++) {
        if (o.have_id ? hs->node_id[i] != o.id : (s.cls.class_of[i] == NP_NO_CLASS || strcmp(cls_name(&s, i, tmp, sizeof tmp), o.cls)))
            continue;
        uint64_t r = s.retained[i];
        if (have == (uint32_t)o.n && r <= s.retained[pick[have - 1]]) continue;
        uint32_t j = have < (uint32_t)o.n ? have++ : have - 1;
        while (j > 0 && s.retained[pick[j - 1]] < r) { pick[j] = pick[j - 1]; j--; }
        pick[j] = i;
    }
    if (!have) rc = heap_error("%s: no object %s %s", o.files[0], o.have_id ? "with id" : "of class", o.have_id ? (snprintf(tmp, sizeof tmp, "@%u", o.id), tmp) : o.cls);
    for (uint32_t k = 0; k < have; k++) {
        uint32_t v = pick[k];
        printf("@%u %s, shallow %s, retained %s\n  ", hs->node_id[v], cls_name(&s, v, tmp, sizeof tmp),
               human(hs->node_self[v], b1, sizeof b1), human(s.retained[v], b2, sizeof b2));
        if (via[v] == UINT32_MAX && v != 0) fputs("(unreachable from the GC roots but for weak edges)", stdout);
        else print_path(stdout, &s, via, src, v, 0);
        fputc('\n', stdout);
    }
    free(via); free(src); free(pick);
    unload(&s);
    return finish_output(rc);
}

/* ---- leaks ---- */

/* The index of ID in R (sorted by id), or -1. */
static long find_id(const struct idrec *r, size_t n, uint32_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && r[lo].id == id ? (long)lo : -1;
}

#define NO_NODE UINT32_MAX

/* For each node, its nearest strict dominator that is leaked, or NO_NODE:
 * one walk up the dominator tree per chain, results memoised. */
static uint32_t *nearest_leaked_dominators(const struct snap *s, const uint8_t *leaked)
{
    uint32_t n = s->hs->node_count;
    uint32_t *up = malloc(((size_t)n + 1) * sizeof *up);
    uint8_t *known = calloc((size_t)n + 1, 1); /* + 1: known[0] below, whatever n */
    uint32_t *stack = malloc(((size_t)n + 1) * sizeof *stack);
    if (!up || !known || !stack) { free(up); free(known); free(stack); return NULL; }
    up[0] = NO_NODE; /* the root */
    known[0] = 1;
    for (uint32_t v = 0; v < n; v++) {
        size_t sp = 0;
        uint32_t x = v;
        while (!known[x] && sp < n) { stack[sp++] = x; x = s->idom[x]; }
        while (sp) {
            uint32_t y = stack[--sp], d = s->idom[y];
            up[y] = leaked[d] ? d : up[d];
            known[y] = 1;
        }
    }
    free(known);
    free(stack);
    return up;
}

/* Whether a leaked object is "covered": some leaked object that is not an
 * internal array dominates it, and counts its retained size for it. An
 * internal array (a Map's table, an object's elements) is how its owner
 * holds things, not what leaks: when the owner is old and only its table
 * new, the objects in the table are the leak, and each counts its own. */
static uint8_t *leaked_covered(const struct snap *s, const uint32_t *up)
{
    const struct np_heapsnap *hs = s->hs;
    uint32_t n = hs->node_count;
    uint8_t *st = calloc((size_t)n + 1, 1); /* 0 unknown, 1 not covered, 2 covered */
    uint32_t *stack = malloc(((size_t)n + 1) * sizeof *stack);
    if (!st || !stack) { free(st); free(stack); return NULL; }
    for (uint32_t v = 0; v < n; v++) {
        size_t sp = 0;
        uint32_t x = v;
        /* up[] climbs strictly, so each chain ends at a known node or NO_NODE */
        while (x != NO_NODE && !st[x] && sp < n) { stack[sp++] = x; x = up[x]; }
        while (sp) {
            uint32_t y = stack[--sp], d = up[y];
            bool covered = d != NO_NODE && (hs->node_type[d] != hs->nt_array || st[d] == 2);
            st[y] = covered ? 2 : 1;
        }
    }
    free(stack);
    for (uint32_t v = 0; v < n; v++) st[v] = st[v] == 2;
    return st;
}

/* What each leaked object counts: its retained size if not covered, less
 * what the uncovered leaked objects it dominates count themselves (only an
 * internal array has such); 0 if covered. */
static uint64_t *leaked_counts(const struct snap *s, const uint8_t *leaked)
{
    uint32_t n = s->hs->node_count;
    uint32_t *up = nearest_leaked_dominators(s, leaked);
    uint8_t *covered = up ? leaked_covered(s, up) : NULL;
    uint64_t *count = calloc((size_t)n + 1, sizeof *count);
    if (!up || !covered || !count) { free(up); free(covered); free(count); return NULL; }
    for (uint32_t v = 0; v < n; v++)
        if (leaked[v] && !covered[v]) count[v] = s->retained[v];
    for (uint32_t v = 0; v < n; v++)
        if (leaked[v] && !covered[v] && up[v] != NO_NODE) count[up[v]] -= s->retained[v];
    free(up);
    free(covered);
    return count;
}

struct group { char *key; uint32_t example; uint64_t count, shallow, retained; };

static int by_group_retained(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    if (x->retained != y->retained) return x->retained > y->retained ? -1 : 1;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int by_group_key(const void *a, const void *b)
{
    return strcmp(((const struct group *)a)->key, ((const struct group *)b)->key);
}

/* What `heap leaks` learns from its three snapshots. BASELINE is read
 * only for its ids and freed before FINAL is read, so that at most two
 * snapshots are in memory at once. */
struct leaks {
    struct snap target, fin;
    struct idrec *rtarget; /* TARGET's objects, by id */
    size_t nt;
    uint8_t *isnew;        /* per rtarget record: absent from BASELINE */
    uint32_t *via, *src;   /* shortest paths in FINAL (shortest_paths) */
    struct group *g;
    size_t ng;
};

static void leaks_free(struct leaks *l)
{
    for (size_t k = 0; l->g && k < l->ng; k++) free(l->g[k].key);
    free(l->g); free(l->via); free(l->src); free(l->isnew); free(l->rtarget);
    unload(&l->target);
    unload(&l->fin);
}

/* V8 numbers the objects of its heap in the order it first sees them, so a
 * later snapshot of a process holds a higher id than any of an earlier
 * one, unless nothing made since the earlier one is alive (native and
 * synthetic nodes aside: node numbers those from their addresses). Given in
 * the wrong order (a slip, a glob), leaks answered "none", as if nothing
 * leaked. */
static uint32_t newest_id(const struct snap *s)
{
    const struct np_heapsnap *hs = s->hs;
    uint32_t max = 0;
    for (uint32_t i = 0; i < hs->node_count; i++)
        if (hs->node_type[i] != hs->nt_native && hs->node_type[i] != hs->nt_synthetic && hs->node_id[i] > max)
            max = hs->node_id[i];
    return max;
}

static int taken_in_order(const struct opts *o, int a, const struct snap *sa, int b, const struct snap *sb)
{
    uint32_t max_a = newest_id(sa), max_b = newest_id(sb);
    if (o->force || max_b >= max_a) return 1;
    heap_error("%s looks older than %s (its newest object is @%u, against @%u): give BASELINE TARGET FINAL "
               "in the order they were taken (--force compares them anyway)", o->files[b], o->files[a],
               max_b, max_a);
    return 0;
}

/* Reads BASELINE and TARGET and marks TARGET's ids that BASELINE has not. */
static int leaks_new_ids(const struct opts *o, struct leaks *l)
{
    struct snap base;
    struct idrec *rbase = NULL;
    size_t nb = 0;
    char why[200];
    int rc = 0;
    if (load(o->files[0], &base, 0) || load(o->files[1], &l->target, 0)) { rc = 1; goto out; }
    rbase = records(&base, &nb, by_id);
    l->rtarget = records(&l->target, &l->nt, by_id);
    l->isnew = malloc(l->nt ? l->nt : 1);
    if (!rbase || !l->rtarget || !l->isnew) { rc = heap_error("out of memory"); goto out; }
    if (!o->force && !same_process(&base, &l->target, rbase, nb, l->rtarget, l->nt, why, sizeof why)) {
        rc = heap_error("%s and %s are not snapshots of one process: %s", o->files[0], o->files[1], why);
        goto out;
    }
    if (!taken_in_order(o, 0, &base, 1, &l->target)) { rc = 1; goto out; }
    for (size_t k = 0; k < l->nt; k++) l->isnew[k] = find_id(rbase, nb, l->rtarget[k].id) < 0;
out:
    free(rbase);
    unload(&base);
    return rc;
}

/* Reads and analyses FINAL, which must come from TARGET's process too. */
static int leaks_load_final(const struct opts *o, struct leaks *l)
{
    char why[200];
    size_t nf = 0;
    if (load(o->files[2], &l->fin, 1)) return 1;
    struct idrec *rfin = records(&l->fin, &nf, by_id);
    if (!rfin) return heap_error("out of memory");
    int same = o->force || same_process(&l->target, &l->fin, l->rtarget, l->nt, rfin, nf, why, sizeof why);
    if (same && !taken_in_order(o, 1, &l->target, 2, &l->fin)) { free(rfin); return 1; }
    free(rfin);
    if (!same) return heap_error("%s and %s are not snapshots of one process: %s", o->files[1], o->files[2], why);
    l->via = shortest_paths(l->fin.hs, &l->src);
    return l->via ? 0 : heap_error("out of memory");
}

/* The objects of FINAL whose ids are new in TARGET: JS objects the app
 * made (objects, closures, arrays, natives), reachable from the roots. */
static uint8_t *leaks_mark(const struct leaks *l)
{
    const struct np_heapsnap *hs = l->fin.hs;
    uint8_t *leaked = calloc(hs->node_count ? hs->node_count : 1, 1);
    if (!leaked) return NULL;
    for (uint32_t i = 0; i < hs->node_count; i++) {
        uint8_t t = hs->node_type[i];
        if (l->fin.cls.class_of[i] == NP_NO_CLASS || l->via[i] == UINT32_MAX) continue;
        if (t != hs->nt_object && t != hs->nt_closure && t != hs->nt_array && t != hs->nt_native) continue;
        long k = find_id(l->rtarget, l->nt, hs->node_id[i]);
        if (k >= 0 && l->isnew[k]) leaked[i] = 1;
    }
    return leaked;
}

/* Folds groups with equal keys (sorted by key) into one. */
static size_t merge_groups(struct group *g, size_t n)
{
    size_t w = 0;
    for (size_t k = 0; k < n; k++) {
        if (w && !strcmp(g[w - 1].key, g[k].key)) {
            g[w - 1].count++;
            g[w - 1].shallow += g[k].shallow;
            g[w - 1].retained += g[k].retained;
            free(g[k].key);
        } else g[w++] = g[k];
    }
    return w;
}

/* Groups the leaked objects by class and retaining path, largest retained
 * size first; what each counts: leaked_counts. */
static int leaks_group(struct leaks *l, const uint8_t *leaked)
{
    const struct np_heapsnap *hs = l->fin.hs;
    uint64_t *count = leaked_counts(&l->fin, leaked);
    l->g = calloc((size_t)hs->node_count + 1, sizeof *l->g);
    if (!count || !l->g) { free(count); return heap_error("out of memory"); }
    char tmp[256];
    for (uint32_t i = 0; i < hs->node_count; i++) {
        if (!leaked[i]) continue;
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m) { free(count); return heap_error("out of memory"); }
        fputs(cls_name(&l->fin, i, tmp, sizeof tmp), m);
        fputc('\t', m);
        print_path(m, &l->fin, l->via, l->src, i, 1);
        fclose(m);
        l->g[l->ng++] = (struct group){ buf, i, 1, hs->node_self[i], count[i] };
    }
    free(count);
    qsort(l->g, l->ng, sizeof *l->g, by_group_key);
    l->ng = merge_groups(l->g, l->ng);
    qsort(l->g, l->ng, sizeof *l->g, by_group_retained);
    return 0;
}

/* A group's key is "class\tpath". */
static const char *group_path(const struct group *g)
{
    return strchr(g->key, '\t') + 1;
}

static void print_leaks_json(const struct leaks *l)
{
    printf("{\"groups\":[");
    for (size_t k = 0; k < l->ng; k++) {
        const struct group *g = &l->g[k];
        const char *path = group_path(g);
        printf("%s{\"class\":", k ? "," : "");
        json_strn(stdout, g->key, (size_t)(path - 1 - g->key));
        printf(",\"path\":");
        json_str(stdout, path);
        printf(",\"count\":%" PRIu64 ",\"shallow_size\":%" PRIu64 ",\"retained_size\":%" PRIu64 ",\"example_id\":%u}",
               g->count, g->shallow, g->retained, l->fin.hs->node_id[g->example]);
    }
    printf("]}\n");
}

static void print_leaks_text(const struct opts *o, const struct leaks *l)
{
    size_t rows = l->ng < (size_t)o->n ? l->ng : (size_t)o->n;
    char b1[32], b2[32];
    printf("Objects allocated between %s and %s, still alive in %s:\n", o->files[0], o->files[1], o->files[2]);
    if (!l->ng) printf("none\n");
    for (size_t k = 0; k < rows; k++) {
        const struct group *g = &l->g[k];
        const char *path = group_path(g);
        printf("\n%" PRIu64 " x ", g->count);
        text_strn(stdout, g->key, (size_t)(path - 1 - g->key), 60);
        printf(", shallow %s, retained %s (e.g. @%u)\n  %s\n", human(g->shallow, b1, sizeof b1),
               human(g->retained, b2, sizeof b2), l->fin.hs->node_id[g->example], path);
    }
    if (l->ng > rows) printf("\n... %zu more groups (-n)\n", l->ng - rows);
}

static int heap_leaks(int argc, char **argv)
{
    struct opts o = { 0 };
    int rc = parse_opts(argc, argv, 3, &o);
    if (rc) return rc;
    struct leaks l;
    memset(&l, 0, sizeof l);
    uint8_t *leaked = NULL;
    if (leaks_new_ids(&o, &l) || leaks_load_final(&o, &l)) rc = 1;
    else if (!(leaked = leaks_mark(&l))) rc = heap_error("out of memory");
    else rc = leaks_group(&l, leaked);
    free(leaked);
    if (rc == 0) {
        if (o.json) print_leaks_json(&l);
        else print_leaks_text(&o, &l);
        rc = finish_output(0);
    }
    leaks_free(&l);
    return rc;
}

int cli_heap(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(heap_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { fputs(heap_usage, stdout); return 0; }
    if (!strcmp(argv[1], "summary")) return heap_summary(argc - 1, argv + 1);
    if (!strcmp(argv[1], "diff")) return heap_diff(argc - 1, argv + 1);
    if (!strcmp(argv[1], "retainers")) return heap_retainers(argc - 1, argv + 1);
    if (!strcmp(argv[1], "leaks")) return heap_leaks(argc - 1, argv + 1);
    heap_error("heap: unknown subcommand '%s'", argv[1]);
    fputs(heap_usage, stderr);
    return 2;
}
