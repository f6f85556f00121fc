/* libFuzzer harness: any bytes into np_sourcemap_parse; whatever it accepts
 * must answer lookups with valid strings and positions, on the lines it has
 * and around them, and name lookups must stay within the text given. Built
 * and run by `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/sourcemap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    struct np_sourcemap *m = np_sourcemap_parse((const char *)data, size, err, sizeof err);
    if (!m) {
        if (!memchr(err, '\0', sizeof err) || !err[0]) abort();
        return 0;
    }
    static const char text[] = "function a(b){return b}";
    for (uint32_t line = 0; line < 4; line++) {
        for (uint32_t col = 0; col < 40; col += 3) {
            struct np_sm_origin o;
            if (np_sourcemap_lookup(m, line, col, &o) == 0 && (!o.source || strlen(o.source) > size)) abort();
            const char *name = np_sourcemap_name_of(m, line, col, text, sizeof text - 1, "a");
            if (name && strlen(name) > size) abort();
        }
    }
    struct np_sm_origin o;
    (void)np_sourcemap_lookup(m, UINT32_MAX, UINT32_MAX, &o);
    np_sourcemap_free(m);
    return 0;
}
