/* An in-process inspector session connected to this thread. No port is
 * opened. Same-thread sessions answer synchronously, so each call below
 * returns with its result.
 *
 * The session is the inspector's own Connection, from
 * process.binding('inspector') (the object node:inspector's Session wraps),
 * where it is there and quiet. require('node:inspector') loads 27 modules
 * node would not load (streams, worker_threads: 4 to 10 ms of CPU), and
 * every function they bring makes Profiler.start dearer, as V8 logs all
 * compiled code when a profiler starts. process.binding() is deprecated
 * (DEP0111, in the documentation only) but warns under
 * --pending-deprecation: then, and where the binding is gone, the session
 * is a node:inspector Session, as before. */
#ifndef NP_SESSION_H
#define NP_SESSION_H

#include <stddef.h>

#include "napi_weak.h"

struct np_session {
    napi_ref session;  /* the Connection (or Session) object */
    napi_ref reply;    /* result of the last post, while it is being read */
    napi_ref error;    /* error of the last post, if any */
    bool answered;
    bool raw;          /* session is a Connection: messages are JSON text */
    unsigned next_id;
    char *text;        /* raw: the last reply's text (malloc'ed), while it is read */
    size_t text_len;
    napi_ref events;   /* raw: { method: listener } */
    bool listening;    /* raw: a listener was added */
    napi_ref noop;     /* raw: an empty JavaScript function (session.c) */
};

int np_session_open(napi_env env, struct np_session *s);
void np_session_close(napi_env env, struct np_session *s);

/* Posts method with params (may be NULL); returns the result object, or
 * NULL on error (logged). The value is valid in the caller's handle scope. */
napi_value np_session_post(napi_env env, struct np_session *s, const char *method, napi_value params);

/* Posts method and returns the JSON text of result[member] (malloc'ed,
 * *len bytes), or NULL on error (logged). On a Connection, the text is cut
 * out of the reply as V8 wrote it: a profile is not parsed and written
 * again. */
char *np_session_post_text(napi_env env, struct np_session *s, const char *method, napi_value params,
                           const char *member, size_t *len);

/* session.on(event, cb); cb receives the message object as its argument.
 * One listener per event. */
int np_session_on(napi_env env, struct np_session *s, const char *event, napi_callback cb, void *data);

/* The JavaScript expression of the inspector binding's console (with
 * profile() and profileEnd()) that matches this session. */
const char *np_session_console_expression(const struct np_session *s);

#endif
