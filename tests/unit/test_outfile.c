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
#include "outfile.h"

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
    CHECK(strstr(err, at("file/sub")) && strstr(err, "Not a directory"), "err: %s", err);
    err[0] = '\0';
    CHECK(np_mkdir_p(at("file"), 0700, err, sizeof err) == -1, "file as the directory");
    CHECK(strstr(err, at("file")) && strstr(err, "not a directory"), "err: %s", err);
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
    nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return END();
}
