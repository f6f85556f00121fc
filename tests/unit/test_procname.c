/* %s and %c of NODEPROF_NAME (common/procname.h): the script's name, the
 * package managers' commands, pm2, the charset and the bounds, and the
 * script found in a raw command line past node's options. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "common/procname.h"

#define NARGS(a) ((int)(sizeof(a) / sizeof *(a)))

static void names(const char *const *args, int nargs, char *const *envp, const char *script, const char *command)
{
    struct np_procname p;
    np_procname_from_args(args, nargs, envp, &p);
    CHECK(!strcmp(p.script, script), "%s: %%s '%s', want '%s'", nargs ? args[0] : "(none)", p.script, script);
    CHECK(!strcmp(p.command, command), "%s: %%c '%s', want '%s'", nargs ? args[0] : "(none)", p.command, command);
}

#define NAMES(script, command, ...) do { const char *a_[] = { __VA_ARGS__ }; \
    names(a_, NARGS(a_), NULL, script, command); } while (0)

static void test_scripts(void)
{
    NAMES("server", "server", "/app/server.js");
    NAMES("server", "server-8080", "/app/server.mjs", "8080", "--verbose", "x");
    NAMES("worker", "worker", "/app/worker.cts");
    NAMES("build", "build-prod-x_ts", "/app/build.ts", "prod", "/tmp/out/x.ts");
    /* No extension of a script's: kept, as safe characters. */
    NAMES("app_config", "app_config", "/app/app.config");
    NAMES("hello_js_bak", "hello_js_bak", "/app/hello.js.bak");
    /* index names its directory; `node .` has the directory as its script. */
    NAMES("checkout", "checkout", "/srv/checkout/index.js");
    NAMES("checkout", "checkout", "/srv/checkout");
    NAMES("checkout", "checkout", "/srv/checkout/");
    NAMES("index", "index", "index.js");
    NAMES("node", "node", "/index.js");
    NAMES("node", "node", "/");
    /* npx and npm scripts run tools through node_modules/.bin. */
    NAMES("prettier", "prettier", "/w/node_modules/.bin/prettier", "--check", ".");
    /* The first option ends the words, and an option's value is never taken. */
    NAMES("tool", "tool", "/w/tool.js", "--password", "hunter2");
    NAMES("tool", "tool-a-b-c", "/w/tool.js", "a", "b", "c", "d");
    names(NULL, 0, NULL, "node", "node");
    {
        const char *a[] = { "" };
        names(a, 1, NULL, "node", "node");
    }
}

static void test_managers(void)
{
    const char *npm = "/usr/lib/node_modules/npm/bin/npm-cli.js";
    const char *npx = "/usr/lib/node_modules/npm/bin/npx-cli.js";
    NAMES("npm-run-build", "npm-run-build-prod", npm, "run", "build", "prod");
    NAMES("npm-test", "npm-test", npm, "test");
    NAMES("npm-ci", "npm-ci", npm, "ci", "--prefix", "tests");
    NAMES("npm", "npm", npm, "--prefix", "tests", "ci");
    NAMES("npm-exec", "npm-exec", npm, "exec", "--", "prettier");
    NAMES("npx-prettier", "npx-prettier-src", npx, "prettier", "src");
    NAMES("npx", "npx", npx, "-y", "prettier");
    /* Started the normal way, through their bin links (/usr/bin/npm ->
     * ../lib/node_modules/npm/bin/npm-cli.js): node keeps the link's name. */
    NAMES("npm-run-build", "npm-run-build", "/usr/bin/npm", "run", "build");
    NAMES("npm-test", "npm-test", "/usr/local/lib/nodejs/bin/npm", "test");
    NAMES("npx-prettier", "npx-prettier-src", "/usr/bin/npx", "prettier", "src");
    NAMES("yarn-build", "yarn-build", "/usr/lib/node_modules/corepack/dist/yarn.js", "build");
    NAMES("pnpm-run-dev", "pnpm-run-dev", "/usr/lib/node_modules/pnpm/bin/pnpm.cjs", "run", "dev");
}

static void test_pm2(void)
{
    char *env[] = { "HOME=/root", "pm_exec_path=/srv/api/server.js", NULL };
    const char *fork[] = { "/usr/lib/node_modules/pm2/lib/ProcessContainerFork.js" };
    names(fork, 1, env, "server", "server");
    const char *cluster[] = { "/usr/lib/node_modules/pm2/lib/ProcessContainer.js" };
    names(cluster, 1, env, "server", "server");
    /* Not pm2's container: pm_exec_path is someone else's variable. */
    const char *other[] = { "/srv/other.js" };
    names(other, 1, env, "other", "other");
    names(fork, 1, NULL, "ProcessContainerFork", "ProcessContainerFork");
}

static void test_safe(void)
{
    /* Only [A-Za-z0-9_+-]; runs of '_' are one; never a leading '-'. */
    NAMES("my_app_v2", "my_app_v2-a_b_c", "/app/my app.v2.js", "a;b$(c)");
    NAMES("_x", "_x", "/app/-x.js");
    NAMES("_", "_", "/app/\xd1\x81\xd0\xb5\xd1\x80.js");
    NAMES("c++", "c++-x_y", "/app/c++.js", "x..y");
    /* Bounded: a word at NP_PROCNAME_WORD, all at NP_PROCNAME_MAX, whole words only. */
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    char arg[40];
    memset(arg, 'b', sizeof arg - 1);
    arg[sizeof arg - 1] = '\0';
    const char *a[] = { longname, arg, arg, arg };
    struct np_procname p;
    np_procname_from_args(a, 4, NULL, &p);
    CHECK(strlen(p.script) == NP_PROCNAME_WORD, "%zu", strlen(p.script));
    CHECK(strlen(p.command) == 2 * NP_PROCNAME_WORD + 1, "%zu: %s", strlen(p.command), p.command);
    CHECK(strlen(p.command) <= NP_PROCNAME_MAX, "%zu", strlen(p.command));
}

static void cmdline(const char *raw, size_t len, const char *script, const char *command)
{
    struct np_procname p;
    np_procname_from_cmdline(raw, len, NULL, &p);
    CHECK(!strcmp(p.script, script), "cmdline: %%s '%s', want '%s'", p.script, script);
    CHECK(!strcmp(p.command, command), "cmdline: %%c '%s', want '%s'", p.command, command);
}

#define CMDLINE(raw, script, command) cmdline(raw, sizeof raw, script, command)

static void test_cmdline(void)
{
    CMDLINE("node\0server.js\0", "server", "server");
    CMDLINE("node\0--inspect\0-r\0dotenv/config\0--max-old-space-size=512\0app/main.js\0x\0", "main", "main-x");
    CMDLINE("node\0--require\0./a.js\0--\0srv.mjs\0", "srv", "srv");
    CMDLINE("node\0-e\0console.log(1)\0", "node", "node");
    CMDLINE("node\0--inspect-port\0009229\0app.js\0", "app", "app");
    CMDLINE("node\0--\0", "node", "node");
    CMDLINE("node\0-r\0", "node", "node");
    CMDLINE("node\0", "node", "node");
    CMDLINE("/usr/bin/node\0/usr/lib/node_modules/npm/bin/npm-cli.js\0run\0build\0", "npm-run-build",
            "npm-run-build");
    /* What the kernel runs for `npm run build`: the link, by its shebang. */
    CMDLINE("node\0/usr/bin/npm\0run\0build\0", "npm-run-build", "npm-run-build");
    /* Cut short (no final NUL): the last argument is dropped. */
    cmdline("node\0server.js", 14, "node", "node");
    cmdline("", 0, "node", "node");
}

int main(void)
{
    test_scripts();
    test_managers();
    test_pm2();
    test_safe();
    test_cmdline();
    return END();
}
