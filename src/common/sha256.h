/* SHA-256 (FIPS 180-4), for the payload hash of S3 requests: Debian 12's
 * libcurl 7.88 signs a wrong payload hash unless the caller sends
 * x-amz-content-sha256 itself (export.h), and the library links neither
 * OpenSSL nor anything else that has one (zlib does not). Streaming, so a
 * large heap snapshot is hashed in 64 KiB reads. */
#ifndef NP_SHA256_H
#define NP_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct np_sha256 {
    uint32_t h[8];
    uint64_t bytes;
    unsigned char block[64];
    size_t used;
};

void np_sha256_init(struct np_sha256 *s);
void np_sha256_update(struct np_sha256 *s, const void *data, size_t len);
void np_sha256_final(struct np_sha256 *s, unsigned char digest[32]);
/* The digest as 64 lowercase hex digits and a NUL. */
void np_sha256_hex(const unsigned char digest[32], char hex[65]);

#endif
