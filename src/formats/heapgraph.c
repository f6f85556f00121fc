/* Dominators, retained sizes and Summary classes of a heap snapshot
 * (heapgraph.h). */
#include "formats/heapgraph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOT 0u
#define FLAG_PAGE 1u

static int oom(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "out of memory (%s)", what);
    return -1;
}

/* memlab's flagReachableNodesFromWindow. */
static void flag_nodes(const struct np_heapsnap *hs, uint8_t *flags, uint32_t *stack)
{
    size_t sp = 0;
    for (uint32_t e = hs->first_edge[ROOT]; e < hs->first_edge[ROOT + 1]; e++) {
        uint32_t to = hs->edge_to[e];
        uint8_t t = hs->edge_type[e];
        if (t == hs->et_element) {
            if (hs->node_type[to] == hs->nt_synthetic && !strcmp(np_hs_str(hs, hs->node_name[to]), "(Document DOM trees)"))
                continue;
        } else if (t == hs->et_shortcut) continue;
        stack[sp++] = to;
        flags[to] |= FLAG_PAGE;
        if (sp == hs->node_count) break; /* each node is pushed at most once below; root edges may repeat */
    }
    while (sp > 0) {
        uint32_t v = stack[--sp];
        for (uint32_t e = hs->first_edge[v]; e < hs->first_edge[v + 1]; e++) {
            uint32_t to = hs->edge_to[e];
            if (flags[to] & FLAG_PAGE || hs->edge_type[e] == hs->et_weak) continue;
            flags[to] |= FLAG_PAGE;
            stack[sp++] = to;
        }
    }
}

static inline int essential(const struct np_heapsnap *hs, const uint8_t *flags, uint32_t from, uint8_t type, uint32_t to)
{
    if (from == to || type == hs->et_weak) return 0;
    if (type == hs->et_shortcut && from != ROOT) return 0;
    if (from != ROOT && (flags[to] & FLAG_PAGE) && !(flags[from] & FLAG_PAGE)) return 0;
    return 1;
}

/* The essential predecessors of each node, as a CSR list; and, per node,
 * whether any retainer is neither weak nor a shortcut (memlab's
 * hasOnlyWeakReferrers, negated). */
struct preds { uint32_t *first, *from; uint8_t *strong; };

static int build_preds(const struct np_heapsnap *hs, const uint8_t *flags, struct preds *p)
{
    uint32_t n = hs->node_count;
    p->first = calloc((size_t)n + 2, sizeof *p->first);
    p->strong = calloc(n, 1);
    if (!p->first || !p->strong) return -1;
    uint64_t total = 0;
    for (uint32_t v = 0; v < n; v++)
        for (uint32_t e = hs->first_edge[v]; e < hs->first_edge[v + 1]; e++) {
            uint32_t to = hs->edge_to[e];
            uint8_t t = hs->edge_type[e];
            if (t != hs->et_weak && t != hs->et_shortcut) p->strong[to] = 1;
            if (essential(hs, flags, v, t, to)) { p->first[to + 2]++; total++; }
        }
    for (uint32_t i = 2; i < n + 2; i++) p->first[i] += p->first[i - 1];
    p->from = malloc((total ? total : 1) * sizeof *p->from);
    if (!p->from) return -1;
    for (uint32_t v = 0; v < n; v++)
        for (uint32_t e = hs->first_edge[v]; e < hs->first_edge[v + 1]; e++)
            if (essential(hs, flags, v, hs->edge_type[e], hs->edge_to[e]))
                p->from[p->first[hs->edge_to[e] + 1]++] = v;
    /* now first[i]..first[i+1] are node i's predecessors */
    return 0;
}

/* Lengauer-Tarjan state; vertices are ordinal + 1, 0 is "none". */
struct lt {
    uint32_t *parent, *ancestor, *vertex, *label, *semi, *dom, *bucket, *bnext, *cursor;
    uint32_t n; /* vertices numbered so far */
};

/* memlab's iterative DFS from ROOTV: the first unvisited essential
 * successor is entered; the cursor remembers where a node's scan stopped. */
static void dfs(const struct np_heapsnap *hs, const uint8_t *flags, struct lt *s, uint32_t rootv)
{
    s->cursor[rootv - 1] = hs->first_edge[rootv - 1];
    uint32_t v = rootv;
    while (v != 0) {
        if (s->semi[v] == 0) {
            s->semi[v] = ++s->n;
            s->vertex[s->n] = s->label[v] = v;
        }
        uint32_t next = s->parent[v], vo = v - 1, end = hs->first_edge[vo + 1];
        for (; s->cursor[vo] < end; s->cursor[vo]++) {
            uint32_t e = s->cursor[vo], wo = hs->edge_to[e];
            if (!essential(hs, flags, vo, hs->edge_type[e], wo)) continue;
            uint32_t w = wo + 1;
            if (s->semi[w] == 0) {
                s->parent[w] = v;
                s->cursor[wo] = hs->first_edge[wo];
                next = w;
                break;
            }
        }
        v = next;
    }
}

static uint32_t eval(struct lt *s, uint32_t *stack, uint32_t v)
{
    if (s->ancestor[v] == 0) return v;
    uint32_t sp = 0, x = v;
    while (s->ancestor[s->ancestor[x]] != 0) {
        stack[++sp] = x;
        x = s->ancestor[x];
    }
    while (sp > 0) {
        uint32_t w = stack[sp--];
        if (s->semi[s->label[s->ancestor[w]]] < s->semi[s->label[w]]) s->label[w] = s->label[s->ancestor[w]];
        s->ancestor[w] = s->ancestor[s->ancestor[w]];
    }
    return s->label[v];
}

static void lt_free(struct lt *s)
{
    free(s->parent); free(s->ancestor); free(s->vertex); free(s->label); free(s->semi);
    free(s->bucket); free(s->bnext); free(s->cursor);
}

static void lt_run(const struct np_heapsnap *hs, const uint8_t *flags, const struct preds *p, struct lt *s)
{
    uint32_t nodes = hs->node_count, r = ROOT + 1;
    dfs(hs, flags, s, r);
    for (uint32_t v = 1; s->n < nodes && v <= nodes; v++)
        if (s->semi[v] == 0 && !p->strong[v - 1]) {
            s->parent[v] = r;
            dfs(hs, flags, s, v);
        }
    for (uint32_t v = 1; s->n < nodes && v <= nodes; v++)
        if (s->semi[v] == 0) {
            s->parent[v] = r;
            s->semi[v] = ++s->n;
            s->vertex[s->n] = s->label[v] = v;
        }
    uint32_t *stack = s->cursor; /* the DFS is over: its cursors become eval's stack */
    for (uint32_t i = s->n; i >= 2; i--) {
        uint32_t w = s->vertex[i], wo = w - 1;
        if (p->first[wo] == p->first[wo + 1]) s->semi[w] = s->semi[r];
        for (uint32_t k = p->first[wo]; k < p->first[wo + 1]; k++) {
            uint32_t u = eval(s, stack, p->from[k] + 1);
            if (s->semi[u] < s->semi[w]) s->semi[w] = s->semi[u];
        }
        uint32_t sd = s->vertex[s->semi[w]];
        s->bnext[w] = s->bucket[sd];
        s->bucket[sd] = w;
        s->ancestor[w] = s->parent[w];
        uint32_t pw = s->parent[w];
        for (uint32_t v = s->bucket[pw]; v; v = s->bnext[v]) {
            uint32_t u = eval(s, stack, v);
            s->dom[v] = s->semi[u] < s->semi[v] ? u : pw;
        }
        s->bucket[pw] = 0;
    }
    s->dom[0] = s->dom[r] = r;
    for (uint32_t i = 2; i <= s->n; i++) {
        uint32_t w = s->vertex[i];
        if (s->dom[w] != s->vertex[s->semi[w]]) s->dom[w] = s->dom[s->dom[w]];
    }
}

int np_heapgraph_dominators(const struct np_heapsnap *hs, uint32_t **idom_out, uint64_t **retained_out,
                            char *err, size_t errlen)
{
    uint32_t n = hs->node_count;
    size_t len = (size_t)n + 1;
    uint8_t *flags = calloc(n, 1);
    uint32_t *stack = malloc(n * sizeof *stack);
    if (!flags || !stack) { free(flags); free(stack); return oom(err, errlen, "dominator flags"); }
    flag_nodes(hs, flags, stack);
    free(stack);
    struct preds p = { 0 };
    struct lt s = { 0 };
    int rc = -1;
    if (build_preds(hs, flags, &p)) { oom(err, errlen, "retainer lists"); goto out; }
    uint32_t **arrs[] = { &s.parent, &s.ancestor, &s.vertex, &s.label, &s.semi, &s.dom, &s.bucket, &s.bnext, &s.cursor };
    for (size_t i = 0; i < sizeof arrs / sizeof *arrs; i++)
        if (!(*arrs[i] = calloc(len, sizeof **arrs[i]))) { oom(err, errlen, "dominator tree"); goto out; }
    lt_run(hs, flags, &p, &s);
    free(p.first); free(p.from); free(p.strong);
    p = (struct preds){ 0 };
    uint64_t *ret = malloc(n * sizeof *ret);
    if (!ret) { oom(err, errlen, "retained sizes"); goto out; }
    /* dom[] to ordinals in place: entry i reads i + 1, not yet overwritten */
    uint32_t *idom = s.dom;
    for (uint32_t o = 0; o < n; o++) {
        idom[o] = s.dom[o + 1] - 1;
        ret[o] = hs->node_self[o];
    }
    for (uint32_t i = s.n; i > 1; i--) {
        uint32_t o = s.vertex[i] - 1;
        ret[idom[o]] += ret[o];
    }
    s.dom = NULL;
    *idom_out = idom;
    *retained_out = ret;
    rc = 0;
out:
    free(flags);
    free(p.first); free(p.from); free(p.strong);
    lt_free(&s);
    free(s.dom);
    return rc;
}

/* ---- classes ---- */

static int in_summary(const struct np_heapsnap *hs, uint32_t i)
{
    return hs->node_self[i] != 0 || hs->node_type[i] == hs->nt_native;
}

static int is_detached(const struct np_heapsnap *hs, uint32_t node)
{
    return hs->node_detached && hs->node_type[node] == hs->nt_native && hs->node_detached[node] == 2;
}

const char *np_heapgraph_class_name(const struct np_heapsnap *hs, uint32_t node, char *buf, size_t len)
{
    uint8_t t = hs->node_type[node];
    if (is_detached(hs, node)) {
        snprintf(buf, len, "Detached %s", np_hs_str(hs, hs->node_name[node]));
        return buf;
    }
    if (t == hs->nt_object || t == hs->nt_native) return np_hs_str(hs, hs->node_name[node]);
    if (t == hs->nt_hidden) return "(system)";
    if (t == hs->nt_code) return "(compiled code)";
    snprintf(buf, len, "(%s)", hs->node_types[t]);
    return buf;
}

/* The dominator tree's children lists (DevTools' _buildDominatedNodes). */
static int dominated_lists(const struct np_heapsnap *hs, const uint32_t *idom, uint32_t **first, uint32_t **kids)
{
    uint32_t n = hs->node_count;
    *first = calloc((size_t)n + 2, sizeof **first);
    *kids = malloc((n ? n : 1) * sizeof **kids);
    if (!*first || !*kids) return -1;
    for (uint32_t i = 0; i < n; i++) if (i != ROOT) (*first)[idom[i] + 2]++;
    for (uint32_t i = 2; i < n + 2; i++) (*first)[i] += (*first)[i - 1];
    for (uint32_t i = 0; i < n; i++) if (i != ROOT) (*kids)[(*first)[idom[i] + 1]++] = i;
    return 0;
}

/* DevTools' _calculateClassesRetainedSize: a walk of the dominator tree in
 * which an object counts toward its class unless an ancestor of the same
 * class already did. */
static int class_retained(const struct np_heapsnap *hs, const uint32_t *idom, const uint64_t *retained,
                          struct np_heapclasses *c)
{
    uint32_t n = hs->node_count, *first = NULL, *kids = NULL;
    uint32_t *list = malloc(((size_t)n + 1) * sizeof *list), *sizes = malloc(((size_t)n + 2) * sizeof *sizes);
    uint32_t *classes = malloc(((size_t)n + 1) * sizeof *classes);
    uint8_t *seen = calloc(c->n ? c->n : 1, 1);
    int rc = -1;
    if (!list || !sizes || !classes || !seen || dominated_lists(hs, idom, &first, &kids)) goto out;
    size_t ln = 0, sn = 0, cn = 0;
    list[ln++] = ROOT;
    sizes[sn++] = UINT32_MAX; /* DevTools' -1 sentinel */
    while (ln) {
        uint32_t v = list[--ln], k = c->class_of[v];
        uint32_t from = first[v], to = first[v + 1];
        if (k != NP_NO_CLASS && !seen[k]) {
            c->classes[k].retained += retained[v];
            if (from != to) {
                seen[k] = 1;
                sizes[sn++] = (uint32_t)ln;
                classes[cn++] = k;
            }
        }
        for (uint32_t i = from; i < to; i++) list[ln++] = kids[i];
        while (sn && sizes[sn - 1] == ln) {
            sn--;
            seen[classes[--cn]] = 0;
        }
    }
    rc = 0;
out:
    free(list); free(sizes); free(classes); free(seen); free(first); free(kids);
    return rc;
}

int np_heapgraph_classes(const struct np_heapsnap *hs, const uint32_t *idom, const uint64_t *retained,
                         struct np_heapclasses *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    uint32_t n = hs->node_count;
    /* object/native classes keyed by name string, the others by type */
    size_t nstr = hs->string_count ? hs->string_count : 1;
    uint32_t *by_string = malloc(2 * nstr * sizeof *by_string); /* then the detached natives' */
    uint32_t by_type[256];
    out->class_of = malloc(n * sizeof *out->class_of);
    out->names = malloc(256 * 32);
    if (!by_string || !out->class_of || !out->names) goto fail;
    memset(by_string, 0xff, 2 * nstr * sizeof *by_string);
    memset(by_type, 0xff, sizeof by_type);
    uint32_t cap = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!in_summary(hs, i)) { out->class_of[i] = NP_NO_CLASS; continue; }
        uint8_t t = hs->node_type[i];
        int named = t == hs->nt_object || t == hs->nt_native;
        int detached = is_detached(hs, i);
        uint32_t *slot = named ? &by_string[hs->node_name[i] + (detached ? nstr : 0)] : &by_type[t];
        if (*slot == NP_NO_CLASS) {
            if (out->n == cap) {
                cap = cap ? cap * 2 : 256;
                struct np_heapclass *q = realloc(out->classes, cap * sizeof *q);
                if (!q) goto fail;
                out->classes = q;
            }
            struct np_heapclass *k = &out->classes[out->n];
            memset(k, 0, sizeof *k);
            if (detached) {
                const char *base = np_hs_str(hs, hs->node_name[i]);
                char *nm = malloc(strlen(base) + 10), **q = realloc(out->owned, (out->n_owned + 1) * sizeof *q);
                if (q) out->owned = q;
                if (!nm || !q) { free(nm); goto fail; }
                sprintf(nm, "Detached %s", base);
                out->owned[out->n_owned++] = nm;
                k->name = nm;
            } else if (named) k->name = np_hs_str(hs, hs->node_name[i]);
            else {
                char *buf = out->names + (size_t)t * 32;
                const char *nm = np_heapgraph_class_name(hs, i, buf, 32);
                if (nm != buf) { snprintf(buf, 32, "%s", nm); }
                k->name = buf;
            }
            *slot = out->n++;
        }
        struct np_heapclass *k = &out->classes[*slot];
        k->count++;
        k->shallow += hs->node_self[i];
        out->class_of[i] = *slot;
    }
    free(by_string);
    by_string = NULL;
    if (idom && class_retained(hs, idom, retained, out)) goto fail;
    return 0;
fail:
    free(by_string);
    np_heapgraph_classes_free(out);
    return oom(err, errlen, "classes");
}

int np_heapgraph_propagate_detachedness(struct np_heapsnap *hs)
{
    if (!hs->node_detached) return 0;
    uint32_t n = hs->node_count;
    uint8_t *visited = calloc(n, 1), *state = hs->node_detached;
    uint32_t *attached = malloc(n * sizeof *attached), *detached = malloc(n * sizeof *detached);
    if (!visited || !attached || !detached) { free(visited); free(attached); free(detached); return -1; }
    size_t na = 0, nd = 0;
#define SET_STATE(v, st) do { uint32_t v_ = (v); \
        if (!visited[v_]) { \
            visited[v_] = 1; \
            if (hs->node_type[v_] == hs->nt_native) { \
                state[v_] = (st); \
                if ((st) == 1) attached[na++] = v_; else if ((st) == 2) detached[nd++] = v_; \
            } \
        } } while (0)
    for (uint32_t i = 0; i < n; i++)
        if (state[i]) SET_STATE(i, state[i]);
    for (int pass = 1; pass <= 2; pass++) {
        uint32_t *stack = pass == 1 ? attached : detached;
        size_t *sp = pass == 1 ? &na : &nd;
        while (*sp) {
            uint32_t v = stack[--*sp];
            if (pass == 2 && state[v] == 1) continue;
            for (uint32_t e = hs->first_edge[v]; e < hs->first_edge[v + 1]; e++) {
                uint8_t t = hs->edge_type[e];
                if (t == hs->et_hidden || t == hs->et_weak) continue;
                SET_STATE(hs->edge_to[e], pass);
            }
        }
    }
#undef SET_STATE
    free(visited); free(attached); free(detached);
    return 0;
}

void np_heapgraph_classes_free(struct np_heapclasses *c)
{
    for (uint32_t i = 0; i < c->n_owned; i++) free(c->owned[i]);
    free(c->owned);
    free(c->class_of); free(c->classes); free(c->names);
    memset(c, 0, sizeof *c);
}
