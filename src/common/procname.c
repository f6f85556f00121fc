#include "common/procname.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define MAX_ARGS 8

/* Package managers, by their script's name: what to call them and how many
 * of their first arguments say what they are doing. Both the script and its
 * bin link: `npm run build` runs /usr/bin/npm (-> npm-cli.js) and node keeps
 * the link's name in process.argv[1]; npm-cli.js is what `node npm-cli.js`
 * and some installers give. */
static const struct {
    const char *stem, *name;
    int words;
} managers[] = {
    { "npm-cli", "npm", 2 }, { "npm", "npm", 2 },   { "npx-cli", "npx", 1 }, { "npx", "npx", 1 },
    { "yarn", "yarn", 2 },   { "pnpm", "pnpm", 2 }, { "pnpx", "pnpx", 1 },
};

static int safe_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '+' ||
           c == '-';
}

/* The n bytes of text as a safe word (procname.h) into out (at least
 * NP_PROCNAME_WORD + 1 bytes). */
static void clean_word(const char *text, size_t n, char *out)
{
    size_t len = 0;
    for (size_t i = 0; i < n && len < NP_PROCNAME_WORD; i++) {
        char c = safe_char(text[i]) ? text[i] : '_';
        if (c == '-' && len == 0) c = '_';
        if (c == '_' && len && out[len - 1] == '_') continue;
        out[len++] = c;
    }
    while (len > 1 && out[len - 1] == '_') len--;
    out[len] = '\0';
}

/* Appends word to out, '-' first unless out is empty, when the whole word
 * fits (a cut word would read as another word). */
static void join(char *out, const char *word)
{
    size_t len = strlen(out), n = strlen(word);
    if (!n || len + (len ? 1 : 0) + n > NP_PROCNAME_MAX) return;
    if (len) out[len++] = '-';
    memcpy(out + len, word, n + 1);
}

/* The last component of path, without trailing slashes: [*start, +len). */
static void last_component(const char *path, const char **start, size_t *len)
{
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/') end--;
    size_t begin = end;
    while (begin > 0 && path[begin - 1] != '/') begin--;
    *start = path + begin;
    *len = end - begin;
}

/* The length of base without a script extension. */
static size_t stem_length(const char *base, size_t len)
{
    static const char *const exts[] = { ".js", ".cjs", ".mjs", ".ts", ".cts", ".mts" };
    for (size_t k = 0; k < sizeof exts / sizeof *exts; k++) {
        size_t e = strlen(exts[k]);
        if (len > e && !memcmp(base + len - e, exts[k], e)) return len - e;
    }
    return len;
}

static int is(const char *text, size_t len, const char *word)
{
    return strlen(word) == len && !memcmp(text, word, len);
}

/* The script's name (procname.h) into out, NP_PROCNAME_WORD + 1 bytes. */
static void script_word(const char *path, char *out)
{
    const char *base;
    size_t len;
    char dir[PATH_MAX];
    last_component(path, &base, &len);
    len = stem_length(base, len);
    if (is(base, len, "index") && base > path) {
        /* The directory's name: "/srv/checkout/index.js" -> "checkout". */
        snprintf(dir, sizeof dir, "%.*s", (int)(base - path - 1), path);
        last_component(dir, &base, &len);
    }
    if (len == 0 || is(base, len, ".") || is(base, len, "..") || is(base, len, "/")) base = "node", len = 4;
    clean_word(base, len, out);
}

static const char *env_value(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (char *const *e = envp; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
    return NULL;
}

/* The word an argument adds to a name: its base name if it is a path. */
static void arg_word(const char *arg, char *out)
{
    const char *base = arg;
    size_t len = strlen(arg);
    if (strchr(arg, '/')) last_component(arg, &base, &len);
    clean_word(base, len, out);
}

/* Joins the arguments after the script, up to words of them and up to the
 * first option. */
static void join_args(char *out, const char *const *args, int nargs, int words)
{
    char word[NP_PROCNAME_WORD + 1];
    for (int i = 1; i < nargs && words > 0; i++) {
        if (args[i][0] == '-') break;
        arg_word(args[i], word);
        if (!word[0]) continue;
        join(out, word);
        words--;
    }
}

void np_procname_from_args(const char *const *args, int nargs, char *const *envp, struct np_procname *out)
{
    char word[NP_PROCNAME_WORD + 1];
    int manager_words = 0;
    memset(out, 0, sizeof *out);
    if (nargs <= 0 || !args[0] || !args[0][0]) {
        strcpy(out->script, "node");
        strcpy(out->command, "node");
        return;
    }
    script_word(args[0], word);
    const char *pm2 = env_value(envp, "pm_exec_path");
    if ((!strcmp(word, "ProcessContainerFork") || !strcmp(word, "ProcessContainer")) && pm2 && pm2[0])
        script_word(pm2, word);
    for (size_t k = 0; k < sizeof managers / sizeof *managers; k++) {
        if (strcmp(word, managers[k].stem)) continue;
        snprintf(word, sizeof word, "%s", managers[k].name);
        manager_words = managers[k].words;
        break;
    }
    join(out->script, word);
    join_args(out->script, args, nargs, manager_words);
    join(out->command, word);
    join_args(out->command, args, nargs, manager_words > 3 ? manager_words : 3);
}

/* node's options that take their value as the next argument. */
static int takes_value(const char *opt)
{
    static const char *const with_value[] = {
        "-r", "--require", "--import", "--loader", "--experimental-loader", "-C", "--conditions",
        "--input-type", "--title", "--env-file", "--inspect-port", "--redirect-warnings", "--diagnostic-dir",
        "--cpu-prof-dir", "--cpu-prof-name", "--heap-prof-dir", "--heap-prof-name", "--report-dir",
        "--report-directory", "--report-filename", "--icu-data-dir", "--openssl-config", "--watch-path",
        "--experimental-policy", "--policy-integrity", "--secure-heap", "--secure-heap-min", "--stack-size",
        "--max-old-space-size", "--max-semi-space-size", "--unhandled-rejections", "--dns-result-order",
    };
    for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
        if (!strcmp(opt, with_value[k])) return 1;
    return 0;
}

static int runs_no_script(const char *opt)
{
    return !strcmp(opt, "-e") || !strcmp(opt, "--eval") || !strcmp(opt, "-p") || !strcmp(opt, "--print") ||
           !strcmp(opt, "-pe") || !strcmp(opt, "-") || !strcmp(opt, "-i") || !strcmp(opt, "--interactive");
}

/* The index in argv of the script node runs, past node's own options; -1
 * when it runs none (-e, -p, -i, standard input, or no argument). */
static int script_index(const char *const *argv, int argc)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--")) return i + 1 < argc ? i + 1 : -1;
        if (arg[0] != '-') return i;
        if (runs_no_script(arg)) return -1;
        if (takes_value(arg) && !strchr(arg, '=')) i++;
    }
    return -1;
}

void np_procname_from_cmdline(const char *cmdline, size_t len, char *const *envp, struct np_procname *out)
{
    enum { MAX_CMDLINE_ARGS = 64 };
    const char *argv[MAX_CMDLINE_ARGS];
    int argc = 0;
    for (size_t at = 0; at < len && argc < MAX_CMDLINE_ARGS;) {
        size_t n = strnlen(cmdline + at, len - at);
        if (at + n >= len) break; /* not NUL-terminated: cut */
        argv[argc++] = cmdline + at;
        at += n + 1;
    }
    int script = script_index(argv, argc);
    if (script < 0) np_procname_from_args(NULL, 0, envp, out);
    else np_procname_from_args(argv + script, argc - script < MAX_ARGS ? argc - script : MAX_ARGS, envp, out);
}
