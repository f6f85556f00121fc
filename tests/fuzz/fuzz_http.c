/* libFuzzer harness for common/httpreq.h, with a real llhttp (Debian's
 * node-llhttp sources: llhttp 8.x, the callback order before 9.3, so the
 * probe's other branch is the one node uses). The first byte splits the
 * input into chunks, as reads from a socket would; the rest is the request.
 * Whatever arrives, the request ends in one state, routing gives a status
 * of ours, and every response head fits. Built and run by `make fuzz-http`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "common/httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void init(void *parser, int type, const void *settings)
{
    llhttp_init(parser, (llhttp_type_t)type, settings);
}
static int execute(void *parser, const char *d, size_t len) { return (int)llhttp_execute(parser, d, len); }
static uint8_t get_method(void *parser) { return llhttp_get_method(parser); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct np_llhttp lib;
    static int ready;
    if (!ready) {
        char why[128];
        struct np_llhttp_api api = { init, execute, get_method };
        if (sizeof(llhttp_t) > sizeof(((struct np_httpreq *)0)->parser)) abort();
        if (np_llhttp_probe(&lib, &api, why, sizeof why)) abort();
        ready = 1;
    }
    if (size == 0) return 0;
    size_t chunk = (size_t)data[0] + 1;
    const char *token = (data[0] & 1) ? "s3cret-token" : ""; /* odd chunk sizes: with a token */
    data++, size--;
    struct np_httpreq *r = malloc(sizeof *r);
    if (!r) abort();
    np_httpreq_init(r, &lib);
    enum np_httpreq_state st = NP_HTTPREQ_MORE;
    for (size_t at = 0; at < size && st == NP_HTTPREQ_MORE; at += chunk)
        st = np_httpreq_feed(r, (const char *)data + at, size - at < chunk ? size - at : chunk);
    if (r->url_len > NP_HTTP_URL_MAX || r->body_len > NP_HTTP_BODY_MAX || r->headers > NP_HTTP_HEADERS_MAX + 1) abort();
    struct np_http_action a;
    np_httpreq_route(r, token, &a);
    if (st != NP_HTTPREQ_DONE && a.route != NP_ROUTE_ERROR) abort();
    if ((a.route == NP_ROUTE_PROFILE || a.route == NP_ROUTE_HEAP) &&
        (a.seconds < 0 || a.seconds > NP_HTTP_SECONDS_MAX)) abort();
    if (a.route == NP_ROUTE_ERROR) {
        if (a.status < 400 || a.status > 599 || !a.message) abort();
        size_t len;
        char *resp = np_http_error_response(a.status, a.message, a.allow_post, &len);
        if (!resp || len != strlen(resp)) abort();
        free(resp);
    }
    free(r);
    return 0;
}
