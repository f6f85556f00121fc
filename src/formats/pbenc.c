#include "formats/pbenc.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

void pb_init(struct pb_buf *b)
{
    memset(b, 0, sizeof *b);
}

void pb_free(struct pb_buf *b)
{
    free(b->data);
    pb_init(b);
}

void pb_reset(struct pb_buf *b)
{
    b->len = 0;
}

int pb_failed(const struct pb_buf *b)
{
    return b->failed;
}

int pb_reserve(struct pb_buf *b, size_t more)
{
    if (b->failed) return -1;
    if (b->cap - b->len >= more) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2) { b->failed = 1; return -1; }
        cap *= 2;
    }
    uint8_t *data = realloc(b->data, cap);
    if (!data) { b->failed = 1; return -1; }
    b->data = data;
    b->cap = cap;
    return 0;
}

/* Encodes v into out (at least 10 bytes); returns the length. */
static size_t encode_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static void key(struct pb_buf *b, uint32_t field, unsigned wire)
{
    pb_varint(b, (uint64_t)field << 3 | wire);
}

void pb_uint64(struct pb_buf *b, uint32_t field, uint64_t v)
{
    key(b, field, WIRE_VARINT);
    pb_varint(b, v);
}

void pb_int64(struct pb_buf *b, uint32_t field, int64_t v)
{
    pb_uint64(b, field, (uint64_t)v);
}

void pb_bytes(struct pb_buf *b, uint32_t field, const void *data, size_t len)
{
    key(b, field, WIRE_LEN);
    pb_varint(b, len);
    if (pb_reserve(b, len)) return;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
}

void pb_string(struct pb_buf *b, uint32_t field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

size_t pb_open(struct pb_buf *b)
{
    return b->len;
}

/* The body is already in place; it moves up by the size of its header. */
void pb_close(struct pb_buf *b, uint32_t field, size_t mark)
{
    uint8_t header[20];
    size_t body = b->len - mark;
    size_t n = encode_varint(header, (uint64_t)field << 3 | WIRE_LEN);
    n += encode_varint(header + n, body);
    if (pb_reserve(b, n)) return;
    memmove(b->data + mark + n, b->data + mark, body);
    memcpy(b->data + mark, header, n);
    b->len += n;
}
