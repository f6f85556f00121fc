/* An in-process inspector session (node:inspector's Session, connected to
 * this thread). No port is opened. Same-thread sessions answer post()
 * synchronously, so each call below returns with its result.
 *
 * The session is opened by its first post() or on(), not at start-up:
 * loading node:inspector (27 modules) and connecting cost 4 to 7 ms of
 * the main thread, which a process that profiles nothing from its start
 * (NODEPROF_CPU=off) should not pay until a command asks for a profile. */
#ifndef NP_SESSION_H
#define NP_SESSION_H

#include "napi_weak.h"

struct np_session {
    napi_ref session;  /* the Session object */
    napi_ref reply;    /* result of the last post, while it is being read */
    napi_ref error;    /* error of the last post, if any */
    bool answered;
    bool failed;       /* the open failed once (logged): not tried again */
};

/* Whether this node has what a session needs (process.getBuiltinModule,
 * node >= 20.16), so that the agent can refuse at start-up, once. */
bool np_session_available(napi_env env);
int np_session_open(napi_env env, struct np_session *s);
void np_session_close(napi_env env, struct np_session *s);

/* Posts method with params (may be NULL); returns the result object, or
 * NULL on error (logged). The value is valid in the caller's handle scope. */
napi_value np_session_post(napi_env env, struct np_session *s, const char *method, napi_value params);

/* session.on(event, cb); cb receives the message object as its argument. */
int np_session_on(napi_env env, struct np_session *s, const char *event, napi_callback cb, void *data);

#endif
