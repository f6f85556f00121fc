/* File name patterns (NODEPROF_NAME): every escape, bad patterns, overflow,
 * and '/' from variables (or the pattern) made harmless. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "common/namepat.h"

static char *env[] = {
    "APP=web",
    "SLASHY=a/b/../c",
    "EMPTY=",
    "HOMER=simpson",
    "DOTS=..",
    "SPACE=x y",
    "LONG=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    NULL,
};

/* 2024-02-29 13:05:09 UTC */
#define WHEN ((time_t)1709211909)

static struct np_name_vars vars(void)
{
    struct np_name_vars v = {
        .pid = 4242, .when = WHEN, .seq = 7, .thread_id = 0, .host = "build-01", .envp = env,
    };
    return v;
}

static char out[512];
static const char *why;

/* Expands with the standard vars; returns out, or NULL (why is set). */
static const char *expand_v(const char *pattern, const struct np_name_vars *v, size_t outlen)
{
    why = NULL;
    memset(out, 'Z', sizeof out);
    if (np_name_expand(pattern, v, out, outlen, &why) != 0) return NULL;
    return out;
}

static const char *expand(const char *pattern)
{
    struct np_name_vars v = vars();
    return expand_v(pattern, &v, sizeof out);
}

#define EXPANDS(pattern, want) do { const char *got_ = expand(pattern); \
    CHECK(got_ && !strcmp(got_, want), "'%s' -> '%s' (%s), want '%s'", pattern, got_ ? got_ : "(null)", \
          why ? why : "", want); } while (0)

#define FAILS(pattern, reason) do { const char *got_ = expand(pattern); \
    CHECK(!got_, "'%s' expanded to '%s'", pattern, got_ ? got_ : ""); CHECK_STR(why, reason); } while (0)

static void test_escapes(void)
{
    EXPANDS("nodeprof-%p-%t-%n", "nodeprof-4242-20240229T130509Z-7");
    EXPANDS("%p", "4242");
    EXPANDS("%t", "20240229T130509Z");
    EXPANDS("%n", "7");
    EXPANDS("%h", "build-01");
    EXPANDS("%w", "0");
    EXPANDS("%%", "%");
    EXPANDS("100%%-%p", "100%-4242");
    EXPANDS("%{APP}", "web");
    EXPANDS("%{APP}-%{APP}", "web-web");
    EXPANDS("plain", "plain");
    EXPANDS("a%{EMPTY}b", "ab");
    EXPANDS("x%{UNSET_VARIABLE}y", "xy");
    EXPANDS("%{SPACE}", "x y");
    /* HOMER is not HOME, and HOME is not in this environment. */
    EXPANDS("h%{HOME}", "h");
    EXPANDS("%{HOMER}", "simpson");
    EXPANDS("%p%n%w%h", "424270build-01");
    /* Without a script (vars() has none): "node". */
    EXPANDS("%s-%c", "node-node");

    struct np_name_vars named = vars();
    named.script = "npm-run-build";
    named.command = "npm-run-build-prod";
    CHECK_STR(expand_v("nodeprof-%s-%t-%h-%p-%n", &named, sizeof out),
              "nodeprof-npm-run-build-20240229T130509Z-build-01-4242-7");
    CHECK_STR(expand_v("%c", &named, sizeof out), "npm-run-build-prod");
    /* procname.h makes them safe; a '/' that got here anyway is not a path. */
    named.script = "a/b";
    CHECK_STR(expand_v("%s", &named, sizeof out), "a_b");

    struct np_name_vars v = vars();
    v.thread_id = 12;
    v.seq = 123456789UL;
    v.pid = 1;
    v.host = NULL;
    CHECK_STR(expand_v("%p-%w-%n-%h", &v, sizeof out), "1-12-123456789-localhost");
    v.when = 0;
    CHECK_STR(expand_v("%t", &v, sizeof out), "19700101T000000Z");
    v.envp = NULL;
    CHECK_STR(expand_v("[%{APP}]", &v, sizeof out), "[]");
}

static void test_sanitized(void)
{
    /* '/' from a variable, the host name or the pattern itself never makes
     * a path: the file stays in NODEPROF_DIR. */
    EXPANDS("%{SLASHY}", "a_b_.._c");
    EXPANDS("../%p", "_._4242");
    EXPANDS("a/b", "a_b");
    EXPANDS("/etc/passwd", "_etc_passwd");
    struct np_name_vars v = vars();
    v.host = "evil/../host";
    CHECK_STR(expand_v("%h", &v, sizeof out), "evil_.._host");
    /* A name that is only "." or ".." (from a variable) is refused. */
    FAILS("%{DOTS}", "empty name");
    FAILS(".", "empty name");
    FAILS("..", "empty name");
    FAILS("%{EMPTY}", "empty name");
    FAILS("", "empty name");
    EXPANDS("%{DOTS}.", "_..");
    /* Nor does it start with '-' (it would read as an option) or '.' (ls
     * and globs would not show it), as an unset %{VAR} first would make it. */
    EXPANDS("%{EMPTY}-%p", "_4242");
    EXPANDS("%{EMPTY}.%p", "_4242");
    EXPANDS("-%p", "_4242");
    EXPANDS("a-%{EMPTY}-b", "a--b");
}

static void test_bad_patterns(void)
{
    const char *unknown = "unknown % sequence (use %p %t %n %h %w %s %c %{VAR} %%)";
    FAILS("x%q", unknown);
    FAILS("%P", unknown);
    FAILS("%T", unknown);
    FAILS("% ", unknown);
    FAILS("%-", unknown);
    FAILS("%S", unknown);
    FAILS("%C", unknown);
    FAILS("%", "pattern ends with %");
    FAILS("abc%", "pattern ends with %");
    FAILS("%{APP", "unterminated or empty %{VAR}");
    FAILS("%{", "unterminated or empty %{VAR}");
    FAILS("%{}", "unterminated or empty %{VAR}");
    FAILS("a-%{}-b", "unterminated or empty %{VAR}");
}

static void test_overflow(void)
{
    struct np_name_vars v = vars();
    /* Exactly fits: "4242" needs 5 bytes with its NUL. */
    CHECK_STR(expand_v("%p", &v, 5), "4242");
    CHECK(expand_v("%p", &v, 4) == NULL, "4 bytes");
    CHECK_STR(why, "expanded name too long");
    CHECK(out[3] == '\0' || out[3] == 'Z', "wrote past the end: %c", out[3]);
    CHECK(out[4] == 'Z', "wrote past the end of a 4-byte buffer");
    CHECK(expand_v("abc", &v, 3) == NULL, "3 bytes for abc");
    CHECK_STR(why, "expanded name too long");
    CHECK(out[3] == 'Z', "wrote past the end of a 3-byte buffer");
    CHECK(expand_v("abc", &v, 0) == NULL, "no room at all");
    CHECK(out[0] == 'Z', "wrote into a 0-byte buffer");
    CHECK(expand_v("abc", &v, 1) == NULL, "1 byte");
    CHECK(out[0] == '\0' && out[1] == 'Z', "1-byte buffer: NUL only");
    /* Long variables, many times. */
    CHECK(expand_v("%{LONG}%{LONG}%{LONG}%{LONG}%{LONG}%{LONG}", &v, 256) == NULL, "long vars");
    CHECK_STR(why, "expanded name too long");
    CHECK(out[256] == 'Z', "wrote past 256 bytes");
    CHECK(expand_v("%{LONG}%{LONG}", &v, sizeof out) != NULL, "two fit in 512");
    CHECK(strlen(out) == 2 * strlen(env[6] + 5), "%zu", strlen(out));
    /* The time, the last thing that fits. */
    CHECK_STR(expand_v("%t", &v, 17), "20240229T130509Z");
    CHECK(expand_v("%t", &v, 16) == NULL, "time cut");
    /* An error in the pattern beats an overflow before it. */
    CHECK(expand_v("abcdef%q", &v, 3) == NULL, "overflow then bad escape");
    CHECK(why != NULL, "no reason");
}

int main(void)
{
    test_escapes();
    test_sanitized();
    test_bad_patterns();
    test_overflow();
    return END();
}
