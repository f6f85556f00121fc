/* The loader token: which file NODE_OPTIONS may name, and the data: URL
 * that stands in when none is trusted. Run as root, the tests also check
 * other owners (chown) and a non-root caller (a child with setresuid). */
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "common/loader.h"
#include "common/nodeopts.h"

static char base[256];

static void write_file(const char *path, const char *text, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) perror(path);
    if (fd >= 0) close(fd);
    chmod(path, mode);
}

/* A root-owned tree outside /tmp (whose sticky bit is not trusted). */
static void make_base(void)
{
    snprintf(base, sizeof base, "/var/tmp/np-loader-test.XXXXXX");
    if (!mkdtemp(base)) { perror("mkdtemp"); exit(2); }
    chmod(base, 0755);
}

static void test_trusted(void)
{
    char why[512], dir[300], file[400];
    /* /var/tmp is sticky and world-writable: nothing under it is trusted. */
    CHECK(!np_path_trusted(base, false, why, sizeof why), "under /var/tmp");
    CHECK(strstr(why, "/var/tmp: writable by other users") != NULL, "why: %s", why);
    CHECK(np_path_trusted("/etc/passwd", true, why, sizeof why), "/etc/passwd: %s", why);
    CHECK(!np_path_trusted("/usr/lib", true, why, sizeof why) && strstr(why, "not a file"), "a directory: %s", why);
    CHECK(!np_path_trusted("relative/path", false, why, sizeof why), "relative");
    CHECK(!np_path_trusted("/nonexistent-np/x", false, why, sizeof why), "missing");

    /* Below a trusted directory, each property in turn. /usr/local is root's. */
    if (geteuid() != 0) return;
    snprintf(dir, sizeof dir, "/usr/local/np-loader-test-%ld", (long)getpid());
    mkdir(dir, 0755);
    chmod(dir, 0755);
    snprintf(file, sizeof file, "%s/f", dir);
    write_file(file, "x", 1, 0644);
    CHECK(np_path_trusted(file, true, why, sizeof why), "plain: %s", why);
    chmod(file, 0664);
    CHECK(!np_path_trusted(file, true, why, sizeof why) && strstr(why, "writable by other"), "g+w: %s", why);
    chmod(file, 0600);
    CHECK(np_path_trusted(file, false, why, sizeof why), "0600 private: %s", why);
    CHECK(!np_path_trusted(file, true, why, sizeof why) && strstr(why, "not readable"), "0600 for all: %s", why);
    chmod(file, 0644);
    CHECK(chown(file, 12345, 12345) == 0, "chown");
    CHECK(!np_path_trusted(file, true, why, sizeof why) && strstr(why, "owned by another"), "owner: %s", why);
    CHECK(chown(file, 0, 0) == 0, "chown back");
    chmod(dir, 01777);
    CHECK(!np_path_trusted(file, true, why, sizeof why), "sticky parent: %s", why);
    chmod(dir, 0711);
    CHECK(np_path_trusted(file, true, why, sizeof why), "searchable parent: %s", why);
    chmod(dir, 0700);
    CHECK(!np_path_trusted(file, true, why, sizeof why), "private parent: %s", why);
    chmod(dir, 0755);
    char link[420];
    snprintf(link, sizeof link, "%s/l", dir);
    CHECK(symlink(file, link) == 0, "symlink");
    CHECK(!np_path_trusted(link, true, why, sizeof why) && strstr(why, "symlink"), "symlink: %s", why);
    unlink(link);
    unlink(file);
    rmdir(dir);
}

static char *b64decode(const char *s, size_t *outlen)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    char *out = malloc(n);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *p = strchr(alphabet, s[i]);
        if (!p) { free(out); return NULL; }
        acc = (acc << 6) | (unsigned)(p - alphabet);
        bits += 6;
        if (bits >= 8) { bits -= 8; out[o++] = (char)((acc >> bits) & 0xff); }
    }
    *outlen = o;
    return out;
}

static void test_beside(void)
{
    char lib[400], loader[400], token[8192], why[512];
    size_t len;
    const char *src = np_loader_source(&len);
    CHECK(len > 100 && !strncmp(src, "// nodeprof loader", 18), "source");
    if (geteuid() != 0) return;
    char dir[64];
    snprintf(dir, sizeof dir, "/usr/local/np-loader-beside-%ld", (long)getpid());
    mkdir(dir, 0755);
    chmod(dir, 0755);
    snprintf(lib, sizeof lib, "%s/libx.so", dir);
    snprintf(loader, sizeof loader, "%s/" NP_LOADER_NAME, dir);
    write_file(lib, "", 0, 0755);
    write_file(loader, src, len, 0644);
    CHECK(np_loader_token(lib, token, sizeof token, why, sizeof why) == NP_LOADER_BESIDE, "%s", why);
    char want[420];
    snprintf(want, sizeof want, "--require=%s", loader);
    CHECK_STR(token, want);
    CHECK(np_nodeopts_is_ours(token, strlen(token)), "ours: %s", token);
    /* Another build's (or a tampered) loader is not used. */
    write_file(loader, "// nodeprof loader: other\n", 26, 0644);
    CHECK(np_loader_token(lib, token, sizeof token, why, sizeof why) != NP_LOADER_BESIDE, "stale loader");
    CHECK(strstr(why, "not this build's loader") || strstr(why, "/run/"), "why: %s", why);
    unlink(loader);
    unlink(lib);
    rmdir(dir);
}

/* Not root, nothing trusted beside the library and no /run/nodeprof (an
 * empty /run of a private mount namespace): the data: URL, which decodes
 * to the loader itself. */
static void test_data_url_as_nobody(void)
{
    int fds[2];
    if (geteuid() != 0 || pipe(fds)) return;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        char token[8192], why[512];
        int kind = -1;
        bool empty_run = unshare(CLONE_NEWNS) == 0 && mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0 &&
                         mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") == 0;
        if (empty_run && setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0)
            kind = np_loader_token("/var/tmp/libx.so", token, sizeof token, why, sizeof why);
        if (kind != NP_LOADER_DATA) token[0] = '\0';
        ssize_t w = write(fds[1], token, strlen(token));
        (void)w;
        _exit(kind == NP_LOADER_DATA ? 0 : 1);
    }
    close(fds[1]);
    char token[8192] = { 0 };
    size_t got = 0;
    ssize_t r;
    while ((r = read(fds[0], token + got, sizeof token - 1 - got)) > 0) got += (size_t)r;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "kind as nobody");
    CHECK(np_nodeopts_is_ours(token, strlen(token)), "ours: %.80s", token);
    const char *prefix = NP_NODEOPTS_IMPORT_PREFIX;
    CHECK(!strncmp(token, prefix, strlen(prefix)), "prefix");
    size_t len, srclen;
    char *decoded = b64decode(token + strlen(prefix), &len);
    const char *src = np_loader_source(&srclen);
    CHECK(decoded && len == srclen && !memcmp(decoded, src, len), "decodes to the loader");
    free(decoded);
}

int main(void)
{
    make_base();
    test_trusted();
    test_beside();
    test_data_url_as_nobody();
    rmdir(base);
    return END();
}
