/* The source map options of `nodeprof convert` and `nodeprof top`, and
 * applying them to a parsed profile (formats/remap.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "formats/remap.h"

int cli_sourcemap_option(int argc, char **argv, int *i, struct cli_sourcemaps *sm)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--no-source-maps")) {
        sm->off = 1;
        return 1;
    }
    if (!strncmp(a, "--source-maps=", 14)) {
        sm->dir = a + 14;
        return 1;
    }
    if (strcmp(a, "--source-maps")) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "nodeprof: --source-maps needs a directory\n");
        return -1;
    }
    sm->dir = argv[++*i];
    return 1;
}

static void report(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "nodeprof: %s\n", msg);
}

int cli_sourcemap_apply(struct np_profile *p, const struct cli_sourcemaps *sm)
{
    if (sm->off) return 0;
    struct np_remap_options o = { .search_dir = sm->dir && *sm->dir ? sm->dir : NULL, .report = report };
    char err[600];
    if (np_profile_remap(p, &o, err, sizeof err) < 0) {
        fprintf(stderr, "nodeprof: %s\n", err);
        return -1;
    }
    return 0;
}
