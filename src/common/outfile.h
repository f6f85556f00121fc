/* Output files: the profile directory and atomic writes.
 * A file is written under a temporary name in its final directory and
 * renamed into place, so a reader never sees half of it and an error leaves
 * nothing behind. Both happen relative to one directory descriptor, opened
 * once per write (openat, renameat): a directory swapped for a symlink
 * between the check and the write is not followed. Errors come back as text
 * for the caller to log. */
#ifndef NP_OUTFILE_H
#define NP_OUTFILE_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* Opens dir as a directory descriptor, walking from / (or from the working
 * directory, for a relative dir) one component at a time, never following a
 * symlink blindly. Every directory on the way, the last included, and every
 * symlink met must belong to root or to this process's effective uid:
 * otherwise another user could swap what lies beyond it. Trusted symlinks
 * are followed (at most 40). With create, missing directories are made with
 * `mode` (mkdirat). Returns the descriptor, or -1 with a message in err.
 * Bounded: each component is looked at a fixed number of times. */
int np_dir_open_trusted(const char *dir, bool create, mode_t mode, char *err, size_t errlen);

/* Opens path to append lines to (NODEPROF_LOG_FILE, NODEPROF_MANIFEST),
 * created 0600 if missing. It may lie in a directory that another user can
 * write to (a shared /tmp), so: its directory is opened as by
 * np_dir_open_trusted (no component of another user on the way); the file
 * itself, if a symlink, is followed only if the link belongs to root or to
 * our effective uid (/dev/stderr is root's), and what is opened
 * must belong to root or to us and must not be a directory; otherwise a
 * planted link would make us append to a file of the victim's choosing, or
 * a planted file would receive our lines. Opened without blocking: a FIFO
 * with no reader fails at once, one whose reader stalls loses lines rather
 * than stalling us (the descriptor stays non-blocking for FIFOs and
 * sockets). Returns the descriptor, or -1 with a message in err. */
int np_open_append(const char *path, char *err, size_t errlen);

/* The same, but a missing file is not created (fails with ENOENT). */
int np_open_append_existing(const char *path, char *err, size_t errlen);

/* Creates dir and its missing parents with the given mode, under the same
 * rules as np_dir_open_trusted. Returns 0 or -1 with a message in err. */
int np_mkdir_p(const char *dir, mode_t mode, char *err, size_t errlen);

/* Fills the file through `fill`, which returns 0 or -1 (with err set).
 * Write errors of the stream itself (ENOSPC, EFBIG, EIO) are caught too.
 * The file gets exactly `mode` (the umask does not apply). */
typedef int (*np_fill_fn)(FILE *out, void *ctx, char *err, size_t errlen);

/* In the directory dirfd (named dir in messages), file name. */
int np_write_atomic_at(int dirfd, const char *dir, const char *name, mode_t mode,
                       np_fill_fn fill, void *ctx, char *err, size_t errlen);

/* The same for a new file, in a directory other processes may write to:
 * an existing file is never replaced. If name is taken, the file gets the
 * first free variant (np_name_variant, up to NP_NAME_VARIANTS), which is
 * written back into name (a buffer of name_len bytes). The rename is
 * renameat2(RENAME_NOREPLACE), or a hard link where the file system has
 * no such rename: atomic either way. */
int np_write_new_at(int dirfd, const char *dir, char *name, size_t name_len, mode_t mode,
                    np_fill_fn fill, void *ctx, char *err, size_t errlen);

/* "name-N" with N before the extension, which starts at the first dot
 * after the name's last '-' (nodeprof-1-20261130T120000Z-1.cpu.pb.gz:
 * nodeprof-1-20261130T120000Z-1-2.cpu.pb.gz). -1 if too long. */
#define NP_NAME_VARIANTS 999
int np_name_variant(const char *name, int n, char *out, size_t len);

/* The same for a path: its directory is opened as it is (its owner's
 * checks are the caller's). */
int np_write_atomic(const char *path, mode_t mode, np_fill_fn fill, void *ctx,
                    char *err, size_t errlen);

/* Removes this process's temporary files in dir (before it is killed in
 * the middle of a write). */
void np_remove_temp_files(const char *dir);

/* A temporary name for `name` in its directory, ".<name>.tmp.<pid>.XXXXXX":
 * hidden, beside the file so that the rename is atomic, marked with our pid
 * so that a process dying in the middle of a write can find and remove its
 * own (np_remove_temp_files), and with six random characters so that
 * another user of a shared directory cannot create it first. Returns its
 * length, or -1 (ENAMETOOLONG). */
int np_temp_name(const char *name, char *tmp, size_t len);

/* np_write_atomic for a buffer already in memory. */
int np_write_atomic_buf(const char *path, mode_t mode, const void *data,
                        size_t len, char *err, size_t errlen);
int np_write_atomic_buf_at(int dirfd, const char *dir, const char *name, mode_t mode,
                           const void *data, size_t len, char *err, size_t errlen);

/* A file written piece by piece (heap snapshot chunks, trace events) and
 * renamed into place by np_stream_commit, or removed by np_stream_abort
 * (which truncates it first: a descriptor someone else leaked on it must
 * not keep its blocks). */
struct np_stream {
    FILE *out;
    int dirfd;         /* a descriptor of its own on the directory */
    char path[4096];   /* final path, for messages */
    char tmp[4200];    /* temporary path, for messages and tests */
    const char *name;  /* final name in dirfd */
    const char *tmp_name; /* temporary name in dirfd (points into tmp) */
};

int np_stream_open(struct np_stream *s, const char *path, char *err, size_t errlen);
int np_stream_open_at(struct np_stream *s, int dirfd, const char *dir, const char *name,
                      char *err, size_t errlen);
int np_stream_commit(struct np_stream *s, mode_t mode, char *err, size_t errlen);
/* Never replaces an existing file (see np_write_new_at); path and name
 * then hold the name used. */
int np_stream_commit_new(struct np_stream *s, mode_t mode, char *err, size_t errlen);
void np_stream_abort(struct np_stream *s);

/* For a program that must remove its temporary file when a signal kills it
 * (nodeprof convert): while a temporary file of np_write_atomic* exists, its
 * directory and name are here, for the handler's unlinkat (async-signal
 * safe). Signals are blocked while it changes, so it is never stale. */
struct np_temp_guard {
    volatile sig_atomic_t armed;
    int dirfd;
    char name[NAME_MAX + 1];
};
void np_outfile_set_guard(struct np_temp_guard *g);

#endif
