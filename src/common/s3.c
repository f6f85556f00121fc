#include "common/s3.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sha256.h"

/* libcurl's ABI numbers (curl/curl.h; stable across libcurl 7 and 8). We
 * build without libcurl's headers: no build dependency either. */
enum {
    CURLOPT_LOW_SPEED_LIMIT = 19, CURLOPT_LOW_SPEED_TIME = 20, CURLOPT_NOPROGRESS = 43,
    CURLOPT_UPLOAD = 46, CURLOPT_NOSIGNAL = 99, CURLOPT_CONNECTTIMEOUT_MS = 156,
    CURLOPT_PROTOCOLS = 181,
    CURLOPT_URL = 10002, CURLOPT_READDATA = 10009, CURLOPT_ERRORBUFFER = 10010,
    CURLOPT_WRITEDATA = 10001, CURLOPT_HTTPHEADER = 10023, CURLOPT_XFERINFODATA = 10057,
    CURLOPT_USERNAME = 10173, CURLOPT_PASSWORD = 10174, CURLOPT_AWS_SIGV4 = 10305,
    CURLOPT_PROTOCOLS_STR = 10318,
    CURLOPT_WRITEFUNCTION = 20011, CURLOPT_READFUNCTION = 20012, CURLOPT_XFERINFOFUNCTION = 20219,
    CURLOPT_INFILESIZE_LARGE = 30115,
};
#define CURLINFO_RESPONSE_CODE (0x200000 + 2)
#define CURL_GLOBAL_ALL 3L
#define CURL_READFUNC_ABORT 0x10000000
#define CURL_ERROR_SIZE 256
#define CURLPROTO_HTTP_HTTPS 3L

struct curl_slist;
static struct curl_api {
    pthread_mutex_t lock;
    bool tried, ok;
    char why[300];
    int (*global_init)(long);
    void *(*easy_init)(void);
    int (*easy_setopt)(void *, int, ...);
    int (*easy_perform)(void *);
    int (*easy_getinfo)(void *, int, ...);
    void (*easy_cleanup)(void *);
    const char *(*easy_strerror)(int);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- configuration -------------------------------------------------------- */

static bool bucket_ok(const char *b, size_t len)
{
    if (len < 3 || len > 63) return false;
    for (size_t i = 0; i < len; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789.-", b[i])) return false;
    return true;
}

/* No control characters, and no "." or ".." segment (libcurl would
 * remove them from the URL, and the key would not be the one asked). */
static bool prefix_ok(const char *p)
{
    for (const char *c = p; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) return false;
    for (const char *seg = p; *seg; ) {
        size_t len = strcspn(seg, "/");
        if ((len == 1 && seg[0] == '.') || (len == 2 && !strncmp(seg, "..", 2))) return false;
        seg += len + (seg[len] == '/');
    }
    return true;
}

static const char *env_get(char *const *envp, const char *name)
{
    size_t len = strlen(name);
    for (char *const *e = envp; e && *e; e++)
        if (!strncmp(*e, name, len) && (*e)[len] == '=') return *e + len + 1;
    return NULL;
}

static void copy_env(char *out, size_t len, char *const *envp, const char *name)
{
    const char *v = env_get(envp, name);
    snprintf(out, len, "%s", v ? v : "");
}

static int parse_export(struct np_s3 *s3, const char *url, char *why, size_t whylen)
{
    if (strncmp(url, "s3://", 5)) {
        snprintf(why, whylen, "NODEPROF_EXPORT=%.200s: not an s3://bucket/prefix/ URL", url);
        return -1;
    }
    const char *b = url + 5;
    size_t blen = strcspn(b, "/");
    if (!bucket_ok(b, blen)) {
        snprintf(why, whylen, "NODEPROF_EXPORT=%.200s: bad bucket name (3 to 63 of a-z 0-9 . -)", url);
        return -1;
    }
    memcpy(s3->bucket, b, blen);
    s3->bucket[blen] = '\0';
    const char *p = b + blen;
    while (*p == '/') p++;
    if (!prefix_ok(p) || strlen(p) + 2 > sizeof s3->prefix) {
        snprintf(why, whylen, "NODEPROF_EXPORT=%.200s: bad prefix (control characters, . or .. segments, too long)", url);
        return -1;
    }
    /* s3://b/profiles and s3://b/profiles/ both mean the folder. */
    snprintf(s3->prefix, sizeof s3->prefix, "%s%s", p, *p && p[strlen(p) - 1] != '/' ? "/" : "");
    return 0;
}

int np_s3_init(struct np_s3 *s3, const struct np_config *cfg, char *const *envp, char *why, size_t whylen)
{
    memset(s3, 0, sizeof *s3);
    if (parse_export(s3, cfg->export_url, why, whylen)) return -1;
    const char *region = cfg->s3_region[0] ? cfg->s3_region : env_get(envp, "AWS_REGION");
    snprintf(s3->region, sizeof s3->region, "%s", region && *region ? region : "us-east-1");
    if (strpbrk(s3->region, ":/ \t\r\n")) {
        snprintf(why, whylen, "bad region '%.64s'", s3->region);
        return -1;
    }
    if (cfg->s3_endpoint[0]) {
        const char *e = cfg->s3_endpoint;
        snprintf(s3->endpoint, sizeof s3->endpoint, "%s%s", strstr(e, "://") ? "" : "https://", e);
        if (strncmp(s3->endpoint, "http://", 7) && strncmp(s3->endpoint, "https://", 8)) {
            snprintf(why, whylen, "NODEPROF_S3_ENDPOINT=%.200s: not an http:// or https:// URL", e);
            return -1;
        }
    } else {
        snprintf(s3->endpoint, sizeof s3->endpoint, "https://s3.%s.amazonaws.com", s3->region);
    }
    size_t len = strlen(s3->endpoint);
    while (len && s3->endpoint[len - 1] == '/') s3->endpoint[--len] = '\0';
    s3->path_style = cfg->s3_addressing == NP_S3_PATH ||
                     (cfg->s3_addressing == NP_S3_AUTO && cfg->s3_endpoint[0]);
    copy_env(s3->access_key, sizeof s3->access_key, envp, "AWS_ACCESS_KEY_ID");
    copy_env(s3->secret_key, sizeof s3->secret_key, envp, "AWS_SECRET_ACCESS_KEY");
    copy_env(s3->session_token, sizeof s3->session_token, envp, "AWS_SESSION_TOKEN");
    s3->has_credentials = s3->access_key[0] && s3->secret_key[0];
    return 0;
}

/* S3's URI encoding of a key: unreserved characters and '/' as they are. */
static int encode_key(const char *key, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)key; *c; c++) {
        bool plain = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                     strchr("-._~/", *c);
        if (n + 4 >= len) return -1;
        if (plain) out[n++] = (char)*c;
        else { out[n++] = '%'; out[n++] = hex[*c >> 4]; out[n++] = hex[*c & 15]; }
    }
    out[n] = '\0';
    return 0;
}

int np_s3_object_url(const struct np_s3 *s3, const char *name, char *url, size_t len)
{
    char key[1200], enc[3600];
    if (snprintf(key, sizeof key, "%s%s", s3->prefix, name) >= (int)sizeof key) return -1;
    if (encode_key(key, enc, sizeof enc)) return -1;
    int n;
    if (s3->path_style) {
        n = snprintf(url, len, "%s/%s/%s", s3->endpoint, s3->bucket, enc);
    } else {
        const char *host = strstr(s3->endpoint, "://") + 3;
        n = snprintf(url, len, "%.*s%s.%s/%s", (int)(host - s3->endpoint), s3->endpoint, s3->bucket, host, enc);
    }
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---- libcurl ---------------------------------------------------------------- */

#define LOAD(field, sym) \
    if (!(*(void **)&curl.field = dlsym(h, sym))) { \
        snprintf(curl.why, sizeof curl.why, "libcurl.so.4 has no %s", sym); return -1; }

static int load_symbols(void *h)
{
    LOAD(global_init, "curl_global_init");
    LOAD(easy_init, "curl_easy_init");
    LOAD(easy_setopt, "curl_easy_setopt");
    LOAD(easy_perform, "curl_easy_perform");
    LOAD(easy_getinfo, "curl_easy_getinfo");
    LOAD(easy_cleanup, "curl_easy_cleanup");
    LOAD(easy_strerror, "curl_easy_strerror");
    LOAD(slist_append, "curl_slist_append");
    LOAD(slist_free_all, "curl_slist_free_all");
    return 0;
}

static int load_once(void)
{
    /* DEEPBIND: libcurl's libssl and libcrypto bind to each other, not
     * to the copy of OpenSSL that the node binary exports. */
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!h) {
        const char *e = dlerror();
        snprintf(curl.why, sizeof curl.why, "cannot load libcurl.so.4 (install libcurl4): %.200s", e ? e : "?");
        return -1;
    }
    if (load_symbols(h)) return -1;
    if (curl.global_init(CURL_GLOBAL_ALL) != 0) {
        snprintf(curl.why, sizeof curl.why, "curl_global_init failed");
        return -1;
    }
    /* CURLOPT_AWS_SIGV4 came with libcurl 7.75. */
    void *easy = curl.easy_init();
    int rc = easy ? curl.easy_setopt(easy, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3") : -1;
    if (easy) curl.easy_cleanup(easy);
    if (rc != 0) {
        snprintf(curl.why, sizeof curl.why, "this libcurl cannot sign AWS Signature V4 requests (7.75 or later needed)");
        return -1;
    }
    return 0;
}

int np_s3_load(char *why, size_t whylen)
{
    pthread_mutex_lock(&curl.lock);
    if (!curl.tried) {
        curl.tried = true;
        curl.ok = load_once() == 0;
    }
    bool ok = curl.ok;
    if (!ok) snprintf(why, whylen, "%s", curl.why);
    pthread_mutex_unlock(&curl.lock);
    return ok ? 0 : -1;
}

/* ---- one PUT ------------------------------------------------------------------ */

struct put_state {
    int fd;
    const atomic_bool *abort;
    char answer[512];     /* the start of the response body, for errors */
    size_t answer_len;
};

static size_t read_body(char *buf, size_t size, size_t n, void *ctx)
{
    struct put_state *st = ctx;
    ssize_t got;
    do got = read(st->fd, buf, size * n); while (got < 0 && errno == EINTR);
    return got < 0 ? (size_t)CURL_READFUNC_ABORT : (size_t)got;
}

static size_t keep_answer(char *buf, size_t size, size_t n, void *ctx)
{
    struct put_state *st = ctx;
    size_t len = size * n, room = sizeof st->answer - 1 - st->answer_len;
    memcpy(st->answer + st->answer_len, buf, len < room ? len : room);
    st->answer_len += len < room ? len : room;
    st->answer[st->answer_len] = '\0';
    return len;
}

static int progress(void *ctx, int64_t dlt, int64_t dln, int64_t ult, int64_t uln)
{
    (void)dlt; (void)dln; (void)ult; (void)uln;
    struct put_state *st = ctx;
    return st->abort && atomic_load(st->abort) ? 1 : 0;
}

static int hash_file(int fd, char hex[65])
{
    struct np_sha256 s;
    unsigned char buf[65536], digest[32];
    np_sha256_init(&s);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        np_sha256_update(&s, buf, (size_t)n);
    }
    np_sha256_final(&s, digest);
    np_sha256_hex(digest, hex);
    return lseek(fd, 0, SEEK_SET) == 0 ? 0 : -1;
}

/* A header value as S3 stores it: printable ASCII only. */
static struct curl_slist *add_header(struct curl_slist *list, bool *failed, const char *name, const char *value)
{
    char line[4600];
    size_t n = (size_t)snprintf(line, sizeof line, "%s: ", name);
    for (const char *c = value; *c && n + 1 < sizeof line; c++)
        line[n++] = (*c >= 0x20 && *c < 0x7f) ? *c : '_';
    line[n] = '\0';
    struct curl_slist *next = curl.slist_append(list, line);
    if (!next) *failed = true;
    return next ? next : list;
}

static struct curl_slist *headers_for(const struct np_s3 *s3, const struct np_s3_meta *m, const char *sha)
{
    struct curl_slist *h = NULL;
    bool failed = false;
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", m->pid);
    h = add_header(h, &failed, "x-amz-content-sha256", sha);
    if (s3->session_token[0]) h = add_header(h, &failed, "x-amz-security-token", s3->session_token);
    h = add_header(h, &failed, "x-amz-meta-host", m->host);
    h = add_header(h, &failed, "x-amz-meta-pid", pid);
    h = add_header(h, &failed, "x-amz-meta-node-version", m->node_version);
    h = add_header(h, &failed, "x-amz-meta-kind", m->kind);
    h = add_header(h, &failed, "x-amz-meta-start", m->start);
    h = add_header(h, &failed, "x-amz-meta-end", m->end);
    /* NODEPROF_LABELS: sent when set. */
    if (m->labels[0]) h = add_header(h, &failed, "x-amz-meta-labels", m->labels);
    /* No "Expect:" line to turn 100-continue off: libcurl 7.88 would sign
     * that empty header, then not send it. */
    if (failed) { curl.slist_free_all(h); return NULL; }
    return h;
}

static void set_transfer(void *easy, struct put_state *st, char *errbuf, off_t size)
{
    curl.easy_setopt(easy, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM in someone else's process */
    curl.easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl.easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, (int64_t)size);
    curl.easy_setopt(easy, CURLOPT_READFUNCTION, read_body);
    curl.easy_setopt(easy, CURLOPT_READDATA, st);
    curl.easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep_answer);
    curl.easy_setopt(easy, CURLOPT_WRITEDATA, st);
    curl.easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    curl.easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, progress);
    curl.easy_setopt(easy, CURLOPT_XFERINFODATA, st);
    curl.easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
    curl.easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl.easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl.easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, 30L);
    if (curl.easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != 0)
        curl.easy_setopt(easy, CURLOPT_PROTOCOLS, CURLPROTO_HTTP_HTTPS);
}

static int perform(const struct np_s3 *s3, const char *url, struct curl_slist *headers,
                   struct put_state *st, off_t size, char *why, size_t whylen)
{
    void *easy = curl.easy_init();
    if (!easy) { snprintf(why, whylen, "curl_easy_init failed"); return -1; }
    char errbuf[CURL_ERROR_SIZE] = "", sigv4[128];
    snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", s3->region);
    set_transfer(easy, st, errbuf, size);
    curl.easy_setopt(easy, CURLOPT_URL, url);
    curl.easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl.easy_setopt(easy, CURLOPT_AWS_SIGV4, sigv4);
    curl.easy_setopt(easy, CURLOPT_USERNAME, s3->access_key);
    curl.easy_setopt(easy, CURLOPT_PASSWORD, s3->secret_key);
    int rc = curl.easy_perform(easy);
    long status = -1;
    if (rc == 0) curl.easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    else snprintf(why, whylen, "%s", errbuf[0] ? errbuf : curl.easy_strerror(rc));
    curl.easy_cleanup(easy);
    if (rc == 0 && status != 200) {
        /* S3's error document: <Code>…</Code> says why. */
        const char *code = strstr(st->answer, "<Code>");
        snprintf(why, whylen, "HTTP %ld%s%.*s", status, code ? " " : "",
                 code ? (int)strcspn(code + 6, "<") : 0, code ? code + 6 : "");
    }
    return rc == 0 ? (int)status : -1;
}

int np_s3_put(const struct np_s3 *s3, int dirfd, const char *name, const struct np_s3_meta *meta,
              const atomic_bool *abort, char *why, size_t whylen)
{
    char url[4200], sha[65];
    if (np_s3_object_url(s3, name, url, sizeof url)) { snprintf(why, whylen, "object key too long"); return -1; }
    if (np_s3_load(why, whylen)) return -1;
    /* In a shared directory another user may have put something of theirs
     * under the name since its marker was written: a FIFO must not block
     * us (O_NONBLOCK), and only a file of ours goes to our bucket. */
    struct put_state st = { .fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), .abort = abort };
    struct stat sb;
    if (st.fd < 0 || fstat(st.fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) {
        bool not_ours = st.fd >= 0 || errno == ELOOP; /* ELOOP: a symlink (O_NOFOLLOW) */
        if (not_ours) snprintf(why, whylen, "not a regular file of uid %u", (unsigned)geteuid());
        else snprintf(why, whylen, "%s", strerror(errno));
        if (st.fd >= 0) close(st.fd);
        return not_ours ? NP_S3_NOT_OURS : -1;
    }
    int status = -1;
    struct curl_slist *headers = NULL;
    if (hash_file(st.fd, sha)) snprintf(why, whylen, "cannot read: %s", strerror(errno));
    else if (!(headers = headers_for(s3, meta, sha))) snprintf(why, whylen, "out of memory");
    else status = perform(s3, url, headers, &st, sb.st_size, why, whylen);
    if (headers) curl.slist_free_all(headers);
    close(st.fd);
    return status;
}
