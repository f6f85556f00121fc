/* An in-process inspector session connected to this thread. No port is
 * opened. Same-thread sessions answer synchronously, so each call below
 * returns with its result.
 *
 * The session is the inspector's own Connection, from
 * process.binding('inspector') (the object node:inspector's Session wraps),
 * where it is there and quiet: it opens in 0.5 ms, where
 * require('node:inspector') loads 27 modules node would not (streams,
 * worker_threads) and takes 5 to 7 ms of the main thread (node 20 to 24).
 * process.binding() is deprecated in the documentation only (DEP0111) but
 * warns under --pending-deprecation: there, and where the binding is gone,
 * the session is a node:inspector Session.
 *
 * The session is opened by its first post() or on(), not at start-up, so
 * that a process that profiles nothing from its start (NODEPROF_CPU=off)
 * pays nothing until a command asks for a profile. */
#ifndef NP_SESSION_H
#define NP_SESSION_H

#include <stddef.h>

#include "napi_weak.h"

struct np_session {
    napi_ref session;  /* the Connection (or Session) object */
    napi_ref reply;    /* Session: result of the last post, while it is being read */
    napi_ref error;    /* Session: error of the last post, if any */
    bool answered;
    bool failed;       /* the open failed once (logged): not tried again */
    bool no_inspector; /* node made this environment without an inspector */
    bool raw;          /* session is a Connection: messages are JSON text */
    unsigned next_id;
    char *text;        /* raw: the last reply's text (malloc'ed), while it is read */
    size_t text_len;
    napi_ref events;   /* raw: { method: listener } */
    bool listening;    /* raw: a listener was added */
    napi_ref noop;     /* raw: an empty JavaScript function (session.c) */
    bool quiet;        /* np_session_post_quiet: failures are not logged */
    char failure[200]; /* the last failure's message */
};

/* Whether this node has what a session needs (process.getBuiltinModule,
 * node >= 20.16), so that the agent can refuse at start-up, once. */
bool np_session_available(napi_env env);
int np_session_open(napi_env env, struct np_session *s);
void np_session_close(napi_env env, struct np_session *s);
/* At the thread's end (its environment is going away): drops what the
 * session holds, without disconnecting. */
void np_session_release(napi_env env, struct np_session *s);

/* Posts method with params (may be NULL); returns the result object, or
 * NULL on error (logged). The value is valid in the caller's handle scope. */
napi_value np_session_post(napi_env env, struct np_session *s, const char *method, napi_value params);
/* The same, but a failure is not logged: its message is left in s->failure
 * for the caller to judge. */
napi_value np_session_post_quiet(napi_env env, struct np_session *s, const char *method, napi_value params);

/* session.on(event, cb); cb receives the message object as its argument.
 * One listener per event. */
int np_session_on(napi_env env, struct np_session *s, const char *event, napi_callback cb, void *data);

/* The JavaScript expression of the inspector's console (with profile()
 * and profileEnd()) that reaches this session without loading
 * node:inspector where the session did not. */
const char *np_session_console_expression(const struct np_session *s);

#endif
