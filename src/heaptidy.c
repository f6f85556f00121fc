#include "heaptidy.h"

#include <stdint.h>
#include <stdlib.h>

#include "js.h"

/* Node ids seen in the tree, as a growable bitmap (V8 numbers them from 1). */
struct id_set {
    uint64_t *bits;
    size_t words;
};

static int id_add(struct id_set *s, int64_t id)
{
    if (id < 0 || id > (1 << 28)) return -1;
    size_t word = (size_t)id / 64;
    if (word >= s->words) {
        size_t words = s->words ? s->words : 16;
        while (words <= word) words *= 2;
        uint64_t *grown = realloc(s->bits, words * sizeof *grown);
        if (!grown) return -1;
        for (size_t i = s->words; i < words; i++) grown[i] = 0;
        s->bits = grown;
        s->words = words;
    }
    s->bits[word] |= (uint64_t)1 << (id % 64);
    return 0;
}

static int id_has(const struct id_set *s, int64_t id)
{
    return id >= 0 && (size_t)id / 64 < s->words && (s->bits[(size_t)id / 64] >> (id % 64) & 1);
}

static int64_t int_of(napi_env env, napi_value obj, const char *name)
{
    double v;
    return js_to_double(env, js_get(env, obj, name), &v) ? -1 : (int64_t)v;
}

/* Every id of the tree under head, depth first with an explicit stack. */
static int collect_ids(napi_env env, napi_value head, struct id_set *ids)
{
    napi_value *stack = malloc(64 * sizeof *stack);
    size_t n = 0, cap = 64;
    int rc = 0;
    if (!stack) return -1;
    stack[n++] = head;
    while (n > 0 && rc == 0) {
        napi_value node = stack[--n], children = js_get(env, node, "children");
        uint32_t count = 0;
        if (id_add(ids, int_of(env, node, "id")) || !children ||
            napi_get_array_length(env, children, &count) != napi_ok) {
            rc = -1;
            break;
        }
        for (uint32_t i = 0; i < count && rc == 0; i++) {
            if (n == cap) {
                napi_value *grown = realloc(stack, 2 * cap * sizeof *stack);
                if (!grown) { rc = -1; break; }
                stack = grown;
                cap *= 2;
            }
            if (napi_get_element(env, children, i, &stack[n++]) != napi_ok) rc = -1;
        }
    }
    free(stack);
    return rc;
}

long np_heap_profile_tidy(napi_env env, napi_value profile)
{
    napi_value head = js_get(env, profile, "head"), samples = js_get(env, profile, "samples"), kept, sample;
    struct id_set ids = { NULL, 0 };
    uint32_t count = 0, nkept = 0;
    napi_handle_scope scope;
    long dropped = -1;
    if (!head || !samples || napi_get_array_length(env, samples, &count) != napi_ok) return -1;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return -1;
    if (collect_ids(env, head, &ids) == 0 && napi_create_array(env, &kept) == napi_ok) {
        dropped = 0;
        for (uint32_t i = 0; i < count; i++) {
            if (napi_get_element(env, samples, i, &sample) != napi_ok) { dropped = -1; break; }
            if (id_has(&ids, int_of(env, sample, "nodeId"))) napi_set_element(env, kept, nkept++, sample);
            else dropped++;
        }
        if (dropped > 0) js_set(env, profile, "samples", kept);
    }
    napi_close_handle_scope(env, scope);
    free(ids.bits);
    return dropped;
}
