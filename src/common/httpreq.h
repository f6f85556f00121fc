/* One request to the pprof endpoints (NODEPROF_HTTP), apart from sockets:
 * parsing, limits, the bearer token, routing and the response head. The
 * server (http.h) feeds it bytes and acts on the route; the fuzzer
 * (tests/fuzz/fuzz_http.c) feeds it anything.
 *
 * Parsing is llhttp's, the parser node itself uses for every HTTP request
 * it serves: node exports its symbols, so the agent takes them from node
 * (weak references, nothing loaded unless NODEPROF_HTTP is set) and passes
 * them in here as a function table. Only functions are called and the
 * parser state is an opaque block, so the one ABI fact depended on is the
 * order of the callbacks in llhttp_settings_t: llhttp 9.3 (node 20.18+,
 * 22, 24) added on_protocol as its second slot, before on_url. Which
 * order a given llhttp has is found by parsing a probe request
 * (np_llhttp_probe), never assumed from a version number; one that parses
 * the probe wrongly in both orders is refused.
 *
 * Limits: the request line and headers together NP_HTTP_HEAD_MAX bytes
 * (431 beyond), NP_HTTP_HEADERS_MAX headers (431), a body of at most
 * NP_HTTP_BODY_MAX bytes (413); one request per connection. */
#ifndef NP_HTTPREQ_H
#define NP_HTTPREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NP_HTTP_HEAD_MAX 8192
#define NP_HTTP_URL_MAX 2048
#define NP_HTTP_HEADERS_MAX 50
#define NP_HTTP_BODY_MAX 4096
#define NP_HTTP_TOKEN_MAX 512

/* /debug/pprof/profile?seconds=N: default and largest N; the heap
 * endpoint samples for N seconds too, NP_HTTP_HEAP_DEFAULT_S by default. */
#define NP_HTTP_CPU_DEFAULT_S 30
#define NP_HTTP_SECONDS_MAX 300
#define NP_HTTP_HEAP_DEFAULT_S 5

/* llhttp's functions, as node exports them (types simplified: the parser
 * is an opaque block, enums are ints). */
struct np_llhttp_api {
    void (*init)(void *parser, int type, const void *settings);
    int (*execute)(void *parser, const char *data, size_t len);
    uint8_t (*get_method)(void *parser);
};

/* A usable llhttp: its functions and the settings block laid out for it. */
struct np_llhttp {
    struct np_llhttp_api api;
    void *settings[32];
    bool protocol_slot; /* llhttp >= 9.3: on_protocol before on_url */
};

/* Checks api and finds its callback order. Returns 0, or -1 with why. */
int np_llhttp_probe(struct np_llhttp *lib, const struct np_llhttp_api *api, char *why, size_t whylen);

enum np_httpreq_state { NP_HTTPREQ_MORE, NP_HTTPREQ_DONE, NP_HTTPREQ_BAD };

struct np_httpreq {
    _Alignas(16) unsigned char parser[256]; /* llhttp_t (88 bytes in 9.x); first */
    const struct np_llhttp *lib;
    enum np_httpreq_state state;
    int status;                   /* NP_HTTPREQ_BAD: the status to answer */
    int method;                   /* llhttp's method number */
    char url[NP_HTTP_URL_MAX + 1];
    size_t url_len;
    size_t head_bytes;
    int headers;
    bool in_header;               /* a header's name or value is being read */
    char field[32];               /* the current header's name, cut */
    size_t field_len;
    bool auth_header;             /* the current header is Authorization */
    char auth[NP_HTTP_TOKEN_MAX + 16];
    size_t auth_len;
    bool auth_long;
    char body[NP_HTTP_BODY_MAX + 1];
    size_t body_len;
};

void np_httpreq_init(struct np_httpreq *r, const struct np_llhttp *lib);
/* Feeds bytes as they arrive; returns the state. Bytes after a complete
 * request are ignored. */
enum np_httpreq_state np_httpreq_feed(struct np_httpreq *r, const char *data, size_t len);

enum np_http_route {
    NP_ROUTE_ERROR,   /* answer status and message */
    NP_ROUTE_INDEX, NP_ROUTE_PROFILE, NP_ROUTE_HEAP, NP_ROUTE_STACK, NP_ROUTE_CTL,
};

struct np_http_action {
    enum np_http_route route;
    int status;
    const char *message;  /* NP_ROUTE_ERROR: one line, no newline */
    long seconds;         /* PROFILE, HEAP: how long to profile */
    bool allow_post;      /* a 405 answers Allow: POST rather than GET */
};

/* What to do with a complete request. token: the bearer token every
 * request must carry ("" or NULL: none). */
void np_httpreq_route(const struct np_httpreq *r, const char *token, struct np_http_action *a);

/* Equal strings of equal length, in time that depends only on the lengths. */
bool np_http_token_equal(const char *given, size_t given_len, const char *token, size_t token_len);

/* A response head into buf: status line, Content-Type, Content-Length,
 * Connection: close, X-Content-Type-Options: nosniff, then extra (whole
 * "Name: value\r\n" lines, may be NULL). Returns its length, or -1 if it
 * does not fit. */
int np_http_head(char *buf, size_t size, int status, const char *content_type, size_t content_length,
                 const char *extra);
const char *np_http_reason(int status);

/* An error as Go's net/http/pprof serves it (serveError): text/plain,
 * X-Go-Pprof: 1, the message and a newline. Returns a malloc'd response
 * (head and body) and its length in *len, or NULL. */
char *np_http_error_response(int status, const char *message, bool allow_post, size_t *len);

#endif
