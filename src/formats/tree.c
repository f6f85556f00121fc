#include "formats/tree.h"

#include <stdio.h>
#include <stdlib.h>

#include "formats/intern.h"

/* The nodes of seq (a subset of 0..n-1, all with parent_of set, except the
 * root) in preorder from root, children in the order they have in seq.
 * Children lists are built as one array sorted by parent (counting sort),
 * then walked with an explicit stack: no recursion at any depth. Since each
 * node is in exactly one list, each is pushed at most once, and nodes that
 * hang in a cycle away from the root are never reached. Returns how many
 * nodes were reached, written to out, or -1 without memory. */
static long preorder(size_t n, const uint32_t *seq, size_t m, const uint32_t *parent_of,
                     uint32_t root, uint32_t *out)
{
    size_t *first = calloc(n + 2, sizeof *first);
    uint32_t *children = malloc((m ? m : 1) * sizeof *children);
    uint32_t *stack = malloc((m ? m : 1) * sizeof *stack);
    long reached = -1;
    if (!first || !children || !stack) goto out;
    for (size_t k = 0; k < m; k++)
        if (parent_of[seq[k]] != NP_NO_NODE) first[parent_of[seq[k]] + 2]++;
    for (size_t i = 2; i < n + 2; i++) first[i] += first[i - 1];
    for (size_t k = 0; k < m; k++) /* first[p + 1] runs over p's slots */
        if (parent_of[seq[k]] != NP_NO_NODE) children[first[parent_of[seq[k]] + 1]++] = seq[k];
    size_t sp = 0, count = 0;
    stack[sp++] = root;
    while (sp > 0) {
        uint32_t node = stack[--sp];
        out[count++] = node;
        for (size_t c = first[node + 1]; c-- > first[node];) stack[sp++] = children[c];
    }
    reached = (long)count;
out:
    free(first);
    free(children);
    free(stack);
    return reached;
}

/* Merging: node i joins the first node met in preorder with the same
 * (merged parent, frame). */
struct merge {
    const uint32_t *frame;
    uint32_t *merged_parent; /* for nodes that stay: their merged parent */
    struct np_index index;
};

struct merge_key {
    uint32_t parent, frame;
};

static uint64_t merge_hash(uint32_t parent, uint32_t frame)
{
    return np_hash_u64((uint64_t)parent << 32 | frame);
}

static int same_merge_key(const void *ctx, uint32_t entry, const void *key)
{
    const struct merge *mg = ctx;
    const struct merge_key *k = key;
    return mg->merged_parent[entry] == k->parent && mg->frame[entry] == k->frame;
}

static uint64_t merge_hash_of(const void *ctx, uint32_t entry)
{
    const struct merge *mg = ctx;
    return merge_hash(mg->merged_parent[entry], mg->frame[entry]);
}

/* Sets canon[i] for the nodes of order (a preorder), and returns in kept
 * the nodes that stay, in that order, with merged_parent set. */
static long merge_siblings(const uint32_t *order, size_t n, const uint32_t *parent,
                           struct merge *mg, uint32_t *canon, uint32_t *kept)
{
    size_t nkept = 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t i = order[k];
        struct merge_key key = { parent[i] == NP_NO_NODE ? NP_NO_NODE : canon[parent[i]], mg->frame[i] };
        uint64_t h = merge_hash(key.parent, key.frame);
        int64_t same = np_index_find(&mg->index, h, &key);
        if (same >= 0) {
            canon[i] = (uint32_t)same;
            continue;
        }
        canon[i] = i;
        mg->merged_parent[i] = key.parent;
        if (np_index_add(&mg->index, h, i)) return -1;
        kept[nkept++] = i;
    }
    return (long)nkept;
}

static struct np_node *make_nodes(const uint32_t *order, size_t m, const uint32_t *parent_of,
                                  const uint32_t *frame, uint32_t *map)
{
    struct np_node *nodes = calloc(m ? m : 1, sizeof *nodes);
    if (!nodes) return NULL;
    for (size_t k = 0; k < m; k++) map[order[k]] = (uint32_t)k;
    for (size_t k = 0; k < m; k++) {
        uint32_t i = order[k];
        struct np_node *node = &nodes[k];
        node->frame = frame[i];
        node->parent = parent_of[i] == NP_NO_NODE ? NP_NO_NODE : map[parent_of[i]];
        node->depth = node->parent == NP_NO_NODE ? 0 : nodes[node->parent].depth + 1;
        node->end = (uint32_t)k + 1;
    }
    /* Children come after their parent: one backward pass carries each
     * subtree's end up to its parent. */
    for (size_t k = m; k-- > 1;) {
        struct np_node *up = &nodes[nodes[k].parent];
        if (up->end < nodes[k].end) up->end = nodes[k].end;
    }
    return nodes;
}

int np_tree_shape(size_t n, uint32_t root, const uint32_t *parent, const uint32_t *frame,
                  struct np_node **nodes, size_t *count, uint32_t *map, char *err, size_t errlen)
{
    /* calloc, not malloc: gcc 12 cannot see these filled before use. */
    uint32_t *all = calloc(n ? n : 1, sizeof *all);
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    uint32_t *kept = calloc(n ? n : 1, sizeof *kept);
    struct merge mg = { frame, malloc((n ? n : 1) * sizeof *mg.merged_parent), { 0 } };
    np_index_init(&mg.index, same_merge_key, merge_hash_of, &mg);
    int rc = -1;
    *nodes = NULL;
    if (!all || !order || !kept || !mg.merged_parent) goto oom;
    for (size_t i = 0; i < n; i++) all[i] = (uint32_t)i;
    long reached = preorder(n, all, n, parent, root, order);
    if (reached < 0) goto oom;
    if ((size_t)reached < n) {
        snprintf(err, errlen, "%zu nodes are not reachable from the root (a cycle in children)", n - (size_t)reached);
        goto out;
    }
    long nkept = merge_siblings(order, n, parent, &mg, map, kept);
    if (nkept < 0) goto oom;
    /* The kept nodes in the preorder of the merged tree; map[] holds the
     * merge so far (node -> the node it joined). */
    if (preorder(n, kept, (size_t)nkept, mg.merged_parent, root, order) != nkept) goto oom;
    for (size_t i = 0; i < n; i++) all[i] = map[i];
    *nodes = make_nodes(order, (size_t)nkept, mg.merged_parent, frame, map);
    if (!*nodes) goto oom;
    for (size_t i = 0; i < n; i++) map[i] = map[all[i]];
    *count = (size_t)nkept;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    np_index_free(&mg.index);
    free(mg.merged_parent);
    free(all);
    free(order);
    free(kept);
    return rc;
}
