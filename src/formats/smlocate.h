/* Finding the source map of a script that a profile names.
 *
 * A frame's url is what V8 saw: "file:///app/dist/index.js" (or a plain
 * absolute path). Its map is found, in this order:
 *   1. with a search directory (`--source-maps DIR`): a file NAME.map under
 *      DIR, at any depth, where NAME is the script's file name; of several,
 *      the one whose directories match most of the script's own, from the
 *      file name up (so a map tree copied from another machine still fits).
 *      Its sources are taken as relative to the script's directory, where
 *      the generator wrote the map;
 *   2. the script's last `//# sourceMappingURL=` comment: an inline
 *      `data:application/json;base64,` URL, or a path relative to the script.
 * Scripts that are not files (node:, http:, eval) have no map, and a script
 * without the comment has none either: neither is a problem worth a line.
 *
 * Scripts and maps are read whole, up to NP_SOURCEMAP_MAX_BYTES each. The
 * directory walk is iterative, does not follow symbolic links to
 * directories, and stops after NP_SMDIR_MAX_ENTRIES entries. */
#ifndef NP_SMLOCATE_H
#define NP_SMLOCATE_H

#include <stddef.h>

#include "formats/sourcemap.h"

#define NP_SMDIR_MAX_ENTRIES 200000
#define NP_SMDIR_MAX_DEPTH 64

/* The *.map files found under a search directory. */
struct np_smdir;

/* Lists the maps under dir. Returns NULL with a reason in err when dir
 * cannot be read at all. */
struct np_smdir *np_smdir_open(const char *dir, char *err, size_t errlen);
void np_smdir_free(struct np_smdir *d);

/* A script's map, loaded. */
struct np_located {
    struct np_sourcemap *map;
    /* Where the map is, as a path: sources are relative to its directory.
     * For an inline map, the script's path. */
    char base[4096];
    /* The script's text (the caller frees it), NULL if it could not be read. */
    char *script;
    size_t script_len;
};

enum np_locate_result { NP_LOCATE_FOUND, NP_LOCATE_NONE, NP_LOCATE_FAILED };

/* Finds and parses the map of the script at url. FOUND fills *out (the
 * caller frees out->map and out->script); NONE means the script has no map; FAILED puts a
 * one-line reason, naming the map, in why. dir may be NULL. */
enum np_locate_result np_sourcemap_locate(const char *url, const struct np_smdir *dir,
                                          struct np_located *out, char *why, size_t whylen);

/* The path of a file: URL or an absolute path, percent-decoded; -1 if url
 * names no local file. */
int np_url_to_path(const char *url, char *path, size_t len);

/* Where a mapping's source is: source (sourceRoot joined in) resolved
 * against the directory of base (a path, as np_located.base), with "." and
 * ".." taken out; as a file: URL if as_url, else as a path. A source that
 * is a URL already (webpack://app/x.ts) is left as it is. Returns -1 if
 * the result does not fit in len. */
int np_sm_resolve_source(const char *base, const char *source, int as_url, char *out, size_t len);

#endif
