#include "rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"

void np_rundir_path(char *out, size_t len)
{
    snprintf(out, len, "/tmp/nodeprof-%u", (unsigned)geteuid());
}

int np_rundir_ensure(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(dir, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077)) {
        snprintf(err, errlen, "refusing %s: not a private directory owned by uid %u",
                 dir, (unsigned)geteuid());
        return -1;
    }
    return 0;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Writes s as a JavaScript string literal (JSON rules suffice). */
static int js_quote(const char *s, char *out, size_t len)
{
    size_t n = 0;
    if (len < 3) return -1;
    out[n++] = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (n + 7 >= len) return -1;
        if (c == '"' || c == '\\') { out[n++] = '\\'; out[n++] = (char)c; }
        else if (c < 0x20) n += (size_t)snprintf(out + n, len - n, "\\u%04x", c);
        else out[n++] = (char)c;
    }
    out[n++] = '"';
    out[n] = '\0';
    return 0;
}

/* True if path is a regular file of ours whose content equals want. */
static int loader_is_current(const char *path, const char *want, size_t wantlen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st;
    char buf[8192];
    int same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
               (size_t)st.st_size == wantlen && wantlen <= sizeof buf &&
               read(fd, buf, sizeof buf) == (ssize_t)wantlen && !memcmp(buf, want, wantlen);
    close(fd);
    return same;
}

int np_loader_ensure(const char *dir, const char *lib_path, char *out, size_t outlen,
                     char *err, size_t errlen)
{
    char quoted[4096 * 2];
    if (js_quote(lib_path, quoted, sizeof quoted)) {
        snprintf(err, errlen, "library path too long");
        return -1;
    }
    char text[sizeof quoted + 512];
    /* The loader runs before the app and must never break it: a failed load
     * is one line on stderr, and the app goes on. */
    int n = snprintf(text, sizeof text,
        "// nodeprof agent loader (written by libnodeprof.so; safe to delete)\n"
        "try { process.dlopen(module, %s); } catch (e) {\n"
        "  try { require('fs').writeSync(2, 'nodeprof: cannot load the agent: ' + e.message + '\\n'); } catch (_) {}\n"
        "}\n", quoted);
    if (n <= 0 || (size_t)n >= sizeof text) {
        snprintf(err, errlen, "library path too long");
        return -1;
    }
    int m = snprintf(out, outlen, "%s/agent-%016llx.js", dir, (unsigned long long)fnv1a(lib_path));
    if (m <= 0 || (size_t)m >= outlen) {
        snprintf(err, errlen, "runtime directory path too long");
        return -1;
    }
    if (loader_is_current(out, text, (size_t)n)) return 0;
    return np_write_atomic_buf(out, 0600, text, (size_t)n, err, errlen);
}
