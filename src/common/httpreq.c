#include "common/httpreq.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* llhttp's constants (llhttp.h; stable since 6.x). */
enum { LLHTTP_REQUEST = 1, HPE_OK = 0, HPE_PAUSED = 21, HTTP_GET = 1, HTTP_POST = 3 };

/* Settings slots (llhttp_settings_s): before 9.3, and from 9.3 on, which
 * added on_protocol after on_message_begin and on_protocol_complete after
 * on_message_complete. */
enum { URL, HEADER_FIELD, HEADER_VALUE, HEADERS_COMPLETE, BODY, MESSAGE_COMPLETE, FIELD_COMPLETE, VALUE_COMPLETE,
       NSLOTS };
static const int slots[2][NSLOTS] = {
    { 1, 5, 6, 9, 10, 11, 16, 17 },
    { 2, 6, 7, 10, 11, 12, 18, 19 },
};

typedef int (*data_cb)(void *parser, const char *at, size_t len);
typedef int (*plain_cb)(void *parser);

static struct np_httpreq *req_of(void *parser) { return (struct np_httpreq *)parser; }

static int fail(struct np_httpreq *r, int status)
{
    r->status = status;
    return -1; /* llhttp stops with HPE_CB_* or HPE_USER */
}

static int count_head(struct np_httpreq *r, size_t len)
{
    r->head_bytes += len;
    return r->head_bytes > NP_HTTP_HEAD_MAX ? fail(r, 431) : 0;
}

static int on_url(void *parser, const char *at, size_t len)
{
    struct np_httpreq *r = req_of(parser);
    if (r->url_len + len > NP_HTTP_URL_MAX) return fail(r, 414);
    memcpy(r->url + r->url_len, at, len);
    r->url_len += len;
    r->url[r->url_len] = '\0';
    return count_head(r, len);
}

static int on_header_field(void *parser, const char *at, size_t len)
{
    struct np_httpreq *r = req_of(parser);
    if (!r->in_header) { /* a new header */
        if (++r->headers > NP_HTTP_HEADERS_MAX) return fail(r, 431);
        r->in_header = true;
        r->auth_header = false;
        r->field_len = 0;
    }
    size_t room = sizeof r->field - 1 - r->field_len;
    size_t n = len < room ? len : room;
    memcpy(r->field + r->field_len, at, n);
    r->field_len += n;
    r->field[r->field_len] = '\0';
    if (len > room) r->field[0] = '\0'; /* too long to be a name we read */
    return count_head(r, len);
}

/* The name is whole: is it Authorization? (The last one counts.) */
static int on_field_complete(void *parser)
{
    struct np_httpreq *r = req_of(parser);
    r->auth_header = !strcasecmp(r->field, "authorization");
    if (r->auth_header) {
        r->auth_len = 0;
        r->auth[0] = '\0';
        r->auth_long = false;
    }
    return 0;
}

static int on_value_complete(void *parser)
{
    req_of(parser)->in_header = false;
    return 0;
}

static int on_header_value(void *parser, const char *at, size_t len)
{
    struct np_httpreq *r = req_of(parser);
    if (r->auth_header) {
        if (r->auth_len + len >= sizeof r->auth) r->auth_long = true;
        else {
            memcpy(r->auth + r->auth_len, at, len);
            r->auth_len += len;
            r->auth[r->auth_len] = '\0';
        }
    }
    return count_head(r, len);
}

static int on_headers_complete(void *parser)
{
    struct np_httpreq *r = req_of(parser);
    r->method = r->lib->api.get_method(parser);
    return 0;
}

static int on_body(void *parser, const char *at, size_t len)
{
    struct np_httpreq *r = req_of(parser);
    if (r->body_len + len > NP_HTTP_BODY_MAX) return fail(r, 413);
    memcpy(r->body + r->body_len, at, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static int on_message_complete(void *parser)
{
    req_of(parser)->state = NP_HTTPREQ_DONE;
    return HPE_PAUSED; /* one request per connection: nothing after it */
}

static void lay_out(struct np_llhttp *lib, bool protocol_slot)
{
    const int *slot = slots[protocol_slot];
    memset(lib->settings, 0, sizeof lib->settings);
    lib->protocol_slot = protocol_slot;
    lib->settings[slot[URL]] = (void *)on_url;
    lib->settings[slot[HEADER_FIELD]] = (void *)on_header_field;
    lib->settings[slot[HEADER_VALUE]] = (void *)on_header_value;
    lib->settings[slot[HEADERS_COMPLETE]] = (void *)on_headers_complete;
    lib->settings[slot[BODY]] = (void *)on_body;
    lib->settings[slot[MESSAGE_COMPLETE]] = (void *)on_message_complete;
    lib->settings[slot[FIELD_COMPLETE]] = (void *)on_field_complete;
    lib->settings[slot[VALUE_COMPLETE]] = (void *)on_value_complete;
}

/* ---- the probe ------------------------------------------------------------ */

static const char probe_request[] =
    "POST /probe?x=1 HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nAuthorization: Bearer t0k\r\nContent-Length: 4\r\n\r\nbody";

struct probe_seen { _Alignas(16) unsigned char parser[256]; char slot1[32], slot2[32]; };

static void probe_copy(char *dst, const char *at, size_t len)
{
    size_t have = strlen(dst);
    if (have + len < 32) { memcpy(dst + have, at, len); dst[have + len] = '\0'; }
}
static int probe_slot1(void *parser, const char *at, size_t len)
{
    probe_copy(((struct probe_seen *)parser)->slot1, at, len);
    return 0;
}
static int probe_slot2(void *parser, const char *at, size_t len)
{
    probe_copy(((struct probe_seen *)parser)->slot2, at, len);
    return 0;
}

int np_llhttp_probe(struct np_llhttp *lib, const struct np_llhttp_api *api, char *why, size_t whylen)
{
    if (!api->init || !api->execute || !api->get_method) {
        snprintf(why, whylen, "this node does not export llhttp's functions");
        return -1;
    }
    memset(lib, 0, sizeof *lib);
    lib->api = *api;
    /* Slots 1 and 2 take data in both orders (on_url, on_status; or
     * on_protocol, on_url), so only data callbacks are tried: a request
     * calls on_url, never on_status, and on_protocol with "HTTP". */
    struct probe_seen seen = { .slot1 = "" };
    void *settings[32] = { 0 };
    settings[1] = (void *)probe_slot1;
    settings[2] = (void *)probe_slot2;
    api->init(seen.parser, LLHTTP_REQUEST, settings);
    api->execute(seen.parser, probe_request, sizeof probe_request - 1);
    bool protocol_slot;
    if (!strcmp(seen.slot1, "/probe?x=1") && !seen.slot2[0]) protocol_slot = false;
    else if (!strcmp(seen.slot1, "HTTP") && !strcmp(seen.slot2, "/probe?x=1")) protocol_slot = true;
    else {
        snprintf(why, whylen, "node's llhttp has callbacks in an order we do not know");
        return -1;
    }
    /* The whole request, with the order found. */
    lay_out(lib, protocol_slot);
    struct np_httpreq *r = malloc(sizeof *r);
    if (!r) { snprintf(why, whylen, "out of memory"); return -1; }
    np_httpreq_init(r, lib);
    np_httpreq_feed(r, probe_request, sizeof probe_request - 1);
    bool ok = r->state == NP_HTTPREQ_DONE && r->method == HTTP_POST && !strcmp(r->url, "/probe?x=1") &&
              !strcmp(r->auth, "Bearer t0k") && !strcmp(r->body, "body") && r->headers == 4;
    free(r);
    if (!ok) {
        snprintf(why, whylen, "node's llhttp does not parse a request as we expect");
        return -1;
    }
    return 0;
}

/* ---- requests ------------------------------------------------------------- */

void np_httpreq_init(struct np_httpreq *r, const struct np_llhttp *lib)
{
    memset(r, 0, sizeof *r);
    r->lib = lib;
    r->state = NP_HTTPREQ_MORE;
    r->method = -1;
    lib->api.init(r->parser, LLHTTP_REQUEST, lib->settings);
}

enum np_httpreq_state np_httpreq_feed(struct np_httpreq *r, const char *data, size_t len)
{
    if (r->state != NP_HTTPREQ_MORE || len == 0) return r->state;
    int err = r->lib->api.execute(r->parser, data, len);
    if (r->state == NP_HTTPREQ_DONE) return r->state;
    if (err != HPE_OK) {
        r->state = NP_HTTPREQ_BAD;
        if (!r->status) r->status = 400;
    }
    return r->state;
}

/* ---- routing -------------------------------------------------------------- */

bool np_http_token_equal(const char *given, size_t given_len, const char *token, size_t token_len)
{
    unsigned char diff = given_len != token_len;
    for (size_t i = 0; i < token_len; i++)
        diff |= (unsigned char)(token[i] ^ (i < given_len ? given[i] : 0));
    return diff == 0;
}

static bool authorized(const struct np_httpreq *r, const char *token)
{
    size_t token_len = strlen(token);
    static const char bearer[] = "Bearer ";
    if (r->auth_long || r->auth_len < sizeof bearer - 1 || strncasecmp(r->auth, bearer, sizeof bearer - 1)) return false;
    const char *given = r->auth + sizeof bearer - 1;
    size_t given_len = r->auth_len - (sizeof bearer - 1);
    while (given_len && (given[given_len - 1] == ' ' || given[given_len - 1] == '\t')) given_len--;
    return np_http_token_equal(given, given_len, token, token_len);
}

/* The value of name in the query ("" if absent); false if too long. */
static bool query_value(const char *query, const char *name, char *out, size_t outlen, bool *present)
{
    size_t nlen = strlen(name);
    *present = false;
    out[0] = '\0';
    for (const char *p = query; p && *p;) {
        const char *end = strchr(p, '&');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        if (plen > nlen && !strncmp(p, name, nlen) && p[nlen] == '=') {
            size_t vlen = plen - nlen - 1;
            if (vlen >= outlen) return false;
            memcpy(out, p + nlen + 1, vlen);
            out[vlen] = '\0';
            *present = true;
            return true; /* the first one, as Go's FormValue */
        }
        p = end ? end + 1 : NULL;
    }
    return true;
}

/* Go's strconv.ParseInt(s, 10, 64) success, as a long; -1 if invalid. */
static long parse_seconds(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!*p) return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) return -1;
    if (strlen(p) > 12) return s[0] == '-' ? 0 : 1000000000000L; /* out of every bound anyway */
    long v = strtol(s, NULL, 10);
    return v;
}

static void error(struct np_http_action *a, int status, const char *message)
{
    a->route = NP_ROUTE_ERROR;
    a->status = status;
    a->message = message;
}

static void route_profile(const char *query, struct np_http_action *a)
{
    char value[32];
    bool present;
    long sec = -1;
    if (query_value(query, "seconds", value, sizeof value, &present) && present) sec = parse_seconds(value);
    if (sec <= 0) sec = NP_HTTP_CPU_DEFAULT_S; /* as Go: a bad or missing value means 30 */
    if (sec > NP_HTTP_SECONDS_MAX) {
        error(a, 400, "profile duration exceeds the limit of 300 seconds");
        return;
    }
    a->route = NP_ROUTE_PROFILE;
    a->seconds = sec;
}

static void route_heap(const char *query, struct np_http_action *a)
{
    char value[32];
    bool present;
    bool fits = query_value(query, "seconds", value, sizeof value, &present);
    long sec = 0;
    if (!fits || (present && (sec = parse_seconds(value)) <= 0)) {
        error(a, 400, "invalid value for \"seconds\" - must be a positive integer");
        return;
    }
    if (sec > NP_HTTP_SECONDS_MAX) {
        error(a, 400, "profile duration exceeds the limit of 300 seconds");
        return;
    }
    a->route = NP_ROUTE_HEAP;
    a->seconds = sec; /* 0: not given */
}

void np_httpreq_route(const struct np_httpreq *r, const char *token, struct np_http_action *a)
{
    memset(a, 0, sizeof *a);
    if (r->state == NP_HTTPREQ_BAD || r->state == NP_HTTPREQ_MORE) {
        error(a, r->status ? r->status : 400, np_http_reason(r->status ? r->status : 400));
        return;
    }
    /* Nothing is told to a request without the token, not even 404. */
    if (token && token[0] && !authorized(r, token)) {
        error(a, 401, "Unauthorized");
        return;
    }
    char path[NP_HTTP_URL_MAX + 1];
    snprintf(path, sizeof path, "%s", r->url);
    char *query = strchr(path, '?');
    if (query) *query++ = '\0';
    if (!strcmp(path, "/nodeprof/ctl")) {
        a->allow_post = true;
        if (r->method != HTTP_POST) error(a, 405, "Method Not Allowed");
        else a->route = NP_ROUTE_CTL;
        return;
    }
    if (strcmp(path, "/debug/pprof") && strncmp(path, "/debug/pprof/", 13)) {
        error(a, 404, "404 page not found");
        return;
    }
    if (r->method != HTTP_GET) {
        error(a, 405, "Method Not Allowed");
        return;
    }
    const char *name = path[12] ? path + 13 : "";
    if (!*name) a->route = NP_ROUTE_INDEX;
    else if (!strcmp(name, "profile")) route_profile(query, a);
    else if (!strcmp(name, "heap")) route_heap(query, a);
    else if (!strcmp(name, "stack")) a->route = NP_ROUTE_STACK;
    else error(a, 404, "Unknown profile");
}

/* ---- responses ------------------------------------------------------------ */

const char *np_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Request Entity Too Large";
    case 414: return "Request URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

int np_http_head(char *buf, size_t size, int status, const char *content_type, size_t content_length,
                 const char *extra)
{
    int n = snprintf(buf, size,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
                     "X-Content-Type-Options: nosniff\r\n%s\r\n",
                     status, np_http_reason(status), content_type, content_length, extra ? extra : "");
    return n < 0 || (size_t)n >= size ? -1 : n;
}

char *np_http_error_response(int status, const char *message, bool allow_post, size_t *len)
{
    char head[512], extra[160];
    size_t body_len = strlen(message) + 1;
    snprintf(extra, sizeof extra, "X-Go-Pprof: 1\r\n%s%s",
             status == 401 ? "WWW-Authenticate: Bearer\r\n" : "",
             status != 405 ? "" : allow_post ? "Allow: POST\r\n" : "Allow: GET\r\n");
    int n = np_http_head(head, sizeof head, status, "text/plain; charset=utf-8", body_len, extra);
    if (n < 0) return NULL;
    char *out = malloc((size_t)n + body_len + 1);
    if (!out) return NULL;
    memcpy(out, head, (size_t)n);
    memcpy(out + n, message, body_len - 1);
    out[(size_t)n + body_len - 1] = '\n';
    out[(size_t)n + body_len] = '\0';
    *len = (size_t)n + body_len;
    return out;
}
