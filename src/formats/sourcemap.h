/* Source Map v3 (ECMA-426): parsing a map and looking up where a generated
 * position came from.
 *
 * Maps are large (esbuild --minify of playwright-core: an 11.2 MB map, 7.0
 * MB of it sourcesContent, 643,000 mappings), so the map text is walked
 * with the pull reader (jsonscan.h) rather than built into a cJSON tree:
 * "sourcesContent" is skipped unread. "mappings" is decoded into one array
 * of 24-byte segments sized exactly (counted first), sorted by generated
 * position, and nothing else is kept per mapping. That map parses in 250 ms
 * with a peak of 33 MB, its text included (-O2, this project's machines).
 *
 * Index maps ("sections", each with an offset and an embedded map) are
 * flattened into the same array; sections that point to a "url" instead
 * are refused, and a section's map may not itself have sections.
 *
 * Lines and columns are 0-based here, as in the map; callers convert. */
#ifndef NP_SOURCEMAP_H
#define NP_SOURCEMAP_H

#include <stddef.h>
#include <stdint.h>

/* Maps larger than this are refused (by the parser and by whoever reads
 * them from disk), to bound what reading one can cost. */
#define NP_SOURCEMAP_MAX_BYTES ((size_t)256 << 20)

#define NP_SM_NONE UINT32_MAX

struct np_sourcemap;

/* Parses map text. Returns NULL with a one-line reason in err if the text
 * is not a valid version 3 map. */
struct np_sourcemap *np_sourcemap_parse(const char *json, size_t len, char *err, size_t errlen);
void np_sourcemap_free(struct np_sourcemap *m);

/* Where generated (line, column) came from. */
struct np_sm_origin {
    const char *source; /* sourceRoot joined with the map's sources[i], not yet
                           resolved against the map's own location */
    const char *name;   /* from names[], or NULL when the mapping has none */
    uint32_t line, column;
};

/* Looks up the mapping at or before (line, column) on the same generated
 * line, as the source-map package's originalPositionFor does with its
 * default bias. Returns 0 and fills *o, or -1 if that line has no mapping
 * at or before the column, or the mapping names no source. */
int np_sourcemap_lookup(const struct np_sourcemap *m, uint32_t line, uint32_t column,
                        struct np_sm_origin *o);

/* The original name of a function whose generated name is ident. A
 * function's position in a profile is where its parameters begin, and the
 * mapping there may carry a name that is not the function's (a parameter's),
 * so names are taken only from a mapping whose generated text is ident:
 * of the mappings at or before (line, column) on that line, nearest first
 * and at most 16, the first with a name and ident at its column of text (the
 * generated line's bytes, len of them). NULL if there is none. Columns
 * count UTF-16 units; on a line that is not ASCII before the column, this
 * may find nothing, never a wrong name. */
const char *np_sourcemap_name_of(const struct np_sourcemap *m, uint32_t line, uint32_t column,
                                 const char *text, size_t len, const char *ident);

/* The number of mappings decoded (for tests and measurements). */
size_t np_sourcemap_count(const struct np_sourcemap *m);

/* The memory the parsed map holds, in bytes (for a cache's budget). */
size_t np_sourcemap_bytes(const struct np_sourcemap *m);

#endif
