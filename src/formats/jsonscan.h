/* A pull reader over JSON text that builds no tree.
 *
 * Why not hand the whole file to cJSON: a cJSON item costs ~64 bytes plus
 * malloc overhead, so the sample arrays of a 100 MB .cpuprofile would take
 * well over a gigabyte, and cJSON's parser (and cJSON_Delete) recurse, with
 * a nesting limit of 1000 that a deep .heapprofile exceeds. This reader walks
 * the structure with an explicit cursor, reads numbers straight into the
 * caller's arrays, and hands only small leaf objects (call frames) to cJSON.
 *
 * Every function validates what it consumes; on the first error it records
 * "malformed JSON at byte N: ..." in the error buffer and returns -1, and
 * the reader stays failed. Object keys are compared as written, without
 * decoding escapes. */
#ifndef NP_JSONSCAN_H
#define NP_JSONSCAN_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

struct js_reader {
    const char *base; /* start of the text, for byte offsets in errors */
    const char *p;    /* cursor */
    const char *end;
    int first;        /* the container just opened has had no member yet */
    int failed;
    char *err;
    size_t errlen;
};

void js_init(struct js_reader *r, const char *text, size_t len, char *err, size_t errlen);

/* Records an error at the cursor (first one wins); returns -1. */
int js_fail(struct js_reader *r, const char *what);

/* The next significant character without consuming it; -1 at the end. */
int js_peek(struct js_reader *r);

/* Consumes '{' or '['; returns 0, or -1 when something else is there. */
int js_begin_object(struct js_reader *r);
int js_begin_array(struct js_reader *r);

/* Object members: returns 1 with the raw key (leaving the cursor at the
 * value, which the caller must consume), 0 after the closing '}', -1. */
int js_next_member(struct js_reader *r, const char **key, size_t *keylen);

/* Array elements: returns 1 when an element follows (the caller consumes
 * it), 0 after the closing ']', -1. */
int js_next_element(struct js_reader *r);

/* Consumes one value of any kind, checking its syntax, without recursion. */
int js_skip(struct js_reader *r);

/* Consumes a number that must be an integer within [min, max]. */
int js_int(struct js_reader *r, int64_t min, int64_t max, int64_t *out);

/* Consumes the next value and returns it parsed by cJSON (caller deletes). */
cJSON *js_cjson(struct js_reader *r);

/* Checks that only whitespace is left. */
int js_finish(struct js_reader *r);

/* Is this raw key equal to the C string? */
int js_key_is(const char *key, size_t keylen, const char *name);

#endif
