#include "formats/jsonscan.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void js_init(struct js_reader *r, const char *text, size_t len, char *err, size_t errlen)
{
    r->base = text;
    r->p = text;
    r->end = text + len;
    r->first = 0;
    r->failed = 0;
    r->err = err;
    r->errlen = errlen;
}

int js_fail(struct js_reader *r, const char *what)
{
    if (!r->failed && r->errlen > 0) {
        if (r->p >= r->end)
            snprintf(r->err, r->errlen, "malformed JSON: %s at the end of the text (truncated?)", what);
        else
            snprintf(r->err, r->errlen, "malformed JSON at byte %zu: %s", (size_t)(r->p - r->base), what);
    }
    r->failed = 1;
    return -1;
}

static void skip_space(struct js_reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

int js_peek(struct js_reader *r)
{
    if (r->failed) return -1;
    skip_space(r);
    return r->p < r->end ? (unsigned char)*r->p : -1;
}

/* Consumes the character c (after whitespace) or fails with `what`. */
static int expect(struct js_reader *r, char c, const char *what)
{
    if (js_peek(r) != (unsigned char)c) return js_fail(r, what);
    r->p++;
    return 0;
}

int js_begin_object(struct js_reader *r)
{
    if (expect(r, '{', "expected an object")) return -1;
    r->first = 1;
    return 0;
}

int js_begin_array(struct js_reader *r)
{
    if (expect(r, '[', "expected an array")) return -1;
    r->first = 1;
    return 0;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Consumes a string at the cursor ('"' included) and returns its raw body. */
static int scan_string(struct js_reader *r, const char **body, size_t *len)
{
    if (expect(r, '"', "expected a string")) return -1;
    const char *start = r->p;
    while (r->p < r->end) {
        unsigned char c = (unsigned char)*r->p;
        if (c == '"') {
            *body = start;
            *len = (size_t)(r->p - start);
            r->p++;
            return 0;
        }
        if (c < 0x20) return js_fail(r, "control character in a string");
        if (c != '\\') { r->p++; continue; }
        if (r->end - r->p < 2) break;
        char e = r->p[1];
        if (e == 'u') {
            if (r->end - r->p < 6) break;
            for (int i = 2; i < 6; i++)
                if (!is_hex(r->p[i])) return js_fail(r, "bad \\u escape in a string");
            r->p += 6;
        } else if (strchr("\"\\/bfnrt", e) && e != '\0') {
            r->p += 2;
        } else {
            return js_fail(r, "bad escape in a string");
        }
    }
    return js_fail(r, "unterminated string");
}

int js_next_member(struct js_reader *r, const char **key, size_t *keylen)
{
    int c = js_peek(r);
    if (c < 0 && r->failed) return -1;
    if (c == '}') { r->p++; r->first = 0; return 0; }
    if (!r->first && expect(r, ',', "expected ',' or '}'")) return -1;
    r->first = 0;
    if (scan_string(r, key, keylen)) return -1;
    return expect(r, ':', "expected ':'") ? -1 : 1;
}

int js_next_element(struct js_reader *r)
{
    int c = js_peek(r);
    if (c < 0 && r->failed) return -1;
    if (c == ']') { r->p++; r->first = 0; return 0; }
    if (!r->first && expect(r, ',', "expected ',' or ']'")) return -1;
    r->first = 0;
    return 1;
}

/* Consumes a number's text and returns its extent; `integral` tells whether
 * it had neither fraction nor exponent. */
static int scan_number(struct js_reader *r, const char **start, size_t *len, int *integral)
{
    const char *p = r->p, *e = r->end;
    *start = p;
    *integral = 1;
    if (p < e && *p == '-') p++;
    if (p < e && *p == '0') p++;
    else if (p < e && *p >= '1' && *p <= '9') while (p < e && *p >= '0' && *p <= '9') p++;
    else return js_fail(r, "expected a value");
    if (p < e && *p == '.') {
        *integral = 0;
        if (++p >= e || *p < '0' || *p > '9') { r->p = p; return js_fail(r, "bad number"); }
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        *integral = 0;
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || *p < '0' || *p > '9') { r->p = p; return js_fail(r, "bad number"); }
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    *len = (size_t)(p - *start);
    r->p = p;
    return 0;
}

static int scan_literal(struct js_reader *r)
{
    static const char *const words[] = { "true", "false", "null" };
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(r->end - r->p) >= n && !memcmp(r->p, words[i], n)) {
            r->p += n;
            return 0;
        }
    }
    return js_fail(r, "expected a value");
}

/* One scalar value (string, number, literal). */
static int scan_scalar(struct js_reader *r)
{
    int c = js_peek(r);
    const char *s;
    size_t n;
    int integral;
    if (c == '"') return scan_string(r, &s, &n);
    if (c == '-' || (c >= '0' && c <= '9')) return scan_number(r, &s, &n, &integral);
    if (c < 0) return js_fail(r, "expected a value");
    return scan_literal(r);
}

/* The closing brackets still expected, innermost last: an explicit stack so
 * that nesting depth costs heap, not C stack. */
struct closers {
    char *v;
    size_t n, cap;
};

static int push_closer(struct js_reader *r, struct closers *st, char c)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        char *v = realloc(st->v, cap);
        if (!v) return js_fail(r, "out of memory");
        st->v = v;
        st->cap = cap;
    }
    st->v[st->n++] = c;
    return 0;
}

/* Opens a container if one is at the cursor: 1 if the caller must now read
 * a value inside it, 0 if it was empty or the value was a scalar, -1. */
static int skip_open(struct js_reader *r, struct closers *st)
{
    int c = js_peek(r);
    if (c != '{' && c != '[') return scan_scalar(r);
    r->p++;
    int close = c == '{' ? '}' : ']';
    if (js_peek(r) == close) { r->p++; return 0; }
    if (push_closer(r, st, (char)close)) return -1;
    if (close == '}') {
        const char *k;
        size_t kn;
        if (scan_string(r, &k, &kn) || expect(r, ':', "expected ':'")) return -1;
    }
    return 1;
}

int js_skip(struct js_reader *r)
{
    struct closers st = { 0 };
    int rc = skip_open(r, &st);
    while (rc >= 0) {
        if (rc == 1) { rc = skip_open(r, &st); continue; }
        if (st.n == 0) break; /* the value is complete */
        char close = st.v[st.n - 1];
        int c = js_peek(r);
        if (c == close) { r->p++; st.n--; continue; }
        if (c != ',') { rc = js_fail(r, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'"); break; }
        r->p++;
        if (close == '}') {
            const char *k;
            size_t kn;
            if (scan_string(r, &k, &kn) || expect(r, ':', "expected ':'")) { rc = -1; break; }
        }
        rc = 1;
    }
    free(st.v);
    r->first = 0;
    return rc < 0 ? -1 : 0;
}

/* Slow path for numbers with a fraction or exponent (1e3, 5.0): strtod on
 * a bounded copy, with the locale's decimal point. */
static int number_as_double(const char *s, size_t len, double *out)
{
    char buf[80];
    if (len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *dot = strchr(buf, '.');
    if (dot) *dot = localeconv()->decimal_point[0];
    char *end;
    *out = strtod(buf, &end);
    return end == buf + len ? 0 : -1;
}

static int parse_integral(const char *s, size_t len, int64_t *out)
{
    int neg = *s == '-';
    uint64_t v = 0;
    for (size_t i = (size_t)neg; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_C(1) << 62) / 10) return -1; /* far beyond any range we accept */
        v = v * 10 + d;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* The common case in one pass: up to 15 digits, no fraction, exponent or
 * leading zero. Returns 1 if it applied, 0 to take the general path. */
static int fast_int(struct js_reader *r, int64_t *out)
{
    const char *p = r->p, *e = r->end;
    int neg = p < e && *p == '-';
    p += neg;
    const char *digits = p;
    int64_t v = 0;
    while (p < e && *p >= '0' && *p <= '9' && p - digits < 15) v = v * 10 + (*p++ - '0');
    size_t n = (size_t)(p - digits);
    if (n == 0 || (n > 1 && *digits == '0')) return 0;
    if (p < e && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E')) return 0;
    *out = neg ? -v : v;
    r->p = p;
    return 1;
}

int js_int(struct js_reader *r, int64_t min, int64_t max, int64_t *out)
{
    const char *s;
    size_t len;
    int integral;
    int c = js_peek(r);
    if (c != '-' && (c < '0' || c > '9')) return js_fail(r, "expected an integer");
    const char *start = r->p;
    int64_t quick;
    if (fast_int(r, &quick)) {
        r->first = 0;
        if (quick >= min && quick <= max) {
            *out = quick;
            return 0;
        }
        r->p = start;
        return js_fail(r, "number out of range");
    }
    if (scan_number(r, &s, &len, &integral)) return -1;
    r->first = 0;
    int64_t v;
    if (integral) {
        if (parse_integral(s, len, &v)) goto out_of_range;
    } else {
        double d;
        /* The comparison is false for NaN; within it the cast is exact. */
        if (number_as_double(s, len, &d) || !(d > -9.0e15 && d < 9.0e15)) goto out_of_range;
        if (d != (double)(int64_t)d) { r->p = s; return js_fail(r, "expected an integer, not a fraction"); }
        v = (int64_t)d;
    }
    if (v < min || v > max) goto out_of_range;
    *out = v;
    return 0;
out_of_range:
    r->p = s;
    return js_fail(r, "number out of range");
}

cJSON *js_cjson(struct js_reader *r)
{
    if (js_peek(r) < 0) { js_fail(r, "expected a value"); return NULL; }
    const char *start = r->p;
    if (js_skip(r)) return NULL;
    cJSON *item = cJSON_ParseWithLength(start, (size_t)(r->p - start));
    if (!item) {
        r->p = start;
        js_fail(r, "value nested too deeply or out of memory");
    }
    return item;
}

int js_finish(struct js_reader *r)
{
    if (js_peek(r) >= 0) return js_fail(r, "unexpected text after the end");
    return r->failed ? -1 : 0;
}

int js_key_is(const char *key, size_t keylen, const char *name)
{
    return strlen(name) == keylen && !memcmp(key, name, keylen);
}
