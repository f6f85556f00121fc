/* libFuzzer harness for the configuration (common/config.h): any bytes,
 * split at newlines, are an environment (NAME=value strings, NODEPROF_*
 * or not, misspelt, repeated, without '='). Nothing may crash; every
 * problem is reported through the callback as one non-empty line; what is
 * loaded prints (`status`) without trouble. Built and run by `make
 * fuzz-config`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_VARS 64

static void report(void *ctx, const char *msg)
{
    (void)ctx;
    if (!msg || !msg[0] || strchr(msg, '\n')) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *envp[MAX_VARS + 1];
    int n = 0;
    for (char *p = text; n < MAX_VARS && p < text + size;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        envp[n++] = p;
        if (!nl) break;
        p = nl + 1;
    }
    envp[n] = NULL;
    struct np_config cfg;
    np_config_load(&cfg, envp, report, NULL);
    FILE *out = fopen("/dev/null", "w");
    if (out) {
        np_config_print(&cfg, out);
        fclose(out);
    }
    free(text);
    return 0;
}
