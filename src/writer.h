/* Writing profiles: the file name (NODEPROF_DIR + NODEPROF_NAME + the
 * kind's extension), every format in NODEPROF_FORMATS, atomic writes, the
 * manifest (NODEPROF_MANIFEST) and retention (NODEPROF_KEEP). Errors are
 * logged as one line each; the app is never told. */
#ifndef NP_WRITER_H
#define NP_WRITER_H

#include <limits.h>
#include <stddef.h>

#include "formats/formats.h"

/* What a write produced, for replies to control commands. */
struct np_written {
    char paths[4096]; /* newline-separated */
    int count;
    char error[1024]; /* first error, if any */
};

/* Writes an inspector profile (.cpuprofile or .heapprofile JSON) in every
 * configured format. thread_id is 0 for the main thread. Returns the number
 * of files written (0 on total failure). */
int np_write_profile(enum np_profile_kind kind, int thread_id, const char *json, size_t len,
                     struct np_written *w);

/* Where one write goes: NODEPROF_DIR, created if missing and opened once
 * (np_dir_open_trusted: refused when another user could swap it), and the
 * next expanded NODEPROF_NAME. Every file of the write is created and
 * renamed relative to dirfd. */
struct np_target {
    int dirfd;
    char base[PATH_MAX];  /* directory + name, no extension */
    const char *name;     /* the name alone, in base */
};

/* Returns 0, or -1 with the error (naming NODEPROF_DIR and its value)
 * logged and stored in w. Close with np_target_close. */
int np_target_open(int thread_id, struct np_target *t, struct np_written *w);
void np_target_close(struct np_target *t);

/* np_target_open for a path (the directory is checked and closed again). */
int np_next_base_path(int thread_id, char *out, size_t len, struct np_written *w);

/* Logs msg as one line and keeps it as w's error (the first one wins).
 * Returns -1, for `return np_written_fail(w, msg);`. */
int np_written_fail(struct np_written *w, const char *msg);

/* Records a finished file: manifest, retention, and w. */
void np_file_written(const char *path, const char *kind_ext, struct np_written *w);

#endif
