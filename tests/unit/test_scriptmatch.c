/* Unit tests of NODEPROF_MATCH's rule (common/scriptmatch.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/scriptmatch.h"

#define SCRIPT "/srv/app/server.js"

static void matches(const char *pattern, const char *script, const char *cwd, bool want)
{
    CHECK(np_script_match(pattern, script, cwd) == want, "%s against %s (cwd %s): want %s", pattern, script,
          cwd ? cwd : "(none)", want ? "a match" : "none");
}

static void test_rule(void)
{
    /* no '/': the file name, with or without its extension */
    matches("server.js", SCRIPT, "/", true);
    matches("server", SCRIPT, "/", true);
    matches("serv*", SCRIPT, "/", true);
    matches("*.js", SCRIPT, "/", true);
    matches("worker-*", "/srv/app/worker-3.mjs", "/", true);
    matches("app", SCRIPT, "/", false);       /* a directory name is not the script's name */
    matches("server.ts", SCRIPT, "/", false);
    matches("erver.js", SCRIPT, "/", false);
    matches("hello.js", "/home/u/hello.js.bak", "/", false);
    matches(".bashrc", "/home/u/.bashrc", "/", true);
    matches("x", "/home/u/x.txt", "/", false);        /* not a script's extension */
    matches("main", "/srv/main.mts", "/", true);
    /* '/' first or '*' first: the whole absolute path */
    matches(SCRIPT, SCRIPT, "/elsewhere", true);
    matches("/srv/*/server.js", SCRIPT, "/", true);
    matches("*/server.js", SCRIPT, "/elsewhere", true);
    matches("*/app/*", SCRIPT, "/", true);
    matches("/srv/server.js", SCRIPT, "/", false);
    /* other patterns with '/': relative to the working directory */
    matches("app/server.js", SCRIPT, "/srv", true);
    matches("./server.js", SCRIPT, "/srv/app", true);
    matches("../app/server.js", SCRIPT, "/srv/lib", true);
    matches("./app//./server.js", SCRIPT, "/srv/", true);
    matches("app/*.js", SCRIPT, "/srv", true);
    matches("app/server.js", SCRIPT, "/other", false);
    matches("../../../../srv/app/server.js", SCRIPT, "/a", true); /* .. stops at / */
    /* nothing to match */
    matches("", SCRIPT, "/", false);
    matches("x", NULL, "/", false);
    matches("app/server.js", SCRIPT, NULL, false);
}

static void test_resolve(void)
{
    char dir[] = "/tmp/np-scriptmatch-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char real[PATH_MAX], file[PATH_MAX + 32], link[PATH_MAX + 32], sub[PATH_MAX + 32], out[PATH_MAX];
    CHECK(realpath(dir, real) != NULL, "realpath");
    snprintf(file, sizeof file, "%s/hello.js", real);
    snprintf(link, sizeof link, "%s/run", real);
    snprintf(sub, sizeof sub, "%s/pkg", real);
    FILE *f = fopen(file, "w");
    if (f) fclose(f);
    CHECK(symlink(file, link) == 0 && mkdir(sub, 0700) == 0, "setup");
    char index[PATH_MAX + 48];
    snprintf(index, sizeof index, "%s/index.js", sub);
    f = fopen(index, "w");
    if (f) fclose(f);

    CHECK(np_script_resolve(file, out, sizeof out) == 0 && !strcmp(out, file), "as it is: %s", out);
    char bare[PATH_MAX + 32];
    snprintf(bare, sizeof bare, "%s/hello", real);
    CHECK(np_script_resolve(bare, out, sizeof out) == 0 && !strcmp(out, file), ".js completed: %s", out);
    CHECK(np_script_resolve(link, out, sizeof out) == 0 && !strcmp(out, file), "symlink resolved: %s", out);
    CHECK(np_script_resolve(sub, out, sizeof out) == 0 && !strcmp(out, index), "index.js: %s", out);
    char none[PATH_MAX + 32];
    snprintf(none, sizeof none, "%s/none", real);
    CHECK(np_script_resolve(none, out, sizeof out) == -1 && !strcmp(out, none), "no such file: %s", out);

    /* The agent's question: the symlink's target name and its own name. */
    CHECK(np_main_script_matches("hello.js", link), "through the symlink");
    CHECK(np_main_script_matches("run", link), "the name as run");
    CHECK(np_main_script_matches("hello", bare), "node hello");
    CHECK(!np_main_script_matches("hello", NULL), "node -e: no script");
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) && chdir(real) == 0) {
        CHECK(np_main_script_matches("./hello.js", link), "relative to the working directory");
        CHECK(np_main_script_matches("pkg/index.js", sub), "a directory's index.js");
        CHECK(chdir(cwd) == 0, "chdir back");
    }
    unlink(index);
    rmdir(sub);
    unlink(link);
    unlink(file);
    rmdir(real);
}

int main(void)
{
    test_rule();
    test_resolve();
    return END();
}
