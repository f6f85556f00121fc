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

/* A bare varint (as an element of a packed repeated field). */
void pb_varint(struct pb_buf *b, uint64_t v);

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
