#include "common/namepat.h"

#include <stdio.h>
#include <string.h>

struct sink {
    char *out;
    size_t len, cap;
    int overflow;
};

static void put(struct sink *s, const char *text, size_t n, int sanitize)
{
    for (size_t i = 0; i < n; i++) {
        if (s->len + 1 >= s->cap) { s->overflow = 1; return; }
        char c = text[i];
        s->out[s->len++] = (sanitize && c == '/') ? '_' : c;
    }
    s->out[s->len] = '\0';
}

static void put_str(struct sink *s, const char *text, int sanitize)
{
    put(s, text, strlen(text), sanitize);
}

static const char *env_value(char *const *envp, const char *name, size_t len)
{
    for (char *const *e = envp; e && *e; e++)
        if (!strncmp(*e, name, len) && (*e)[len] == '=') return *e + len + 1;
    return "";
}

int np_name_expand(const char *pattern, const struct np_name_vars *v,
                   char *out, size_t outlen, const char **why)
{
    struct sink s = { out, 0, outlen, 0 };
    char num[64];
    if (outlen) out[0] = '\0';
    for (const char *p = pattern; *p; p++) {
        if (*p != '%') { put(&s, p, 1, 1); continue; }
        p++;
        switch (*p) {
        case 'p': snprintf(num, sizeof num, "%ld", v->pid); put_str(&s, num, 0); break;
        case 'n': snprintf(num, sizeof num, "%lu", v->seq); put_str(&s, num, 0); break;
        case 'w': snprintf(num, sizeof num, "%d", v->thread_id); put_str(&s, num, 0); break;
        case 'h': put_str(&s, v->host ? v->host : "localhost", 1); break;
        case 's': put_str(&s, v->script ? v->script : "node", 1); break;
        case 'c': put_str(&s, v->command ? v->command : "node", 1); break;
        case '%': put(&s, "%", 1, 0); break;
        case 't': {
            struct tm tm;
            gmtime_r(&v->when, &tm);
            strftime(num, sizeof num, "%Y%m%dT%H%M%SZ", &tm);
            put_str(&s, num, 0);
            break;
        }
        case '{': {
            const char *end = strchr(p, '}');
            if (!end || end == p + 1) { *why = "unterminated or empty %{VAR}"; return -1; }
            put_str(&s, env_value(v->envp, p + 1, (size_t)(end - p - 1)), 1);
            p = end;
            break;
        }
        case '\0': *why = "pattern ends with %"; return -1;
        default: *why = "unknown % sequence (use %p %t %n %h %w %s %c %{VAR} %%)"; return -1;
        }
    }
    if (s.overflow) { *why = "expanded name too long"; return -1; }
    if (s.len == 0 || !strcmp(out, ".") || !strcmp(out, "..")) { *why = "empty name"; return -1; }
    /* An unset %{VAR} first must not make a file that reads as an option
     * ("-1234.cpuprofile") or that ls and globs do not show. */
    if (out[0] == '-' || out[0] == '.') out[0] = '_';
    return 0;
}
