/* libwebsockets, loaded with dlopen() only when `nodeprof ctl` attaches to a
 * process through node's inspector (attach.h). Every other command, and the
 * library, run without it installed: the CLI does not link it, and only the
 * few client functions below are looked up (dlsym), into one table. The
 * structures come from the headers of the version we build against
 * (libwebsockets-dev 4.1.6, soname libwebsockets.so.17); a library of
 * another soname is not loaded, since its structures may differ. */
#ifndef NP_CLI_LWS_H
#define NP_CLI_LWS_H

#include <stddef.h>

#include <libwebsockets.h>

#ifndef NP_LWS_SONAME
#define NP_LWS_SONAME "libwebsockets.so.17"
#endif

struct cli_lws {
    void (*set_log_level)(int level, void (*emit)(int level, const char *line));
    struct lws_context *(*create_context)(const struct lws_context_creation_info *info);
    void (*context_destroy)(struct lws_context *ctx);
    struct lws *(*client_connect_via_info)(const struct lws_client_connect_info *info);
    int (*service)(struct lws_context *ctx, int timeout_ms);
    int (*callback_on_writable)(struct lws *wsi);
    int (*write)(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol proto);
    int (*http_client_read)(struct lws *wsi, char **buf, int *len);
    int (*is_final_fragment)(struct lws *wsi);
    void (*sul_schedule)(struct lws_context *ctx, int tsi, lws_sorted_usec_list_t *sul,
                         sul_cb_t cb, lws_usec_t us);
    void (*sul_cancel)(lws_sorted_usec_list_t *sul);
    int (*http_status)(struct lws *wsi);
};

/* The table, loaded on first use. NULL, with the reason (and the package
 * to install) in err, when the library or one of its functions is missing. */
const struct cli_lws *cli_lws_load(char *err, size_t errlen);

#endif
