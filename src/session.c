#include "session.h"

#include <stdlib.h>

#include "js.h"
#include "common/log.h"

static napi_value session_object(napi_env env, struct np_session *s)
{
    napi_value v;
    return s->session && napi_get_reference_value(env, s->session, &v) == napi_ok ? v : NULL;
}

bool np_session_available(napi_env env)
{
    napi_value process = js_get(env, js_global(env), "process");
    return js_is_function(env, js_get(env, process, "getBuiltinModule"));
}

int np_session_open(napi_env env, struct np_session *s)
{
    napi_value inspector = js_builtin(env, "node:inspector");
    napi_value ctor = js_get(env, inspector, "Session");
    napi_value session;
    if (!js_is_function(env, ctor)) {
        np_err("this node has no process.getBuiltinModule('node:inspector') (needs node >= 20.16); not profiling");
        return -1;
    }
    if (napi_new_instance(env, ctor, 0, NULL, &session) != napi_ok) {
        js_clear_exception(env, "new inspector.Session()");
        return -1;
    }
    if (!js_call_method(env, session, "connect", 0, NULL)) return -1;
    return napi_create_reference(env, session, 1, &s->session) == napi_ok ? 0 : -1;
}

/* Opens the session on first use; a failure is logged once. */
static napi_value opened_session(napi_env env, struct np_session *s)
{
    if (!s->session && !s->failed && np_session_open(env, s)) {
        s->failed = true;
        np_err("cannot open an inspector session: profiles are unavailable on this thread");
    }
    return session_object(env, s);
}

void np_session_close(napi_env env, struct np_session *s)
{
    napi_value session = session_object(env, s);
    if (session) js_call_method(env, session, "disconnect", 0, NULL);
    if (s->session) napi_delete_reference(env, s->session);
    s->session = NULL;
}

/* post()'s callback: (err, result). Keeps both alive past this call. */
static napi_value on_reply(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    struct np_session *s;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&s) != napi_ok) return NULL;
    napi_valuetype t;
    s->answered = true;
    if (argc > 0 && napi_typeof(env, argv[0], &t) == napi_ok && t != napi_null && t != napi_undefined)
        napi_create_reference(env, argv[0], 1, &s->error);
    else if (argc > 1)
        napi_create_reference(env, argv[1], 1, &s->reply);
    return NULL;
}

static napi_value take_ref(napi_env env, napi_ref *ref)
{
    napi_value v = NULL;
    if (!*ref) return NULL;
    if (napi_get_reference_value(env, *ref, &v) != napi_ok) v = NULL;
    napi_delete_reference(env, *ref);
    *ref = NULL;
    return v;
}

napi_value np_session_post(napi_env env, struct np_session *s, const char *method, napi_value params)
{
    napi_value session = opened_session(env, s);
    napi_value cb = js_function(env, "nodeprofReply", on_reply, s);
    napi_value args[3] = { js_string(env, method), params, cb };
    if (!session || !cb || !args[0]) return NULL;
    if (!params) napi_create_object(env, &args[1]);
    s->answered = false;
    js_call_method(env, session, "post", 3, args);
    if (!s->answered) {
        /* Cannot happen with a same-thread session; never wait for it. */
        np_warn("inspector did not answer %s", method);
        return NULL;
    }
    napi_value err = take_ref(env, &s->error);
    if (err) {
        size_t len;
        char *text = js_to_utf8(env, js_get(env, err, "message"), &len);
        np_warn("%s failed: %s", method, text ? text : "error");
        free(text);
        return NULL;
    }
    napi_value result = take_ref(env, &s->reply);
    if (!result) napi_get_undefined(env, &result);
    return result;
}

int np_session_on(napi_env env, struct np_session *s, const char *event, napi_callback cb, void *data)
{
    napi_value args[2] = { js_string(env, event), js_function(env, event, cb, data) };
    napi_value session = opened_session(env, s);
    if (!args[0] || !args[1] || !session) return -1;
    return js_call_method(env, session, "on", 2, args) ? 0 : -1;
}
