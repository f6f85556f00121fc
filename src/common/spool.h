/* The export spool: which files of a directory still wait for upload.
 *
 * Each file queued for upload gets a small marker beside it, written
 * atomically before it is queued: `.NAME.s3pending` (hidden), holding the
 * metadata to upload it with (common/s3.h). The marker is removed only
 * after S3 confirmed the upload (HTTP 200), or when the file is dropped
 * from a full spool or is gone. So a process killed mid-upload, or one
 * whose exit wait ran out, leaves its markers, and `nodeprof upload DIR`
 * (or the next profiled process with the same NODEPROF_DIR) finds them:
 * a file is uploaded again only if no 200 was seen for it. A marker is
 * only read from a directory opened with np_dir_open_trusted, only if it is
 * a regular file of this user, and it names its file by the marker's own
 * name: no path is ever read from it. */
#ifndef NP_SPOOL_H
#define NP_SPOOL_H

#include <stddef.h>

#include "common/s3.h"

#define NP_SPOOL_SUFFIX ".s3pending"

struct np_spool_entry {
    char name[256];               /* the file's name in the directory */
    struct np_s3_meta meta;
};

/* Writes the marker of name. Returns 0 or -1 with err. */
int np_spool_mark(int dirfd, const char *dir, const char *name, const struct np_s3_meta *m,
                  char *err, size_t errlen);

/* Reads the markers of dirfd, oldest file first (by its end time, then
 * name). Returns the count (entries malloc'ed in *out, free()) or -1. */
long np_spool_list(int dirfd, struct np_spool_entry **out);

/* The upload of name is confirmed (or it is dropped): removes the local
 * file when delete_file, then its marker. Returns 0 or -1 (errno). */
int np_spool_done(int dirfd, const char *name, int delete_file);

/* Parses a marker's text; exported for the unit test. Returns 0 or -1. */
int np_spool_parse(const char *text, struct np_s3_meta *m);
int np_spool_format(const struct np_s3_meta *m, char *out, size_t len);

#endif
