/* Located source maps kept between remaps (remap.h).
 *
 * The agent with NODEPROF_SOURCEMAPS=on remaps every profile it writes, and
 * with a period it writes one every few seconds. Without a cache each write
 * reads every script the profile names (to find its sourceMappingURL
 * comment, even when it has none) and parses every map again, on the thread
 * that writes: for a bundle of a few MB with its map, tens of ms each time.
 *
 * An entry is kept while its script's file, and its map's file when the map
 * is a file of its own, are as they were when read (device, inode, size and
 * modification time): a deploy that replaces them is read again. A script
 * without a map, or with a map that cannot be used, is remembered too (its
 * reason is told once, when it is read). Entries are evicted, least
 * recently used first, once the cache holds more than its budget; the
 * entries of the remap under way are never evicted during it, so the budget
 * may be exceeded by what one profile needs.
 *
 * Not thread-safe: the caller serializes its use. No search directory: that
 * is the CLI's, which remaps once. */
#ifndef NP_SMCACHE_H
#define NP_SMCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "formats/smlocate.h"

/* One script, as remap uses it. */
struct np_smscript {
    struct np_sourcemap *map; /* NULL: no map, frames stay */
    char base[4096];          /* np_located's base */
    char *text;               /* the generated script, for names; may be NULL */
    size_t len;
    uint32_t *lines;          /* where each line of text starts, made when needed */
    size_t nlines;
};

struct np_smcache;

struct np_smcache *np_smcache_new(size_t budget_bytes);
void np_smcache_free(struct np_smcache *c);

/* Starts one remap: the entries it gets are kept until np_smcache_end. */
void np_smcache_begin(struct np_smcache *c);

/* The script at url, from the cache while its files are unchanged, read
 * (np_sourcemap_locate) otherwise. FOUND and NONE set *out (owned by the
 * cache, valid until np_smcache_end); FAILED sets why when the script was
 * read now and leaves it empty when the failure is remembered; -1 is out of
 * memory. */
int np_smcache_get(struct np_smcache *c, const char *url, struct np_smscript **out, char *why,
                   size_t whylen);

/* Ends the remap: trims the cache to its budget. */
void np_smcache_end(struct np_smcache *c);

/* Counts since the cache was made, for the debug line and tests. */
struct np_smcache_stats {
    size_t entries, bytes, reads, hits;
};
struct np_smcache_stats np_smcache_stats(const struct np_smcache *c);

#endif
