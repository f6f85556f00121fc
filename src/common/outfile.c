#include "common/outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SYMLINKS 40 /* as the kernel's MAXSYMLINKS */

/* ---- the trusted directory walk ----------------------------------------------- */

static bool trusted_owner(uid_t uid)
{
    return uid == 0 || uid == geteuid();
}

/* Where the walk is, for messages: the directories passed so far. */
struct walk {
    int fd;
    char done[PATH_MAX];
    char todo[2 * PATH_MAX]; /* what is left of the path */
    int links;
};

static void walk_append(struct walk *w, const char *comp)
{
    size_t n = strlen(w->done);
    const char *sep = n == 0 || w->done[n - 1] == '/' ? "" : "/";
    snprintf(w->done + n, sizeof w->done - n, "%s%s", sep, comp);
}

static int walk_restart(struct walk *w, bool absolute)
{
    if (w->fd >= 0) close(w->fd);
    w->fd = open(absolute ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    snprintf(w->done, sizeof w->done, "%s", absolute ? "/" : "");
    return w->fd;
}

static int refuse_owner(const struct walk *w, const char *what, uid_t uid, char *err, size_t errlen)
{
    snprintf(err, errlen, "refusing %s: %s of uid %u, neither root's nor this process's (uid %u)",
             w->done[0] ? w->done : ".", what, (unsigned)uid, (unsigned)geteuid());
    return -1;
}

/* comp, a trusted symlink in w->fd, is replaced by its target in w->todo
 * (rest: what followed it). */
static int follow_link(struct walk *w, const char *comp, const char *rest, char *err, size_t errlen)
{
    char target[PATH_MAX], next[sizeof w->todo];
    if (++w->links > MAX_SYMLINKS) {
        snprintf(err, errlen, "%s: %s", w->done, strerror(ELOOP));
        return -1;
    }
    ssize_t n = readlinkat(w->fd, comp, target, sizeof target - 1);
    if (n <= 0) {
        snprintf(err, errlen, "cannot read the symlink %s: %s", w->done, strerror(n < 0 ? errno : ENOENT));
        return -1;
    }
    target[n] = '\0';
    if (snprintf(next, sizeof next, "%s/%s", target, rest) >= (int)sizeof next) {
        snprintf(err, errlen, "%s: %s", w->done, strerror(ENAMETOOLONG));
        return -1;
    }
    memcpy(w->todo, next, strlen(next) + 1);
    /* A relative target is relative to the directory holding the link. */
    char *sl = strrchr(w->done, '/');
    if (!sl) w->done[0] = '\0';
    else sl[sl == w->done] = '\0';
    if (target[0] == '/' && walk_restart(w, true) < 0) {
        snprintf(err, errlen, "cannot open /: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* One step of the walk: w->fd moves to comp (rest follows it). Returns 1 if
 * a symlink was spliced into w->todo (the caller restarts from there). */
static int step(struct walk *w, const char *comp, const char *rest, bool create, mode_t mode,
                char *err, size_t errlen)
{
    const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    walk_append(w, comp);
    int fd = openat(w->fd, comp, flags);
    if (fd < 0 && errno == ENOENT && create) {
        if (mkdirat(w->fd, comp, mode) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create directory %s: %s", w->done, strerror(errno));
            return -1;
        }
        fd = openat(w->fd, comp, flags); /* what is there now is checked like the rest */
    }
    struct stat st;
    if (fd < 0) {
        int e = errno;
        if ((e == ELOOP || e == ENOTDIR) && fstatat(w->fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode)) {
            if (!trusted_owner(st.st_uid)) return refuse_owner(w, "a symlink", st.st_uid, err, errlen);
            return follow_link(w, comp, rest, err, errlen) ? -1 : 1;
        }
        snprintf(err, errlen, "%s: %s", w->done, strerror(e));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !trusted_owner(st.st_uid)) {
        close(fd);
        return refuse_owner(w, "a directory", st.st_uid, err, errlen);
    }
    close(w->fd);
    w->fd = fd;
    return 0;
}

int np_dir_open_trusted(const char *dir, bool create, mode_t mode, char *err, size_t errlen)
{
    struct walk w = { .fd = -1 };
    size_t len = strlen(dir);
    if (len == 0 || len >= PATH_MAX) {
        snprintf(err, errlen, "bad directory name '%.200s'", dir);
        return -1;
    }
    memcpy(w.todo, dir, len + 1);
    if (walk_restart(&w, dir[0] == '/') < 0) {
        snprintf(err, errlen, "cannot open %s: %s", dir[0] == '/' ? "/" : ".", strerror(errno));
        return -1;
    }
    /* Each pass consumes a component or a symlink (at most MAX_SYMLINKS):
     * the walk ends. */
    const char *p = w.todo;
    for (;;) {
        while (*p == '/') p++;
        if (!*p) break;
        size_t clen = strcspn(p, "/");
        char comp[NAME_MAX + 1];
        if (clen > NAME_MAX) {
            snprintf(err, errlen, "%.*s: %s", (int)clen, p, strerror(ENAMETOOLONG));
            close(w.fd);
            return -1;
        }
        memcpy(comp, p, clen);
        comp[clen] = '\0';
        p += clen;
        if (!strcmp(comp, ".")) continue;
        char rest[sizeof w.todo];
        snprintf(rest, sizeof rest, "%s", p);
        int r = step(&w, comp, rest, create, mode, err, errlen);
        if (r < 0) {
            close(w.fd);
            return -1;
        }
        if (r == 1) p = w.todo;
    }
    struct stat st;
    if (fstat(w.fd, &st) != 0 || !trusted_owner(st.st_uid)) {
        refuse_owner(&w, "a directory", st.st_uid, err, errlen);
        close(w.fd);
        return -1;
    }
    return w.fd;
}

int np_mkdir_p(const char *dir, mode_t mode, char *err, size_t errlen)
{
    int fd = np_dir_open_trusted(dir, true, mode, err, errlen);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

/* ---- the signal guard ------------------------------------------------------------- */

static struct np_temp_guard *guard;

void np_outfile_set_guard(struct np_temp_guard *g)
{
    guard = g;
}

/* With a guard, no signal may come between a change of the file system and
 * the guard's record of it. */
static void guard_block(sigset_t *old)
{
    if (!guard) return;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, old);
}

static void guard_unblock(const sigset_t *old)
{
    if (guard) pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- temporary files ------------------------------------------------------------ */

static void random_suffix(char out[7])
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char bytes[6];
    if (getrandom(bytes, sizeof bytes, GRND_NONBLOCK) != (ssize_t)sizeof bytes) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        unsigned long x = (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20) ^ (unsigned long)getpid();
        for (int i = 0; i < 6; i++) bytes[i] = (unsigned char)(x >> (i * 5));
    }
    for (int i = 0; i < 6; i++) out[i] = chars[bytes[i] % (sizeof chars - 1)];
    out[6] = '\0';
}

int np_temp_name(const char *name, char *tmp, size_t len)
{
    char suffix[7];
    random_suffix(suffix);
    int n = snprintf(tmp, len, ".%s.tmp.%ld.%s", name, (long)getpid(), suffix);
    if (n <= 0 || (size_t)n >= len || n > NAME_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return n;
}

/* Created 0600 and exclusively, never through a symlink. */
static int create_temp(int dirfd, const char *name, char *tmp, size_t len)
{
    for (int tries = 0; tries < 100; tries++) {
        int n = np_temp_name(name, tmp, len);
        if (n < 0) return -1;
        sigset_t old;
        guard_block(&old);
        int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 && guard) {
            guard->dirfd = dirfd;
            memcpy(guard->name, tmp, (size_t)n + 1);
            guard->armed = 1;
        }
        int e = errno;
        guard_unblock(&old);
        if (fd >= 0 || e != EEXIST) {
            errno = e;
            return fd;
        }
    }
    errno = EEXIST;
    return -1;
}

/* Renames (or, with to == NULL, removes) the temporary file, and forgets it. */
static int finish_temp(int dirfd, const char *tmp, const char *to)
{
    sigset_t old;
    guard_block(&old);
    int rc = to ? renameat(dirfd, tmp, dirfd, to) : unlinkat(dirfd, tmp, 0);
    int e = errno;
    if (guard) guard->armed = 0;
    guard_unblock(&old);
    errno = e;
    return rc;
}

int np_name_variant(const char *name, int n, char *out, size_t len)
{
    const char *dash = strrchr(name, '-');
    const char *dot = strchr(dash ? dash : name, '.');
    size_t stem = dot ? (size_t)(dot - name) : strlen(name);
    int m = snprintf(out, len, "%.*s-%d%s", (int)stem, name, n, name + stem);
    return m < 0 || (size_t)m >= len || m > NAME_MAX ? -1 : 0;
}

/* renameat2(RENAME_NOREPLACE), or where the file system lacks it (EINVAL)
 * a hard link, which fails on an existing name too. */
static int rename_noreplace(int dirfd, const char *from, const char *to)
{
    if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return -1;
    if (linkat(dirfd, from, dirfd, to, 0) != 0) return -1;
    unlinkat(dirfd, from, 0);
    return 0;
}

/* Renames the temporary file to name, or when name is taken (another
 * process writing into the same directory with the same name: two PID 1s
 * sharing a volume) to its first free variant, which goes back into name.
 * Never replaces a file. */
static int publish_new(int dirfd, const char *tmp, char *name, size_t len)
{
    char variant[NAME_MAX + 1];
    sigset_t old;
    guard_block(&old);
    int rc = rename_noreplace(dirfd, tmp, name);
    for (int n = 2; rc != 0 && errno == EEXIST && n <= NP_NAME_VARIANTS; n++) {
        if (np_name_variant(name, n, variant, sizeof variant) || strlen(variant) >= len) {
            errno = ENAMETOOLONG;
            break;
        }
        if ((rc = rename_noreplace(dirfd, tmp, variant)) == 0) memcpy(name, variant, strlen(variant) + 1);
    }
    int e = errno;
    if (guard && rc == 0) guard->armed = 0;
    guard_unblock(&old);
    errno = e;
    return rc;
}

void np_remove_temp_files(const char *dir)
{
    char mark[48];
    snprintf(mark, sizeof mark, ".tmp.%ld.", (long)getpid());
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] != '.' || !strstr(e->d_name, mark)) continue;
        unlinkat(dirfd(d), e->d_name, 0);
    }
    if (d) closedir(d);
}

/* "dir/name" for messages. */
static int joined(const char *dir, const char *name, char *buf, size_t len)
{
    size_t n = strlen(dir);
    int m = snprintf(buf, len, "%s%s%s", dir, n && dir[n - 1] != '/' ? "/" : "", name);
    return m < 0 || (size_t)m >= len ? -1 : 0;
}

/* Closes out, catching the errors of its last writes. */
static int close_stream(FILE *out, int failed, int *saved)
{
    if (fflush(out) != 0 && !failed) { failed = 1; *saved = errno; }
    if (fclose(out) != 0 && !failed) { failed = 1; *saved = errno; }
    return failed;
}

/* The body of np_write_atomic_at and np_write_new_at: name_len is 0 to
 * replace name, or the size of name's buffer to publish a new file. */
static int write_at(int dirfd, const char *dir, char *name, size_t name_len, mode_t mode,
                    np_fill_fn fill, void *ctx, char *err, size_t errlen)
{
    char tmp[NAME_MAX + 1], shown[PATH_MAX + NAME_MAX + 2];
    joined(dir, name, shown, sizeof shown);
    int fd = create_temp(dirfd, name, tmp, sizeof tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a temporary file for %s: %s", shown, strerror(errno));
        return -1;
    }
    FILE *out = fdopen(fd, "w");
    if (!out) {
        snprintf(err, errlen, "cannot write %s: %s", shown, strerror(errno));
        close(fd);
        finish_temp(dirfd, tmp, NULL);
        return -1;
    }
    setvbuf(out, NULL, _IOFBF, 1 << 16);
    err[0] = '\0';
    int rc = fill(out, ctx, err, errlen);
    int saved = errno;
    int failed = ferror(out);
    if (!failed && fflush(out) != 0) { failed = 1; saved = errno; }
    if (rc == 0 && !failed && fchmod(fileno(out), mode) != 0) { failed = 1; saved = errno; }
    failed = close_stream(out, failed, &saved);
    if (rc == 0 && failed)
        snprintf(err, errlen, "cannot write %s: %s", shown, strerror(saved));
    if (rc == 0 && !failed &&
        (name_len ? publish_new(dirfd, tmp, name, name_len) : finish_temp(dirfd, tmp, name)) != 0) {
        snprintf(err, errlen, "cannot rename to %s: %s", shown, strerror(errno));
        failed = 1;
    }
    if (rc != 0 || failed) {
        finish_temp(dirfd, tmp, NULL);
        if (!err[0]) snprintf(err, errlen, "cannot write %s", shown);
        return -1;
    }
    return 0;
}

int np_write_atomic_at(int dirfd, const char *dir, const char *name, mode_t mode,
                       np_fill_fn fill, void *ctx, char *err, size_t errlen)
{
    return write_at(dirfd, dir, (char *)name, 0, mode, fill, ctx, err, errlen);
}

int np_write_new_at(int dirfd, const char *dir, char *name, size_t name_len, mode_t mode,
                    np_fill_fn fill, void *ctx, char *err, size_t errlen)
{
    return write_at(dirfd, dir, name, name_len, mode, fill, ctx, err, errlen);
}

/* Splits path into its directory, opened as it is, and its name. */
static int open_parent(const char *path, const char **name, char *dir, size_t dirlen,
                       char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    *name = slash ? slash + 1 : path;
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (!**name || n >= dirlen) {
        snprintf(err, errlen, "bad file name %.300s", path);
        return -1;
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    const char *open_as = slash ? (n ? dir : "/") : ".";
    int fd = open(open_as, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) snprintf(err, errlen, "cannot create %.300s: %s", path, strerror(errno));
    if (slash && !n) snprintf(dir, dirlen, "/");
    return fd;
}

int np_write_atomic(const char *path, mode_t mode, np_fill_fn fill, void *ctx,
                    char *err, size_t errlen)
{
    char dir[PATH_MAX];
    const char *name;
    int fd = open_parent(path, &name, dir, sizeof dir, err, errlen);
    if (fd < 0) return -1;
    int rc = np_write_atomic_at(fd, dir, name, mode, fill, ctx, err, errlen);
    /* The guard may still name this directory for an instant: it is
     * disarmed by then, and a closed descriptor is never used. */
    close(fd);
    return rc;
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

int np_write_atomic_buf_at(int dirfd, const char *dir, const char *name, mode_t mode,
                           const void *data, size_t len, char *err, size_t errlen)
{
    struct buf_ctx b = { data, len };
    return np_write_atomic_at(dirfd, dir, name, mode, fill_buf, &b, err, errlen);
}

/* ---- streams ---------------------------------------------------------------------- */

int np_stream_open_at(struct np_stream *s, int dirfd, const char *dir, const char *name,
                      char *err, size_t errlen)
{
    s->out = NULL;
    s->dirfd = -1;
    int too_long = joined(dir, name, s->path, sizeof s->path);
    size_t dl = strlen(s->path) - (too_long ? 0 : strlen(name));
    if (too_long || strlen(name) > NAME_MAX || dl + NAME_MAX + 1 > sizeof s->tmp) {
        snprintf(err, errlen, "path too long: %.300s", s->path);
        return -1;
    }
    s->name = s->path + dl;
    memcpy(s->tmp, s->path, dl);
    char *tmp_name = s->tmp + dl;
    s->tmp_name = tmp_name;
    s->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    int fd = s->dirfd < 0 ? -1 : create_temp(s->dirfd, name, tmp_name, NAME_MAX + 1);
    if (fd < 0 || !(s->out = fdopen(fd, "w"))) {
        snprintf(err, errlen, "cannot create a temporary file for %s: %s", s->path, strerror(errno));
        if (fd >= 0) { close(fd); finish_temp(s->dirfd, tmp_name, NULL); }
        if (s->dirfd >= 0) close(s->dirfd);
        s->dirfd = -1;
        return -1;
    }
    setvbuf(s->out, NULL, _IOFBF, 1 << 16);
    return 0;
}

int np_stream_open(struct np_stream *s, const char *path, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    const char *name;
    s->out = NULL;
    s->dirfd = -1;
    int fd = open_parent(path, &name, dir, sizeof dir, err, errlen);
    if (fd < 0) return -1;
    int rc = np_stream_open_at(s, fd, dir, name, err, errlen);
    close(fd);
    return rc;
}

/* np_stream_commit and np_stream_commit_new. */
static int commit(struct np_stream *s, mode_t mode, bool keep_existing, char *err, size_t errlen)
{
    int saved = errno;
    int failed = ferror(s->out);
    if (!failed && fflush(s->out) != 0) { failed = 1; saved = errno; }
    if (!failed && fchmod(fileno(s->out), mode) != 0) { failed = 1; saved = errno; }
    if (failed) ftruncate(fileno(s->out), 0);
    failed = close_stream(s->out, failed, &saved);
    s->out = NULL;
    if (failed) snprintf(err, errlen, "cannot write %s: %s", s->path, strerror(saved));
    else if ((keep_existing ? publish_new(s->dirfd, s->tmp_name, s->path + (s->name - s->path),
                                          sizeof s->path - (size_t)(s->name - s->path))
                            : finish_temp(s->dirfd, s->tmp_name, s->name)) != 0) {
        snprintf(err, errlen, "cannot rename to %s: %s", s->path, strerror(errno));
        failed = 1;
    }
    if (failed) finish_temp(s->dirfd, s->tmp_name, NULL);
    close(s->dirfd);
    s->dirfd = -1;
    return failed ? -1 : 0;
}

int np_stream_commit(struct np_stream *s, mode_t mode, char *err, size_t errlen)
{
    return commit(s, mode, false, err, errlen);
}

int np_stream_commit_new(struct np_stream *s, mode_t mode, char *err, size_t errlen)
{
    return commit(s, mode, true, err, errlen);
}

void np_stream_abort(struct np_stream *s)
{
    if (s->out) {
        /* Frees the blocks even while another descriptor holds the file. */
        if (ftruncate(fileno(s->out), 0) != 0) { /* unlinked below all the same */ }
        fclose(s->out);
    }
    s->out = NULL;
    if (s->dirfd >= 0) {
        finish_temp(s->dirfd, s->tmp_name, NULL);
        close(s->dirfd);
    }
    s->dirfd = -1;
}

static bool owned_by_us_or_root(uid_t uid) { return uid == 0 || uid == geteuid(); }

/* Splits path into its directory (".", "/" or the part before the last
 * slash) and its last component; NULL when there is no last component. */
static const char *split_last(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) return NULL;
    if (!slash) snprintf(dir, len, ".");
    else if (slash == path) snprintf(dir, len, "/");
    else if ((size_t)(slash - path) >= len) return NULL;
    else snprintf(dir, len, "%.*s", (int)(slash - path), path);
    return base;
}

static int open_append_at(int dirfd, const char *base, bool create, char *err, size_t errlen)
{
    int flags = O_WRONLY | O_APPEND | (create ? O_CREAT : 0) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    struct stat link;
    bool trusted_link = fstatat(dirfd, base, &link, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(link.st_mode);
    if (trusted_link && !owned_by_us_or_root(link.st_uid)) {
        snprintf(err, errlen, "a symlink of another user (uid %u): not followed", (unsigned)link.st_uid);
        return -1;
    }
    /* A link swapped in after the fstatat is not followed (O_NOFOLLOW). */
    int fd = openat(dirfd, base, trusted_link ? flags : flags | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    const char *bad = NULL;
    if (fstat(fd, &st) != 0) bad = "cannot be examined";
    else if (S_ISDIR(st.st_mode)) bad = "is a directory";
    else if (!owned_by_us_or_root(st.st_uid)) bad = "belongs to another user";
    if (bad) {
        snprintf(err, errlen, "%s: not written to", bad);
        close(fd);
        return -1;
    }
    if (S_ISREG(st.st_mode)) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

static int open_append(const char *path, bool create, char *err, size_t errlen)
{
    /* err names no path: the callers name their variable and its value. */
    char dir[PATH_MAX];
    const char *base = split_last(path, dir, sizeof dir);
    if (!base) {
        snprintf(err, errlen, "not a file name");
        return -1;
    }
    /* The directories on the way are walked as for NODEPROF_DIR: a symlink
     * or directory of another user above the file is not followed. */
    int dirfd = np_dir_open_trusted(dir, false, 0700, err, errlen);
    if (dirfd < 0) return -1;
    int fd = open_append_at(dirfd, base, create, err, errlen);
    close(dirfd);
    return fd;
}

int np_open_append(const char *path, char *err, size_t errlen)
{
    return open_append(path, true, err, errlen);
}

int np_open_append_existing(const char *path, char *err, size_t errlen)
{
    return open_append(path, false, err, errlen);
}
