/* nodeprof: run a program under the profiler, talk to a profiled process,
 * convert and summarise profiles. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/config.h"

#define NP_VERSION "0.1.0"

static const char usage[] =
    "usage: nodeprof COMMAND [ARGS...]\n"
    "\n"
    "Profile any Node.js process with no change to the app (LD_PRELOAD=libnodeprof.so).\n"
    "\n"
    "commands:\n"
    "  run [OPTIONS] -- CMD ARGS...   run CMD under the profiler; print the files written\n"
    "  ctl PID COMMAND...             send a command to a node process (cpu dump, heap snapshot, stack, ...)\n"
    "  list [--all]                   list the profiled (--all: every) node processes of this user\n"
    "  convert FILE... [--format F]   convert .cpuprofile/.heapprofile files (pprof, collapsed, speedscope, html, top)\n"
    "  top FILE... [-n N] [--by self|total]  the top functions of a profile, or of several merged\n"
    "  merge FILE... -o OUT [--format F]  one profile from many (.cpuprofile, .heapprofile, pprof)\n"
    "  heap summary|diff|retainers|leaks FILE...  analyse .heapsnapshot files (see heap --help)\n"
    "  config [--markdown]            the NODEPROF_* variables, their defaults and meaning\n"
    "  memory FILE [--json] [--html OUT]  a memory timeline's summary: steady, leak or high-water mark\n"
    "  symbolize CRASH.txt            name the functions of a crash report's frames\n"
    "  upload [--to s3://B/P/] DIR    upload the files NODEPROF_EXPORT left in DIR\n"
    "  version                        print the version\n"
    "\n"
    "`nodeprof COMMAND --help` tells more. Configuration is by NODEPROF_* environment variables.\n";

static int cli_version(int argc, char **argv)
{
    (void)argc; (void)argv;
    printf("nodeprof %s\n", NP_VERSION);
    return 0;
}

static void report_config_problem(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "nodeprof: %s\n", msg);
}

int cli_config(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--markdown")) {
        np_config_print_markdown(stdout);
        return 0;
    }
    if (argc > 1) {
        fputs("usage: nodeprof config [--markdown]\n"
              "Prints the configuration in force (from this environment), or with --markdown the\n"
              "table of every NODEPROF_* variable as in README.md.\n", argc > 1 && !strcmp(argv[1], "--help") ? stdout : stderr);
        return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
    }
    extern char **environ;
    struct np_config cfg;
    /* Bad values and misspelt names, as the agent reports them. */
    np_config_load(&cfg, environ, report_config_problem, NULL);
    np_config_print(&cfg, stdout);
    return 0;
}

int cli_find_library(char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return -1;
    *slash = '\0';
    /* build/nodeprof next to build/libnodeprof.so; PREFIX/bin and PREFIX/lib. */
    const char *candidates[] = { "libnodeprof.so", "../lib/libnodeprof.so" };
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s", exe, candidates[i]);
        if (access(path, R_OK) == 0 && realpath(path, out) && strlen(out) < len) return 0;
    }
    return -1;
}

static const struct { const char *name; int (*fn)(int, char **); } commands[] = {
    { "run", cli_run }, { "ctl", cli_ctl }, { "list", cli_list },
    { "convert", cli_convert }, { "top", cli_top }, { "merge", cli_merge }, { "config", cli_config },
    { "memory", cli_memory }, { "symbolize", cli_symbolize }, { "upload", cli_upload },
    { "heap", cli_heap }, { "version", cli_version },
};

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) return cli_version(0, NULL);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "nodeprof: unknown command '%s'\n%s", argv[1], usage);
    return 2;
}
