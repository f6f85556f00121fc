#include "stack.h"

#include <stdlib.h>
#include <string.h>

#include "js.h"

#define MAX_FRAMES 256

struct capture {
    FILE *out;
    int frames;
    bool past_ours; /* our own frames (rescue, evaluate) are on top */
};

static char *callsite_text(napi_env env, napi_value site, const char *method)
{
    size_t len;
    napi_value v = js_call_method(env, site, method, 0, NULL);
    napi_valuetype t;
    if (!v || napi_typeof(env, v, &t) != napi_ok || t == napi_null || t == napi_undefined) return NULL;
    if (t == napi_number) {
        double d;
        char *buf = malloc(32);
        if (buf && !js_to_double(env, v, &d)) snprintf(buf, 32, "%.0f", d);
        return buf;
    }
    return js_to_utf8(env, v, &len);
}

static void write_frame(napi_env env, napi_value site, struct capture *c)
{
    char *fn = callsite_text(env, site, "getFunctionName");
    char *type = callsite_text(env, site, "getTypeName");
    char *method = callsite_text(env, site, "getMethodName");
    char *file = callsite_text(env, site, "getFileName");
    char *line = callsite_text(env, site, "getLineNumber");
    char *col = callsite_text(env, site, "getColumnNumber");
    bool ours = (fn && !strncmp(fn, "nodeprof", 8)) || (!c->past_ours && (!file || !*file));
    if (!ours) {
        c->past_ours = true;
        const char *name = fn && *fn ? fn : method ? method : "(anonymous)";
        if (type && fn && !strchr(fn, '.') && strcmp(type, "Object") && strcmp(type, "global"))
            fprintf(c->out, "%s.%s", type, name);
        else
            fputs(name, c->out);
        fprintf(c->out, " (%s:%s:%s)\n", file ? file : "native", line ? line : "?", col ? col : "?");
        c->frames++;
    }
    free(fn); free(type); free(method); free(file); free(line); free(col);
}

/* Error.prepareStackTrace(error, callSites) */
static napi_value prepare(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    struct capture *c;
    uint32_t n = 0;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&c) != napi_ok || argc < 2) return NULL;
    napi_get_array_length(env, argv[1], &n);
    for (uint32_t i = 0; i < n; i++) {
        napi_value site;
        if (napi_get_element(env, argv[1], i, &site) == napi_ok) write_frame(env, site, c);
    }
    return js_string(env, "");
}

int np_stack_write(napi_env env, FILE *out)
{
    struct capture c = { out, 0, false };
    napi_value error = js_get(env, js_global(env), "Error");
    napi_value old_prepare = js_get(env, error, "prepareStackTrace");
    napi_value old_limit = js_get(env, error, "stackTraceLimit");
    js_set(env, error, "prepareStackTrace", js_function(env, "nodeprofPrepare", prepare, &c));
    js_set(env, error, "stackTraceLimit", js_number(env, MAX_FRAMES));
    napi_value holder = js_object(env);
    js_call_method(env, error, "captureStackTrace", 1, &holder);
    js_get(env, holder, "stack"); /* formats the trace: calls prepare */
    js_set(env, error, "prepareStackTrace", old_prepare);
    js_set(env, error, "stackTraceLimit", old_limit);
    return c.frames;
}
