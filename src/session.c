#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "js.h"
#include "common/log.h"

static napi_value session_object(napi_env env, struct np_session *s)
{
    napi_value v;
    return s->session && napi_get_reference_value(env, s->session, &v) == napi_ok ? v : NULL;
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

static void drop_ref(napi_env env, napi_ref *ref)
{
    if (*ref) napi_delete_reference(env, *ref);
    *ref = NULL;
}

/* fn(arg) without a warning if it throws: a probe, not an error. */
static napi_value call_quietly(napi_env env, napi_value recv, napi_value fn, napi_value arg)
{
    napi_value result;
    if (!js_is_function(env, fn)) return NULL;
    if (napi_call_function(env, recv, fn, 1, &arg, &result) == napi_ok) return result;
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    return NULL;
}

/* ---- Connection: JSON text both ways ---------------------------------------- */

/* The Connection's callback: a reply (kept as text for the post that is
 * waiting for it) or an event (parsed, passed to its listener). */
static napi_value on_message(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    struct np_session *s;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&s) != napi_ok || argc < 1) return NULL;
    char head[16];
    size_t len = 0;
    if (napi_get_value_string_utf8(env, argv[0], head, sizeof head, &len) != napi_ok) return NULL;
    if (strncmp(head, "{\"method\":", 10)) {
        /* Node-API 8 holds no references to strings: a copy. */
        free(s->text);
        s->text = js_to_utf8(env, argv[0], &s->text_len);
        s->answered = s->text != NULL;
        return NULL;
    }
    napi_value events;
    if (!s->events || napi_get_reference_value(env, s->events, &events) != napi_ok) return NULL;
    napi_value json = js_get(env, js_global(env), "JSON");
    napi_value message = js_call_method(env, json, "parse", 1, argv);
    char method[128];
    if (napi_get_value_string_utf8(env, js_get(env, message, "method"), method, sizeof method, &len) != napi_ok)
        return NULL;
    napi_value listener = js_get(env, events, method);
    if (js_is_function(env, listener)) js_call(env, events, listener, 1, &message);
    return NULL;
}

static int open_connection(napi_env env, struct np_session *s)
{
    napi_value process = js_get(env, js_global(env), "process");
    napi_value binding_fn = js_get(env, process, "binding"), conn;
    size_t len = 0;
    char fn_name[16] = "";
    /* Under --pending-deprecation node wraps it in a function named
     * `deprecated`, which warns on the app's stderr. */
    if (!js_is_function(env, binding_fn) ||
        napi_get_value_string_utf8(env, js_get(env, binding_fn, "name"), fn_name, sizeof fn_name, &len) != napi_ok ||
        strcmp(fn_name, "binding"))
        return -1;
    napi_value ctor = js_get(env, call_quietly(env, process, binding_fn, js_string(env, "inspector")), "Connection");
    napi_value cb = js_function(env, "nodeprofMessage", on_message, s), events = js_object(env);
    if (!js_is_function(env, ctor) || !cb || !events) return -1;
    if (napi_new_instance(env, ctor, 1, &cb, &conn) != napi_ok) {
        napi_value exc = NULL;
        napi_get_and_clear_last_exception(env, &exc);
        char *text = js_exception_text(env, exc);
        /* node --test's runner, for one: no node:inspector Session either */
        s->no_inspector = text && strstr(text, "without a V8::Inspector");
        free(text);
        return -1;
    }
    if (napi_create_reference(env, events, 1, &s->events) != napi_ok) return -1;
    s->raw = true;
    return napi_create_reference(env, conn, 1, &s->session) == napi_ok ? 0 : -1;
}

/* Some events (NodeTracing.dataCollected) are posted to this thread's
 * inspector, which takes them at V8's next interrupt check: at the entry of
 * a JavaScript function. node:inspector's post() runs JavaScript after its
 * dispatch; so does this, an empty function, so that they come in before
 * the reply is read, as they do there. */
static void let_events_in(napi_env env, struct np_session *s)
{
    napi_value fn;
    if (!s->noop) {
        napi_value ctor = js_get(env, js_global(env), "Function");
        if (!js_is_function(env, ctor) || napi_new_instance(env, ctor, 0, NULL, &fn) != napi_ok ||
            napi_create_reference(env, fn, 1, &s->noop) != napi_ok) {
            js_clear_exception(env, "new Function()");
            return;
        }
    }
    if (napi_get_reference_value(env, s->noop, &fn) == napi_ok) js_call(env, NULL, fn, 0, NULL);
}

/* Dispatches {"id":N,"method":M,"params":P}; returns the reply's text
 * (malloc'ed, *len bytes) or NULL if there was none. */
static char *dispatch(napi_env env, struct np_session *s, const char *method, napi_value params, size_t *len)
{
    size_t plen = 2;
    char *ptext = params ? js_stringify(env, params, &plen) : NULL;
    size_t cap = strlen(method) + plen + 64;
    char *msg = malloc(cap);
    if (!msg) {
        free(ptext);
        return NULL;
    }
    snprintf(msg, cap, "{\"id\":%u,\"method\":\"%s\",\"params\":%s}", ++s->next_id, method, ptext ? ptext : "{}");
    free(ptext);
    napi_value arg = js_string(env, msg);
    free(msg);
    s->answered = false;
    if (arg) js_call_method(env, session_object(env, s), "dispatch", 1, &arg);
    if (s->listening) let_events_in(env, s);
    char *text = s->text;
    *len = s->text_len;
    s->text = NULL;
    if (!s->answered || !text) {
        /* Cannot happen with a same-thread session; never wait for it. */
        np_warn("inspector did not answer %s", method);
        free(text);
        return NULL;
    }
    return text;
}

static void post_failed(struct np_session *s, const char *method, const char *why)
{
    snprintf(s->failure, sizeof s->failure, "%s", why);
    if (!s->quiet) np_warn("%s failed: %s", method, why);
}

/* The result of a reply's text, or NULL if it is an error (logged). */
static napi_value parse_reply(napi_env env, struct np_session *s, const char *method, char *text, size_t len)
{
    napi_value json = NULL;
    if (text) napi_create_string_utf8(env, text, len, &json);
    free(text);
    if (!json) return NULL;
    napi_value reply = js_call_method(env, js_get(env, js_global(env), "JSON"), "parse", 1, &json);
    napi_value err = js_get(env, reply, "error");
    napi_valuetype t = napi_undefined;
    if (err) napi_typeof(env, err, &t);
    if (!reply || t == napi_object) {
        size_t why_len;
        char *why = err ? js_to_utf8(env, js_get(env, err, "message"), &why_len) : NULL;
        post_failed(s, method, why ? why : "no answer");
        free(why);
        return NULL;
    }
    napi_value result = js_get(env, reply, "result");
    if (!result) napi_get_undefined(env, &result);
    return result;
}

static napi_value raw_post(napi_env env, struct np_session *s, const char *method, napi_value params)
{
    size_t len = 0;
    char *text = dispatch(env, s, method, params, &len);
    return parse_reply(env, s, method, text, len);
}

/* ---- node:inspector's Session ---------------------------------------------- */

static int open_session(napi_env env, struct np_session *s)
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

static napi_value session_post(napi_env env, struct np_session *s, const char *method, napi_value params)
{
    napi_value session = session_object(env, s);
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
        post_failed(s, method, text ? text : "error");
        free(text);
        return NULL;
    }
    napi_value result = take_ref(env, &s->reply);
    if (!result) napi_get_undefined(env, &result);
    return result;
}

/* ---- either ------------------------------------------------------------------ */

bool np_session_available(napi_env env)
{
    napi_value process = js_get(env, js_global(env), "process");
    return js_is_function(env, js_get(env, process, "getBuiltinModule"));
}

int np_session_open(napi_env env, struct np_session *s)
{
    return open_connection(env, s) == 0 ? 0 : s->no_inspector ? -1 : open_session(env, s);
}

/* Opens the session on first use; a failure is logged once. */
static napi_value opened_session(napi_env env, struct np_session *s)
{
    if (!s->session && !s->failed && np_session_open(env, s)) {
        s->failed = true;
        if (s->no_inspector)
            np_err("node made this process without an inspector (as it makes node --test's runner): it is not "
                   "profiled; the processes it starts are");
        else
            np_err("cannot open an inspector session: profiles are unavailable on this thread");
    }
    return session_object(env, s);
}

void np_session_release(napi_env env, struct np_session *s)
{
    drop_ref(env, &s->session);
    drop_ref(env, &s->events);
    drop_ref(env, &s->noop);
    free(s->text);
    s->text = NULL;
}

void np_session_close(napi_env env, struct np_session *s)
{
    napi_value session = session_object(env, s);
    if (session) js_call_method(env, session, "disconnect", 0, NULL);
    np_session_release(env, s);
}

napi_value np_session_post(napi_env env, struct np_session *s, const char *method, napi_value params)
{
    if (!opened_session(env, s)) return NULL;
    return s->raw ? raw_post(env, s, method, params) : session_post(env, s, method, params);
}

napi_value np_session_post_quiet(napi_env env, struct np_session *s, const char *method, napi_value params)
{
    s->quiet = true;
    s->failure[0] = '\0';
    napi_value result = np_session_post(env, s, method, params);
    s->quiet = false;
    return result;
}

int np_session_on(napi_env env, struct np_session *s, const char *event, napi_callback cb, void *data)
{
    napi_value session = opened_session(env, s);
    napi_value fn = js_function(env, event, cb, data), events;
    if (!session || !fn) return -1;
    if (s->raw) {
        s->listening = true;
        return napi_get_reference_value(env, s->events, &events) == napi_ok ? js_set(env, events, event, fn) : -1;
    }
    napi_value args[2] = { js_string(env, event), fn };
    if (!args[0]) return -1;
    return js_call_method(env, session, "on", 2, args) ? 0 : -1;
}

const char *np_session_console_expression(const struct np_session *s)
{
    return s->raw ? "globalThis.process.binding('inspector').console"
                  : "globalThis.process.getBuiltinModule('node:inspector').console";
}
