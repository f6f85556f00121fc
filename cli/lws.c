#include "lws.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static struct {
    struct cli_lws fns;
    void *handle;
} lws_loaded;

/* Each entry: its name and where its address goes. */
#define LWS_FN(field, name) { name, (void **)&lws_loaded.fns.field }

const struct cli_lws *cli_lws_load(char *err, size_t errlen)
{
    if (lws_loaded.handle) return &lws_loaded.fns;
    const struct { const char *name; void **slot; } fns[] = {
        LWS_FN(set_log_level, "lws_set_log_level"),
        LWS_FN(create_context, "lws_create_context"),
        LWS_FN(context_destroy, "lws_context_destroy"),
        LWS_FN(client_connect_via_info, "lws_client_connect_via_info"),
        LWS_FN(service, "lws_service"),
        LWS_FN(callback_on_writable, "lws_callback_on_writable"),
        LWS_FN(write, "lws_write"),
        LWS_FN(http_client_read, "lws_http_client_read"),
        LWS_FN(is_final_fragment, "lws_is_final_fragment"),
        LWS_FN(sul_schedule, "lws_sul_schedule"),
        LWS_FN(sul_cancel, "lws_sul_cancel"),
        LWS_FN(http_status, "lws_http_client_http_response"),
    };
    void *h = dlopen(NP_LWS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "attaching needs libwebsockets (%s; Debian: apt-get install libwebsockets17): %s", NP_LWS_SONAME, dlerror());
        return NULL;
    }
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
        /* POSIX: a function pointer and a void * have the same representation. */
        *fns[i].slot = dlsym(h, fns[i].name);
        if (!*fns[i].slot) {
            snprintf(err, errlen, "%s has no %s", NP_LWS_SONAME, fns[i].name);
            dlclose(h);
            memset(&lws_loaded.fns, 0, sizeof lws_loaded.fns);
            return NULL;
        }
    }
    lws_loaded.handle = h;
    return &lws_loaded.fns;
}
