#include "common/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/outfile.h"

#define MARKER_MAGIC "nodeprof-export 1\n"

int np_spool_format(const struct np_s3_meta *m, char *out, size_t len)
{
    int n = snprintf(out, len, MARKER_MAGIC "host=%s\npid=%ld\nnode=%s\nkind=%s\nstart=%s\nend=%s\nlabels=%s\nkeep_local=%d\n",
                     m->host, m->pid, m->node_version, m->kind, m->start, m->end, m->labels, m->keep_local ? 1 : 0);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

static void take(char *field, size_t size, const char *value, size_t len)
{
    if (len >= size) len = size - 1;
    memcpy(field, value, len);
    field[len] = '\0';
}

int np_spool_parse(const char *text, struct np_s3_meta *m)
{
    memset(m, 0, sizeof *m);
    m->keep_local = true;
    if (strncmp(text, MARKER_MAGIC, strlen(MARKER_MAGIC))) return -1;
    for (const char *line = text + strlen(MARKER_MAGIC); *line; ) {
        size_t len = strcspn(line, "\n"), key = strcspn(line, "=");
        if (key < len) {
            const char *v = line + key + 1;
            size_t vlen = len - key - 1;
#define FIELD(name, f) if (key == strlen(name) && !strncmp(line, name, key)) take(m->f, sizeof m->f, v, vlen)
            FIELD("host", host);
            FIELD("node", node_version);
            FIELD("kind", kind);
            FIELD("start", start);
            FIELD("end", end);
            FIELD("labels", labels);
#undef FIELD
            if (key == 3 && !strncmp(line, "pid", 3)) m->pid = strtol(v, NULL, 10);
            if (key == 10 && !strncmp(line, "keep_local", 10)) m->keep_local = *v != '0';
        }
        line += len + (line[len] == '\n');
    }
    return 0;
}

static int marker_name(const char *name, char *out, size_t len)
{
    int n = snprintf(out, len, ".%s" NP_SPOOL_SUFFIX, name);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int np_spool_mark(int dirfd, const char *dir, const char *name, const struct np_s3_meta *m,
                  char *err, size_t errlen)
{
    char marker[300], text[2048];
    int n = np_spool_format(m, text, sizeof text);
    if (marker_name(name, marker, sizeof marker) || n < 0) {
        snprintf(err, errlen, "%s: name or metadata too long for the export spool", name);
        return -1;
    }
    return np_write_atomic_buf_at(dirfd, dir, marker, 0600, text, (size_t)n, err, errlen);
}

static int read_marker(int dirfd, const char *marker, struct np_spool_entry *e)
{
    int fd = openat(dirfd, marker, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -1;
    struct stat sb;
    char text[4096];
    ssize_t n = -1;
    if (!fstat(fd, &sb) && S_ISREG(sb.st_mode) && sb.st_uid == geteuid() && sb.st_size < (off_t)sizeof text)
        n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n < 0) return -1;
    text[n] = '\0';
    size_t len = strlen(marker) - 1 - strlen(NP_SPOOL_SUFFIX);
    if (len == 0 || len >= sizeof e->name) return -1;
    memcpy(e->name, marker + 1, len);
    e->name[len] = '\0';
    return np_spool_parse(text, &e->meta);
}

static int oldest_first(const void *a, const void *b)
{
    const struct np_spool_entry *x = a, *y = b;
    int c = strcmp(x->meta.end, y->meta.end);
    return c ? c : strcmp(x->name, y->name);
}

static bool is_marker(const char *d)
{
    size_t len = strlen(d), slen = strlen(NP_SPOOL_SUFFIX);
    return d[0] == '.' && len > slen + 1 && !strcmp(d + len - slen, NP_SPOOL_SUFFIX);
}

long np_spool_list(int dirfd, struct np_spool_entry **out)
{
    *out = NULL;
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) { if (fd >= 0) close(fd); return -1; }
    long n = 0, cap = 0;
    struct np_spool_entry *v = NULL;
    for (struct dirent *de; (de = readdir(d)); ) {
        if (!is_marker(de->d_name)) continue;
        if (n == cap) {
            long ncap = cap ? cap * 2 : 16;
            struct np_spool_entry *nv = realloc(v, (size_t)ncap * sizeof *v);
            if (!nv) break;
            v = nv;
            cap = ncap;
        }
        if (read_marker(dirfd, de->d_name, &v[n]) == 0) n++;
    }
    closedir(d);
    if (n) qsort(v, (size_t)n, sizeof *v, oldest_first);
    *out = v;
    return n;
}

int np_spool_done(int dirfd, const char *name, int delete_file)
{
    char marker[300];
    if (marker_name(name, marker, sizeof marker)) { errno = ENAMETOOLONG; return -1; }
    if (delete_file && unlinkat(dirfd, name, 0) && errno != ENOENT) return -1;
    return unlinkat(dirfd, marker, 0) && errno != ENOENT ? -1 : 0;
}
