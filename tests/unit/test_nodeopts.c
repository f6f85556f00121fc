/* NODE_OPTIONS editing: our --require once, the user's options untouched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/nodeopts.h"

#define OURS "--require=/usr/local/lib/nodeprof-loader.cjs"
#define LOADER OURS
/* The /tmp loader of earlier versions: replaced or removed on sight. */
#define STALE "--require=/tmp/nodeprof-1000/agent-aaaaaaaaaaaaaaaa.js"
#define OTHER_BUILD "--require=/run/nodeprof/nodeprof-loader.cjs"
#define DATA "--import=data:text/javascript;base64,Ly8gbm9kZXByb2YgbG9hZGVyOiBmb28="

static char out[16384];

static enum np_nodeopts_result inject(const char *current)
{
    memset(out, 'Z', sizeof out);
    return np_nodeopts_inject(current, LOADER, out, sizeof out);
}

#define INJECTS(current, want, result) do { enum np_nodeopts_result r_ = inject(current); \
    CHECK(r_ == (result), "'%s': result %d, want %d", current ? current : "(null)", r_, result); \
    CHECK(r_ == NP_NODEOPTS_ERROR || !strcmp(out, want), "'%s' -> '%s', want '%s'", \
          current ? current : "(null)", out, want); } while (0)

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static void test_inject(void)
{
    /* Absent or empty: ours alone. */
    INJECTS(NULL, OURS, NP_NODEOPTS_CHANGED);
    INJECTS("", OURS, NP_NODEOPTS_CHANGED);
    INJECTS("   ", OURS, NP_NODEOPTS_CHANGED);
    /* Ours first (a user's --require runs after our loader), then the
     * user's options as they were. */
    INJECTS("--max-old-space-size=200", OURS " --max-old-space-size=200", NP_NODEOPTS_CHANGED);
    INJECTS("--max-old-space-size=200 --no-warnings", OURS " --max-old-space-size=200 --no-warnings",
            NP_NODEOPTS_CHANGED);
    INJECTS("--require=./setup.js", OURS " --require=./setup.js", NP_NODEOPTS_CHANGED);
    INJECTS("-r ./setup.js --import=tsx", OURS " -r ./setup.js --import=tsx", NP_NODEOPTS_CHANGED);
    /* Quoted values with spaces stay one token, byte for byte. */
    INJECTS("--title=\"my app\" --max-old-space-size=200",
            OURS " --title=\"my app\" --max-old-space-size=200", NP_NODEOPTS_CHANGED);
    INJECTS("--title=\"a \\\"quoted\\\" name\"", OURS " --title=\"a \\\"quoted\\\" name\"", NP_NODEOPTS_CHANGED);
    INJECTS("--require \"/path with spaces/x.js\"", OURS " --require \"/path with spaces/x.js\"",
            NP_NODEOPTS_CHANGED);
    /* A quoted value that looks like ours is not ours. */
    INJECTS("--title=\"" OURS " x\"", OURS " --title=\"" OURS " x\"", NP_NODEOPTS_CHANGED);
    /* An unterminated quote runs to the end: kept as it was, and ours is
     * not swallowed by it. */
    INJECTS("--title=\"abc def", OURS " --title=\"abc def", NP_NODEOPTS_CHANGED);
    /* Runs of spaces are collapsed. */
    INJECTS("  --a   --b  ", OURS " --a --b", NP_NODEOPTS_CHANGED);
}

static void test_already_there(void)
{
    INJECTS(OURS, OURS, NP_NODEOPTS_UNCHANGED);
    INJECTS(OURS " --no-warnings", OURS " --no-warnings", NP_NODEOPTS_UNCHANGED);
    INJECTS(OURS " --title=\"my app\"", OURS " --title=\"my app\"", NP_NODEOPTS_UNCHANGED);
    /* Not first (an earlier nodeprof appended it): moved to the front. */
    INJECTS("--max-old-space-size=200 " OURS, OURS " --max-old-space-size=200", NP_NODEOPTS_CHANGED);
    /* Inject again into what we made: a fixed point, generation after generation. */
    char gen[16384];
    enum np_nodeopts_result r = inject("--max-old-space-size=200");
    CHECK(r == NP_NODEOPTS_CHANGED, "first");
    for (int i = 0; i < 5; i++) {
        snprintf(gen, sizeof gen, "%s", out);
        r = inject(gen);
        CHECK(r == NP_NODEOPTS_UNCHANGED && !strcmp(out, gen), "generation %d: '%s'", i, out);
    }
    CHECK(count(out, "--require=") == 1, "'%s'", out);
}

static void test_stale_and_duplicates(void)
{
    /* Another build's loader is replaced, by ours in front. */
    INJECTS(STALE, OURS, NP_NODEOPTS_CHANGED);
    INJECTS("--a " STALE " --b", OURS " --a --b", NP_NODEOPTS_CHANGED);
    INJECTS(OTHER_BUILD " --b", OURS " --b", NP_NODEOPTS_CHANGED);
    /* Duplicates are dropped. */
    INJECTS(OURS " --x " OURS, OURS " --x", NP_NODEOPTS_CHANGED);
    INJECTS(STALE " " OURS, OURS, NP_NODEOPTS_CHANGED);
    INJECTS(OURS " " STALE " " OTHER_BUILD " --y", OURS " --y", NP_NODEOPTS_CHANGED);
    INJECTS("--x " STALE " " STALE " " STALE, OURS " --x", NP_NODEOPTS_CHANGED);
    /* The data: loader and a file loader replace each other. */
    INJECTS(DATA " --z", OURS " --z", NP_NODEOPTS_CHANGED);
    memset(out, 'Z', sizeof out);
    CHECK(np_nodeopts_inject("--a " OURS, DATA, out, sizeof out) == NP_NODEOPTS_CHANGED, "to data");
    CHECK_STR(out, DATA " --a");
    /* Too small for ours: an error, never a cut option. */
    CHECK(np_nodeopts_inject("--a", OURS, out, strlen(OURS)) == NP_NODEOPTS_ERROR, "too small");
    CHECK(np_nodeopts_inject("--a", OURS, out, strlen(OURS) + 4) == NP_NODEOPTS_ERROR, "no room for --a");
    CHECK(np_nodeopts_inject(NULL, OURS, out, strlen(OURS) + 2) == NP_NODEOPTS_CHANGED && !strcmp(out, OURS), "exact");
}

static void test_strip(void)
{
    char buf[1024];
    CHECK(np_nodeopts_strip("--a " OURS " " DATA " " STALE " --b", buf, sizeof buf) == NP_NODEOPTS_CHANGED, "all");
    CHECK_STR(buf, "--a --b");
    CHECK(np_nodeopts_strip(OURS, buf, sizeof buf) == NP_NODEOPTS_CHANGED, "alone");
    CHECK_STR(buf, "");
    CHECK(np_nodeopts_strip("--title=\"" OURS "\" --b", buf, sizeof buf) == NP_NODEOPTS_UNCHANGED, "quoted");
    CHECK(np_nodeopts_strip(NULL, buf, sizeof buf) == NP_NODEOPTS_UNCHANGED, "none");
}

static void test_is_ours(void)
{
    struct { const char *t; int ours; } cases[] = {
        { OURS, 1 }, { STALE, 1 }, { OTHER_BUILD, 1 }, { DATA, 1 },
        { "--require=/x/nodeprof-loader.cjs", 1 },
        { "--require=nodeprof-loader.cjs", 0 },             /* relative: not ours */
        { "--require=./nodeprof-loader.cjs", 0 },
        { "--require=/x/my-nodeprof-loader.cjs", 0 },
        { "--require=/x/nodeprof-loader.cjs.js", 0 },
        { "--import=/x/nodeprof-loader.cjs", 0 },
        { "--import=data:text/javascript;base64,AAAA", 0 },  /* someone else's data: module */
        { "--import=data:text/javascript,// nodeprof loader", 0 },
        { "--require=/tmp/nodeprof-0/agent-x.js", 1 },
        { "--require=/tmp/nodeprof-0/agent.js", 0 },        /* no "agent-" */
        { "--require=/tmp/nodeprof-0/agent-1.mjs", 0 },
        { "--require=/tmp/other-0/agent-1234.js", 0 },      /* not a nodeprof directory */
        { "--require=agent-1234.js", 0 },
        { "--require=./nodeprof-0/x/agent-1.js", 1 },
        { "--import=/tmp/nodeprof-0/agent-1234.js", 0 },
        { "-r", 0 }, { "", 0 }, { "--require=", 0 }, { "--require=.js", 0 },
        { "/tmp/nodeprof-0/agent-1234.js", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(!!np_nodeopts_is_ours(cases[i].t, strlen(cases[i].t)) == cases[i].ours, "'%s'", cases[i].t);
    /* The length given is what counts, not the NUL. */
    const char *two = OURS " --x";
    CHECK(np_nodeopts_is_ours(two, strlen(OURS)), "prefix of a longer string");
    CHECK(!np_nodeopts_is_ours(two, strlen(OURS) - 1), "cut short");
}

static void test_overflow(void)
{
    char small[40];
    /* Exactly enough: ours plus its NUL. */
    size_t need = strlen(OURS) + 1;
    char *buf = malloc(need + 8);
    memset(buf, 'Z', need + 8);
    CHECK(np_nodeopts_inject(NULL, LOADER, buf, need + 1) == NP_NODEOPTS_CHANGED, "fits");
    CHECK_STR(buf, OURS);
    memset(buf, 'Z', need + 8);
    CHECK(np_nodeopts_inject(NULL, LOADER, buf, need - 1) == NP_NODEOPTS_ERROR, "one short");
    CHECK(buf[need - 1] == 'Z', "wrote past the end");
    free(buf);
    CHECK(np_nodeopts_inject("--max-old-space-size=200", LOADER, small, sizeof small) == NP_NODEOPTS_ERROR,
          "user options and ours do not fit");
    CHECK(np_nodeopts_inject(NULL, LOADER, small, sizeof small) == NP_NODEOPTS_ERROR, "ours does not fit");

    /* A huge NODE_OPTIONS: an error, never a cut. */
    size_t n = 20000;
    char *huge = malloc(n + 1);
    memset(huge, 'x', n);
    memcpy(huge, "--title=", 8);
    huge[n] = '\0';
    CHECK(inject(huge) == NP_NODEOPTS_ERROR, "huge");
    /* Many options that together do not fit. */
    for (size_t i = 0; i + 3 <= n; i += 3) memcpy(huge + i, "-a ", 3);
    CHECK(inject(huge) == NP_NODEOPTS_ERROR, "many");
    free(huge);

    /* A token longer than the room for NODE_OPTIONS. */
    char *longtoken = malloc(sizeof out + 10);
    memset(longtoken, 'p', sizeof out + 9);
    memcpy(longtoken, "--require=/", 11);
    longtoken[sizeof out + 9] = '\0';
    CHECK(np_nodeopts_inject(NULL, longtoken, out, sizeof out) == NP_NODEOPTS_ERROR, "long token");
    free(longtoken);
}

/* node's own command line, written "node|-r|x|app.js", given to check. */
static int with_argv(const char *line, int (*check)(int argc, char *const *argv))
{
    char buf[512], *argv[32];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *t = strtok(buf, "|"); t && argc < 31; t = strtok(NULL, "|")) argv[argc++] = t;
    argv[argc] = NULL;
    return check(argc, argv);
}

static int argv_permission(const char *line)
{
    return with_argv(line, np_argv_has_permission_model);
}

static void test_argv_permission(void)
{
    CHECK(argv_permission("node|--permission|app.js"), "plain");
    CHECK(argv_permission("node|--experimental-permission|app.js"), "node 20's name");
    CHECK(argv_permission("node|-r|dotenv/config|--permission|app.js"), "after -r VALUE");
    CHECK(argv_permission("node|--import|tsx|--allow-fs-read|/srv|--permission|app.js"), "after two values");
    CHECK(argv_permission("node|-e|0|--permission"), "after -e CODE");
    CHECK(argv_permission("node|--require=x|--permission|app.js"), "after --require=x");
    CHECK(!argv_permission("node|app.js|--permission"), "the app's own argument");
    CHECK(!argv_permission("node|--|--permission"), "after --");
    CHECK(!argv_permission("node|-|--permission"), "after - (standard input)");
    CHECK(!argv_permission("node|--inspect|app.js|--permission"), "--inspect takes no separate value");
    CHECK(!argv_permission("node|-r|--permission"), "the value of -r");
    CHECK(!argv_permission("node"), "no arguments");
    CHECK(!argv_permission("node|--expose-gc|--title|x y|app.js"), "none");
}

static int argv_no_code(const char *line)
{
    return with_argv(line, np_argv_runs_no_code);
}

static void test_argv_no_code(void)
{
    CHECK(argv_no_code("node|--check|app.js"), "--check");
    CHECK(argv_no_code("node|-c|app.js"), "-c");
    CHECK(argv_no_code("node|-r|x|--help"), "--help after -r VALUE");
    CHECK(argv_no_code("node|-v"), "-v");
    CHECK(!argv_no_code("node|app.js|--help"), "the app's own --help");
    CHECK(!argv_no_code("node|-C|x|app.js"), "-C is --conditions");
    CHECK(!argv_no_code("node|-p|1"), "-p runs code");
    CHECK(!argv_no_code("node|--checkout|app.js"), "a longer word");
}

int main(void)
{
    test_argv_permission();
    test_argv_no_code();
    test_inject();
    test_already_there();
    test_stale_and_duplicates();
    test_is_ours();
    test_strip();
    test_overflow();
    return END();
}
