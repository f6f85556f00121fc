#include "common/nodeopts.h"

#include <stdio.h>
#include <string.h>

#define REQUIRE "--require="
#define IMPORT_OURS NP_NODEOPTS_IMPORT_PREFIX NP_NODEOPTS_LOADER_B64_HEAD

static int has_prefix(const char *t, size_t len, const char *prefix)
{
    size_t pl = strlen(prefix);
    return len >= pl && !strncmp(t, prefix, pl);
}

static int has_suffix(const char *t, size_t len, const char *suffix)
{
    size_t sl = strlen(suffix);
    return len >= sl && !strncmp(t + len - sl, suffix, sl);
}

/* --require=/tmp/nodeprof-<uid>/agent-<hash>.js, written by versions
 * before the loader moved out of /tmp: recognised so that it is replaced
 * or removed, never kept. */
static int is_legacy_token(const char *t, size_t len)
{
    if (!has_prefix(t, len, REQUIRE) || !has_suffix(t, len, ".js")) return 0;
    const char *slash = memrchr(t, '/', len);
    if (!slash || (size_t)(t + len - slash) < 10 || strncmp(slash, "/agent-", 7)) return 0;
    return memmem(t, (size_t)(slash - t), "/nodeprof-", 10) != NULL;
}

int np_nodeopts_is_ours(const char *t, size_t len)
{
    size_t rl = strlen(REQUIRE);
    if (has_prefix(t, len, REQUIRE) && len > rl + 1 && t[rl] == '/' && has_suffix(t, len, "/" NP_LOADER_NAME))
        return 1;
    return has_prefix(t, len, IMPORT_OURS) || is_legacy_token(t, len);
}

/* Length of the token at s. Node's parser lets a double-quoted part hold
 * spaces (with \-escapes); we only need to skip such tokens intact. */
static size_t token_len(const char *s)
{
    size_t i = 0;
    int quoted = 0;
    for (; s[i]; i++) {
        if (quoted && s[i] == '\\' && s[i + 1]) { i++; continue; }
        if (s[i] == '"') quoted = !quoted;
        else if (!quoted && s[i] == ' ') break;
    }
    return i;
}

int np_nodeopts_has_permission_model(const char *s)
{
    if (!s) return 0;
    for (const char *p = s; *p;) {
        if (*p == ' ') { p++; continue; }
        size_t len = token_len(p);
        if ((len == 12 && !strncmp(p, "--permission", 12)) ||
            (len == 25 && !strncmp(p, "--experimental-permission", 25)))
            return 1;
        p += len;
    }
    return 0;
}

/* Copies the tokens of current into out, replacing ours by `want` once
 * (want NULL: dropping them). Returns -1 on overflow, else whether any
 * token of ours was found. */
static int rewrite(const char *current, const char *want, char *out, size_t outlen, int *changed)
{
    size_t n = 0, wl = want ? strlen(want) : 0;
    int placed = 0;
    const char *s = current ? current : "";
    out[0] = '\0';
    while (*s) {
        if (*s == ' ') { s++; continue; }
        size_t len = token_len(s);
        const char *tok = s;
        s += len;
        if (np_nodeopts_is_ours(tok, len)) {
            if (placed || !want || len != wl || strncmp(tok, want, len)) *changed = 1;
            if (placed || !want) continue; /* drop duplicates, or all of ours */
            tok = want;                    /* replace a stale loader by ours */
            len = wl;
            placed = 1;
        }
        if (n + len + 2 > outlen) return -1;
        if (n) out[n++] = ' ';
        memcpy(out + n, tok, len);
        n += len;
        out[n] = '\0';
    }
    if (want && !placed) {
        if (n + wl + 2 > outlen) return -1;
        if (n) out[n++] = ' ';
        memcpy(out + n, want, wl + 1);
        *changed = 1;
    }
    return 0;
}

enum np_nodeopts_result np_nodeopts_strip(const char *current, char *out, size_t outlen)
{
    int changed = 0;
    if (rewrite(current, NULL, out, outlen, &changed)) return NP_NODEOPTS_ERROR;
    return changed ? NP_NODEOPTS_CHANGED : NP_NODEOPTS_UNCHANGED;
}

/* Ours goes first: node runs --require modules in order, and a user's
 * own preload (an APM agent, dotenv) must run after our loader, so that
 * its start-up is in the profile and its 'exit' listeners run after ours,
 * as the app's do. */
enum np_nodeopts_result np_nodeopts_inject(const char *current, const char *token,
                                           char *out, size_t outlen)
{
    int stale = 0;
    size_t tl = strlen(token);
    if (tl + 2 > outlen) return NP_NODEOPTS_ERROR;
    char *rest = out + tl + 1; /* the user's options, ours dropped, after ours */
    if (rewrite(current, NULL, rest, outlen - tl - 1, &stale)) return NP_NODEOPTS_ERROR;
    memcpy(out, token, tl);
    out[tl] = *rest ? ' ' : '\0';
    return current && !strcmp(current, out) ? NP_NODEOPTS_UNCHANGED : NP_NODEOPTS_CHANGED;
}
