/* Shaping parent links into the model's tree (profile.h): checks that the
 * nodes form one tree, merges siblings with the same frame, and numbers the
 * result in depth-first preorder. */
#ifndef NP_TREE_H
#define NP_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/profile.h"

/* Input: n nodes, node i with parent[i] (NP_NO_NODE only for root) and
 * frame[i]. Siblings keep the order of their indices.
 *
 * Why merge: V8 keeps apart two calls of the same function from the same
 * caller when they come from different lines of it, but a call frame holds
 * no call-site line, so they would show as two identical stacks.
 *
 * Output: *nodes (malloc'd, *count of them, costs zero) and map[i], the
 * output node that input node i became. Returns 0, or -1 with err set
 * (nodes not reachable from root, out of memory). */
int np_tree_shape(size_t n, uint32_t root, const uint32_t *parent, const uint32_t *frame,
                  struct np_node **nodes, size_t *count, uint32_t *map, char *err, size_t errlen);

#endif
