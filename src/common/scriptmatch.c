#include "common/scriptmatch.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* base without a script extension ("server.js" -> "server"), into out;
 * NULL if it has none ("hello.js.bak" keeps its name). */
static const char *stem(const char *base, char *out, size_t len)
{
    static const char *const exts[] = { ".js", ".cjs", ".mjs", ".ts", ".cts", ".mts" };
    const char *dot = strrchr(base, '.');
    size_t k = 0;
    while (dot && k < sizeof exts / sizeof *exts && strcmp(dot, exts[k])) k++;
    if (!dot || dot == base || k == sizeof exts / sizeof *exts) return NULL;
    size_t n = (size_t)(dot - base);
    if (n >= len) return NULL;
    memcpy(out, base, n);
    out[n] = '\0';
    return out;
}

/* "a/./b/../c" -> "a/c", in place, for an absolute path. */
static void normalize(char *path)
{
    char *out = path, *in = path;
    while (*in) {
        while (*in == '/') in++;
        size_t n = strcspn(in, "/");
        if (n == 0) break;
        if (n == 1 && in[0] == '.') {
            /* nothing */
        } else if (n == 2 && in[0] == '.' && in[1] == '.') {
            while (out > path && *--out != '/') {}
        } else {
            *out++ = '/';
            memmove(out, in, n);
            out += n;
        }
        in += n;
    }
    if (out == path) *out++ = '/';
    *out = '\0';
}

bool np_script_match(const char *pattern, const char *script, const char *cwd)
{
    if (!pattern || !*pattern || !script) return false;
    if (!strchr(pattern, '/')) {
        const char *slash = strrchr(script, '/');
        const char *base = slash ? slash + 1 : script;
        char bare[NAME_MAX + 1];
        return fnmatch(pattern, base, 0) == 0 ||
               (stem(base, bare, sizeof bare) && fnmatch(pattern, bare, 0) == 0);
    }
    if (pattern[0] == '/' || pattern[0] == '*') return fnmatch(pattern, script, 0) == 0;
    char full[PATH_MAX * 2];
    if (!cwd || snprintf(full, sizeof full, "%s/%s", cwd, pattern) >= (int)sizeof full) return false;
    normalize(full);
    return fnmatch(full, script, 0) == 0;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int np_script_resolve(const char *argv1, char *out, size_t len)
{
    static const char *const tries[] = { "", ".js", ".cjs", ".mjs", "/index.js" };
    char path[PATH_MAX], real[PATH_MAX];
    snprintf(out, len, "%s", argv1);
    for (size_t i = 0; i < sizeof tries / sizeof *tries; i++) {
        if (snprintf(path, sizeof path, "%s%s", argv1, tries[i]) >= (int)sizeof path) return -1;
        if (is_file(path) && realpath(path, real) && strlen(real) < len) {
            memcpy(out, real, strlen(real) + 1);
            return 0;
        }
    }
    return -1;
}

bool np_main_script_matches(const char *pattern, const char *argv1)
{
    if (!argv1 || !*argv1) return false;
    char cwd[PATH_MAX], script[PATH_MAX];
    const char *here = getcwd(cwd, sizeof cwd) ? cwd : NULL;
    np_script_resolve(argv1, script, sizeof script);
    return np_script_match(pattern, script, here) || np_script_match(pattern, argv1, here);
}
