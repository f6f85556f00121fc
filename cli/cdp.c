#include "cdp.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lws.h"

/* A message or a body larger than this is refused: a CPU profile of a long
 * window is tens of MB; a heap snapshot comes in chunks. */
#define CDP_MESSAGE_MAX (1024L * 1024 * 1024)
/* How often the service loop wakes to look at deadlines and the flag. */
#define CDP_TICK_US (50 * 1000)

enum cdp_state { CDP_IDLE, CDP_CONNECTING, CDP_OPEN, CDP_CLOSED };

struct cdp_buf { char *data; size_t len, cap; };

/* The one connection. */
static struct {
    const struct cli_lws *lws;
    struct lws_context *ctx;
    struct lws *wsi;
    enum cdp_state state;
    bool http;                 /* this connection is the GET of /json/list */
    bool http_done;
    char err[256];             /* why the connection failed or closed */
    struct cdp_buf in;         /* the message (or body) being received */
    struct cdp_buf out;        /* LWS_PRE bytes, then the message to send */
    bool out_pending;
    int next_id, want_id;
    cJSON *reply;              /* the reply to want_id, once it came */
    cdp_event_fn on_event;
    void *event_ctx;
    char event_err[256];
    bool event_failed;
    lws_sorted_usec_list_t tick;
    volatile sig_atomic_t *interrupted;
} cdp;

void cdp_set_interrupt(volatile sig_atomic_t *flag) { cdp.interrupted = flag; }
void cdp_on_event(cdp_event_fn fn, void *ctx) { cdp.on_event = fn; cdp.event_ctx = ctx; }

static int buf_append(struct cdp_buf *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        if (b->len + len + 1 > (size_t)CDP_MESSAGE_MAX) return -1;
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + len + 1) cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

static void fail(const char *msg)
{
    if (!cdp.err[0]) snprintf(cdp.err, sizeof cdp.err, "%s", msg);
    cdp.state = CDP_CLOSED;
}

/* One whole message: a reply to the call we wait for, or an event. */
static void on_message(void)
{
    cJSON *m = cJSON_ParseWithLength(cdp.in.data, cdp.in.len);
    cdp.in.len = 0;
    if (!m) return;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(m, "method");
    if (cJSON_IsNumber(id)) {
        if (id->valueint == cdp.want_id && !cdp.reply) { cdp.reply = m; return; }
    } else if (cJSON_IsString(method) && cdp.on_event && !cdp.event_failed) {
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(m, "params");
        if (cdp.on_event(method->valuestring, params, cdp.event_ctx, cdp.event_err, sizeof cdp.event_err))
            cdp.event_failed = true;
    }
    cJSON_Delete(m);
}

static int on_receive(struct lws *wsi, const void *in, size_t len)
{
    if (buf_append(&cdp.in, in, len)) {
        fail("a message from the inspector is too large, or no memory");
        return -1;
    }
    if (cdp.lws->is_final_fragment(wsi)) on_message();
    return 0;
}

static int on_writable(struct lws *wsi)
{
    if (!cdp.out_pending) return 0;
    size_t len = cdp.out.len - LWS_PRE;
    int w = cdp.lws->write(wsi, (unsigned char *)cdp.out.data + LWS_PRE, len, LWS_WRITE_TEXT);
    if (w < (int)len) { fail("cannot write to the inspector"); return -1; }
    cdp.out_pending = false;
    return 0;
}

static int on_http_body(struct lws *wsi)
{
    char buf[4096 + LWS_PRE], *p = buf + LWS_PRE;
    int len = (int)(sizeof buf - LWS_PRE);
    return cdp.lws->http_client_read(wsi, &p, &len) < 0 ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        char msg[200];
        if (in) snprintf(msg, sizeof msg, "cannot connect to the inspector: %.*s", (int)len, (const char *)in);
        else snprintf(msg, sizeof msg, "cannot connect to the inspector");
        fail(msg);
        cdp.wsi = NULL;
        return -1;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        cdp.state = CDP_OPEN;
        if (cdp.out_pending) cdp.lws->callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return on_writable(wsi);
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
        return on_http_body(wsi);
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        if (buf_append(&cdp.in, in, len)) { fail("the inspector's reply is too large"); return -1; }
        return 0;
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        cdp.http_done = true;
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        fail("the inspector closed the connection");
        cdp.wsi = NULL;
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (wsi == cdp.wsi) { cdp.wsi = NULL; if (cdp.state != CDP_CLOSED) fail("connection closed"); }
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    { "cdp", callback, 0, 65536, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void on_tick(lws_sorted_usec_list_t *sul)
{
    /* Only wakes lws_service(), which then returns to our loops. */
    cdp.lws->sul_schedule(cdp.ctx, 0, sul, on_tick, CDP_TICK_US);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static int start(int port, const char *path, bool http, int timeout_ms, char *err, size_t errlen);

/* Serves until done() or the deadline; 0, -1 (closed, timeout: err set),
 * CDP_INTERRUPTED. A deadline of 0 never comes. */
static int serve(bool (*done)(void), long deadline, const char *what, char *err, size_t errlen)
{
    while (!done()) {
        if (cdp.interrupted && *cdp.interrupted) return CDP_INTERRUPTED;
        if (cdp.event_failed) { snprintf(err, errlen, "%s", cdp.event_err); return -1; }
        if (cdp.state == CDP_CLOSED) { snprintf(err, errlen, "%s", cdp.err[0] ? cdp.err : "connection closed"); return -1; }
        if (deadline && now_ms() >= deadline) { snprintf(err, errlen, "no answer from the inspector to %s in time", what); return -1; }
        cdp.lws->service(cdp.ctx, 0);
    }
    return 0;
}

static bool http_finished(void) { return cdp.http_done; }
static bool ws_open(void) { return cdp.state == CDP_OPEN; }
static bool reply_came(void) { return cdp.reply != NULL; }
static bool written(void) { return !cdp.out_pending; }
static bool never(void) { return false; }
static bool closed(void) { return cdp.state == CDP_CLOSED; }

static void silent(int level, const char *line) { (void)level; (void)line; }

static int start(int port, const char *path, bool http, int timeout_ms, char *err, size_t errlen)
{
    if (!(cdp.lws = cli_lws_load(err, errlen))) return -1;
    cdp_close();
    cdp.lws->set_log_level(0, silent);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    cdp.ctx = cdp.lws->create_context(&info);
    if (!cdp.ctx) { snprintf(err, errlen, "libwebsockets: cannot create a context"); return -1; }
    cdp.lws->sul_schedule(cdp.ctx, 0, &cdp.tick, on_tick, CDP_TICK_US);
    cdp.http = http;
    cdp.state = CDP_CONNECTING;
    char host[32];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = cdp.ctx;
    ci.address = "127.0.0.1";
    ci.port = port;
    ci.path = path;
    ci.host = host;
    ci.origin = NULL;
    ci.method = http ? "GET" : NULL;
    ci.local_protocol_name = "cdp";
    ci.pwsi = &cdp.wsi;
    if (!cdp.lws->client_connect_via_info(&ci) && cdp.state != CDP_CLOSED) fail("cannot connect to the inspector");
    return serve(http ? http_finished : ws_open, now_ms() + timeout_ms, http ? "GET /json/list" : "the WebSocket handshake", err, errlen);
}

int cdp_target_path(int port, char *path, size_t len, int timeout_ms, char *err, size_t errlen)
{
    int rc = start(port, "/json/list", true, timeout_ms, err, errlen);
    cJSON *list = rc ? NULL : cJSON_ParseWithLength(cdp.in.data ? cdp.in.data : "", cdp.in.len);
    cdp_close();
    if (rc) return rc;
    const cJSON *first = cJSON_GetArrayItem(list, 0);
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(first, "webSocketDebuggerUrl");
    char prefix[40];
    snprintf(prefix, sizeof prefix, "ws://127.0.0.1:%d/", port);
    /* Only a path on the port we checked: the URL is the peer's word. */
    if (!cJSON_IsString(url) || strncmp(url->valuestring, prefix, strlen(prefix)) ||
        strlen(url->valuestring + strlen(prefix)) + 2 > len || strpbrk(url->valuestring + strlen(prefix), " \r\n?#")) {
        snprintf(err, errlen, "127.0.0.1:%d did not answer /json/list as node's inspector does", port);
        cJSON_Delete(list);
        return -1;
    }
    snprintf(path, len, "/%s", url->valuestring + strlen(prefix));
    cJSON_Delete(list);
    return 0;
}

int cdp_open(int port, const char *path, int timeout_ms, char *err, size_t errlen)
{
    return start(port, path, false, timeout_ms, err, errlen);
}

static int queue_call(const char *method, const cJSON *params, char *err, size_t errlen)
{
    if (cdp.state != CDP_OPEN || !cdp.wsi) { snprintf(err, errlen, "%s", cdp.err[0] ? cdp.err : "not connected"); return -1; }
    cJSON *m = cJSON_CreateObject();
    char *text = NULL;
    if (m && cJSON_AddNumberToObject(m, "id", ++cdp.next_id) && cJSON_AddStringToObject(m, "method", method) &&
        (!params || cJSON_AddItemToObject(m, "params", cJSON_Duplicate(params, 1))))
        text = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    cdp.out.len = 0;
    char pre[LWS_PRE] = { 0 };
    if (!text || buf_append(&cdp.out, pre, LWS_PRE) || buf_append(&cdp.out, text, strlen(text))) {
        free(text);
        snprintf(err, errlen, "no memory");
        return -1;
    }
    free(text);
    cdp.want_id = cdp.next_id;
    cdp.event_failed = false; /* an event ended the previous call, not this one */
    cJSON_Delete(cdp.reply);
    cdp.reply = NULL;
    cdp.out_pending = true;
    cdp.lws->callback_on_writable(cdp.wsi);
    return 0;
}

int cdp_call(const char *method, const cJSON *params, int timeout_ms, cJSON **result, char *err, size_t errlen)
{
    if (result) *result = NULL;
    if (queue_call(method, params, err, errlen)) return -1;
    int rc = serve(reply_came, now_ms() + timeout_ms, method, err, errlen);
    if (rc) return rc;
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(cdp.reply, "error");
    if (error) {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
        snprintf(err, errlen, "%s: %s", method, cJSON_IsString(msg) ? msg->valuestring : "error");
        rc = -1;
    } else if (result) {
        *result = cJSON_DetachItemFromObjectCaseSensitive(cdp.reply, "result");
    }
    cJSON_Delete(cdp.reply);
    cdp.reply = NULL;
    return rc;
}

int cdp_send_only(const char *method, const cJSON *params, int timeout_ms, char *err, size_t errlen)
{
    if (queue_call(method, params, err, errlen)) return -1;
    return serve(written, now_ms() + timeout_ms, method, err, errlen);
}

int cdp_wait(int ms, char *err, size_t errlen)
{
    int rc = serve(never, now_ms() + ms, "", err, errlen);
    /* The deadline is what was asked for: not an error. */
    return rc == -1 && cdp.state != CDP_CLOSED && !cdp.event_failed ? 0 : rc;
}

int cdp_wait_closed(int timeout_ms)
{
    char err[256];
    return serve(closed, now_ms() + timeout_ms, "", err, sizeof err) == 0 || cdp.state == CDP_CLOSED ? 0 : -1;
}

void cdp_close(void)
{
    if (cdp.ctx) {
        /* The timer is linked into the context's lists: unlinked before they
         * are freed, and blank for the next context. */
        cdp.lws->sul_cancel(&cdp.tick);
        cdp.lws->context_destroy(cdp.ctx);
    }
    memset(&cdp.tick, 0, sizeof cdp.tick);
    cdp.ctx = NULL;
    cdp.wsi = NULL;
    cJSON_Delete(cdp.reply);
    cdp.reply = NULL;
    free(cdp.in.data);
    free(cdp.out.data);
    memset(&cdp.in, 0, sizeof cdp.in);
    memset(&cdp.out, 0, sizeof cdp.out);
    cdp.state = CDP_IDLE;
    cdp.http = cdp.http_done = cdp.out_pending = cdp.event_failed = false;
    cdp.err[0] = cdp.event_err[0] = '\0';
}
