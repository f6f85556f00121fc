/* The loader token: the one option the constructor adds to NODE_OPTIONS so
 * that node loads the agent before the app.
 *
 * node will not --require a file named *.so, so the token names a small
 * JavaScript loader (src/loader/nodeprof-loader.cjs) that binds the
 * already-preloaded library with process.dlopen(..., RTLD_NOLOAD): it never
 * loads new code, and in a process that is not preloaded it does nothing
 * but take the token out of NODE_OPTIONS.
 *
 * The token is inherited by every child, of any uid (setpriv, gosu, su),
 * preloaded or not, for as long as the child lives. So the file it names
 * must be one that no other user can create, write or replace, ever, and
 * that every uid can read. In order of preference:
 *
 *   1. <the library's directory>/nodeprof-loader.cjs, installed beside it
 *      by `make install`: used when the file and every directory above it
 *      are owned by root or by us, writable by no one else (a sticky /tmp
 *      does not count: a /tmp cleaner empties it and anyone may re-create
 *      what it removed), readable by all, and the file is this build's
 *      loader, byte for byte;
 *   2. /run/nodeprof/nodeprof-loader.cjs, written on first use by root
 *      (0755 directory, 0644 file, both root's), checked the same way and
 *      used by any uid once it is there;
 *   3. otherwise no file at all: --import=data:text/javascript;base64,...
 *      That one always works, but makes node load a CommonJS main through
 *      its ESM loader (measured on node 20, 22 and 24: the app's error
 *      stacks show node's ESM frames, the caret of an uncaught error moves,
 *      module.parent is undefined), so it is the last resort. */
#ifndef NP_LOADER_H
#define NP_LOADER_H

#include <stdbool.h>
#include <stddef.h>

enum np_loader_kind { NP_LOADER_BESIDE = 1, NP_LOADER_RUN, NP_LOADER_DATA };

/* The loader's source, as embedded in this build. */
const char *np_loader_source(size_t *len);

/* Writes the whole NODE_OPTIONS token for the library at lib_path (an
 * absolute, resolved path) into token. Returns its kind, or -1 with why
 * set (token too long). Never writes anything but the root-owned file of
 * kind 2. */
int np_loader_token(const char *lib_path, char *token, size_t len, char *why, size_t whylen);

/* True if path (absolute, without symlinks) and every directory above it
 * are owned by root or the effective uid and writable by nobody else;
 * with world_readable, also readable (directories: searchable) by every
 * uid. Otherwise false, with the first offending component in why. */
bool np_path_trusted(const char *path, bool world_readable, char *why, size_t whylen);

#endif
