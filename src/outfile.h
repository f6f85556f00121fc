/* Output files: the profile directory and atomic writes.
 * A file is written under a temporary name in its final directory and
 * renamed into place, so a reader never sees half of it and an error leaves
 * nothing behind. Errors come back as text for the caller to log. */
#ifndef NP_OUTFILE_H
#define NP_OUTFILE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* Creates dir and its missing parents with the given mode. Returns 0 or -1
 * with a message in err. Bounded: never loops on odd paths. */
int np_mkdir_p(const char *dir, mode_t mode, char *err, size_t errlen);

/* Fills the file through `fill`, which returns 0 or -1 (with err set).
 * Write errors of the stream itself (ENOSPC, EFBIG, EIO) are caught too. */
typedef int (*np_fill_fn)(FILE *out, void *ctx, char *err, size_t errlen);

int np_write_atomic(const char *path, mode_t mode, np_fill_fn fill, void *ctx,
                    char *err, size_t errlen);

/* Removes this process's temporary files in dir (before it is killed in
 * the middle of a write). */
void np_remove_temp_files(const char *dir);

/* np_write_atomic for a buffer already in memory. */
int np_write_atomic_buf(const char *path, mode_t mode, const void *data,
                        size_t len, char *err, size_t errlen);

/* A file written piece by piece (heap snapshot chunks, trace events) and
 * renamed into place by np_stream_commit, or removed by np_stream_abort. */
struct np_stream {
    FILE *out;
    char path[4096];
    char tmp[4200];
};

int np_stream_open(struct np_stream *s, const char *path, char *err, size_t errlen);
int np_stream_commit(struct np_stream *s, mode_t mode, char *err, size_t errlen);
void np_stream_abort(struct np_stream *s);

#endif
