/* libFuzzer harness for the --env-file reader (common/envfile.h), which
 * the preloaded constructor runs in every node that is given such a file,
 * before node's main: any bytes are a file's text. Nothing may crash or
 * read out of bounds; a value found is a NUL-terminated string that fits
 * the buffer, and a buffer too small says so (-1) rather than cutting it.
 * Built and run by `make fuzz-envfile`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/envfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char big[4096], small[8];
    /* The exact size: no NUL after the text, as a file read into memory. */
    char *text = malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size);
    int r = np_envfile_parse(text, size, big, sizeof big);
    if (r < -1 || r > 1) abort();
    if (r == 1 && strnlen(big, sizeof big) >= sizeof big) abort();
    int s = np_envfile_parse(text, size, small, sizeof small);
    if (r == 0 && s != 0) abort();                    /* found or not: the same whatever the room */
    if (r == 1 && s == 1 && strcmp(big, small)) abort();
    /* A NUL in the text can end the value early as a C string, not as stored. */
    if (r == 1 && strlen(big) < sizeof small && !memchr(text, 0, size) && s != 1) abort();
    free(text);
    return 0;
}
