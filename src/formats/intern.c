#include "formats/intern.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- huge pages ----------------------------------------------------------- */

#define HUGE_BLOCK (8u << 20)

/* The advice covers the whole block as the allocator mapped it (a large
 * block is a mapping of its own), so that realloc can still move it with
 * mremap, which it cannot across mappings of different advice. */
void np_advise_huge_pages(void *block)
{
    size_t usable = block ? malloc_usable_size(block) : 0;
    if (usable < HUGE_BLOCK) return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)block & ~(page - 1);
    uintptr_t end = ((uintptr_t)block + usable + page - 1) & ~(page - 1);
    (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
}

/* ---- arena ---------------------------------------------------------------- */

#define CHUNK_SIZE (64 * 1024)

struct chunk {
    struct chunk *next;
    size_t used, size;
    char data[];
};

struct np_arena {
    struct chunk *head;
};

struct np_arena *np_arena_new(void)
{
    return calloc(1, sizeof(struct np_arena));
}

static struct chunk *new_chunk(struct np_arena *a, size_t need)
{
    size_t size = need > CHUNK_SIZE ? need : CHUNK_SIZE;
    struct chunk *c = malloc(sizeof *c + size);
    if (!c) return NULL;
    c->used = 0;
    c->size = size;
    c->next = a->head;
    a->head = c;
    return c;
}

char *np_arena_strdup(struct np_arena *a, const char *s, size_t len)
{
    struct chunk *c = a->head;
    if (!c || c->size - c->used < len + 1) {
        c = new_chunk(a, len + 1);
        if (!c) return NULL;
    }
    char *out = c->data + c->used;
    memcpy(out, s, len);
    out[len] = '\0';
    c->used += len + 1;
    return out;
}

void np_arena_free(struct np_arena *a)
{
    if (!a) return;
    for (struct chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

/* ---- index ---------------------------------------------------------------- */

void np_index_init(struct np_index *ix, np_index_same_fn same, np_index_hash_fn hash_of,
                   const void *ctx)
{
    memset(ix, 0, sizeof *ix);
    ix->same = same;
    ix->hash_of = hash_of;
    ix->ctx = ctx;
}

int64_t np_index_find(const struct np_index *ix, uint64_t hash, const void *key)
{
    if (!ix->cap) return -1;
    for (size_t i = hash & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
        uint32_t slot = ix->slots[i];
        if (!slot) return -1;
        if (ix->same(ix->ctx, slot - 1, key)) return slot - 1;
    }
}

static void place(uint32_t *slots, size_t cap, uint64_t hash, uint32_t entry)
{
    size_t i = hash & (cap - 1);
    while (slots[i]) i = (i + 1) & (cap - 1);
    slots[i] = entry + 1;
}

/* Keeps the load at most one half, so probes stay short and a free slot
 * always exists (find terminates). */
static int grow(struct np_index *ix)
{
    size_t cap = ix->cap ? ix->cap * 2 : 64;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->slots[i]) place(slots, cap, ix->hash_of(ix->ctx, ix->slots[i] - 1), ix->slots[i] - 1);
    free(ix->slots);
    ix->slots = slots;
    ix->cap = cap;
    return 0;
}

int np_index_add(struct np_index *ix, uint64_t hash, uint32_t entry)
{
    if (entry == UINT32_MAX) return -1;
    if ((ix->count + 1) * 2 > ix->cap && grow(ix)) return -1;
    place(ix->slots, ix->cap, hash, entry);
    ix->count++;
    return 0;
}

void np_index_free(struct np_index *ix)
{
    free(ix->slots);
    ix->slots = NULL;
    ix->cap = ix->count = 0;
}

/* FNV-1a, then a final mix so the low bits (the slot) depend on every byte. */
uint64_t np_hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3u;
    return np_hash_u64(h);
}

/* splitmix64's finalizer. */
uint64_t np_hash_u64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* ---- interning ------------------------------------------------------------ */

struct str_key {
    const char *s;
    size_t len;
};

static int same_string(const void *ctx, uint32_t entry, const void *key)
{
    const struct np_intern *t = ctx;
    const struct str_key *k = key;
    const char *s = t->strings[entry];
    return !strncmp(s, k->s, k->len) && s[k->len] == '\0';
}

static uint64_t string_hash(const void *ctx, uint32_t entry)
{
    const struct np_intern *t = ctx;
    return t->hashes[entry];
}

int np_intern_init(struct np_intern *t)
{
    memset(t, 0, sizeof *t);
    np_index_init(&t->index, same_string, string_hash, t);
    t->arena = np_arena_new();
    if (!t->arena) return -1;
    return np_intern(t, "", 0) == 0 ? 0 : -1;
}

static int reserve(struct np_intern *t)
{
    if (t->n < t->cap) return 0;
    size_t cap = t->cap ? t->cap * 2 : 256;
    const char **strings = realloc(t->strings, cap * sizeof *strings);
    if (!strings) return -1;
    t->strings = strings;
    uint64_t *hashes = realloc(t->hashes, cap * sizeof *hashes);
    if (!hashes) return -1;
    t->hashes = hashes;
    t->cap = cap;
    return 0;
}

int64_t np_intern(struct np_intern *t, const char *s, size_t len)
{
    /* A string cut at an embedded NUL (from "\u0000") is stored cut. */
    const char *nul = memchr(s, '\0', len);
    if (nul) len = (size_t)(nul - s);
    struct str_key key = { s, len };
    uint64_t h = np_hash_bytes(s, len);
    int64_t found = np_index_find(&t->index, h, &key);
    if (found >= 0) return found;
    if (reserve(t)) return -1;
    char *copy = np_arena_strdup(t->arena, s, len);
    if (!copy) return -1;
    uint32_t id = (uint32_t)t->n;
    t->strings[id] = copy;
    t->hashes[id] = h;
    t->n++;
    if (np_index_add(&t->index, h, id)) return -1;
    return id;
}

void np_intern_drop_index(struct np_intern *t)
{
    np_index_free(&t->index);
    free(t->hashes);
    t->hashes = NULL;
}

void np_intern_free(struct np_intern *t)
{
    np_intern_drop_index(t);
    free(t->strings);
    np_arena_free(t->arena);
    memset(t, 0, sizeof *t);
}
