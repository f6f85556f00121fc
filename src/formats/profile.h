/* The parsed profile: a compact, read-only model of a .cpuprofile or
 * .heapprofile shared by every writer (pprof, collapsed, speedscope, top,
 * HTML).
 *
 * Nodes are stored in depth-first preorder: the root is node 0, a parent's
 * index is always smaller than its children's, and node i's subtree is the
 * index range [i, nodes[i].end). So a forward pass visits parents before
 * children and a backward pass children before parents: no writer needs
 * recursion, however deep the stacks. Children of i, in their original
 * order: for (j = i + 1; j < nodes[i].end; j = nodes[j].end).
 *
 * Strings are interned: equal strings have equal ids, and id 0 is "". */
#ifndef NP_PROFILE_H
#define NP_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/kind.h"

#define NP_NO_NODE UINT32_MAX

/* One distinct call frame (function name, script URL, position). Nodes
 * with equal frames share one entry, so frames[] is the list of functions. */
struct np_frame {
    uint32_t name;   /* string id; "(anonymous)" for V8's empty name */
    uint32_t url;    /* string id; "" for native and synthetic frames */
    int32_t line;    /* 1-based as DevTools shows it, 0 when unknown */
    int32_t column;  /* 1-based, 0 when unknown */
};

struct np_node {
    uint32_t parent; /* NP_NO_NODE for the root */
    uint32_t frame;  /* index into frames */
    uint32_t depth;  /* root = 0 */
    uint32_t end;    /* one past the last node of this subtree */
    /* Cost of this node itself. CPU: samples and microseconds. Heap:
     * sampled allocations and bytes (selfSize). */
    int64_t self_count;
    int64_t self_weight;
};

/* Samples of one node at one line of its function (V8's positionTicks). */
struct np_line_ticks {
    uint32_t node;
    int32_t line;   /* 1-based */
    int64_t ticks;
};

struct np_profile {
    enum np_profile_kind kind;

    const char **strings; /* interned, NUL-terminated; strings[0] = "" */
    size_t nstrings;
    struct np_frame *frames;
    size_t nframes;
    struct np_node *nodes; /* preorder, nodes[0] is the root */
    size_t nnodes;

    /* CPU samples in time order: the node sampled and the time it stands
     * for in microseconds, which is the timeDelta that precedes it (the
     * time since the previous sample, or since startTime for the first),
     * so the weights add up to the sampled span. Heap: empty. */
    uint32_t *sample_node;
    int64_t *sample_weight;
    size_t nsamples;

    int64_t total_count;  /* sum of self_count over the nodes */
    int64_t total_weight; /* sum of self_weight over the nodes */

    int64_t start_us;     /* CPU: startTime and endTime; heap: 0 */
    int64_t end_us;
    int64_t interval_us;  /* CPU: median sampling interval, 0 if unknown */

    /* What the text does not say, set by whoever writes the profile (the
     * agent, the CLI), read by the pprof writer; 0 / NULL when unknown.
     * start_us is V8's monotonic clock, which `go tool pprof` would show
     * as 1970: wall_start_ns is the same instant on the wall clock. */
    int64_t wall_start_ns;   /* ns since the epoch: pprof time_nanos */
    int64_t duration_ns;     /* pprof duration_nanos; 0: CPU end_us - start_us */
    int64_t heap_interval;   /* heap: sampling interval in bytes (pprof period) */
    const char *labels;      /* "key=value,key=value" (checked: labels.h), not owned */

    struct np_arena *arena; /* owns the strings */

    /* CPU: the nodes' positionTicks as parsed (a node merged from several
     * of the text's has the entries of each); none when the text has none.
     * cpufold keeps them across folds, for DevTools' per-line costs; the
     * other formats do not use them. */
    struct np_line_ticks *line_ticks;
    size_t nline_ticks;

    /* CPU, as parsed: for each node, the index in the text's "nodes" array
     * of the first node that became it (nsource of those in the text).
     * The HTML page, which builds its tree from the text, takes each
     * node's cost from the model through it, so that the page and top
     * show one computation's numbers. NULL for heap and merged profiles. */
    uint32_t *source_index;
    size_t nsource;

    /* Set by np_profile_remap (remap.h): the frames as the profile named
     * them before source maps rewrote them, and the frame each became. The
     * HTML page, which reads the source text itself, applies these too. */
    struct np_frame *remap_from;
    uint32_t *remap_to;
    size_t nremapped;
};

/* For the builders of a profile (parse.c, merge.c, pprofread.c, remap.c):
 * moves an intern table's strings and arena, and a frame array, into p,
 * which owns them from then on (np_profile_free). The table is left empty
 * and *frames NULL. p must own no strings or frames of its own. */
struct np_intern;
void np_profile_take_tables(struct np_profile *p, struct np_intern *strings, struct np_frame **frames,
                            size_t nframes);

/* "name (url:line)"-style display helpers shared by the writers. */
static inline const char *np_frame_name(const struct np_profile *p, const struct np_frame *f)
{
    return p->strings[f->name];
}

static inline const char *np_frame_url(const struct np_profile *p, const struct np_frame *f)
{
    return p->strings[f->url];
}

#endif
