/* Finding and loading a script's source map (smlocate.h). */
#include "formats/smlocate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_LEN 4096

struct map_file {
    char *path;       /* as found: DIR/sub/name.js.map */
    const char *name; /* its last component */
};

struct np_smdir {
    struct map_file *v;
    size_t n, cap;
};

/* ---- reading files ----------------------------------------------------------- */

/* Reads a regular file whole, refusing anything else (a FIFO planted where
 * a map should be must not stall us) and anything over max bytes. */
static int read_regular(const char *path, size_t max, char **data, size_t *len, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        snprintf(why, whylen, "%s: %s", path, !S_ISREG(st.st_mode) ? "not a regular file" : "too large");
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size, n = 0;
    char *buf = malloc(size + 1);
    while (buf && n < size) {
        ssize_t got = read(fd, buf + n, size - n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        n += (size_t)got;
    }
    close(fd);
    if (!buf || n < size) {
        snprintf(why, whylen, "%s: %s", path, buf ? "cannot read" : "out of memory");
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

/* ---- URLs and paths ----------------------------------------------------------- */

static int hex(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes n bytes of s into out (NUL-terminated); -1 if it does
 * not fit or decodes a NUL. */
static int percent_decode(const char *s, size_t n, char *out, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            c = hex(s[i + 1]) * 16 + hex(s[i + 2]);
            i += 2;
        }
        if (c == 0 || o + 1 >= len) return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

int np_url_to_path(const char *url, char *path, size_t len)
{
    if (url[0] == '/') return snprintf(path, len, "%s", url) < (int)len ? 0 : -1;
    if (strncmp(url, "file://", 7)) return -1;
    const char *p = url + 7;
    if (!strncmp(p, "localhost/", 10)) p += 9;
    if (*p != '/') return -1; /* file://host/... is not local */
    size_t n = strcspn(p, "?#");
    return percent_decode(p, n, path, len);
}

static int has_scheme(const char *s)
{
    size_t i = 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return 0;
    while (s[i] && (s[i] == '+' || s[i] == '-' || s[i] == '.' || (s[i] >= 'a' && s[i] <= 'z') ||
                    (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
        i++;
    return s[i] == ':' && i > 1; /* one letter would be a Windows drive */
}

/* The directory part of path, with its trailing slash ("/a/b/" of "/a/b/c"). */
static size_t dir_length(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) + 1 : 0;
}

/* ---- the sourceMappingURL comment ----------------------------------------------- */

/* The value of the script's last sourceMappingURL comment; 0 if none. */
static int mapping_url(const char *text, size_t len, const char **value, size_t *n)
{
    static const char key[] = "sourceMappingURL=";
    const size_t klen = sizeof key - 1;
    for (size_t i = len; i >= klen + 4; i--) {
        const char *k = text + i - klen;
        if (memcmp(k, key, klen)) continue;
        /* "//# " or "//@ " (the old form) right before the key. */
        if (k[-4] != '/' || k[-3] != '/' || (k[-2] != '#' && k[-2] != '@') || (k[-1] != ' ' && k[-1] != '\t'))
            continue;
        const char *v = k + klen;
        size_t m = 0;
        while (v + m < text + len && !strchr(" \t\r\n", v[m]) && v[m]) m++;
        if (m == 0) return 0;
        *value = v;
        *n = m;
        return 1;
    }
    return 0;
}

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Decodes base64 (padding optional) into a new buffer. */
static char *base64_decode(const char *s, size_t n, size_t *outlen)
{
    char *out = malloc(n / 4 * 3 + 4);
    if (!out) return NULL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        int d = base64_value((unsigned char)s[i]);
        if (d < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

/* A data: URL's content: "data:[type][;param...][;base64],payload". */
static char *data_url_content(const char *v, size_t n, size_t *outlen, char *why, size_t whylen)
{
    const char *comma = memchr(v, ',', n);
    if (!comma) {
        snprintf(why, whylen, "inline source map: a data: URL without a comma");
        return NULL;
    }
    size_t head = (size_t)(comma - v), body = n - head - 1;
    int b64 = head >= 7 && !memcmp(comma - 7, ";base64", 7);
    char *out = NULL;
    if (b64) {
        out = base64_decode(comma + 1, body, outlen);
    } else if ((out = malloc(body + 1)) && percent_decode(comma + 1, body, out, body + 1) == 0) {
        *outlen = strlen(out);
    } else {
        free(out);
        out = NULL;
    }
    if (!out) snprintf(why, whylen, "inline source map: bad data: URL");
    return out;
}

/* ---- loading ------------------------------------------------------------------ */

static enum np_locate_result parse_into(const char *text, size_t len, const char *what, struct np_located *out,
                                        char *why, size_t whylen)
{
    char err[300];
    out->map = np_sourcemap_parse(text, len, err, sizeof err);
    if (out->map) return NP_LOCATE_FOUND;
    snprintf(why, whylen, "%s: %s", what, err);
    return NP_LOCATE_FAILED;
}

static enum np_locate_result load_map_file(const char *path, struct np_located *out, char *why, size_t whylen)
{
    char *text;
    size_t len;
    if (read_regular(path, NP_SOURCEMAP_MAX_BYTES, &text, &len, why, whylen)) return NP_LOCATE_FAILED;
    if (snprintf(out->base, sizeof out->base, "%s", path) >= (int)sizeof out->base) {
        free(text);
        snprintf(why, whylen, "%s: path too long", path);
        return NP_LOCATE_FAILED;
    }
    enum np_locate_result r = parse_into(text, len, path, out, why, whylen);
    free(text);
    return r;
}

/* The map named by the comment's value v (n bytes) in the script at path. */
static enum np_locate_result load_named(const char *script, const char *v, size_t n, struct np_located *out,
                                        char *why, size_t whylen)
{
    char ref[PATH_LEN], path[PATH_LEN];
    if (n >= 5 && !memcmp(v, "data:", 5)) {
        size_t len;
        char *text = data_url_content(v, n, &len, why, whylen);
        if (!text) return NP_LOCATE_FAILED;
        snprintf(out->base, sizeof out->base, "%s", script);
        char what[PATH_LEN + 32];
        snprintf(what, sizeof what, "inline source map of %s", script);
        enum np_locate_result r = parse_into(text, len, what, out, why, whylen);
        free(text);
        return r;
    }
    if (snprintf(ref, sizeof ref, "%.*s", (int)n, v) >= (int)sizeof ref) {
        snprintf(why, whylen, "%s: its sourceMappingURL is too long", script);
        return NP_LOCATE_FAILED;
    }
    if (has_scheme(ref)) {
        if (np_url_to_path(ref, path, sizeof path) == 0) return load_map_file(path, out, why, whylen);
        snprintf(why, whylen, "%s: its source map %.200s is not a local file", script, ref);
        return NP_LOCATE_FAILED;
    }
    size_t dl = ref[0] == '/' ? 0 : dir_length(script);
    size_t rl = strcspn(ref, "?#");
    if (dl + rl + 1 > sizeof path || percent_decode(ref, rl, path + dl, sizeof path - dl)) {
        snprintf(why, whylen, "%s: bad sourceMappingURL", script);
        return NP_LOCATE_FAILED;
    }
    memcpy(path, script, dl);
    return load_map_file(path, out, why, whylen);
}

/* ---- the search directory ------------------------------------------------------- */

static int add_map_file(struct np_smdir *d, const char *path)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        struct map_file *grown = realloc(d->v, cap * sizeof *grown);
        if (!grown) return -1;
        d->v = grown;
        d->cap = cap;
    }
    char *copy = strdup(path);
    if (!copy) return -1;
    d->v[d->n].path = copy;
    d->v[d->n].name = copy + dir_length(copy);
    d->n++;
    return 0;
}

struct dir_stack {
    char **v;
    size_t n, cap;
};

static int push_dir(struct dir_stack *s, const char *path)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **grown = realloc(s->v, cap * sizeof *grown);
        if (!grown) return -1;
        s->v = grown;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(path))) return -1;
    s->n++;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && !strcmp(s + n - k, suffix);
}

static size_t depth_of(const char *path)
{
    size_t n = 0;
    for (; *path; path++) n += *path == '/';
    return n;
}

/* Lists one directory: maps are recorded, subdirectories pushed. */
static int scan_one(struct np_smdir *d, struct dir_stack *todo, const char *dir, size_t base_depth,
                    size_t *entries)
{
    DIR *dp = opendir(dir);
    if (!dp) return 0; /* unreadable subdirectories are skipped */
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(dp)) && ++*entries <= NP_SMDIR_MAX_ENTRIES) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[PATH_LEN];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) continue;
        struct stat st;
        if (lstat(path, &st)) continue;
        if (S_ISDIR(st.st_mode) && depth_of(path) - base_depth < NP_SMDIR_MAX_DEPTH) rc = push_dir(todo, path);
        else if (ends_with(e->d_name, ".map") && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
            rc = add_map_file(d, path);
    }
    closedir(dp);
    return rc;
}

struct np_smdir *np_smdir_open(const char *dir, char *err, size_t errlen)
{
    char root[PATH_LEN];
    struct stat st;
    if (!realpath(dir, root) || stat(root, &st) || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "--source-maps %s: %s", dir, errno ? strerror(errno) : "not a directory");
        return NULL;
    }
    struct np_smdir *d = calloc(1, sizeof *d);
    struct dir_stack todo = { 0 };
    size_t entries = 0, base_depth = depth_of(root);
    int rc = d && push_dir(&todo, root) == 0 ? 0 : -1;
    while (rc == 0 && todo.n > 0 && entries <= NP_SMDIR_MAX_ENTRIES) {
        char *next = todo.v[--todo.n];
        rc = scan_one(d, &todo, next, base_depth, &entries);
        free(next);
    }
    for (size_t i = 0; i < todo.n; i++) free(todo.v[i]);
    free(todo.v);
    if (rc) {
        np_smdir_free(d);
        snprintf(err, errlen, "--source-maps %s: out of memory", dir);
        return NULL;
    }
    return d;
}

void np_smdir_free(struct np_smdir *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) free(d->v[i].path);
    free(d->v);
    free(d);
}

/* How many directory names a and b share, counted up from their file
 * names (which the caller has matched). */
static size_t shared_dirs(const char *a, size_t la, const char *b, size_t lb)
{
    size_t shared = 0;
    while (la > 0 && lb > 0 && a[la - 1] == b[lb - 1]) {
        if (a[la - 1] == '/') shared++;
        la--;
        lb--;
    }
    return shared;
}

/* The map under the search directory that fits the script best; NULL if
 * none does or two fit equally well (reported in why). */
static const char *best_in_dir(const struct np_smdir *d, const char *script, char *why, size_t whylen)
{
    const char *name = script + dir_length(script);
    size_t nl = strlen(name), sl = dir_length(script);
    const char *best = NULL;
    size_t best_score = 0;
    int tie = 0;
    for (size_t i = 0; i < d->n; i++) {
        const struct map_file *m = &d->v[i];
        if (strncmp(m->name, name, nl) || strcmp(m->name + nl, ".map")) continue;
        size_t score = shared_dirs(script, sl, m->path, (size_t)(m->name - m->path));
        if (!best || score > best_score) {
            best = m->path;
            best_score = score;
            tie = 0;
        } else if (score == best_score) {
            tie = 1;
        }
    }
    if (best && tie) {
        snprintf(why, whylen, "%s: several maps in the search directory fit equally well", script);
        return NULL;
    }
    return best;
}

/* ---- public ------------------------------------------------------------------- */

enum np_locate_result np_sourcemap_locate(const char *url, const struct np_smdir *dir,
                                          struct np_located *out, char *why, size_t whylen)
{
    char script[PATH_LEN], ignored[16];
    memset(out, 0, sizeof *out);
    why[0] = '\0';
    if (np_url_to_path(url, script, sizeof script)) return NP_LOCATE_NONE;
    /* A script that is gone or unreadable is not its map's fault (the
     * profile may come from another machine): no line about it. */
    char *text = NULL;
    size_t len = 0;
    if (read_regular(script, NP_SOURCEMAP_MAX_BYTES, &text, &len, ignored, sizeof ignored)) text = NULL;
    enum np_locate_result r = NP_LOCATE_NONE;
    const char *found = dir ? best_in_dir(dir, script, why, whylen) : NULL;
    const char *v;
    size_t n;
    /* A map kept apart from its script still names its sources relative to
     * where its generator wrote it, beside the script. */
    if (found && (r = load_map_file(found, out, why, whylen)) == NP_LOCATE_FOUND)
        snprintf(out->base, sizeof out->base, "%s", script);
    else if (why[0]) r = NP_LOCATE_FAILED;
    else if (text && mapping_url(text, len, &v, &n)) r = load_named(script, v, n, out, why, whylen);
    if (r == NP_LOCATE_FOUND) {
        out->script = text;
        out->script_len = len;
    } else {
        free(text);
    }
    return r;
}

/* ---- sources ------------------------------------------------------------------ */

/* Takes "." and ".." out of an absolute path, in place. */
static void normalize_path(char *path)
{
    char *out = path + 1, *in = path + 1;
    while (*in) {
        size_t n = strcspn(in, "/");
        if (n == 0 || (n == 1 && in[0] == '.')) {
            /* skip "//" and "/./" */
        } else if (n == 2 && in[0] == '.' && in[1] == '.') {
            if (out > path + 1) {
                out--; /* the slash after the previous component */
                while (out > path + 1 && out[-1] != '/') out--;
            }
        } else {
            memmove(out, in, n);
            out += n;
            if (in[n] == '/') *out++ = '/';
        }
        in += n + (in[n] == '/');
    }
    *out = '\0';
}

static int file_url(const char *path, char *out, size_t len)
{
    static const char unsafe[] = "\"#%<>?`{}\\";
    size_t o = (size_t)snprintf(out, len, "file://");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        int escape = *c <= 0x20 || *c >= 0x7f || strchr(unsafe, *c);
        if (o + 4 > len) return -1;
        if (escape) o += (size_t)snprintf(out + o, len - o, "%%%02X", *c);
        else out[o++] = (char)*c;
    }
    out[o] = '\0';
    return 0;
}

int np_sm_resolve_source(const char *base, const char *source, int as_url, char *out, size_t len)
{
    char path[PATH_LEN];
    if (has_scheme(source)) {
        if (np_url_to_path(source, path, sizeof path) != 0)
            return snprintf(out, len, "%s", source) < (int)len ? 0 : -1;
    } else {
        size_t dl = source[0] == '/' ? 0 : dir_length(base);
        if (dl + strlen(source) + 1 > sizeof path || (dl == 0 && source[0] != '/')) return -1;
        memcpy(path, base, dl);
        strcpy(path + dl, source);
    }
    normalize_path(path);
    if (as_url) return file_url(path, out, len);
    return snprintf(out, len, "%s", path) < (int)len ? 0 : -1;
}
