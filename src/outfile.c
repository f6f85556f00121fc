#include "outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int np_mkdir_p(const char *dir, mode_t mode, char *err, size_t errlen)
{
    char path[4096];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof path) {
        snprintf(err, errlen, "bad directory name '%s'", dir);
        return -1;
    }
    memcpy(path, dir, len + 1);
    /* One pass over the components, creating each in turn: at most one
     * mkdir per component, so no path can make this loop. */
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, mode) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create directory %s: %s", path, strerror(errno));
            return -1;
        }
        *p = saved;
        if (saved == '\0') break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    return 0;
}

/* "<dir>/.<base>.tmp.<pid>.XXXXXX": hidden, in the same directory so the
 * rename is atomic, and marked with our pid so that a process dying in the
 * middle of a write can find and remove its own (np_remove_temp_files). */
static int temp_name(const char *path, char *tmp, size_t len)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    int n = snprintf(tmp, len, "%.*s.%s.tmp.%ld.XXXXXX", dirlen, path, slash ? slash + 1 : path, (long)getpid());
    return n > 0 && (size_t)n < len ? 0 : -1;
}

void np_remove_temp_files(const char *dir)
{
    char mark[48];
    snprintf(mark, sizeof mark, ".tmp.%ld.", (long)getpid());
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] != '.' || !strstr(e->d_name, mark)) continue;
        char path[4096 + 256];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
}

int np_write_atomic(const char *path, mode_t mode, np_fill_fn fill, void *ctx,
                    char *err, size_t errlen)
{
    char tmp[4200];
    if (temp_name(path, tmp, sizeof tmp)) {
        snprintf(err, errlen, "path too long: %s", path);
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    FILE *out = fdopen(fd, "w");
    if (!out) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    setvbuf(out, NULL, _IOFBF, 1 << 16);
    err[0] = '\0';
    int rc = fill(out, ctx, err, errlen);
    int write_failed = ferror(out);
    int saved = errno;
    if (fclose(out) != 0 && !write_failed) { write_failed = 1; saved = errno; }
    if (rc == 0 && write_failed)
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
    if (rc == 0 && !write_failed && chmod(tmp, mode) != 0) {
        snprintf(err, errlen, "cannot chmod %s: %s", tmp, strerror(errno));
        write_failed = 1;
    }
    if (rc == 0 && !write_failed && rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename to %s: %s", path, strerror(errno));
        write_failed = 1;
    }
    if (rc != 0 || write_failed) {
        unlink(tmp);
        if (!err[0]) snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    return 0;
}

struct buf_ctx { const void *data; size_t len; };

static int fill_buf(FILE *out, void *ctx, char *err, size_t errlen)
{
    struct buf_ctx *b = ctx;
    (void)err; (void)errlen;
    if (b->len && fwrite(b->data, 1, b->len, out) != b->len) return 0; /* ferror reports it */
    return 0;
}

int np_write_atomic_buf(const char *path, mode_t mode, const void *data,
                        size_t len, char *err, size_t errlen)
{
    struct buf_ctx b = { data, len };
    return np_write_atomic(path, mode, fill_buf, &b, err, errlen);
}

int np_stream_open(struct np_stream *s, const char *path, char *err, size_t errlen)
{
    s->out = NULL;
    if (snprintf(s->path, sizeof s->path, "%s", path) >= (int)sizeof s->path ||
        temp_name(path, s->tmp, sizeof s->tmp)) {
        snprintf(err, errlen, "path too long: %s", path);
        return -1;
    }
    int fd = mkostemp(s->tmp, O_CLOEXEC);
    if (fd < 0 || !(s->out = fdopen(fd, "w"))) {
        snprintf(err, errlen, "cannot create %s: %s", s->tmp, strerror(errno));
        if (fd >= 0) { close(fd); unlink(s->tmp); }
        return -1;
    }
    setvbuf(s->out, NULL, _IOFBF, 1 << 16);
    return 0;
}

int np_stream_commit(struct np_stream *s, mode_t mode, char *err, size_t errlen)
{
    int failed = ferror(s->out);
    int saved = errno;
    if (fclose(s->out) != 0 && !failed) { failed = 1; saved = errno; }
    s->out = NULL;
    if (failed) snprintf(err, errlen, "cannot write %s: %s", s->path, strerror(saved));
    else if (chmod(s->tmp, mode) != 0 || rename(s->tmp, s->path) != 0) {
        snprintf(err, errlen, "cannot rename to %s: %s", s->path, strerror(errno));
        failed = 1;
    }
    if (failed) unlink(s->tmp);
    return failed ? -1 : 0;
}

void np_stream_abort(struct np_stream *s)
{
    if (s->out) fclose(s->out);
    s->out = NULL;
    unlink(s->tmp);
}
