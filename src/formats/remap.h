/* Rewriting a parsed profile's call frames through source maps, so that
 * every derived format (pprof, collapsed, speedscope, top, HTML) names the
 * code people wrote: src/server.ts:42 rather than dist/bundle.js:1.
 *
 * A frame's position (V8's function start: 0-based line and column in the
 * .cpuprofile, 1-based in the model) is looked up in its script's map
 * (smlocate.h); the frame then takes the original file, line, column and,
 * where the mapping names one, the original function name. Frames that
 * become equal are merged, and with them sibling nodes that became the same
 * call. A frame whose map is missing or malformed stays as it was, and
 * report() hears one line per such map. */
#ifndef NP_REMAP_H
#define NP_REMAP_H

#include <stddef.h>

#include "formats/profile.h"

struct np_smcache;

struct np_remap_options {
    const char *search_dir;                      /* `--source-maps DIR`, or NULL */
    struct np_smcache *cache;                    /* maps kept between remaps (smcache.h), or NULL;
                                                    not with a search_dir */
    void (*report)(void *ctx, const char *msg);  /* may be NULL */
    void *ctx;
};

/* Returns the number of frames mapped, or -1 with err set (out of memory,
 * an unreadable search directory), leaving p as it was. */
long np_profile_remap(struct np_profile *p, const struct np_remap_options *o, char *err, size_t errlen);

#endif
