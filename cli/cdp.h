/* A Chrome DevTools protocol client for node's inspector on 127.0.0.1,
 * over libwebsockets (lws.h): the HTTP GET of /json/list, one WebSocket,
 * and calls answered by id, with the events met meanwhile handed to a
 * callback. One connection at a time (nodeprof ctl attaches to one
 * process). Calls return 0, -1 with a message in err, or CDP_INTERRUPTED
 * when the flag given to cdp_set_interrupt became non-zero (SIGINT, SIGTERM):
 * the caller then closes what it opened and exits. */
#ifndef NP_CLI_CDP_H
#define NP_CLI_CDP_H

#include <signal.h>
#include <stddef.h>

#include <cJSON.h>

#define CDP_INTERRUPTED (-2)

/* Called for each event (a message without an id) while a call or a wait
 * runs; params may be NULL. Returning -1 (with err set) ends the call. */
typedef int (*cdp_event_fn)(const char *method, const cJSON *params, void *ctx, char *err, size_t errlen);

void cdp_set_interrupt(volatile sig_atomic_t *flag);

/* The WebSocket path ("/<uuid>") of the inspector target listening on
 * 127.0.0.1:port, from GET /json/list. */
int cdp_target_path(int port, char *path, size_t len, int timeout_ms, char *err, size_t errlen);

/* Opens the WebSocket ws://127.0.0.1:port<path>. */
int cdp_open(int port, const char *path, int timeout_ms, char *err, size_t errlen);

void cdp_on_event(cdp_event_fn fn, void *ctx);

/* Sends {id, method, params} (params may be NULL; it stays the caller's)
 * and waits for the reply. *result (if result is not NULL) gets the reply's
 * "result", to be freed with cJSON_Delete. An "error" reply is -1 with its
 * message. */
int cdp_call(const char *method, const cJSON *params, int timeout_ms, cJSON **result,
             char *err, size_t errlen);

/* Sends a call without waiting for its reply (process._debugEnd() closes
 * the connection instead of answering); returns once it is written. */
int cdp_send_only(const char *method, const cJSON *params, int timeout_ms, char *err, size_t errlen);

/* Serves events for ms milliseconds. */
int cdp_wait(int ms, char *err, size_t errlen);

/* Waits up to timeout_ms for the peer to close the connection; 0 if it did. */
int cdp_wait_closed(int timeout_ms);

/* Closes the connection and frees everything. */
void cdp_close(void);

#endif
