/* html_driver IN.json OUT.html: runs np_html_write on a profile file, for
 * the browser tests (tests/integration/html.test.mjs) when the nodeprof
 * command is not built. Links src/formats/html.c alone. */
#include <stdio.h>
#include <stdlib.h>

#include "formats/formats.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: html_driver IN.json OUT.html\n");
        return 2;
    }
    size_t len = 0;
    char *json = slurp(argv[1], &len);
    if (!json) {
        perror(argv[1]);
        return 1;
    }
    FILE *out = fopen(argv[2], "wb");
    if (!out) {
        perror(argv[2]);
        free(json);
        return 1;
    }
    char err[256] = "";
    int rc = np_html_write(NULL, json, len, out, err, sizeof err);
    if (fclose(out) != 0 && rc == 0) {
        perror(argv[2]);
        rc = -1;
    }
    free(json);
    if (rc != 0 && err[0])
        fprintf(stderr, "html_driver: %s\n", err);
    return rc == 0 ? 0 : 1;
}
