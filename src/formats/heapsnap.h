/* A V8 .heapsnapshot read into compact typed arrays.
 *
 * Why not a JSON tree: a production snapshot is 1-3 GB of text, nearly all
 * of it the digits of the flat `nodes` and `edges` arrays; DevTools and
 * memlab give up or need several times that in memory. The reader streams
 * the file through a fixed buffer with its own tokenizer and keeps, per
 * node, 21 bytes (type, name, id, self size, first edge) and, per edge, 9
 * (type, name or index, target), plus the strings in one arena: about half
 * the file's size, whatever the file's layout.
 *
 * Fields are found through snapshot.meta (node_fields, edge_fields and the
 * type name lists), never by position; fields we do not use (trace_node_id,
 * detachedness) are skipped. The one order the reader needs is the one V8
 * writes: "snapshot" (the meta) before "nodes" and "edges", since their
 * numbers mean nothing without it. Everything is validated before use
 * (counts against the meta, edge targets, string and type indexes), so the
 * analysis code can index the arrays without checks. */
#ifndef NP_HEAPSNAP_H
#define NP_HEAPSNAP_H

#include <stddef.h>
#include <stdint.h>

#define NP_HS_NONE 0xff /* a type index the meta does not list */

struct np_heapsnap {
    uint32_t node_count, edge_count, string_count;
    /* per node */
    uint8_t *node_type;   /* index into node_types */
    uint32_t *node_name;  /* string index */
    uint32_t *node_id;    /* V8's SnapshotObjectId, stable across snapshots of a process */
    uint64_t *node_self;  /* self_size in bytes */
    uint32_t *first_edge; /* node_count + 1 entries: node i's edges are [first_edge[i], first_edge[i+1]) */
    uint8_t *node_detached; /* the "detachedness" field (0 unknown, 1 attached, 2 detached), NULL if absent */
    /* per edge */
    uint8_t *edge_type;   /* index into edge_types */
    uint32_t *edge_name;  /* string index, or the element index for element/hidden edges */
    uint32_t *edge_to;    /* target node ordinal */
    /* strings: string i is arena + str_off[i], NUL-terminated */
    char *arena;
    uint64_t *str_off;
    /* the meta's type names */
    char **node_types, **edge_types;
    unsigned n_node_types, n_edge_types;
    /* type indexes by name (NP_HS_NONE when absent) */
    uint8_t nt_hidden, nt_array, nt_string, nt_object, nt_code, nt_closure, nt_native, nt_synthetic,
        nt_cons_string, nt_sliced_string;
    uint8_t et_context, et_element, et_property, et_internal, et_hidden, et_shortcut, et_weak;
};

/* Reads PATH ("-" is stdin). NULL with a one-line reason in ERR (without
 * the path) on any
 * problem: unreadable, empty, truncated, not JSON, not a heap snapshot,
 * inconsistent counts or indexes, too large for 32-bit indexes. */
struct np_heapsnap *np_heapsnap_read_file(const char *path, char *err, size_t errlen);
/* The same for a snapshot already in memory (tests, the fuzzer). */
struct np_heapsnap *np_heapsnap_read_mem(const void *data, size_t len, char *err, size_t errlen);
void np_heapsnap_free(struct np_heapsnap *hs);

static inline const char *np_hs_str(const struct np_heapsnap *hs, uint32_t i)
{
    return i < hs->string_count ? hs->arena + hs->str_off[i] : "";
}

/* Whether an edge's name field is a string index (not an element index). */
static inline int np_hs_edge_named(const struct np_heapsnap *hs, uint8_t type)
{
    return type != hs->et_element && type != hs->et_hidden;
}

#endif
