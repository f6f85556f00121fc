/* What a heap snapshot's graph says: dominators, retained sizes, the
 * classes of DevTools' Summary view, shortest retaining paths.
 *
 * Dominators follow memlab's rules (packages/core/src/paths/TraceFinder.ts,
 * memlab 2.0.5), which are DevTools' with one difference in the flag below:
 *  - an edge is "essential" unless it is weak, a shortcut from any node but
 *    the root (node 0), a self edge, or goes from an unflagged node into a
 *    flagged one (from the root, always essential);
 *  - flagged nodes are those reachable over non-weak edges from the root's
 *    children, except through the root's shortcut edges and the
 *    "(Document DOM trees)" root (memlab's flagReachableNodesFromWindow;
 *    DevTools flags the opposite set, what the shortcuts reach, its
 *    "page-owned" objects);
 *  - nodes the root does not reach: those with only weak or shortcut
 *    retainers are searched from, each under the root, in node order; any
 *    still unreached hang directly under the root.
 * The dominator tree is unique for a given graph, so computing it with
 * Lengauer-Tarjan over the same essential edges and the same search order
 * as memlab gives memlab's tree and retained sizes exactly.
 *
 * Cost: about 44 bytes per node and 4 per essential edge on top of the
 * parsed snapshot, freed on return except idom and retained. */
#ifndef NP_HEAPGRAPH_H
#define NP_HEAPGRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "formats/heapsnap.h"

/* idom[i]: the immediate dominator's ordinal (the root's is itself);
 * retained[i]: bytes. Both malloc'ed, node_count entries. */
int np_heapgraph_dominators(const struct np_heapsnap *hs, uint32_t **idom, uint64_t **retained,
                            char *err, size_t errlen);

/* DevTools' Summary classes, as DevTools grouped them until 2024 and memlab
 * still does (the issue's own list: Object, Array, (closure), (string)).
 * DevTools since then also renames (closure) to Function and (regexp) to
 * RegExp, shortens "<div id=..>" to "<div>", keys objects by source
 * location too, and names plain Objects by an inferred property shape
 * ("{x, y}"); that is not done here. class_of[i] is node i's class, or
 * NP_NO_CLASS for nodes the Summary leaves out (zero self size and not
 * native, as DevTools does). names[c] is the class's name, as DevTools
 * shows it: the node's name for objects and natives, "(system)" for hidden,
 * "(compiled code)" for code, "(<type>)" for the others. */
#define NP_NO_CLASS UINT32_MAX
struct np_heapclass {
    const char *name;
    uint64_t count, shallow, retained;
};
struct np_heapclasses {
    uint32_t *class_of;
    struct np_heapclass *classes;
    uint32_t n;
    char *names;               /* storage of the "(type)" names */
    char **owned;              /* "Detached <name>" names */
    uint32_t n_owned;
};
/* A class's retained size is DevTools': the sum of the retained sizes of
 * its objects that no object of the same class dominates. IDOM may be
 * NULL: then retained stays 0. */
int np_heapgraph_classes(const struct np_heapsnap *hs, const uint32_t *idom, const uint64_t *retained,
                         struct np_heapclasses *out, char *err, size_t errlen);
void np_heapgraph_classes_free(struct np_heapclasses *c);

/* DevTools' _propagateDOMState (memlab's _propagateDetachednessState):
 * native nodes of known state pass it on to the native nodes they reach
 * (not over hidden or weak edges), attached first; the class of a detached
 * native node is "Detached <name>". Updates hs->node_detached; nothing to
 * do when the snapshot has no detachedness field. 0 or -1 (no memory). */
int np_heapgraph_propagate_detachedness(struct np_heapsnap *hs);

/* The class name of any node, as above (for nodes outside the Summary too). */
const char *np_heapgraph_class_name(const struct np_heapsnap *hs, uint32_t node, char *buf, size_t len);

#endif
