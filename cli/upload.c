/* nodeprof upload DIR: uploads the files that profiled processes queued
 * for NODEPROF_EXPORT and could not upload (their exit wait ran out, they
 * were killed, the server was down): those with a spool marker in DIR
 * (common/spool.h). Configured like the library: NODEPROF_EXPORT (or
 * --to), NODEPROF_S3_*, AWS_*. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/config.h"
#include "common/outfile.h"
#include "common/s3.h"
#include "common/spool.h"

extern char **environ;

static const char upload_usage[] =
    "usage: nodeprof upload [--to s3://BUCKET/PREFIX/] DIR\n"
    "Uploads the files of DIR still waiting for NODEPROF_EXPORT (oldest first), with\n"
    "NODEPROF_S3_ENDPOINT, NODEPROF_S3_REGION, NODEPROF_S3_ADDRESSING and the AWS_*\n"
    "credentials of this environment. Exits 0 when nothing is left, 1 otherwise.\n";

static void report_config_problem(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "nodeprof: %s\n", msg);
}

/* A few tries a file: no answer, 5xx, 408 and 429 are retried. */
static int put_with_retries(const struct np_s3 *s3, int dirfd, const struct np_spool_entry *e)
{
    char why[600];
    for (int attempt = 0;; attempt++) {
        int status = np_s3_put(s3, dirfd, e->name, &e->meta, NULL, why, sizeof why);
        if (status == 200) return 0;
        bool again = status == -1 || status >= 500 || status == 408 || status == 429;
        if (faccessat(dirfd, e->name, F_OK, AT_SYMLINK_NOFOLLOW) && errno == ENOENT) {
            np_spool_done(dirfd, e->name, 0);
            fprintf(stderr, "nodeprof: %s: no longer there; forgotten\n", e->name);
            return 0;
        }
        if (!again || attempt == 3) {
            fprintf(stderr, "nodeprof: %s: not uploaded: %s\n", e->name, why);
            return -1;
        }
        sleep(1u << attempt);
    }
}

static int upload_dir(const struct np_s3 *s3, const char *dir)
{
    char err[900];
    int dirfd = np_dir_open_trusted(dir, false, 0700, err, sizeof err);
    if (dirfd < 0) { fprintf(stderr, "nodeprof: %s\n", err); return 1; }
    struct np_spool_entry *v;
    long n = np_spool_list(dirfd, &v);
    if (n < 0) { fprintf(stderr, "nodeprof: %s: %s\n", dir, strerror(errno)); close(dirfd); return 1; }
    int failed = 0;
    for (long i = 0; i < n; i++) {
        if (put_with_retries(s3, dirfd, &v[i])) { failed++; continue; }
        if (np_spool_done(dirfd, v[i].name, !v[i].meta.keep_local))
            fprintf(stderr, "nodeprof: %s: uploaded, but: %s\n", v[i].name, strerror(errno));
        printf("uploaded %s/%s to s3://%s/%s%s\n", dir, v[i].name, s3->bucket, s3->prefix, v[i].name);
    }
    free(v);
    close(dirfd);
    if (n == 0) printf("nothing to upload in %s\n", dir);
    return failed ? 1 : 0;
}

int cli_upload(int argc, char **argv)
{
    const char *to = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) { fputs(upload_usage, stdout); return 0; }
        if (!strcmp(argv[i], "--to") && i + 1 < argc) to = argv[++i];
        else if (!strncmp(argv[i], "--to=", 5)) to = argv[i] + 5;
        else if (!strcmp(argv[i], "--") && i + 2 == argc) dir = argv[++i];
        else if (argv[i][0] != '-' && !dir) dir = argv[i];
        else { fputs(upload_usage, stderr); return 2; }
    }
    if (!dir) { fputs(upload_usage, stderr); return 2; }
    struct np_config cfg;
    np_config_load(&cfg, environ, report_config_problem, NULL);
    if (to) snprintf(cfg.export_url, sizeof cfg.export_url, "%s", to);
    if (!cfg.export_url[0]) {
        fputs("nodeprof: upload: no destination: set NODEPROF_EXPORT=s3://BUCKET/PREFIX/ or give --to\n", stderr);
        return 2;
    }
    struct np_s3 s3;
    char why[600];
    if (np_s3_init(&s3, &cfg, environ, why, sizeof why)) { fprintf(stderr, "nodeprof: %s\n", why); return 2; }
    if (!s3.has_credentials) {
        fputs("nodeprof: upload: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set\n", stderr);
        return 1;
    }
    if (np_s3_load(why, sizeof why)) { fprintf(stderr, "nodeprof: %s\n", why); return 1; }
    return upload_dir(&s3, dir);
}
