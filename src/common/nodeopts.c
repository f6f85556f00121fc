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

/* node's options that take a value, which may be the next argument:
 * those `node --help` lists with "=..." (node 20, 22 and 24), and the few
 * it lists otherwise. One string, space-separated and ending in a space:
 * a table of pointers would cost every process the preload enters a
 * relocated page. */
static const char value_options[] =
    "-r --require --import --loader --experimental-loader -C --conditions -e --eval -p --print -pe "
    "--input-type --title --env-file --env-file-if-exists --inspect-port --debug-port "
    "--inspect-publish-uid --allow-fs-read --allow-fs-write --disable-warning --redirect-warnings "
    "--unhandled-rejections --dns-result-order --experimental-default-type "
    "--experimental-config-file --experimental-policy --policy-integrity --experimental-sea-config "
    "--build-snapshot-config --snapshot-blob --icu-data-dir --openssl-config --tls-cipher-list "
    "--tls-keylog --secure-heap --secure-heap-min --use-largepages --v8-pool-size "
    "--max-http-header-size --disable-proto --diagnostic-dir --report-dir --report-directory "
    "--report-filename --report-signal --heapsnapshot-signal --heapsnapshot-near-heap-limit "
    "--cpu-prof-dir --cpu-prof-name --cpu-prof-interval --heap-prof-dir --heap-prof-name "
    "--heap-prof-interval --trace-event-categories --trace-event-file-pattern "
    "--trace-require-module --localstorage-file --run --watch-path --watch-kill-signal "
    "--stack-trace-limit --max-old-space-size --max-semi-space-size "
    "--network-family-autoselection-attempt-timeout --max-old-space-size-percentage "
    "--experimental-package-map --test-concurrency --test-name-pattern --test-skip-pattern "
    "--test-reporter --test-reporter-destination --test-shard --test-timeout --test-random-seed "
    "--test-coverage-include --test-coverage-exclude --test-coverage-branches "
    "--test-coverage-functions --test-coverage-lines --test-global-setup --test-rerun-failures "
    "--experimental-test-isolation --experimental-test-tag-filter ";

/* Whether arg is one of the space-separated words of list. */
static int listed(const char *list, const char *arg)
{
    size_t len = strlen(arg);
    for (const char *p = list; (p = strstr(p, arg)); p++)
        if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')) return 1;
    return 0;
}

static int takes_next_value(const char *arg)
{
    return arg[0] && !strchr(arg, '=') && !strchr(arg, ' ') && listed(value_options, arg);
}

/* Whether one of node's own options (up to the script or `--`, values of
 * options skipped) is one of the words of `names`. */
static int argv_has_node_option(int argc, char *const *argv, const char *names)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !strcmp(a, "-") || !strcmp(a, "--")) return 0; /* the script, stdin, the end */
        if (!strchr(a, ' ') && listed(names, a)) return 1;
        if (takes_next_value(a)) i++;
    }
    return 0;
}

int np_argv_has_permission_model(int argc, char *const *argv)
{
    return argv_has_node_option(argc, argv, "--permission --experimental-permission");
}

int np_argv_runs_no_code(int argc, char *const *argv)
{
    return argv_has_node_option(argc, argv, "--help -h --check -c --version -v --v8-options --completion-bash");
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
