/* Output files: mkdir -p, atomic writes that leave nothing behind when
 * they fail (fill errors, a full disk, a file size limit), streams, and the
 * removal of a process's own temporary files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/outfile.h"

static char base[64];
static char err[1024];

static const char *at(const char *rel)
{
    static char paths[8][4200];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", base, rel);
    return p;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static char *slurp(const char *path)
{
    static char buf[1 << 17];
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Entries of dir whose names contain ".tmp." (our temporary files). */
static int temp_files_in(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

static int entries_in(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static void touch(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) { fputs(text, f); fclose(f); }
}

/* ---- mkdir -p --------------------------------------------------------------- */

static void test_mkdir_p(void)
{
    mode_t old = umask(022);
    CHECK(np_mkdir_p(at("a/b/c"), 0700, err, sizeof err) == 0, "nested: %s", err);
    CHECK(is_dir(at("a/b/c")), "a/b/c");
    CHECK(mode_of(at("a")) == 0700 && mode_of(at("a/b")) == 0700 && mode_of(at("a/b/c")) == 0700,
          "modes %o %o %o", mode_of(at("a")), mode_of(at("a/b")), mode_of(at("a/b/c")));
    /* Existing: fine, and the mode of what exists is left alone. */
    chmod(at("a/b"), 0755);
    CHECK(np_mkdir_p(at("a/b/c"), 0700, err, sizeof err) == 0, "existing: %s", err);
    CHECK(np_mkdir_p(at("a/b"), 0700, err, sizeof err) == 0, "existing parent: %s", err);
    CHECK(mode_of(at("a/b")) == 0755, "mode changed: %o", mode_of(at("a/b")));
    /* Odd spellings of the same place. */
    CHECK(np_mkdir_p(at("a//b///d/"), 0700, err, sizeof err) == 0 && is_dir(at("a/b/d")), "slashes: %s", err);
    CHECK(np_mkdir_p(at("a/./b/../b/e"), 0700, err, sizeof err) == 0 && is_dir(at("a/b/e")), "dots: %s", err);
    CHECK(np_mkdir_p("/", 0700, err, sizeof err) == 0, "/: %s", err);
    CHECK(np_mkdir_p(base, 0700, err, sizeof err) == 0, "base: %s", err);

    /* A file in the way, as a parent or as the directory itself. */
    touch(at("file"), "x");
    err[0] = '\0';
    CHECK(np_mkdir_p(at("file/sub/dir"), 0700, err, sizeof err) == -1, "file as a parent");
    CHECK(strstr(err, at("file")) && strstr(err, "Not a directory"), "err: %s", err);
    err[0] = '\0';
    CHECK(np_mkdir_p(at("file"), 0700, err, sizeof err) == -1, "file as the directory");
    CHECK(strstr(err, at("file")) && strstr(err, "Not a directory"), "err: %s", err);
    CHECK(!strcmp(slurp(at("file")), "x"), "the file was touched");
    /* Somewhere nothing can be created. */
    err[0] = '\0';
    CHECK(np_mkdir_p("/proc/nonexistent/x/y", 0700, err, sizeof err) == -1, "/proc");
    CHECK(strstr(err, "/proc/nonexistent") != NULL, "err: %s", err);
    /* Bad names. */
    CHECK(np_mkdir_p("", 0700, err, sizeof err) == -1, "empty");
    char *huge = malloc(5000);
    memset(huge, 'd', 4999);
    huge[0] = '/';
    huge[4999] = '\0';
    CHECK(np_mkdir_p(huge, 0700, err, sizeof err) == -1, "too long");
    free(huge);
    /* A relative path: from the working directory. */
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
    CHECK(chdir(base) == 0, "chdir");
    CHECK(np_mkdir_p("rel/x", 0700, err, sizeof err) == 0, "relative: %s", err);
    CHECK(chdir(cwd) == 0, "chdir back");
    CHECK(is_dir(at("rel/x")), "rel/x");
    /* A small error buffer is not overrun. */
    char tiny[8];
    memset(tiny, 'Z', sizeof tiny);
    CHECK(np_mkdir_p(at("file/x"), 0700, tiny, 4) == -1 && tiny[3] == '\0' && tiny[4] == 'Z', "tiny err");
    umask(old);
}

static int fill_fails(FILE *out, void *ctx, char *e, size_t elen);

/* ---- whose directories ----------------------------------------------------------- */

/* Directories and symlinks of another uid on the path are refused; root's
 * and ours are walked, symlinks included. Needs root (chown). */
static void test_trusted_walk(void)
{
    if (geteuid() != 0) {
        printf("test_outfile: skipping the ownership cases: not root\n");
        return;
    }
    const uid_t other = 12345;
    mkdir(at("t"), 0755);
    /* A directory of another uid, as the last component and as a parent. */
    mkdir(at("t/theirs"), 0777);
    CHECK(chown(at("t/theirs"), other, other) == 0, "chown");
    err[0] = '\0';
    CHECK(np_mkdir_p(at("t/theirs"), 0700, err, sizeof err) == -1, "their directory accepted");
    CHECK(strstr(err, at("t/theirs")) && strstr(err, "uid 12345"), "err: %s", err);
    CHECK(np_mkdir_p(at("t/theirs/sub"), 0700, err, sizeof err) == -1, "through their directory");
    CHECK(access(at("t/theirs/sub"), F_OK) != 0, "created inside their directory");
    /* Our own directory under theirs: the parent is what counts. */
    mkdir(at("t/theirs/ours"), 0700);
    CHECK(np_mkdir_p(at("t/theirs/ours"), 0700, err, sizeof err) == -1, "under their directory");
    /* A symlink of theirs to a directory of ours. */
    mkdir(at("t/mine"), 0700);
    CHECK(symlink(at("t/mine"), at("t/link-theirs")) == 0, "symlink");
    CHECK(lchown(at("t/link-theirs"), other, other) == 0, "lchown");
    err[0] = '\0';
    CHECK(np_mkdir_p(at("t/link-theirs/x"), 0700, err, sizeof err) == -1, "their symlink followed");
    CHECK(strstr(err, "symlink") && strstr(err, "uid 12345"), "err: %s", err);
    CHECK(access(at("t/mine/x"), F_OK) != 0, "created through their symlink");
    /* Symlinks of ours, absolute and relative, chained: followed. */
    CHECK(symlink(at("t/mine"), at("t/link-abs")) == 0, "symlink");
    CHECK(symlink("mine", at("t/link-rel")) == 0, "symlink");
    CHECK(symlink("link-rel/../link-abs", at("t/link-chain")) == 0, "symlink");
    CHECK(np_mkdir_p(at("t/link-abs/a"), 0700, err, sizeof err) == 0 && is_dir(at("t/mine/a")), "abs: %s", err);
    CHECK(np_mkdir_p(at("t/link-rel/b"), 0700, err, sizeof err) == 0 && is_dir(at("t/mine/b")), "rel: %s", err);
    CHECK(np_mkdir_p(at("t/link-chain/c"), 0700, err, sizeof err) == 0 && is_dir(at("t/mine/c")), "chain: %s", err);
    int fd = np_dir_open_trusted(at("t/link-rel"), false, 0700, err, sizeof err);
    struct stat a, b;
    CHECK(fd >= 0 && fstat(fd, &a) == 0 && stat(at("t/mine"), &b) == 0 && a.st_ino == b.st_ino, "opened: %s", err);
    if (fd >= 0) close(fd);
    /* A trusted symlink pointing into their directory: refused there. */
    CHECK(symlink(at("t/theirs"), at("t/link-to-theirs")) == 0, "symlink");
    CHECK(np_mkdir_p(at("t/link-to-theirs/y"), 0700, err, sizeof err) == -1, "into theirs via our link");
    /* A loop ends. */
    CHECK(symlink("loop-b", at("t/loop-a")) == 0 && symlink("loop-a", at("t/loop-b")) == 0, "symlinks");
    err[0] = '\0';
    CHECK(np_mkdir_p(at("t/loop-a/z"), 0700, err, sizeof err) == -1, "loop");
    CHECK(strstr(err, "Too many levels of symbolic links") != NULL, "err: %s", err);
    /* Without create, a missing directory is an error, and nothing is made. */
    CHECK(np_dir_open_trusted(at("t/missing"), false, 0700, err, sizeof err) == -1, "missing");
    CHECK(strstr(err, "No such file or directory") && access(at("t/missing"), F_OK) != 0, "err: %s", err);
    /* /tmp itself (root's, sticky) is fine. */
    fd = np_dir_open_trusted("/tmp", false, 0700, err, sizeof err);
    CHECK(fd >= 0, "/tmp: %s", err);
    if (fd >= 0) close(fd);
}

/* The write happens in the directory that was opened, even if the path
 * is then swapped for a symlink to somewhere else. */
static void test_write_in_dirfd(void)
{
    mkdir(at("d1"), 0700);
    mkdir(at("elsewhere"), 0700);
    int fd = np_dir_open_trusted(at("d1"), false, 0700, err, sizeof err);
    CHECK(fd >= 0, "open: %s", err);
    CHECK(rename(at("d1"), at("d1-moved")) == 0 && symlink(at("elsewhere"), at("d1")) == 0, "swap");
    CHECK(np_write_atomic_buf_at(fd, at("d1"), "p.cpuprofile", 0644, "{}", 2, err, sizeof err) == 0, "write: %s", err);
    CHECK_STR(slurp(at("d1-moved/p.cpuprofile")), "{}");
    CHECK(mode_of(at("d1-moved/p.cpuprofile")) == 0644, "mode %o", mode_of(at("d1-moved/p.cpuprofile")));
    CHECK(entries_in(at("elsewhere")) == 0, "written through the swapped path");
    struct np_stream s;
    CHECK(np_stream_open_at(&s, fd, at("d1"), "snap", err, sizeof err) == 0, "stream: %s", err);
    close(fd); /* the stream keeps a descriptor of its own */
    fputs("data", s.out);
    CHECK(np_stream_commit(&s, 0600, err, sizeof err) == 0, "commit: %s", err);
    CHECK_STR(slurp(at("d1-moved/snap")), "data");
    CHECK(entries_in(at("elsewhere")) == 0 && temp_files_in(at("d1-moved")) == 0, "leftovers");
    /* The umask does not narrow the mode. */
    mode_t old = umask(077);
    CHECK(np_write_atomic_buf(at("d1-moved/wide"), 0644, "x", 1, err, sizeof err) == 0, "write: %s", err);
    umask(old);
    CHECK(mode_of(at("d1-moved/wide")) == 0644, "mode %o", mode_of(at("d1-moved/wide")));
}

/* An aborted stream frees its blocks even while another descriptor (one
 * that v8.writeHeapSnapshot leaked on ENOSPC) still holds the file. */
static void test_abort_frees_space(void)
{
    mkdir(at("ab"), 0700);
    struct np_stream s;
    CHECK(np_stream_open(&s, at("ab/snap"), err, sizeof err) == 0, "open: %s", err);
    int leaked = open(s.tmp, O_WRONLY);
    CHECK(leaked >= 0, "open %s", s.tmp);
    static char block[1 << 16];
    for (int i = 0; i < 16; i++) CHECK(write(leaked, block, sizeof block) == sizeof block, "write");
    struct stat st;
    np_stream_abort(&s);
    CHECK(fstat(leaked, &st) == 0 && st.st_size == 0 && st.st_blocks == 0, "still %lld bytes", (long long)st.st_size);
    CHECK(entries_in(at("ab")) == 0, "temp left");
    close(leaked);
}

/* The guard names the temporary file while it exists, and only then. */
static struct np_temp_guard test_guard;
static int fill_checks_guard(FILE *out, void *ctx, char *e, size_t elen)
{
    (void)e; (void)elen; (void)ctx;
    struct stat st;
    CHECK(test_guard.armed && fstatat(test_guard.dirfd, test_guard.name, &st, 0) == 0, "guard not armed");
    CHECK(strstr(test_guard.name, ".g.tmp.") == test_guard.name, "name %s", test_guard.name);
    fputs("x", out);
    return 0;
}

static void test_guard_names_temp(void)
{
    mkdir(at("g"), 0700);
    np_outfile_set_guard(&test_guard);
    CHECK(np_write_atomic(at("g/g"), 0600, fill_checks_guard, NULL, err, sizeof err) == 0, "write: %s", err);
    CHECK(!test_guard.armed, "armed after the write");
    CHECK(np_write_atomic(at("g/h"), 0600, fill_fails, NULL, err, sizeof err) == -1, "fails");
    CHECK(!test_guard.armed && temp_files_in(at("g")) == 0, "armed after a failure");
    np_outfile_set_guard(NULL);
}

/* ---- atomic writes ------------------------------------------------------------ */

static int fill_text(FILE *out, void *ctx, char *e, size_t elen)
{
    (void)e; (void)elen;
    fputs((const char *)ctx, out);
    return 0;
}

static int fill_fails(FILE *out, void *ctx, char *e, size_t elen)
{
    fputs("half a file", out);
    if (ctx) snprintf(e, elen, "%s", (const char *)ctx);
    return -1;
}

/* Writes n bytes in 4 KiB pieces (more than the stream's 64 KiB buffer
 * when n is large, so the error shows up in the middle of the fill). */
static int fill_big(FILE *out, void *ctx, char *e, size_t elen)
{
    (void)e; (void)elen;
    size_t n = *(size_t *)ctx;
    static char block[4096];
    memset(block, 'b', sizeof block);
    for (size_t done = 0; done < n; done += sizeof block) fwrite(block, 1, sizeof block, out);
    return 0;
}

/* Two processes writing the same name into one directory (two PID 1s
 * sharing a volume): the second file gets the first free variant, and
 * nothing is replaced, by files or by streams. */
static void test_never_replaces(void)
{
    char out[NAME_MAX + 1], name[NAME_MAX + 1];
    CHECK(np_name_variant("nodeprof-1-20261130T120000Z-1.cpu.pb.gz", 2, out, sizeof out) == 0, "variant");
    CHECK_STR(out, "nodeprof-1-20261130T120000Z-1-2.cpu.pb.gz");
    CHECK(np_name_variant("app.v1-7.cpuprofile", 12, out, sizeof out) == 0, "variant");
    CHECK_STR(out, "app.v1-7-12.cpuprofile");
    CHECK(np_name_variant("noext", 3, out, sizeof out) == 0 && !strcmp(out, "noext-3"), "%s", out);
    char longname[NAME_MAX + 1];
    memset(longname, 'a', NAME_MAX);
    longname[NAME_MAX] = '\0';
    CHECK(np_name_variant(longname, 2, out, sizeof out) == -1, "too long");

    mkdir(at("shared"), 0700);
    int fd = np_dir_open_trusted(at("shared"), false, 0700, err, sizeof err);
    CHECK(fd >= 0, "open: %s", err);
    const char *texts[3] = { "first", "second", "third" };
    const char *expect[3] = { "p-1.cpuprofile", "p-1-2.cpuprofile", "p-1-3.cpuprofile" };
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "p-1.cpuprofile");
        CHECK(np_write_new_at(fd, at("shared"), name, sizeof name, 0600, fill_text, (void *)texts[i], err,
                              sizeof err) == 0, "write %d: %s", i, err);
        CHECK_STR(name, expect[i]);
    }
    CHECK_STR(slurp(at("shared/p-1.cpuprofile")), "first");
    CHECK_STR(slurp(at("shared/p-1-3.cpuprofile")), "third");
    struct np_stream s;
    CHECK(np_stream_open_at(&s, fd, at("shared"), "p-1.cpuprofile", err, sizeof err) == 0, "stream: %s", err);
    fputs("fourth", s.out);
    CHECK(np_stream_commit_new(&s, 0600, err, sizeof err) == 0, "commit: %s", err);
    CHECK_STR(s.name, "p-1-4.cpuprofile");
    CHECK(!strcmp(s.path, at("shared/p-1-4.cpuprofile")), "path %s", s.path);
    CHECK_STR(slurp(at("shared/p-1-4.cpuprofile")), "fourth");
    CHECK_STR(slurp(at("shared/p-1.cpuprofile")), "first");
    CHECK(temp_files_in(at("shared")) == 0, "leftovers");
    close(fd);
}

static void test_write_atomic(void)
{
    mkdir(at("w"), 0700);
    const char *p = at("w/profile.cpuprofile");
    CHECK(np_write_atomic(p, 0640, fill_text, "{\"nodes\":[]}", err, sizeof err) == 0, "write: %s", err);
    CHECK_STR(slurp(p), "{\"nodes\":[]}");
    CHECK(mode_of(p) == 0640, "mode %o", mode_of(p));
    CHECK(temp_files_in(at("w")) == 0, "temp left");
    /* Replacing an existing file, with another mode. */
    CHECK(np_write_atomic(p, 0600, fill_text, "second", err, sizeof err) == 0, "rewrite: %s", err);
    CHECK_STR(slurp(p), "second");
    CHECK(mode_of(p) == 0600, "mode %o", mode_of(p));
    /* The buffer form, with bytes that are not text. */
    const char bin[] = { 'a', '\0', 'b', '\n' };
    CHECK(np_write_atomic_buf(at("w/bin"), 0644, bin, sizeof bin, err, sizeof err) == 0, "buf: %s", err);
    struct stat st;
    CHECK(stat(at("w/bin"), &st) == 0 && st.st_size == 4, "size");
    CHECK(np_write_atomic_buf(at("w/empty"), 0644, "", 0, err, sizeof err) == 0, "empty: %s", err);
    CHECK(stat(at("w/empty"), &st) == 0 && st.st_size == 0, "empty size");

    /* fill fails: its message is kept, the old file stays, no temp file. */
    err[0] = '\0';
    CHECK(np_write_atomic(p, 0600, fill_fails, "converter said no", err, sizeof err) == -1, "fill fails");
    CHECK_STR(err, "converter said no");
    CHECK_STR(slurp(p), "second");
    CHECK(temp_files_in(at("w")) == 0, "temp left after a fill error");
    /* fill fails without a message: one is made up, naming the file. */
    err[0] = '\0';
    CHECK(np_write_atomic(at("w/new"), 0600, fill_fails, NULL, err, sizeof err) == -1, "fill fails quietly");
    CHECK(strstr(err, at("w/new")) != NULL, "err: %s", err);
    CHECK(access(at("w/new"), F_OK) != 0, "a file was created");
    CHECK(temp_files_in(at("w")) == 0, "temp left");

    /* The target is a directory: rename fails, nothing left. */
    mkdir(at("w/adir"), 0700);
    err[0] = '\0';
    CHECK(np_write_atomic(at("w/adir"), 0600, fill_text, "x", err, sizeof err) == -1, "onto a directory");
    CHECK(strstr(err, at("w/adir")) != NULL, "err: %s", err);
    CHECK(is_dir(at("w/adir")), "directory replaced");
    CHECK(temp_files_in(at("w")) == 0, "temp left after a failed rename");
    /* The directory does not exist. */
    err[0] = '\0';
    CHECK(np_write_atomic(at("nowhere/x"), 0600, fill_text, "x", err, sizeof err) == -1, "no directory");
    CHECK(strstr(err, at("nowhere")) && strstr(err, "No such file or directory"), "err: %s", err);
    /* A path too long for the temporary name. */
    char *huge = malloc(4300);
    memset(huge, 'n', 4299);
    huge[4299] = '\0';
    memcpy(huge, base, strlen(base));
    huge[strlen(base)] = '/';
    CHECK(np_write_atomic(huge, 0600, fill_text, "x", err, sizeof err) == -1, "path too long");
    free(huge);
    CHECK(entries_in(at("w")) == 4, "entries: %d", entries_in(at("w"))); /* profile, bin, empty, adir */
}

/* A write that fails in the middle: the file size limit (RLIMIT_FSIZE),
 * with SIGXFSZ ignored as node does. */
static void test_file_size_limit(void)
{
    mkdir(at("lim"), 0700);
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0, "getrlimit");
    struct sigaction ign = { .sa_handler = SIG_IGN }, prev;
    sigaction(SIGXFSZ, &ign, &prev);
    lim = old;
    lim.rlim_cur = 16384;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit");

    size_t big = 200000;
    err[0] = '\0';
    int rc = np_write_atomic(at("lim/big"), 0600, fill_big, &big, err, sizeof err);
    size_t small = 4096;
    int rc_small = np_write_atomic(at("lim/small"), 0600, fill_big, &small, err + 512, sizeof err - 512);

    struct np_stream s;
    char serr[512] = "";
    int rc_stream = np_stream_open(&s, at("lim/stream"), serr, sizeof serr);
    if (rc_stream == 0) {
        for (int i = 0; i < 100; i++) fill_big(s.out, &small, NULL, 0);
        rc_stream = np_stream_commit(&s, 0600, serr, sizeof serr);
    }

    setrlimit(RLIMIT_FSIZE, &old);
    sigaction(SIGXFSZ, &prev, NULL);

    CHECK(rc == -1, "a 200 KB write under a 16 KB limit succeeded");
    CHECK(strstr(err, at("lim/big")) && strstr(err, "File too large"), "err: %s", err);
    CHECK(rc_small == 0, "a 4 KB write failed: %s", err + 512);
    CHECK(rc_stream == -1, "stream commit succeeded");
    CHECK(strstr(serr, "File too large") != NULL, "stream err: %s", serr);
    CHECK(access(at("lim/big"), F_OK) != 0 && access(at("lim/stream"), F_OK) != 0, "partial file in place");
    CHECK(temp_files_in(at("lim")) == 0, "temp left after EFBIG: %d", temp_files_in(at("lim")));
}

/* A full disk: a tiny tmpfs, if this process may mount one. */
static void test_disk_full(void)
{
    const char *mnt = at("tmpfs");
    mkdir(mnt, 0700);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=16k,mode=0700") != 0) {
        printf("test_outfile: skipping the full-disk case: cannot mount a tmpfs: %s\n", strerror(errno));
        rmdir(mnt);
        return;
    }
    size_t big = 200000;
    err[0] = '\0';
    int rc = np_write_atomic(at("tmpfs/big"), 0600, fill_big, &big, err, sizeof err);
    CHECK(rc == -1, "200 KB fit in a 16 KB tmpfs");
    CHECK(strstr(err, at("tmpfs/big")) && strstr(err, "No space left on device"), "err: %s", err);
    CHECK(entries_in(mnt) == 0, "left %d entries", entries_in(mnt));
    /* Smaller than the stream's buffer: the error comes from fclose. */
    size_t mid = 40000;
    err[0] = '\0';
    CHECK(np_write_atomic(at("tmpfs/mid"), 0600, fill_big, &mid, err, sizeof err) == -1, "40 KB fit in 16 KB");
    CHECK(strstr(err, "No space left on device") != NULL, "err: %s", err);
    CHECK(entries_in(mnt) == 0, "left %d entries", entries_in(mnt));
    /* And space is back for a small one. */
    size_t small = 4096;
    CHECK(np_write_atomic(at("tmpfs/small"), 0600, fill_big, &small, err, sizeof err) == 0, "small: %s", err);
    struct np_stream s;
    CHECK(np_stream_open(&s, at("tmpfs/stream"), err, sizeof err) == 0, "stream open: %s", err);
    for (int i = 0; i < 50; i++) fill_big(s.out, &small, NULL, 0);
    err[0] = '\0';
    CHECK(np_stream_commit(&s, 0600, err, sizeof err) == -1, "stream commit on a full disk");
    CHECK(strstr(err, "No space left on device") != NULL, "err: %s", err);
    CHECK(entries_in(mnt) == 1, "left %d entries", entries_in(mnt));
    CHECK(umount(mnt) == 0, "umount: %s", strerror(errno));
}

/* ---- streams and leftovers -------------------------------------------------------- */

static void test_stream(void)
{
    mkdir(at("s"), 0700);
    struct np_stream s;
    CHECK(np_stream_open(&s, at("s/snap.heapsnapshot"), err, sizeof err) == 0, "open: %s", err);
    fputs("chunk 1,", s.out);
    fputs("chunk 2", s.out);
    CHECK(temp_files_in(at("s")) == 1, "one temporary file while writing");
    CHECK(access(at("s/snap.heapsnapshot"), F_OK) != 0, "visible before commit");
    CHECK(np_stream_commit(&s, 0640, err, sizeof err) == 0, "commit: %s", err);
    CHECK_STR(slurp(at("s/snap.heapsnapshot")), "chunk 1,chunk 2");
    CHECK(mode_of(at("s/snap.heapsnapshot")) == 0640, "mode %o", mode_of(at("s/snap.heapsnapshot")));
    CHECK(temp_files_in(at("s")) == 0, "temp left after commit");

    CHECK(np_stream_open(&s, at("s/aborted"), err, sizeof err) == 0, "open: %s", err);
    fputs("never mind", s.out);
    np_stream_abort(&s);
    CHECK(access(at("s/aborted"), F_OK) != 0, "aborted file exists");
    CHECK(temp_files_in(at("s")) == 0, "temp left after abort");

    err[0] = '\0';
    CHECK(np_stream_open(&s, at("missing/x"), err, sizeof err) == -1, "open in a missing directory");
    CHECK(strstr(err, "No such file or directory") != NULL, "err: %s", err);
}

static void test_remove_temp_files(void)
{
    mkdir(at("r"), 0700);
    char name[256];
    long pid = (long)getpid();
    snprintf(name, sizeof name, "r/.p.cpuprofile.tmp.%ld.abcdef", pid);
    touch(at(name), "mine");
    snprintf(name, sizeof name, "r/.q.heapsnapshot.tmp.%ld.XYZ123", pid);
    touch(at(name), "mine too");
    snprintf(name, sizeof name, "r/.p.cpuprofile.tmp.%ld.abcdef", pid + 1);
    touch(at(name), "another process's");
    snprintf(name, sizeof name, "r/.p.cpuprofile.tmp.%ld0.abcdef", pid);
    touch(at(name), "a pid that starts with ours");
    snprintf(name, sizeof name, "r/p.cpuprofile.tmp.%ld.abcdef", pid);
    touch(at(name), "not hidden: not ours");
    touch(at("r/done.cpuprofile"), "a finished profile");
    np_remove_temp_files(at("r"));
    CHECK(entries_in(at("r")) == 4, "%d entries left", entries_in(at("r")));
    snprintf(name, sizeof name, "r/.p.cpuprofile.tmp.%ld.abcdef", pid);
    CHECK(access(at(name), F_OK) != 0, "ours left");
    snprintf(name, sizeof name, "r/.p.cpuprofile.tmp.%ld.abcdef", pid + 1);
    CHECK(access(at(name), F_OK) == 0, "another process's removed");
    snprintf(name, sizeof name, "r/.p.cpuprofile.tmp.%ld0.abcdef", pid);
    CHECK(access(at(name), F_OK) == 0, "pid prefix confusion");
    CHECK(access(at("r/done.cpuprofile"), F_OK) == 0, "finished profile removed");
    np_remove_temp_files(at("no-such-dir"));

    /* A real temporary name, as np_stream_open makes it, is found. */
    struct np_stream s;
    CHECK(np_stream_open(&s, at("r/live.cpuprofile"), err, sizeof err) == 0, "open: %s", err);
    np_remove_temp_files(at("r"));
    CHECK(access(s.tmp, F_OK) != 0, "the stream's temporary file %s was not removed", s.tmp);
    fclose(s.out);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

int main(void)
{
    snprintf(base, sizeof base, "/tmp/np-outfile-XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    test_mkdir_p();
    test_write_atomic();
    test_file_size_limit();
    test_disk_full();
    test_stream();
    test_remove_temp_files();
    test_trusted_walk();
    test_write_in_dirfd();
    test_never_replaces();
    test_abort_frees_space();
    test_guard_names_temp();
    nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return END();
}
