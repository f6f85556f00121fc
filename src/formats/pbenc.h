/* A minimal protocol buffers encoder: varints and length-delimited fields
 * into a growable buffer. Enough for profile.proto; no schema, no decoding.
 *
 * Out of memory is sticky: every call after it does nothing and pb_failed()
 * reports it, so callers check once at the end. */
#ifndef NP_PBENC_H
#define NP_PBENC_H

#include <stddef.h>
#include <stdint.h>

struct pb_buf {
    uint8_t *data;
    size_t len, cap;
    int failed;
};

void pb_init(struct pb_buf *b);
void pb_free(struct pb_buf *b);
void pb_reset(struct pb_buf *b); /* empties, keeps the memory */
int pb_failed(const struct pb_buf *b);

/* Makes room for `more` bytes; 0, or -1 once out of memory. */
int pb_reserve(struct pb_buf *b, size_t more);

/* A bare varint (as an element of a packed repeated field). Inline: a
 * sample's stack is one varint per frame, and a call cost more than the
 * encoding (callgrind: 45 instructions a varint as a call, 19 inline). */
static inline void pb_varint(struct pb_buf *b, uint64_t v)
{
    if ((b->cap - b->len < 10 || b->failed) && pb_reserve(b, 10)) return;
    uint8_t *out = b->data + b->len;
    while (v >= 0x80) {
        *out++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *out++ = (uint8_t)v;
    b->len = (size_t)(out - b->data);
}

/* Varint fields: int64 is written as its two's complement, as protobuf does.
 * Zero values are written too (callers skip defaults if they want). */
void pb_uint64(struct pb_buf *b, uint32_t field, uint64_t v);
void pb_int64(struct pb_buf *b, uint32_t field, int64_t v);

/* Length-delimited fields. */
void pb_bytes(struct pb_buf *b, uint32_t field, const void *data, size_t len);
void pb_string(struct pb_buf *b, uint32_t field, const char *s);

/* A nested message or packed field: pb_open returns a mark, the caller
 * writes the body, pb_close puts the key and length in front of it. */
size_t pb_open(struct pb_buf *b);
void pb_close(struct pb_buf *b, uint32_t field, size_t mark);

#endif
