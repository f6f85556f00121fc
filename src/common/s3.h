/* One S3 PUT through libcurl, loaded with dlopen only when an export is
 * configured: libnodeprof.so does not link libcurl, and a process without
 * NODEPROF_EXPORT never loads it. Used by the uploader thread (export.h)
 * and by `nodeprof upload`.
 *
 * Signature V4 is libcurl's own (CURLOPT_AWS_SIGV4, libcurl >= 7.75). The
 * payload hash is computed here (sha256.h) and sent as x-amz-content-sha256:
 * Debian 12's libcurl 7.88 otherwise signs the hash of an empty body.
 * Inside node, libcurl is opened with RTLD_DEEPBIND: node exports its own
 * OpenSSL's symbols, and the system libssl must not bind to them. TLS
 * certificates are verified (libcurl's default, never turned off). */
#ifndef NP_S3_H
#define NP_S3_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"

/* Metadata sent as x-amz-meta-* headers (and kept in the spool's marker). */
struct np_s3_meta {
    char host[256];
    long pid;
    char node_version[32];
    char kind[32];        /* the file's extension without the dot: cpuprofile, pb.gz... */
    char start[32];       /* ISO 8601 UTC, e.g. 2026-11-30T12:00:00.123Z */
    char end[32];
    char labels[512];     /* NODEPROF_LABELS (common/labels.h); empty: none */
    bool keep_local;      /* NODEPROF_EXPORT_KEEP_LOCAL of the writer */
};

/* Where to, and with which credentials. */
struct np_s3 {
    char bucket[64];
    char prefix[900];     /* "" or ending in '/' */
    char endpoint[600];   /* scheme://host[:port], no trailing "/" */
    char region[64];
    bool path_style;
    char access_key[256];
    char secret_key[256];
    char session_token[4096];
    bool has_credentials;
};

/* From the configuration and the AWS_* variables of envp. Returns 0, or -1
 * with why (NODEPROF_EXPORT not an s3:// URL). Never logs the secrets. */
int np_s3_init(struct np_s3 *s3, const struct np_config *cfg, char *const *envp, char *why, size_t whylen);

/* The URL of key (already URI-encoded as S3 wants). */
int np_s3_object_url(const struct np_s3 *s3, const char *name, char *url, size_t len);

/* Loads libcurl once (any thread; the first call from one thread only).
 * Returns 0, or -1 with why (libcurl missing, too old for SigV4). */
int np_s3_load(char *why, size_t whylen);

/* PUTs the file `name` of directory dirfd as prefix + name. Returns the
 * HTTP status (200 = stored), -1 when no answer came, or NP_S3_NOT_OURS
 * when name is not a regular file of ours, which no retry changes (why
 * says why).
 * abort (may be NULL) set by another thread ends the transfer within about
 * a second. Timeouts: 10 s to connect, and a transfer slower than 1 KiB/s
 * for 30 s is given up. */
#define NP_S3_NOT_OURS (-2)
int np_s3_put(const struct np_s3 *s3, int dirfd, const char *name, const struct np_s3_meta *meta,
              const atomic_bool *abort, char *why, size_t whylen);

#endif
