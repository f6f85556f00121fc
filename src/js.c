#include "js.h"

#include <stdlib.h>

#include "common/log.h"

void js_clear_exception(napi_env env, const char *context)
{
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) != napi_ok) return;
    char *text = js_exception_text(env, exc);
    np_warn("%s failed: %s", context, text ? text : "exception");
    free(text);
}

char *js_exception_text(napi_env env, napi_value exc)
{
    size_t len;
    napi_valuetype t = napi_undefined;
    if (!exc || napi_typeof(env, exc, &t) != napi_ok) return NULL;
    if (t == napi_string) return js_to_utf8(env, exc, &len); /* node throws some as bare strings */
    napi_value msg = js_get(env, exc, "message");
    return msg ? js_to_utf8(env, msg, &len) : NULL;
}

napi_value js_global(napi_env env)
{
    napi_value g;
    return napi_get_global(env, &g) == napi_ok ? g : NULL;
}

napi_value js_get(napi_env env, napi_value obj, const char *name)
{
    napi_value v;
    napi_valuetype t;
    if (!obj || napi_typeof(env, obj, &t) != napi_ok || (t != napi_object && t != napi_function))
        return NULL;
    if (napi_get_named_property(env, obj, name, &v) != napi_ok) {
        js_clear_exception(env, name); /* a getter may throw */
        return NULL;
    }
    return v;
}

int js_set(napi_env env, napi_value obj, const char *name, napi_value value)
{
    if (!obj || !value) return -1;
    if (napi_set_named_property(env, obj, name, value) != napi_ok) {
        js_clear_exception(env, name);
        return -1;
    }
    return 0;
}

napi_value js_string(napi_env env, const char *s)
{
    napi_value v;
    return napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v) == napi_ok ? v : NULL;
}

napi_value js_number(napi_env env, double d)
{
    napi_value v;
    return napi_create_double(env, d, &v) == napi_ok ? v : NULL;
}

napi_value js_object(napi_env env)
{
    napi_value v;
    return napi_create_object(env, &v) == napi_ok ? v : NULL;
}

napi_value js_function(napi_env env, const char *name, napi_callback cb, void *data)
{
    napi_value fn;
    return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, data, &fn) == napi_ok ? fn : NULL;
}

bool js_is_function(napi_env env, napi_value v)
{
    napi_valuetype t;
    return v && napi_typeof(env, v, &t) == napi_ok && t == napi_function;
}

napi_value js_call(napi_env env, napi_value recv, napi_value fn, size_t argc, const napi_value *argv)
{
    napi_value result;
    if (!js_is_function(env, fn)) return NULL;
    if (!recv) napi_get_undefined(env, &recv);
    if (napi_call_function(env, recv, fn, argc, argv, &result) != napi_ok) {
        js_clear_exception(env, "call");
        return NULL;
    }
    return result;
}

napi_value js_call_method(napi_env env, napi_value obj, const char *name, size_t argc, const napi_value *argv)
{
    return js_call(env, obj, js_get(env, obj, name), argc, argv);
}

napi_value js_builtin(napi_env env, const char *name)
{
    napi_value process = js_get(env, js_global(env), "process");
    napi_value arg = js_string(env, name);
    return arg ? js_call_method(env, process, "getBuiltinModule", 1, &arg) : NULL;
}

char *js_to_utf8(napi_env env, napi_value v, size_t *len)
{
    size_t n;
    if (!v || napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return NULL;
    char *buf = malloc(n + 1);
    if (!buf) return NULL;
    if (napi_get_value_string_utf8(env, v, buf, n + 1, &n) != napi_ok) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

char *js_stringify(napi_env env, napi_value v, size_t *len)
{
    napi_value json = js_get(env, js_global(env), "JSON");
    napi_value text = js_call_method(env, json, "stringify", 1, &v);
    return text ? js_to_utf8(env, text, len) : NULL;
}

int js_to_double(napi_env env, napi_value v, double *out)
{
    return v && napi_get_value_double(env, v, out) == napi_ok ? 0 : -1;
}
