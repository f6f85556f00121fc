#include "formats/jsonscan.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The scanner's inner steps, inlined into the loops that run once per
 * number or string (a call each costs as much as the step). */
#define HOT static inline __attribute__((always_inline))

void jscan_init(struct jscan_reader *r, const char *text, size_t len, char *err, size_t errlen)
{
    r->base = text;
    r->p = text;
    r->end = text + len;
    r->first = 0;
    r->failed = 0;
    r->err = err;
    r->errlen = errlen;
}

int jscan_fail(struct jscan_reader *r, const char *what)
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

HOT void skip_space(struct jscan_reader *r)
{
    const char *p = r->p, *e = r->end;
    /* Every byte above ' ' ends it: one comparison in the usual case. */
    while (p < e && (unsigned char)*p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    r->p = p;
}

HOT int peek(struct jscan_reader *r)
{
    if (r->failed) return -1;
    skip_space(r);
    return r->p < r->end ? (unsigned char)*r->p : -1;
}

int jscan_peek(struct jscan_reader *r)
{
    if (r->failed) return -1;
    skip_space(r);
    return r->p < r->end ? (unsigned char)*r->p : -1;
}

/* Consumes the character c (after whitespace) or fails with `what`. */
HOT int expect(struct jscan_reader *r, char c, const char *what)
{
    if (peek(r) != (unsigned char)c) return jscan_fail(r, what);
    r->p++;
    return 0;
}

int jscan_begin_object(struct jscan_reader *r)
{
    if (expect(r, '{', "expected an object")) return -1;
    r->first = 1;
    return 0;
}

int jscan_begin_array(struct jscan_reader *r)
{
    if (expect(r, '[', "expected an array")) return -1;
    r->first = 1;
    return 0;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The bytes of a word that are '"', '\\' or control characters, as their
 * high bits. Borrows can mark a byte after a true match but never before
 * it, so the lowest bit set is exact. */
HOT uint64_t special_bytes8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t quote = v ^ (ones * '"'), bslash = v ^ (ones * '\\');
    uint64_t zero_quote = (quote - ones) & ~quote, zero_bslash = (bslash - ones) & ~bslash;
    uint64_t control = (v - ones * 0x20) & ~v;
    return (zero_quote | zero_bslash | control) & highs;
}

/* The first '"', '\\' or control character from p on, or e: eight bytes
 * at a time. */
HOT const char *next_special(const char *p, const char *e)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; e - p >= 8; p += 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        uint64_t m = special_bytes8(word);
        if (m) return p + __builtin_ctzll(m) / 8;
    }
#endif
    while (p < e && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) p++;
    return p;
}

/* Consumes a string at the cursor ('"' included) and returns its raw body. */
static int scan_string(struct jscan_reader *r, const char **body, size_t *len, int *escaped)
{
    if (expect(r, '"', "expected a string")) return -1;
    const char *start = r->p, *e = r->end;
    *escaped = 0;
    for (;;) {
        const char *p = next_special(r->p, e);
        r->p = p;
        if (p >= e) break;
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *body = start;
            *len = (size_t)(p - start);
            r->p++;
            return 0;
        }
        if (c < 0x20) return jscan_fail(r, "control character in a string");
        *escaped = 1;
        if (e - p < 2) break;
        char esc = p[1];
        if (esc == 'u') {
            if (e - p < 6) break;
            for (int i = 2; i < 6; i++)
                if (!is_hex(p[i])) return jscan_fail(r, "bad \\u escape in a string");
            r->p += 6;
        } else if (strchr("\"\\/bfnrt", esc) && esc != '\0') {
            r->p += 2;
        } else {
            return jscan_fail(r, "bad escape in a string");
        }
    }
    return jscan_fail(r, "unterminated string");
}

int jscan_raw_string(struct jscan_reader *r, const char **body, size_t *len, int *escaped)
{
    int rc = scan_string(r, body, len, escaped);
    r->first = 0;
    return rc;
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v = v << 4 | (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* The \u escape at p (6 bytes, or 12 for a surrogate pair) as a code
 * point; sets *used, or returns -1 for a lone surrogate (as cJSON did). */
static long unicode_escape(const char *p, const char *e, size_t *used)
{
    unsigned long cp = hex4(p + 2);
    *used = 6;
    if (cp >= 0xdc00 && cp <= 0xdfff) return -1;
    if (cp < 0xd800 || cp > 0xdbff) return (long)cp;
    if (e - p < 12 || p[6] != '\\' || p[7] != 'u') return -1;
    unsigned long low = hex4(p + 8);
    if (low < 0xdc00 || low > 0xdfff) return -1;
    *used = 12;
    return (long)(0x10000 + ((cp & 0x3ff) << 10 | (low & 0x3ff)));
}

long jscan_unescape(const char *body, size_t len, char *out)
{
    const char *p = body, *e = body + len;
    char *o = out;
    while (p < e) {
        const char *bs = memchr(p, '\\', (size_t)(e - p));
        size_t plain = bs ? (size_t)(bs - p) : (size_t)(e - p);
        memmove(o, p, plain);
        o += plain;
        p += plain;
        if (p >= e) break;
        static const char from[] = "bfnrt\"\\/", to[] = "\b\f\n\r\t\"\\/";
        const char *k = p[1] == 'u' ? NULL : strchr(from, p[1]);
        if (k) {
            *o++ = to[k - from];
            p += 2;
            continue;
        }
        size_t used;
        long cp = unicode_escape(p, e, &used);
        if (cp < 0) return -1;
        o += put_utf8(o, (unsigned long)cp);
        p += used;
    }
    return (long)(o - out);
}

int jscan_next_member(struct jscan_reader *r, const char **key, size_t *keylen)
{
    int c = jscan_peek(r);
    if (c < 0 && r->failed) return -1;
    if (c == '}') { r->p++; r->first = 0; return 0; }
    if (!r->first && expect(r, ',', "expected ',' or '}'")) return -1;
    r->first = 0;
    int escaped;
    if (scan_string(r, key, keylen, &escaped)) return -1;
    return expect(r, ':', "expected ':'") ? -1 : 1;
}

int jscan_next_element(struct jscan_reader *r)
{
    int c = jscan_peek(r);
    if (c < 0 && r->failed) return -1;
    if (c == ']') { r->p++; r->first = 0; return 0; }
    if (!r->first && expect(r, ',', "expected ',' or ']'")) return -1;
    r->first = 0;
    return 1;
}

/* Consumes a number's text and returns its extent; `integral` tells whether
 * it had neither fraction nor exponent. */
static int scan_number(struct jscan_reader *r, const char **start, size_t *len, int *integral)
{
    const char *p = r->p, *e = r->end;
    *start = p;
    *integral = 1;
    if (p < e && *p == '-') p++;
    if (p < e && *p == '0') p++;
    else if (p < e && *p >= '1' && *p <= '9') while (p < e && *p >= '0' && *p <= '9') p++;
    else return jscan_fail(r, "expected a value");
    if (p < e && *p == '.') {
        *integral = 0;
        if (++p >= e || *p < '0' || *p > '9') { r->p = p; return jscan_fail(r, "bad number"); }
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        *integral = 0;
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || *p < '0' || *p > '9') { r->p = p; return jscan_fail(r, "bad number"); }
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    *len = (size_t)(p - *start);
    r->p = p;
    return 0;
}

static int scan_literal(struct jscan_reader *r)
{
    static const char *const words[] = { "true", "false", "null" };
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(r->end - r->p) >= n && !memcmp(r->p, words[i], n)) {
            r->p += n;
            return 0;
        }
    }
    return jscan_fail(r, "expected a value");
}

/* One scalar value (string, number, literal). */
static int scan_scalar(struct jscan_reader *r)
{
    int c = jscan_peek(r);
    const char *s;
    size_t n;
    int integral;
    if (c == '"') return scan_string(r, &s, &n, &integral);
    if (c == '-' || (c >= '0' && c <= '9')) return scan_number(r, &s, &n, &integral);
    if (c < 0) return jscan_fail(r, "expected a value");
    return scan_literal(r);
}

/* The closing brackets still expected, innermost last: an explicit stack so
 * that nesting depth costs heap, not C stack. */
struct closers {
    char *v;
    size_t n, cap;
};

static int push_closer(struct jscan_reader *r, struct closers *st, char c)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        char *v = realloc(st->v, cap);
        if (!v) return jscan_fail(r, "out of memory");
        st->v = v;
        st->cap = cap;
    }
    st->v[st->n++] = c;
    return 0;
}

/* Opens a container if one is at the cursor: 1 if the caller must now read
 * a value inside it, 0 if it was empty or the value was a scalar, -1. */
static int skip_open(struct jscan_reader *r, struct closers *st)
{
    int c = jscan_peek(r);
    if (c != '{' && c != '[') return scan_scalar(r);
    r->p++;
    int close = c == '{' ? '}' : ']';
    if (jscan_peek(r) == close) { r->p++; return 0; }
    if (push_closer(r, st, (char)close)) return -1;
    if (close == '}') {
        const char *k;
        size_t kn;
        int escaped;
        if (scan_string(r, &k, &kn, &escaped) || expect(r, ':', "expected ':'")) return -1;
    }
    return 1;
}

int jscan_skip(struct jscan_reader *r)
{
    struct closers st = { 0 };
    int rc = skip_open(r, &st);
    while (rc >= 0) {
        if (rc == 1) { rc = skip_open(r, &st); continue; }
        if (st.n == 0) break; /* the value is complete */
        char close = st.v[st.n - 1];
        int c = jscan_peek(r);
        if (c == close) { r->p++; st.n--; continue; }
        if (c != ',') { rc = jscan_fail(r, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'"); break; }
        r->p++;
        if (close == '}') {
            const char *k;
            size_t kn;
            int escaped;
            if (scan_string(r, &k, &kn, &escaped) || expect(r, ':', "expected ':'")) { rc = -1; break; }
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
HOT int fast_int(struct jscan_reader *r, int64_t *out)
{
    const char *p = r->p, *e = r->end;
    int neg = p < e && *p == '-';
    p += neg;
    const char *digits = p, *stop = e - p > 15 ? p + 15 : e;
    int64_t v = 0;
    unsigned d;
    while (p < stop && (d = (unsigned)(*p - '0')) < 10) {
        v = v * 10 + d;
        p++;
    }
    size_t n = (size_t)(p - digits);
    if (n == 0 || (n > 1 && *digits == '0')) return 0;
    if (p < e && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E')) return 0;
    *out = neg ? -v : v;
    r->p = p;
    return 1;
}

enum number_kind { NUMBER_INT, NUMBER_FRACTION, NUMBER_HUGE };

/* The general path: consumes a number, returns its kind (with *out for an
 * integer) or -1; *start is where it began. */
static int number_value(struct jscan_reader *r, int64_t *out, const char **start)
{
    const char *s;
    size_t len;
    int integral;
    if (scan_number(r, &s, &len, &integral)) return -1;
    *start = s;
    if (integral) return parse_integral(s, len, out) ? NUMBER_HUGE : NUMBER_INT;
    double d;
    /* The comparison is false for NaN; within it the cast is exact. */
    if (number_as_double(s, len, &d) || !(d > -9.0e15 && d < 9.0e15)) return NUMBER_HUGE;
    if (d != (double)(int64_t)d) return NUMBER_FRACTION;
    *out = (int64_t)d;
    return NUMBER_INT;
}

HOT int read_int(struct jscan_reader *r, int64_t min, int64_t max, int64_t *out)
{
    int c = peek(r);
    if (c != '-' && (c < '0' || c > '9')) return jscan_fail(r, "expected an integer");
    const char *start = r->p;
    int64_t v;
    if (fast_int(r, &v)) {
        r->first = 0;
        if (v >= min && v <= max) {
            *out = v;
            return 0;
        }
        r->p = start;
        return jscan_fail(r, "number out of range");
    }
    int kind = number_value(r, &v, &start);
    if (kind < 0) return -1;
    r->first = 0;
    if (kind == NUMBER_FRACTION) { r->p = start; return jscan_fail(r, "expected an integer, not a fraction"); }
    if (kind == NUMBER_HUGE || v < min || v > max) { r->p = start; return jscan_fail(r, "number out of range"); }
    *out = v;
    return 0;
}

int jscan_int(struct jscan_reader *r, int64_t min, int64_t max, int64_t *out)
{
    return read_int(r, min, max, out);
}

int jscan_number_int(struct jscan_reader *r, int64_t *out)
{
    const char *start;
    if (peek(r) < 0) return jscan_fail(r, "expected a value");
    int kind = fast_int(r, out) ? NUMBER_INT : number_value(r, out, &start);
    if (kind < 0) return -1;
    r->first = 0;
    return kind == NUMBER_INT;
}

/* The decimal digits at the start of p[0..7] (8 readable bytes): returns
 * how many there are (0..8) with their value in *v. SWAR, as in simdjson:
 * a byte is a digit when its high nibble is 3 and adding 6 keeps it so. */
HOT size_t leading_digits8(const char *p, int64_t *v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101u, highs = ones * 0xf0;
    uint64_t w;
    memcpy(&w, p, 8);
    /* A carry out of a byte >= 0xfa spoils only bytes after that non-digit. */
    uint64_t not_digit = ((w & highs) ^ ones * 0x30) | (((w + ones * 6) & highs) ^ ones * 0x30);
    size_t n = not_digit ? (size_t)__builtin_ctzll(not_digit) / 8 : 8;
    if (n == 0) {
        *v = 0;
        return 0;
    }
    /* The digits moved to the end of the word behind leading zeros, then
     * combined pairwise: 8 digits in three multiplications. */
    uint64_t x = (w - ones * '0') << (8 * (8 - n));
    x = x * 10 + (x >> 8);
    x = (((x & 0x000000ff000000ffu) * (100 + (1000000ull << 32))) +
         (((x >> 16) & 0x000000ff000000ffu) * (1 + (10000ull << 32)))) >> 32;
    *v = (int64_t)x;
    return n;
#else
    size_t n = 0;
    int64_t x = 0;
    while (n < 8 && (unsigned)(p[n] - '0') < 10) x = x * 10 + (p[n++] - '0');
    *v = x;
    return n;
#endif
}

/* The bytes fast_element may look at: a comma, a sign, 15 digits and the
 * byte after them. */
#define ELEMENT_MAX 18

/* One element written as V8 writes it (",123": no spaces, a plain integer
 * of at most 15 digits within [min, max]) with at least ELEMENT_MAX bytes
 * left, so that no byte needs a check against the end. Returns 0 to leave
 * anything else to the general path, which also reports errors. */
HOT int fast_element(const char **pp, int first, int64_t min, int64_t max, int64_t *out)
{
    const char *p = *pp;
    if (!first && *p++ != ',') return 0;
    int neg = *p == '-';
    p += neg;
    const char *digits = p;
    int64_t v;
    size_t n = leading_digits8(p, &v);
    p += n;
    unsigned d;
    while (n == 8 && (d = (unsigned)(*p - '0')) < 10 && p - digits < 15) {
        v = v * 10 + d;
        p++;
    }
    n = (size_t)(p - digits);
    /* No leading zero, and the element ends where the array goes on. */
    if (n == 0 || (n > 1 && *digits == '0') || (*p != ',' && *p != ']')) return 0;
    v = neg ? -v : v;
    if (v < min || v > max) return 0;
    *out = v;
    *pp = p;
    return 1;
}

int jscan_int_array(struct jscan_reader *r, int64_t min, int64_t max, int64_t *out, size_t room,
                 size_t *got)
{
    size_t n = 0;
    int rc = 1;
    if (r->failed) room = 0, rc = -1;
    while (n < room) {
        const char *p = r->p, *e = r->end;
        int first = r->first;
        while (n < room && e - p >= ELEMENT_MAX && fast_element(&p, first, min, max, &out[n])) {
            first = 0;
            n++;
        }
        r->p = p;
        r->first = first;
        if (n == room) break;
        int c = peek(r);
        if (c == ']') {
            r->p++;
            r->first = 0;
            rc = 0;
            break;
        }
        if (!r->first) {
            if (c != ',') { rc = jscan_fail(r, "expected ',' or ']'"); break; }
            r->p++;
        }
        r->first = 0;
        if (read_int(r, min, max, &out[n])) { rc = -1; break; }
        n++;
    }
    *got = n;
    return rc;
}

cJSON *jscan_cjson(struct jscan_reader *r)
{
    if (jscan_peek(r) < 0) { jscan_fail(r, "expected a value"); return NULL; }
    const char *start = r->p;
    if (jscan_skip(r)) return NULL;
    cJSON *item = cJSON_ParseWithLength(start, (size_t)(r->p - start));
    if (!item) {
        r->p = start;
        jscan_fail(r, "value nested too deeply or out of memory");
    }
    return item;
}

int jscan_finish(struct jscan_reader *r)
{
    if (jscan_peek(r) >= 0) return jscan_fail(r, "unexpected text after the end");
    return r->failed ? -1 : 0;
}
