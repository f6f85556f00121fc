/* A pull reader over JSON text that builds no tree.
 *
 * Why not hand the whole file to cJSON: a cJSON item costs ~64 bytes plus
 * malloc overhead, so the sample arrays of a 100 MB .cpuprofile would take
 * well over a gigabyte, and cJSON's parser (and cJSON_Delete) recurse, with
 * a nesting limit of 1000 that a deep .heapprofile exceeds. This reader walks
 * the structure with an explicit cursor, reads numbers straight into the
 * caller's arrays, and leaves strings in place unless they have escapes.
 * Call frames were once handed to cJSON one by one: callgrind put that at a
 * third of a conversion's instructions (a malloc per item, strtod and
 * localeconv per number); numbers and strings are now read in bulk (eight
 * bytes at a time), at about 2.3 times fewer instructions in all.
 *
 * Every function validates what it consumes; on the first error it records
 * "malformed JSON at byte N: ..." in the error buffer and returns -1, and
 * the reader stays failed. Object keys are compared as written, without
 * decoding escapes. */
#ifndef NP_JSONSCAN_H
#define NP_JSONSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cJSON.h>

struct jscan_reader {
    const char *base; /* start of the text, for byte offsets in errors */
    const char *p;    /* cursor */
    const char *end;
    int first;        /* the container just opened has had no member yet */
    int failed;
    char *err;
    size_t errlen;
};

void jscan_init(struct jscan_reader *r, const char *text, size_t len, char *err, size_t errlen);

/* Records an error at the cursor (first one wins); returns -1. */
int jscan_fail(struct jscan_reader *r, const char *what);

/* The next significant character without consuming it; -1 at the end. */
int jscan_peek(struct jscan_reader *r);

/* Consumes '{' or '['; returns 0, or -1 when something else is there. */
int jscan_begin_object(struct jscan_reader *r);
int jscan_begin_array(struct jscan_reader *r);

/* Object members: returns 1 with the raw key (leaving the cursor at the
 * value, which the caller must consume), 0 after the closing '}', -1. */
int jscan_next_member(struct jscan_reader *r, const char **key, size_t *keylen);

/* Array elements: returns 1 when an element follows (the caller consumes
 * it), 0 after the closing ']', -1. */
int jscan_next_element(struct jscan_reader *r);

/* Reads up to `room` elements of an array of integers within [min, max]
 * into out (after jscan_begin_array, or after an earlier call that returned 1):
 * 1 when out is full and the array may go on, 0 after the closing ']', -1.
 * *got is how many were stored. The same checks as jscan_next_element and
 * jscan_int, in one loop: sample arrays hold millions of numbers. */
int jscan_int_array(struct jscan_reader *r, int64_t min, int64_t max, int64_t *out, size_t room,
                 size_t *got);

/* Consumes a string and returns its raw body (escapes not decoded); sets
 * *escaped if it has a backslash, so that the caller can use the body as it
 * is in the common case. */
int jscan_raw_string(struct jscan_reader *r, const char **body, size_t *len, int *escaped);

/* Decodes the escapes of a raw body (checked by jscan_raw_string) into out,
 * which has room for len bytes: decoding never lengthens. \u escapes become
 * UTF-8, surrogate pairs one 4-byte character. Returns the decoded length,
 * or -1 for an unpaired surrogate. */
long jscan_unescape(const char *body, size_t len, char *out);

/* Consumes a number: 1 with *out if its value is an integer within
 * +-9e15 (5, 5.0, 5e0), 0 for any other number, -1 if no number is there. */
int jscan_number_int(struct jscan_reader *r, int64_t *out);

/* Consumes one value of any kind, checking its syntax, without recursion. */
int jscan_skip(struct jscan_reader *r);

/* Consumes a number that must be an integer within [min, max]. */
int jscan_int(struct jscan_reader *r, int64_t min, int64_t max, int64_t *out);

/* Consumes the next value and returns it parsed by cJSON (caller deletes). */
cJSON *jscan_cjson(struct jscan_reader *r);

/* Checks that only whitespace is left. */
int jscan_finish(struct jscan_reader *r);

/* Is this raw key equal to the C string? Inline, so that the length of a
 * literal name is known when compiling. */
static inline int jscan_key_is(const char *key, size_t keylen, const char *name)
{
    return strlen(name) == keylen && !memcmp(key, name, keylen);
}

#endif
