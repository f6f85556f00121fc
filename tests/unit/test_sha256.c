/* SHA-256 against the FIPS 180-4 / NIST vectors, fed whole and in pieces. */
#include <stdlib.h>

#include "check.h"
#include "common/sha256.h"

static void hash_in_pieces(const char *data, size_t len, size_t piece, char hex[65])
{
    struct np_sha256 s;
    unsigned char d[32];
    np_sha256_init(&s);
    for (size_t off = 0; off < len; off += piece)
        np_sha256_update(&s, data + off, len - off < piece ? len - off : piece);
    np_sha256_final(&s, d);
    np_sha256_hex(d, hex);
}

static void check_vector(const char *data, size_t len, const char *want)
{
    static const size_t pieces[] = { 1, 3, 63, 64, 65, 1000000 };
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        char hex[65];
        hash_in_pieces(data, len, pieces[i], hex);
        CHECK(!strcmp(hex, want), "len %zu piece %zu: %s != %s", len, pieces[i], hex, want);
    }
}

int main(void)
{
    check_vector("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_vector("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_vector(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *four = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    check_vector(four, strlen(four), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    /* One million 'a'. */
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    check_vector(million, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
    /* 55, 56 and 64 bytes: the padding's edge cases (sha256sum of 'a' * n). */
    check_vector("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 55,
                 "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    check_vector("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 56,
                 "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    return END();
}
