#include "common/loader.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader_asset.h"
#include "common/nodeopts.h"
#include "common/outfile.h"

#define RUN_DIR "/run/nodeprof"

const char *np_loader_source(size_t *len)
{
    *len = sizeof np_asset_nodeprof_loader_cjs - 1;
    return np_asset_nodeprof_loader_cjs;
}

static bool owner_ok(uid_t uid)
{
    return uid == 0 || uid == geteuid();
}

/* One component: a directory (or, last, a regular file) that is ours or
 * root's, that nobody else may write, and, if asked, that all may read. */
static bool component_ok(const char *path, bool last, bool world_readable, char *why, size_t whylen)
{
    struct stat st;
    const char *problem = NULL;
    if (lstat(path, &st) != 0) problem = strerror(errno);
    else if (S_ISLNK(st.st_mode)) problem = "a symlink";
    else if (last ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode)) problem = last ? "not a file" : "not a directory";
    else if (!owner_ok(st.st_uid)) problem = "owned by another user";
    else if (st.st_mode & (S_IWGRP | S_IWOTH)) problem = "writable by other users";
    else if (world_readable && !(st.st_mode & (last ? S_IROTH : S_IXOTH))) problem = "not readable by every user";
    if (problem) snprintf(why, whylen, "%s: %s", path, problem);
    return problem == NULL;
}

bool np_path_trusted(const char *path, bool world_readable, char *why, size_t whylen)
{
    char prefix[PATH_MAX];
    size_t len = strlen(path);
    if (path[0] != '/' || len >= sizeof prefix) {
        snprintf(why, whylen, "%s: not an absolute path", path);
        return false;
    }
    memcpy(prefix, path, len + 1);
    if (!component_ok("/", false, world_readable, why, whylen)) return false;
    for (char *p = prefix + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        bool ok = component_ok(prefix, saved == '\0', world_readable, why, whylen);
        *p = saved;
        if (!ok) return false;
        if (saved == '\0') return true;
    }
}

/* NODE_OPTIONS splits on spaces and treats quotes and backslashes: a path
 * with any of them would need quoting, which we do not do. */
static bool plain_path(const char *path)
{
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '\\' || *p == '\'' || *p == 0x7f) return false;
    return true;
}

/* The file at path holds exactly this build's loader. */
static bool holds_loader(const char *path)
{
    size_t want;
    const char *src = np_loader_source(&want);
    char buf[sizeof np_asset_nodeprof_loader_cjs + 1];
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return false;
    ssize_t got = read(fd, buf, sizeof buf);
    close(fd);
    return got == (ssize_t)want && !memcmp(buf, src, want);
}

static bool usable(const char *path, char *why, size_t whylen)
{
    if (!plain_path(path)) {
        snprintf(why, whylen, "%s: has characters NODE_OPTIONS would need quoted", path);
        return false;
    }
    if (!np_path_trusted(path, true, why, whylen)) return false;
    if (!holds_loader(path)) {
        snprintf(why, whylen, "%s: not this build's loader", path);
        return false;
    }
    return true;
}

static bool beside_library(const char *lib_path, char *out, size_t outlen, char *why, size_t whylen)
{
    const char *slash = strrchr(lib_path, '/');
    if (!slash) return false;
    int n = snprintf(out, outlen, "%.*s/" NP_LOADER_NAME, (int)(slash - lib_path), lib_path);
    return n > 0 && (size_t)n < outlen && usable(out, why, whylen);
}

/* /run is root's, so is what we make in it, as root only; any uid uses it
 * once it is there (a child that setpriv made nobody, say). Made readable
 * by all whatever the umask, since children may run as any uid. */
static bool in_run_dir(char *out, size_t outlen, char *why, size_t whylen)
{
    char missing[512];
    snprintf(out, outlen, RUN_DIR "/" NP_LOADER_NAME);
    if (usable(out, missing, sizeof missing)) return true;
    if (geteuid() != 0) return false;
    if (mkdir(RUN_DIR, 0755) != 0 && errno != EEXIST) return false;
    int dfd = open(RUN_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (dfd < 0 || fstat(dfd, &st) != 0 || st.st_uid != 0 || fchmod(dfd, 0755) != 0) {
        if (dfd >= 0) close(dfd);
        return false;
    }
    close(dfd);
    size_t len;
    const char *src = np_loader_source(&len);
    char err[512];
    if (np_write_atomic_buf(out, 0644, src, len, err, sizeof err) != 0 || chmod(out, 0644) != 0) {
        snprintf(why, whylen, "%s", err);
        return false;
    }
    return usable(out, why, whylen);
}

static int data_url_token(char *token, size_t len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t srclen;
    const unsigned char *src = (const unsigned char *)np_loader_source(&srclen);
    size_t n = strlen(NP_NODEOPTS_IMPORT_PREFIX);
    if (n + (srclen + 2) / 3 * 4 + 1 > len) return -1;
    memcpy(token, NP_NODEOPTS_IMPORT_PREFIX, n);
    for (size_t i = 0; i < srclen; i += 3) {
        unsigned v = (unsigned)src[i] << 16;
        if (i + 1 < srclen) v |= (unsigned)src[i + 1] << 8;
        if (i + 2 < srclen) v |= src[i + 2];
        token[n++] = b64[(v >> 18) & 63];
        token[n++] = b64[(v >> 12) & 63];
        token[n++] = i + 1 < srclen ? b64[(v >> 6) & 63] : '=';
        token[n++] = i + 2 < srclen ? b64[v & 63] : '=';
    }
    token[n] = '\0';
    return NP_LOADER_DATA;
}

int np_loader_token(const char *lib_path, char *token, size_t len, char *why, size_t whylen)
{
    char path[PATH_MAX];
    why[0] = '\0';
    int kind = 0;
    if (beside_library(lib_path, path, sizeof path, why, whylen)) kind = NP_LOADER_BESIDE;
    else if (in_run_dir(path, sizeof path, why, whylen)) kind = NP_LOADER_RUN;
    if (kind) {
        int n = snprintf(token, len, "--require=%s", path);
        if (n > 0 && (size_t)n < len) return kind;
    }
    if (data_url_token(token, len) < 0) {
        snprintf(why, whylen, "loader token too long");
        return -1;
    }
    return NP_LOADER_DATA;
}
