#include "common/envfile.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENVFILE_MAX (1u << 20)
#define KEY "NODE_OPTIONS"

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* [*s, *e) without surrounding white space. */
static void trim(const char **s, const char **e)
{
    while (*s < *e && is_space(**s)) (*s)++;
    while (*e > *s && is_space((*e)[-1])) (*e)--;
}

static const char *find(const char *s, const char *end, char c)
{
    const char *p = memchr(s, c, (size_t)(end - s));
    return p ? p : end;
}

/* Stores [s, e) into out, "\n" expanded when asked. */
static int store(const char *s, const char *e, int expand, char *out, size_t outlen)
{
    size_t n = 0;
    for (; s < e; s++) {
        char c = *s;
        if (expand && c == '\\' && s + 1 < e && s[1] == 'n') { c = '\n'; s++; }
        if (n + 1 >= outlen) return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return 1;
}

static int key_is_ours(const char *ks, const char *ke)
{
    trim(&ks, &ke);
    if ((size_t)(ke - ks) > 7 && !strncmp(ks, "export ", 7)) {
        ks += 7;
        trim(&ks, &ke);
    }
    return (size_t)(ke - ks) == strlen(KEY) && !strncmp(ks, KEY, strlen(KEY));
}

int np_envfile_parse(const char *text, size_t len, char *out, size_t outlen)
{
    /* node drops every '\r' first */
    char *buf = malloc(len + 1);
    if (!buf) return 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] != '\r') buf[n++] = text[i];
    const char *s = buf, *end = buf + n;
    int found = 0;
    while (s < end) {
        while (s < end && is_space(*s)) s++;
        if (s == end) break;
        if (*s == '#') { s = find(s, end, '\n'); continue; }
        const char *eol = find(s, end, '\n');
        const char *eq = find(s, eol, '=');
        const char *ks = s, *ke = eq;
        trim(&ks, &ke);
        if (eq == eol || ks == ke) { s = eol; continue; } /* not KEY=...: the line is skipped */
        int ours = key_is_ours(ks, ke);
        s = eq + 1;
        while (s < end && (*s == ' ' || *s == '\t')) s++;
        const char *vs, *ve, *next;
        int expand = 0;
        char q = s < end ? *s : 0;
        const char *close = (q == '"' || q == '\'' || q == '`') ? find(s + 1, end, q) : end;
        if (s == end) {
            vs = ve = next = end;
        } else if (close != end) { /* "value", possibly over several lines */
            vs = s + 1;
            ve = close;
            expand = q == '"';
            next = find(close + 1, end, '\n');
        } else if (q == '"' || q == '\'' || q == '`') { /* no closing quote: the line, quote included */
            vs = s;
            ve = find(s, end, '\n');
            next = ve;
        } else { /* KEY=value # comment */
            vs = s;
            next = find(s, end, '\n');
            ve = find(s, next, '#');
            trim(&vs, &ve);
        }
        if (ours) found = store(vs, ve, expand, out, outlen); /* the last one counts, fitting or not */
        s = next;
    }
    free(buf);
    return found;
}

/* One file's NODE_OPTIONS; a file that is missing, not regular or too big
 * gives none (node itself reports a missing --env-file). */
static int from_file(const char *path, char *out, size_t outlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return 0;
    struct stat st;
    char *text = NULL;
    int r = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= ENVFILE_MAX &&
        (text = malloc((size_t)st.st_size + 1))) {
        size_t got = 0;
        ssize_t k;
        while (got < (size_t)st.st_size && (k = read(fd, text + got, (size_t)st.st_size - got)) > 0) got += (size_t)k;
        r = np_envfile_parse(text, got, out, outlen);
    }
    free(text);
    close(fd);
    return r;
}

static const char *flag_path(char *const *argv, int argc, int *i)
{
    const char *a = argv[*i];
    if (strncmp(a, "--env-file", 10)) return NULL;
    const char *eq = strchr(a, '=');
    if (eq) return eq + 1;
    if (strcmp(a, "--env-file") && strcmp(a, "--env-file-if-exists")) return NULL;
    if (*i + 1 >= argc) return NULL;
    return argv[++*i];
}

int np_envfile_node_options(int argc, char *const *argv, char *out, size_t outlen)
{
    int found = 0;
    char *one = malloc(outlen);
    if (!one) return 0;
    for (int i = 1; i < argc && argv[i] && strcmp(argv[i], "--"); i++) {
        const char *path = flag_path(argv, argc, &i);
        int r = path ? from_file(path, one, outlen) : 0;
        if (r < 0) { free(one); return -1; }
        if (r > 0) { memcpy(out, one, strlen(one) + 1); found = 1; }
    }
    free(one);
    return found;
}
