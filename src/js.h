/* Small Node-API helpers. Each returns NULL (or -1) on failure and never
 * leaves a JavaScript exception pending: an exception thrown by anything we
 * call is cleared and logged, so the app never sees it. */
#ifndef NP_JS_H
#define NP_JS_H

#include <stddef.h>
#include <stdint.h>

#include "napi_weak.h"

napi_value js_global(napi_env env);
napi_value js_get(napi_env env, napi_value obj, const char *name);
int js_set(napi_env env, napi_value obj, const char *name, napi_value value);
napi_value js_string(napi_env env, const char *s);
napi_value js_number(napi_env env, double v);
napi_value js_object(napi_env env);
napi_value js_function(napi_env env, const char *name, napi_callback cb, void *data);
bool js_is_function(napi_env env, napi_value v);

/* fn.apply(recv, argv); NULL if it threw (the exception is cleared). */
napi_value js_call(napi_env env, napi_value recv, napi_value fn, size_t argc, const napi_value *argv);
napi_value js_call_method(napi_env env, napi_value obj, const char *name, size_t argc, const napi_value *argv);

/* process.getBuiltinModule(name), or NULL on nodes that lack it. */
napi_value js_builtin(napi_env env, const char *name);

/* A thrown value's message (an Error's, or a bare string), malloc'ed; NULL
 * if there is none. */
char *js_exception_text(napi_env env, napi_value exc);
/* A string's UTF-8 bytes, malloc'ed and NUL-terminated; *len excludes the NUL. */
char *js_to_utf8(napi_env env, napi_value v, size_t *len);
/* JSON.stringify(v), malloc'ed. */
char *js_stringify(napi_env env, napi_value v, size_t *len);
int js_to_double(napi_env env, napi_value v, double *out);

/* Clears a pending exception, logging it with context. */
void js_clear_exception(napi_env env, const char *context);

#endif
