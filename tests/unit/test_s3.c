/* The S3 target (NODEPROF_EXPORT parsing, URLs by addressing style, key
 * encoding) and the spool marker's text, both ways. */
#include "check.h"
#include "common/config.h"
#include "common/s3.h"
#include "common/spool.h"

static int init(struct np_s3 *s3, const char *url, const char *endpoint, int addressing, char *const *envp)
{
    struct np_config cfg;
    char why[600];
    np_config_defaults(&cfg);
    snprintf(cfg.export_url, sizeof cfg.export_url, "%s", url);
    snprintf(cfg.s3_endpoint, sizeof cfg.s3_endpoint, "%s", endpoint);
    cfg.s3_addressing = addressing;
    return np_s3_init(s3, &cfg, envp, why, sizeof why);
}

int main(void)
{
    struct np_s3 s3;
    char url[4200];
    char *env[] = { "AWS_REGION=eu-west-3", "AWS_ACCESS_KEY_ID=AK", "AWS_SECRET_ACCESS_KEY=SK", NULL };
    char *no_env[] = { NULL };

    CHECK(init(&s3, "s3://profiles/fleet/api", "", NP_S3_AUTO, env) == 0, "AWS");
    CHECK_STR(s3.prefix, "fleet/api/");
    CHECK_STR(s3.region, "eu-west-3");
    CHECK(!s3.path_style && s3.has_credentials, "virtual on AWS");
    CHECK(np_s3_object_url(&s3, "a b+c.cpuprofile", url, sizeof url) == 0, "url");
    CHECK_STR(url, "https://profiles.s3.eu-west-3.amazonaws.com/fleet/api/a%20b%2Bc.cpuprofile");

    CHECK(init(&s3, "s3://b-1", "http://127.0.0.1:9000/", NP_S3_AUTO, no_env) == 0, "endpoint");
    CHECK(s3.path_style && !s3.has_credentials, "path with an endpoint");
    CHECK_STR(s3.region, "us-east-1");
    CHECK(np_s3_object_url(&s3, "x.pb.gz", url, sizeof url) == 0, "url");
    CHECK_STR(url, "http://127.0.0.1:9000/b-1/x.pb.gz");

    CHECK(init(&s3, "s3://bkt/p/", "minio.local:9000", NP_S3_VIRTUAL, no_env) == 0, "virtual");
    CHECK(np_s3_object_url(&s3, "x", url, sizeof url) == 0, "url");
    CHECK_STR(url, "https://bkt.minio.local:9000/p/x");

    CHECK(init(&s3, "http://bkt/p", "", NP_S3_AUTO, no_env) != 0, "not s3://");
    CHECK(init(&s3, "s3://UPPER/p", "", NP_S3_AUTO, no_env) != 0, "bad bucket");
    CHECK(init(&s3, "s3://bkt/a/../b", "", NP_S3_AUTO, no_env) != 0, "dot segments");
    CHECK(init(&s3, "s3://bkt/p", "ftp://x", NP_S3_AUTO, no_env) != 0, "not http");

    struct np_s3_meta m = { .host = "h1", .pid = 42, .node_version = "v20.1.0", .kind = "cpuprofile",
                            .start = "2026-11-30T12:00:00.000Z", .end = "2026-11-30T12:01:00.000Z",
                            .keep_local = false }, back;
    char text[2048];
    CHECK(np_spool_format(&m, text, sizeof text) > 0, "format");
    CHECK(np_spool_parse(text, &back) == 0, "parse");
    CHECK_STR(back.host, "h1");
    CHECK(back.pid == 42 && !back.keep_local, "pid, keep_local");
    CHECK_STR(back.node_version, "v20.1.0");
    CHECK_STR(back.kind, "cpuprofile");
    CHECK_STR(back.end, "2026-11-30T12:01:00.000Z");
    CHECK(np_spool_parse("garbage\n", &back) != 0, "magic");
    return END();
}
