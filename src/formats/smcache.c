/* Located source maps kept between remaps (smcache.h). A plain array
 * searched in order: a profile names hundreds of scripts, not millions,
 * and each remap looks each one up once. */
#include "formats/smcache.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/sourcemap.h"

/* What a file was when it was read. */
struct stamp {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

struct entry {
    char *url;
    int result;               /* enum np_locate_result */
    struct np_smscript script;
    struct stamp of_script;
    bool map_is_file;         /* a map of its own, stamped too */
    struct stamp of_map;
    size_t bytes;
    uint64_t used;            /* the remap that last used it */
};

struct np_smcache {
    struct entry *entries;
    size_t n, cap;
    size_t budget, bytes;
    uint64_t remap;
    size_t reads, hits;
};

static int stamp_of(const char *path, struct stamp *s)
{
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    *s = (struct stamp){ st.st_dev, st.st_ino, st.st_size, st.st_mtim };
    return 0;
}

static bool same_stamp(const struct stamp *a, const struct stamp *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

struct np_smcache *np_smcache_new(size_t budget_bytes)
{
    struct np_smcache *c = calloc(1, sizeof *c);
    if (c) c->budget = budget_bytes;
    return c;
}

static void entry_free(struct entry *e)
{
    np_sourcemap_free(e->script.map);
    free(e->script.text);
    free(e->script.lines);
    free(e->url);
}

/* Removes entry i (the last one takes its place). */
static void drop(struct np_smcache *c, size_t i)
{
    c->bytes -= c->entries[i].bytes;
    entry_free(&c->entries[i]);
    c->entries[i] = c->entries[--c->n];
}

void np_smcache_free(struct np_smcache *c)
{
    if (!c) return;
    while (c->n) drop(c, c->n - 1);
    free(c->entries);
    free(c);
}

void np_smcache_begin(struct np_smcache *c)
{
    c->remap++;
}

static bool still_fresh(const struct entry *e, const struct stamp *now)
{
    struct stamp map;
    if (!same_stamp(&e->of_script, now)) return false;
    return !e->map_is_file || (stamp_of(e->script.base, &map) == 0 && same_stamp(&e->of_map, &map));
}

static struct entry *find(struct np_smcache *c, const char *url)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->entries[i].url, url)) return &c->entries[i];
    return NULL;
}

/* Reads the script and its map into a new entry; NULL without memory. */
static struct entry *read_entry(struct np_smcache *c, const char *url, const char *path,
                                const struct stamp *stamp, char *why, size_t whylen)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct entry *grown = realloc(c->entries, cap * sizeof *grown);
        if (!grown) return NULL;
        c->entries = grown;
        c->cap = cap;
    }
    struct entry *e = &c->entries[c->n];
    memset(e, 0, sizeof *e);
    if (!(e->url = strdup(url))) return NULL;
    struct np_located loc;
    e->result = np_sourcemap_locate(url, NULL, &loc, why, whylen);
    e->of_script = *stamp;
    if (e->result == NP_LOCATE_FOUND) {
        e->script.map = loc.map;
        memcpy(e->script.base, loc.base, sizeof e->script.base);
        e->script.text = loc.script;
        e->script.len = loc.script_len;
        e->map_is_file = strcmp(loc.base, path) != 0 && stamp_of(loc.base, &e->of_map) == 0;
    }
    e->bytes = sizeof *e + strlen(url) + 1 + e->script.len +
               (e->script.map ? np_sourcemap_bytes(e->script.map) : 0);
    c->bytes += e->bytes;
    c->n++;
    c->reads++;
    return e;
}

int np_smcache_get(struct np_smcache *c, const char *url, struct np_smscript **out, char *why, size_t whylen)
{
    char path[4096];
    struct stamp now;
    *out = NULL;
    why[0] = '\0';
    /* Not a file (node:, eval): nothing to read, nothing to keep. */
    if (np_url_to_path(url, path, sizeof path)) return NP_LOCATE_NONE;
    struct entry *e = find(c, url);
    if (stamp_of(path, &now)) { /* gone: nor what it was */
        if (e && e->used != c->remap) drop(c, (size_t)(e - c->entries));
        return NP_LOCATE_NONE;
    }
    if (e && still_fresh(e, &now)) {
        c->hits++;
    } else {
        if (e) drop(c, (size_t)(e - c->entries));
        if (!(e = read_entry(c, url, path, &now, why, whylen))) return -1;
    }
    e->used = c->remap;
    if (e->result == NP_LOCATE_FOUND) *out = &e->script;
    return e->result;
}

void np_smcache_end(struct np_smcache *c)
{
    while (c->bytes > c->budget) {
        size_t oldest = c->n;
        for (size_t i = 0; i < c->n; i++)
            if (c->entries[i].used != c->remap && (oldest == c->n || c->entries[i].used < c->entries[oldest].used))
                oldest = i;
        if (oldest == c->n) break; /* all in use by this remap */
        drop(c, oldest);
    }
}

struct np_smcache_stats np_smcache_stats(const struct np_smcache *c)
{
    return (struct np_smcache_stats){ c->n, c->bytes, c->reads, c->hits };
}
