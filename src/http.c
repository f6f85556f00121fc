#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/httpreq.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/peeruid.h"
#include "dispatch.h"
#include "formats/formats.h"
#include "httpprof.h"
#include "napi_weak.h"
#include "process.h"
#include "profmeta.h"
#include "thread.h"
#include "wake.h"

/* llhttp, as node exports it; weak, like Node-API (napi_weak.h): NULL in a
 * node without it, and nothing at all outside node. */
void llhttp_init(void *parser, int type, const void *settings);
int llhttp_execute(void *parser, const char *data, size_t len);
uint8_t llhttp_get_method(void *parser);
#pragma weak llhttp_init
#pragma weak llhttp_execute
#pragma weak llhttp_get_method

enum phase { READING, WAITING, WRITING };

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    int open_handles;
    unsigned long long id;
    enum phase phase;
    bool closing;
    uv_write_t write;
    char *out;
    struct conn *next;
    char rbuf[4096];
    struct np_httpreq req;
};

/* One profile request at a time of each kind. */
struct job {
    bool busy;
    unsigned long long conn; /* who asked; 0 once gone */
    long seconds;
    double started_ms;       /* heap: when this request's sampling began (the shared profile's start) */
    uv_timer_t timer;        /* the end of the profile */
};

static struct np_http {
    uv_tcp_t listener;
    struct np_llhttp lib;
    char token[NP_HTTP_TOKEN_MAX + 1];
    bool own_user_only;  /* loopback without a token: peeruid.h */
    struct conn *conns;
    int nconns;
    unsigned long long next_id;
    struct job cpu, heap;
} http;

/* ---- connections ------------------------------------------------------------ */

static void handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->open_handles == 0) {
        free(c->out);
        free(c);
    }
}

static void conn_close(struct conn *c)
{
    if (c->closing) return;
    c->closing = true;
    for (struct conn **p = &http.conns; *p; p = &(*p)->next)
        if (*p == c) { *p = c->next; break; }
    http.nconns--;
    if (http.cpu.conn == c->id) http.cpu.conn = 0;
    if (http.heap.conn == c->id) http.heap.conn = 0;
    uv_close((uv_handle_t *)&c->tcp, handle_closed);
    uv_close((uv_handle_t *)&c->timer, handle_closed);
}

static struct conn *conn_by_id(unsigned long long id)
{
    for (struct conn *c = http.conns; c; c = c->next)
        if (c->id == id && !c->closing) return c;
    return NULL;
}

static void on_timeout(uv_timer_t *timer)
{
    struct conn *c = timer->data;
    np_debug("HTTP connection %llu timed out (%s)", c->id, c->phase == READING ? "request" : "response");
    conn_close(c);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    conn_close(w->data);
}

/* Sends a whole response (takes it) and closes the connection after. */
static void conn_send(struct conn *c, char *resp, size_t len)
{
    if (!resp) { conn_close(c); return; }
    c->phase = WRITING;
    c->out = resp;
    c->write.data = c;
    uv_buf_t buf = { .base = resp, .len = len };
    uv_timer_start(&c->timer, on_timeout, NP_HTTP_WRITE_MS, 0);
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written)) conn_close(c);
}

static void send_error(struct conn *c, int status, const char *message)
{
    size_t len = 0;
    char *resp = np_http_error_response(status, message, false, &len);
    conn_send(c, resp, len);
}

static void send_body(struct conn *c, const char *type, const char *extra, const char *body, size_t len)
{
    char head[512];
    int n = np_http_head(head, sizeof head, 200, type, len, extra);
    char *resp = n < 0 ? NULL : malloc((size_t)n + len);
    if (!resp) { conn_close(c); return; }
    memcpy(resp, head, (size_t)n);
    if (len) memcpy(resp + n, body, len);
    conn_send(c, resp, (size_t)n + len);
}

/* ---- requests to the main thread --------------------------------------------- */

static int submit(struct conn *c, struct np_request *req, void (*done)(struct np_request *))
{
    req->done = done;
    if (c) req->tag = c->id; /* else the caller's */
    snprintf(req->cmd.origin, sizeof req->cmd.origin, "http");
    if (c) { /* a main thread that never serves (exiting, stuck) does not hold the slot */
        c->phase = WAITING;
        uv_timer_start(&c->timer, on_timeout, NP_HTTP_GRACE_MS, 0);
    }
    if (np_dispatch_submit(req) == 0) return 0;
    if (c) send_error(c, 503, "busy: too many commands waiting");
    return -1;
}

static struct np_request *new_request(void (*run)(struct np_request *))
{
    struct np_request *req = calloc(1, sizeof *req);
    if (req) req->run = run;
    return req;
}

/* Main thread: the reply is the text given, or an error. */
static void reply_text(struct np_request *req, char *text, size_t len, const char *error)
{
    if (text) {
        req->reply = text;
        req->reply_len = len;
        return;
    }
    req->failed = true;
    req->reply = strdup(error ? error : "out of memory");
    req->reply_len = req->reply ? strlen(req->reply) : 0;
}

/* Agent thread: a profile's JSON as gzipped profile.proto, with its wall
 * time and labels (profmeta.h). */
static char *to_pprof(const char *json, size_t len, double span_start_ms, size_t *out_len, char *err,
                      size_t errlen)
{
    struct np_profile *p = np_profile_parse(json, len, err, errlen);
    if (!p) return NULL;
    np_profmeta_fill(p, span_start_ms, np_cfg()->heap_interval);
    char *buf = NULL;
    FILE *out = open_memstream(&buf, out_len);
    int rc = out ? np_format_write(p, json, len, NP_FMT_PPROF, out, err, errlen) : -1;
    if (out && fclose(out)) rc = -1;
    np_profile_free(p);
    if (rc) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void send_profile(struct np_request *req, const char *filename, double span_start_ms)
{
    struct conn *c = conn_by_id(req->tag);
    if (!c) return; /* the client went away */
    if (req->failed || !req->reply) {
        send_error(c, 500, req->reply ? req->reply : "could not read the profile");
        return;
    }
    char err[256], extra[128];
    size_t len = 0;
    char *pb = to_pprof(req->reply, req->reply_len, span_start_ms, &len, err, sizeof err);
    if (!pb) {
        char msg[300];
        snprintf(msg, sizeof msg, "could not convert the profile: %s", err);
        send_error(c, 500, msg);
        return;
    }
    snprintf(extra, sizeof extra, "Content-Disposition: attachment; filename=\"%s\"\r\n", filename);
    send_body(c, "application/octet-stream", extra, pb, len);
    free(pb);
}

/* ---- CPU: start, N seconds, stop ------------------------------------------------- */

static void run_cpu_start(struct np_request *req)
{
    int rc = np_httpprof_cpu_start(np_main_thread(), np_cfg()->cpu_interval_us);
    reply_text(req, rc ? NULL : strdup("ok"), 2, "Could not enable CPU profiling: the inspector refused");
}

static void run_cpu_stop(struct np_request *req)
{
    size_t len = 0;
    char *json = np_httpprof_cpu_stop(np_main_thread(), &len);
    reply_text(req, json, len, "could not read the CPU profile");
}

static void cpu_stopped(struct np_request *req)
{
    http.cpu.busy = false;
    send_profile(req, "profile", 0);
}

static void on_cpu_due(uv_timer_t *timer)
{
    (void)timer;
    struct np_request *req = new_request(run_cpu_stop);
    if (req) req->tag = http.cpu.conn;
    if (!req || submit(NULL, req, cpu_stopped)) {
        http.cpu.busy = false;
        struct conn *c = conn_by_id(http.cpu.conn);
        if (c) send_error(c, 503, "could not stop the CPU profile");
    }
}

static void cpu_started(struct np_request *req)
{
    struct conn *c = conn_by_id(req->tag);
    if (req->failed) {
        http.cpu.busy = false;
        if (c) send_error(c, 500, req->reply ? req->reply : "Could not enable CPU profiling");
        return;
    }
    uv_timer_start(&http.cpu.timer, on_cpu_due, (uint64_t)http.cpu.seconds * 1000, 0);
    if (c) uv_timer_start(&c->timer, on_timeout, (uint64_t)http.cpu.seconds * 1000 + NP_HTTP_GRACE_MS, 0);
}

static void serve_profile(struct conn *c, long seconds)
{
    if (http.cpu.busy) {
        send_error(c, 429, "Could not enable CPU profiling: a CPU profile request is already running");
        return;
    }
    struct np_request *req = new_request(run_cpu_start);
    if (!req) { conn_close(c); return; }
    http.cpu.busy = true;
    http.cpu.conn = c->id;
    http.cpu.seconds = seconds;
    if (submit(c, req, cpu_started)) http.cpu.busy = false;
}

/* ---- heap ------------------------------------------------------------------------ */

/* Main thread: the shared profile now, or sampling started ("started"). */
static void run_heap_begin(struct np_request *req)
{
    struct np_thread *t = np_main_thread();
    size_t len = 0;
    if (np_httpprof_heap_shared(t)) {
        char *json = np_httpprof_heap_read(t, &len);
        req->since_ms = t->heap_started_ms; /* its pprof's time and duration */
        reply_text(req, json, len, "could not read the heap profile");
    } else if (np_httpprof_heap_start(t, np_cfg()->heap_interval) == 0) {
        reply_text(req, strdup("started"), 7, NULL);
    } else {
        reply_text(req, NULL, 0, "Could not enable heap sampling: the inspector refused");
    }
}

static void run_heap_end(struct np_request *req)
{
    size_t len = 0;
    char *json = np_httpprof_heap_read(np_main_thread(), &len);
    reply_text(req, json, len, "could not read the heap profile");
}

static void heap_ended(struct np_request *req)
{
    http.heap.busy = false;
    send_profile(req, "heap", http.heap.started_ms);
}

static void on_heap_due(uv_timer_t *timer)
{
    (void)timer;
    struct np_request *req = new_request(run_heap_end);
    if (req) req->tag = http.heap.conn;
    if (!req || submit(NULL, req, heap_ended)) {
        http.heap.busy = false;
        struct conn *c = conn_by_id(http.heap.conn);
        if (c) send_error(c, 503, "could not stop heap sampling");
    }
}

static void heap_begun(struct np_request *req)
{
    if (req->failed || !req->reply || strcmp(req->reply, "started")) {
        http.heap.started_ms = req->since_ms;
        heap_ended(req); /* the shared profile, or the error */
        return;
    }
    http.heap.started_ms = np_wall_ms();
    struct conn *c = conn_by_id(req->tag);
    uv_timer_start(&http.heap.timer, on_heap_due, (uint64_t)http.heap.seconds * 1000, 0);
    if (c) uv_timer_start(&c->timer, on_timeout, (uint64_t)http.heap.seconds * 1000 + NP_HTTP_GRACE_MS, 0);
}

static void serve_heap(struct conn *c, long seconds)
{
    if (http.heap.busy) {
        send_error(c, 429, "Could not enable heap sampling: a heap profile request is already running");
        return;
    }
    struct np_request *req = new_request(run_heap_begin);
    if (!req) { conn_close(c); return; }
    http.heap.busy = true;
    http.heap.conn = c->id;
    http.heap.seconds = seconds ? seconds : NP_HTTP_HEAP_DEFAULT_S;
    if (submit(c, req, heap_begun)) http.heap.busy = false;
}

/* ---- stack, ctl, index ------------------------------------------------------------- */

/* The reply as the FIFO gives it (ctl), or the text after its "ok" line
 * (stack); a failed command is a 500 with the same text. */
static void send_reply(struct np_request *req, bool strip_ok)
{
    struct conn *c = conn_by_id(req->tag);
    if (!c) return;
    const char *text = req->reply ? req->reply : "";
    size_t len = req->reply ? req->reply_len : 0;
    if (strip_ok && !req->failed && len >= 3 && !strncmp(text, "ok\n", 3)) text += 3, len -= 3;
    char head[512];
    int n = np_http_head(head, sizeof head, req->failed ? 500 : 200, "text/plain; charset=utf-8", len, NULL);
    char *resp = n < 0 ? NULL : malloc((size_t)n + len);
    if (!resp) { conn_close(c); return; }
    memcpy(resp, head, (size_t)n);
    if (len) memcpy(resp + n, text, len);
    conn_send(c, resp, (size_t)n + len);
}

static void stack_done(struct np_request *req) { send_reply(req, true); }
static void ctl_done(struct np_request *req) { send_reply(req, false); }

static void serve_stack(struct conn *c)
{
    struct np_request *req = new_request(NULL);
    if (!req) { conn_close(c); return; }
    req->cmd.verb = NP_CMD_STACK;
    submit(c, req, stack_done);
}

/* The body is one command line, as the FIFO takes; a reply= in it is
 * ignored (the reply is this response). */
static void serve_ctl(struct conn *c, const char *body, size_t len)
{
    while (len && (body[len - 1] == '\n' || body[len - 1] == '\r')) len--;
    if (memchr(body, '\n', len) || memchr(body, '\0', len)) {
        send_error(c, 400, "error: one command line per request");
        return;
    }
    struct np_request *req = new_request(NULL);
    char why[300], msg[320];
    if (!req) { conn_close(c); return; }
    if (np_command_parse(body, len, &req->cmd, why, sizeof why)) {
        free(req);
        snprintf(msg, sizeof msg, "error: %s", why);
        send_error(c, 400, msg);
        return;
    }
    req->cmd.reply[0] = '\0';
    submit(c, req, ctl_done);
}

static const char index_html[] =
    "<html>\n<head>\n<title>/debug/pprof/</title>\n</head>\n<body>\n/debug/pprof/\n<br>\n<p>nodeprof: profiles of this "
    "node process</p>\n<ul>\n"
    "<li><a href=\"heap?seconds=5\">heap</a>: the sampling heap profile: the live objects sampled (inuse_objects, "
    "inuse_space); sampled for <code>seconds</code> (5) unless heap sampling runs already (NODEPROF_HEAP=on)</li>\n"
    "<li><a href=\"profile?seconds=30\">profile</a>: CPU profile of the next <code>seconds</code> (30, at most 300); "
    "one at a time</li>\n"
    "<li><a href=\"stack\">stack</a>: the main thread's JavaScript stack now</li>\n"
    "</ul>\n<p><code>POST /nodeprof/ctl</code> with a control command (<code>help</code>) as the body: the control "
    "FIFO's reply</p>\n</body>\n</html>\n";

/* ---- reading requests ---------------------------------------------------------- */

static void act(struct conn *c)
{
    struct np_http_action a;
    np_httpreq_route(&c->req, http.token, &a);
    switch (a.route) {
    case NP_ROUTE_ERROR: {
        size_t len = 0;
        char *resp = np_http_error_response(a.status, a.message, a.allow_post, &len);
        conn_send(c, resp, len);
        break;
    }
    case NP_ROUTE_INDEX: send_body(c, "text/html; charset=utf-8", NULL, index_html, sizeof index_html - 1); break;
    case NP_ROUTE_PROFILE: serve_profile(c, a.seconds); break;
    case NP_ROUTE_HEAP: serve_heap(c, a.seconds); break;
    case NP_ROUTE_STACK: serve_stack(c); break;
    case NP_ROUTE_CTL: serve_ctl(c, c->req.body, c->req.body_len); break;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = h->data;
    buf->base = c->rbuf;
    buf->len = sizeof c->rbuf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (nread < 0) {
        conn_close(c); /* EOF or error: nobody to answer */
        return;
    }
    if (c->phase != READING) return;
    enum np_httpreq_state st = np_httpreq_feed(&c->req, buf->base, (size_t)nread);
    if (st == NP_HTTPREQ_MORE) return;
    uv_read_stop(s);
    act(c);
}

/* On loopback without a token, which every local user can reach, only
 * our own user and root are served (peeruid.h); anyone else is closed
 * before a byte is read, and holds no connection slot. */
static bool peer_allowed(struct conn *c)
{
    if (!http.own_user_only) return true;
    uv_os_fd_t fd;
    uid_t uid;
    char why[160] = "no descriptor";
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) || np_peer_uid(fd, &uid, why, sizeof why)) {
        np_log_kind(NP_LOG_WARN, "http peers", "HTTP connection refused: its user cannot be told (%s)", why);
        return false;
    }
    if (uid == geteuid() || uid == 0) return true;
    char whom[48] = "root is";
    if (geteuid() != 0) snprintf(whom, sizeof whom, "uid %u and root are", (unsigned)geteuid());
    np_log_kind(NP_LOG_WARN, "http peers",
                "HTTP connection from uid %u refused: on loopback without NODEPROF_HTTP_TOKEN_FILE only %s served",
                (unsigned)uid, whom);
    return false;
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status < 0) return;
    struct conn *c = calloc(1, sizeof *c);
    if (!c) return;
    if (uv_tcp_init(np_agent_loop(), &c->tcp)) { free(c); return; }
    c->tcp.data = c->timer.data = c;
    c->open_handles = 1;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) || !peer_allowed(c)) {
        uv_close((uv_handle_t *)&c->tcp, handle_closed);
        return;
    }
    if (http.nconns >= NP_HTTP_CONNS || uv_timer_init(np_agent_loop(), &c->timer)) {
        /* Over the limit: closed at once, before reading a byte. */
        np_log_kind(NP_LOG_INFO, "http connections", "HTTP connection refused: %d open already", http.nconns);
        uv_close((uv_handle_t *)&c->tcp, handle_closed);
        return;
    }
    c->open_handles = 2;
    c->id = ++http.next_id;
    c->next = http.conns;
    http.conns = c;
    http.nconns++;
    np_httpreq_init(&c->req, &http.lib);
    uv_timer_start(&c->timer, on_timeout, NP_HTTP_READ_MS, 0);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) conn_close(c);
}

/* ---- start-up -------------------------------------------------------------------- */

/* The token: a regular file of ours that nobody else may read. */
static int read_token(const char *path, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        snprintf(why, whylen, "cannot open NODEPROF_HTTP_TOKEN_FILE %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    const char *bad = !S_ISREG(st.st_mode) ? "is not a regular file"
                      : st.st_uid != geteuid() ? "belongs to another user"
                      : (st.st_mode & 077) ? "is readable or writable by group or others (chmod 600)"
                      : st.st_size > NP_HTTP_TOKEN_MAX ? "is too long for a token"
                      : NULL;
    ssize_t n = bad ? 0 : read(fd, http.token, NP_HTTP_TOKEN_MAX);
    close(fd);
    if (!bad && n < 0) bad = "cannot be read";
    if (bad) {
        snprintf(why, whylen, "NODEPROF_HTTP_TOKEN_FILE %s %s", path, bad);
        http.token[0] = '\0';
        return -1;
    }
    http.token[n] = '\0';
    while (n > 0 && isspace((unsigned char)http.token[n - 1])) http.token[--n] = '\0';
    for (ssize_t i = 0; i < n; i++)
        if (!isgraph((unsigned char)http.token[i])) bad = "holds a token with spaces or control characters";
    if (n < 16) bad = "holds a token shorter than 16 characters";
    if (bad) {
        snprintf(why, whylen, "NODEPROF_HTTP_TOKEN_FILE %s %s", path, bad);
        http.token[0] = '\0';
        return -1;
    }
    return 0;
}

/* "127.0.0.1:6060", "[::1]:6060": numeric addresses only. */
static int parse_address(const char *spec, struct sockaddr_storage *ss, bool *loopback, char *why, size_t whylen)
{
    char host[128];
    const char *colon = strrchr(spec, ':');
    const char *h = spec, *hend = colon;
    if (spec[0] == '[') {
        h = spec + 1;
        hend = strchr(spec, ']');
        if (!hend || hend[1] != ':') hend = NULL;
        colon = hend ? hend + 1 : NULL;
    }
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || !hend || (size_t)(hend - h) >= sizeof host || end == colon + 1 || *end || port < 1 || port > 65535) {
        snprintf(why, whylen, "NODEPROF_HTTP=%s is not an address and port such as 127.0.0.1:6060 or [::1]:6060", spec);
        return -1;
    }
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
    } else {
        snprintf(why, whylen, "NODEPROF_HTTP=%s: the host must be a numeric IPv4 or IPv6 address", spec);
        return -1;
    }
    return 0;
}

static int configure(struct sockaddr_storage *ss, char *why, size_t whylen)
{
    const struct np_config *cfg = np_cfg();
    bool loopback = false;
    if (parse_address(cfg->http, ss, &loopback, why, whylen)) return -1;
    if (cfg->http_token_file[0] && read_token(cfg->http_token_file, why, whylen)) return -1;
    if (!loopback && !http.token[0]) {
        snprintf(why, whylen, "NODEPROF_HTTP=%s is not a loopback address: it needs NODEPROF_HTTP_TOKEN_FILE", cfg->http);
        return -1;
    }
    http.own_user_only = !http.token[0];
    struct np_llhttp_api api = { llhttp_init, llhttp_execute, llhttp_get_method };
    if (!llhttp_init || !llhttp_execute || !llhttp_get_method) {
        snprintf(why, whylen, "this node does not export llhttp, which serves NODEPROF_HTTP");
        return -1;
    }
    return np_llhttp_probe(&http.lib, &api, why, whylen);
}

static int listen_on(const struct sockaddr_storage *ss, char *why, size_t whylen)
{
    uv_loop_t *loop = np_agent_loop();
    int rc = uv_tcp_init(loop, &http.listener);
    if (rc == 0) rc = uv_tcp_bind(&http.listener, (const struct sockaddr *)ss, ss->ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&http.listener, 64, on_connection);
    if (rc) {
        snprintf(why, whylen, "cannot listen on NODEPROF_HTTP=%s: %s", np_cfg()->http, uv_strerror(rc));
        return -1;
    }
    return uv_timer_init(loop, &http.cpu.timer) || uv_timer_init(loop, &http.heap.timer) ? -1 : 0;
}

void np_http_start(void)
{
    const char *spec = np_cfg()->http;
    if (!spec[0] || !strcmp(spec, "off")) return;
    struct sockaddr_storage ss;
    char why[NP_PATH_MAX + 600];
    if (configure(&ss, why, sizeof why) || listen_on(&ss, why, sizeof why)) {
        np_err("%s; no HTTP endpoints", why);
        return;
    }
    np_info("serving pprof endpoints at http://%s/debug/pprof/%s", spec, http.token[0] ? " (bearer token required)" : "");
}
