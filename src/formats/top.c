/* The top-functions table: per call frame (function), its self cost and its
 * total cost (self plus everything it called), as DevTools' bottom-up view
 * counts them.
 *
 * A recursive function is on some stacks more than once; its total counts
 * each stack once. Walking the tree in preorder with the current path
 * kept, a node adds its whole subtree to its frame's total only when that
 * frame is not already on the path above it (an outer call has counted
 * it). */
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/profile.h"

struct fn_cost {
    uint32_t frame;
    int64_t self, total;
};

/* Each node's subtree cost: children follow their parents in preorder, so
 * one backward pass adds each node into its parent. */
static int64_t *subtree_costs(const struct np_profile *p)
{
    int64_t *sub = malloc((p->nnodes ? p->nnodes : 1) * sizeof *sub);
    if (!sub) return NULL;
    for (size_t i = 0; i < p->nnodes; i++) sub[i] = p->nodes[i].self_weight;
    for (size_t i = p->nnodes; i-- > 1;) sub[p->nodes[i].parent] += sub[i];
    return sub;
}

static int add_totals(const struct np_profile *p, const int64_t *sub, struct fn_cost *fn)
{
    uint32_t *path = malloc((p->nnodes ? p->nnodes : 1) * sizeof *path);
    uint32_t *on_path = calloc(p->nframes ? p->nframes : 1, sizeof *on_path); /* per frame */
    if (!path || !on_path) {
        free(path);
        free(on_path);
        return -1;
    }
    size_t depth = 0;
    for (uint32_t i = 0; i < p->nnodes; i++) {
        const struct np_node *n = &p->nodes[i];
        /* Leave the nodes of the path that are not ancestors of i. */
        while (depth > 0 && path[depth - 1] != n->parent) on_path[p->nodes[path[--depth]].frame]--;
        if (on_path[n->frame]++ == 0) fn[n->frame].total += sub[i];
        path[depth++] = i;
    }
    free(path);
    free(on_path);
    return 0;
}

static struct fn_cost *function_costs(const struct np_profile *p)
{
    struct fn_cost *fn = calloc(p->nframes ? p->nframes : 1, sizeof *fn);
    int64_t *sub = subtree_costs(p);
    if (!fn || !sub || add_totals(p, sub, fn)) {
        free(fn);
        free(sub);
        return NULL;
    }
    for (uint32_t f = 0; f < p->nframes; f++) fn[f].frame = f;
    for (size_t i = 0; i < p->nnodes; i++) fn[p->nodes[i].frame].self += p->nodes[i].self_weight;
    free(sub);
    return fn;
}

static int cmp_i64_desc(int64_t a, int64_t b)
{
    return (a < b) - (a > b);
}

static int by_self(const void *a, const void *b)
{
    const struct fn_cost *x = a, *y = b;
    int c = cmp_i64_desc(x->self, y->self);
    if (!c) c = cmp_i64_desc(x->total, y->total);
    return c ? c : (x->frame > y->frame) - (x->frame < y->frame);
}

static int by_total(const void *a, const void *b)
{
    const struct fn_cost *x = a, *y = b;
    int c = cmp_i64_desc(x->total, y->total);
    if (!c) c = cmp_i64_desc(x->self, y->self);
    return c ? c : (x->frame > y->frame) - (x->frame < y->frame);
}

static double percent(int64_t v, int64_t total)
{
    return total > 0 ? 100.0 * (double)v / (double)total : 0.0;
}

/* CPU costs are µs, shown in ms; heap costs are bytes, shown in KiB. */
static double shown(const struct np_profile *p, int64_t v)
{
    return (double)v / (p->kind == NP_PROFILE_CPU ? 1000.0 : 1024.0);
}

static void write_heading(const struct np_profile *p, FILE *out)
{
    int cpu = p->kind == NP_PROFILE_CPU;
    const char *unit = cpu ? "ms" : "KiB";
    char self[16], total[16];
    fprintf(out, "%s profile: %lld samples, %.1f %s\n", cpu ? "CPU" : "Heap", (long long)p->total_count,
            shown(p, p->total_weight), unit);
    snprintf(self, sizeof self, "Self %s", unit);
    snprintf(total, sizeof total, "Total %s", unit);
    fprintf(out, "%11s %6s %11s %6s  %s\n", self, "Self%", total, "Total%", "Function");
}

static void write_row(const struct np_profile *p, const struct fn_cost *c, FILE *out)
{
    const struct np_frame *f = &p->frames[c->frame];
    fprintf(out, "%11.1f %5.1f%% %11.1f %5.1f%%  %s", shown(p, c->self), percent(c->self, p->total_weight),
            shown(p, c->total), percent(c->total, p->total_weight), np_frame_name(p, f));
    if (*np_frame_url(p, f)) {
        fprintf(out, "  %s", np_frame_url(p, f));
        if (f->line > 0) fprintf(out, ":%d", (int)f->line);
    }
    putc('\n', out);
}

int np_top_write(const struct np_profile *p, FILE *out, int n, enum np_top_order by,
                 char *err, size_t errlen)
{
    struct fn_cost *fn = function_costs(p);
    if (!fn) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    qsort(fn, p->nframes, sizeof *fn, by == NP_TOP_BY_TOTAL ? by_total : by_self);
    write_heading(p, out);
    uint32_t root_frame = p->nnodes ? p->nodes[0].frame : UINT32_MAX;
    int rows = 0;
    for (size_t i = 0; i < p->nframes && (n <= 0 || rows < n); i++) {
        if (fn[i].frame == root_frame || (fn[i].self == 0 && fn[i].total == 0)) continue;
        write_row(p, &fn[i], out);
        rows++;
    }
    free(fn);
    return 0;
}
