#include "common/labels.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static __thread char why_buf[200];

__attribute__((format(printf, 2, 3)))
static int fail(const char **why, const char *fmt, ...);

static int fail(const char **why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why_buf, sizeof why_buf, fmt, ap);
    va_end(ap);
    *why = why_buf;
    return -1;
}

static const char *env_value(char *const *envp, const char *name, size_t len)
{
    for (char *const *e = envp; e && *e; e++)
        if (!strncmp(*e, name, len) && (*e)[len] == '=') return *e + len + 1;
    return NULL;
}

static bool key_ok(const char *k, size_t len)
{
    if (len == 0 || len > NP_LABEL_KEY_MAX || !(isalpha((unsigned char)k[0]) || k[0] == '_')) return false;
    for (size_t i = 1; i < len; i++)
        if (!isalnum((unsigned char)k[i]) && !strchr("_.-", k[i])) return false;
    return true;
}

/* The value of one label, %{VAR} and %% expanded, into val. */
static int expand_value(const char *s, size_t len, char *const *envp, const char *key, char *val,
                        const char **why)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        const char *piece = s + i;
        size_t plen = 1;
        if (s[i] == '%' && i + 1 < len && s[i + 1] == '%') {
            i++;
        } else if (s[i] == '%' && i + 1 < len && s[i + 1] == '{') {
            const char *close = memchr(s + i + 2, '}', len - i - 2);
            if (!close) return fail(why, "label %s: %%{ without }", key);
            size_t nlen = (size_t)(close - (s + i + 2));
            piece = env_value(envp, s + i + 2, nlen);
            if (nlen == 0 || !piece) return fail(why, "label %s: %%{%.*s} is not set", key, (int)nlen, s + i + 2);
            plen = strlen(piece);
            i = (size_t)(close - s);
        } else if (s[i] == '%') {
            return fail(why, "label %s: %% must be %%%% or %%{VAR}", key);
        }
        if (n + plen > NP_LABEL_VALUE_MAX) return fail(why, "label %s: value longer than %d bytes", key, NP_LABEL_VALUE_MAX);
        memcpy(val + n, piece, plen);
        n += plen;
    }
    val[n] = '\0';
    if (n == 0) return fail(why, "label %s: empty value", key);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)val[i] < 0x20 || (unsigned char)val[i] > 0x7e || val[i] == ',')
            return fail(why, "label %s: the value may hold printable ASCII only, without ','", key);
    return 0;
}

static bool seen_key(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = text; *p; p += strcspn(p, ","), p += *p == ',')
        if (!strncmp(p, key, klen) && p[klen] == '=') return true;
    return false;
}

int np_labels_expand(const char *spec, char *const *envp, char *out, size_t outlen, const char **why)
{
    size_t used = 0, count = 0;
    if (outlen) out[0] = '\0';
    for (const char *s = spec ? spec : ""; *s;) {
        size_t len = strcspn(s, ",");
        const char *eq = memchr(s, '=', len);
        char key[NP_LABEL_KEY_MAX + 1], val[NP_LABEL_VALUE_MAX + 1];
        size_t klen = eq ? (size_t)(eq - s) : len;
        if (!eq || !key_ok(s, klen)) {
            if (outlen) out[0] = '\0';
            return fail(why, "'%.*s': expected key=value, the key a name ([A-Za-z_][A-Za-z0-9_.-]*, at most %d bytes)",
                        (int)(len > 80 ? 80 : len), s, NP_LABEL_KEY_MAX);
        }
        memcpy(key, s, klen);
        key[klen] = '\0';
        int rc = expand_value(eq + 1, len - klen - 1, envp, key, val, why);
        if (rc == 0 && ++count > NP_LABELS_MAX) rc = fail(why, "more than %d labels", NP_LABELS_MAX);
        if (rc == 0 && seen_key(out, key)) rc = fail(why, "label %s given twice", key);
        int n = rc ? 0 : snprintf(out + used, outlen - used, "%s%s=%s", used ? "," : "", key, val);
        if (rc == 0 && (n < 0 || (size_t)n >= outlen - used || used + (size_t)n >= NP_LABELS_TEXT_MAX))
            rc = fail(why, "the labels are longer than %d bytes", NP_LABELS_TEXT_MAX - 1);
        if (rc) {
            if (outlen) out[0] = '\0';
            return -1;
        }
        used += (size_t)n;
        s += len + (s[len] == ',');
    }
    return 0;
}
