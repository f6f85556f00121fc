/* Building blocks of the profile model: an arena for strings, an open
 * addressing index from keys to dense entry numbers, and string interning
 * on top of both. */
#ifndef NP_INTERN_H
#define NP_INTERN_H

#include <stddef.h>
#include <stdint.h>

/* Asks for transparent huge pages for a malloc'd block of 8 MB or more
 * (smaller ones are left alone): filling it then takes one page fault per
 * 2 MB rather than per 4 KB. The big arrays of a 100 MB profile (its text,
 * samples and timeDeltas) took 62 600 page faults, and 13 500 with huge
 * pages, with a third less CPU time. Only advice: nothing changes where
 * THP is off. Call it again after a realloc. */
void np_advise_huge_pages(void *block);

/* Strings live in large chunks freed all at once. */
struct np_arena;
struct np_arena *np_arena_new(void);
char *np_arena_strdup(struct np_arena *a, const char *s, size_t len);
void np_arena_free(struct np_arena *a);

/* An index over entries 0..n-1 that the caller keeps in its own arrays; the
 * index only stores entry numbers, and asks the caller, through the two
 * callbacks, whether an entry has the key looked up and what an entry's
 * hash is (to grow). */
typedef int (*np_index_same_fn)(const void *ctx, uint32_t entry, const void *key);
typedef uint64_t (*np_index_hash_fn)(const void *ctx, uint32_t entry);

struct np_index {
    uint32_t *slots; /* entry + 1; 0 means empty */
    size_t cap;      /* a power of two */
    size_t count;
    np_index_same_fn same;
    np_index_hash_fn hash_of;
    const void *ctx;
};

void np_index_init(struct np_index *ix, np_index_same_fn same, np_index_hash_fn hash_of,
                   const void *ctx);
/* The entry with this key, or -1. */
int64_t np_index_find(const struct np_index *ix, uint64_t hash, const void *key);
/* Records a new entry (whose key is not there yet); 0 or -1 (no memory). */
int np_index_add(struct np_index *ix, uint64_t hash, uint32_t entry);
void np_index_free(struct np_index *ix);

uint64_t np_hash_bytes(const void *data, size_t len);
uint64_t np_hash_u64(uint64_t x);

/* Interned strings: equal strings get equal ids; id 0 is "". */
struct np_intern {
    struct np_arena *arena;
    const char **strings;
    uint64_t *hashes;
    size_t n, cap;
    struct np_index index;
};

int np_intern_init(struct np_intern *t);
/* Returns the id of s (len bytes, no NUL needed), or -1 without memory. */
int64_t np_intern(struct np_intern *t, const char *s, size_t len);
/* Frees everything but the strings and the arena, which the caller takes. */
void np_intern_drop_index(struct np_intern *t);
void np_intern_free(struct np_intern *t);

#endif
