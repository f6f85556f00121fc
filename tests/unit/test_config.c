/* Configuration: every kind of NODEPROF_* value, defaults, the messages of
 * bad values and unknown names, and the printed forms. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/config.h"
#include "common/log.h"

/* ---- collecting reports ------------------------------------------------- */

#define MAX_REPORTS 16
static char reports[MAX_REPORTS][600];
static int nreports;

static void collect(void *ctx, const char *msg)
{
    (void)ctx;
    if (nreports < MAX_REPORTS) snprintf(reports[nreports], sizeof reports[0], "%s", msg);
    nreports++;
}

/* Loads cfg from a NULL-terminated list of "NAME=value" strings. */
static void load(struct np_config *cfg, char **envp)
{
    nreports = 0;
    memset(reports, 0, sizeof reports);
    np_config_load(cfg, envp, collect, NULL);
}

/* Loads one variable; returns the number of reports. */
static int load1(struct np_config *cfg, const char *assignment)
{
    char *envp[] = { (char *)assignment, NULL };
    load(cfg, envp);
    return nreports;
}

/* Loads one bad variable and checks the single report it gives. */
static void check_bad(const char *assignment, const char *want)
{
    struct np_config cfg, def;
    np_config_defaults(&def);
    int n = load1(&cfg, assignment);
    CHECK(n == 1, "%s: %d reports", assignment, n);
    CHECK_STR(reports[0], want);
    CHECK(memcmp(&cfg, &def, sizeof cfg) == 0, "%s: the configuration is not the default", assignment);
}

/* ---- defaults --------------------------------------------------------------- */

static void test_defaults(void)
{
    struct np_config cfg;
    np_config_defaults(&cfg);
    CHECK(!cfg.disable, "disable");
    CHECK_STR(cfg.dir, ".");
    CHECK_STR(cfg.name, "nodeprof-%s-%t-%h-%p-%n");
    CHECK(cfg.cpu, "cpu");
    CHECK(cfg.cpu_interval_us == 1000, "%ld", cfg.cpu_interval_us);
    CHECK(!cfg.workers, "workers");
    CHECK_STR(cfg.match, "");
    CHECK(cfg.log_level == NP_LOG_WARN, "%d", cfg.log_level);
    CHECK_STR(cfg.log_file, "");
    CHECK_STR(cfg.manifest, "");
    CHECK_STR(cfg.fifo, "on");
    CHECK(cfg.signal == SIGUSR2, "%d", cfg.signal);
    CHECK(cfg.signal_action == NP_SIGACT_DUMP, "%d", cfg.signal_action);
    CHECK(!cfg.heap, "heap");
    CHECK(cfg.heap_interval == 512 * 1024, "%ld", cfg.heap_interval);
    CHECK(cfg.heapsnapshot_near_limit == 0, "%ld", cfg.heapsnapshot_near_limit);
    CHECK(cfg.period_ms == 0, "%ld", cfg.period_ms);
    CHECK(cfg.keep == 0, "%ld", cfg.keep);
    CHECK(cfg.formats == NP_FMT_CPUPROFILE, "%u", cfg.formats);
    CHECK(cfg.helper, "helper");
    CHECK(cfg.snapshot_factor == 12, "%ld", cfg.snapshot_factor);

    /* An environment without NODEPROF_* gives the defaults, silently. */
    struct np_config loaded;
    char *envp[] = { "PATH=/usr/bin", "NODE_OPTIONS=--no-warnings", "NODEPROFX=1", "HOME=/root", NULL };
    load(&loaded, envp);
    CHECK(nreports == 0, "%d reports: %s", nreports, reports[0]);
    CHECK(memcmp(&loaded, &cfg, sizeof cfg) == 0, "loaded != defaults");
    load(&loaded, NULL);
    CHECK(nreports == 0, "NULL envp: %d reports", nreports);
    CHECK(memcmp(&loaded, &cfg, sizeof cfg) == 0, "NULL envp: loaded != defaults");
}

/* The number of variables, from the documentation table (one row each). */
static int count_options(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    np_config_print_markdown(f);
    fclose(f);
    int rows = 0;
    for (const char *p = text; (p = strstr(p, "\n| `NODEPROF_")); p++) rows++;
    free(text);
    return rows;
}

/* Every default, printed and read back, is valid and the same. */
static void test_print_round_trip(void)
{
    struct np_config def, back;
    np_config_defaults(&def);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    np_config_print(&def, f);
    fclose(f);
    char *envp[64];
    int n = 0;
    for (char *line = strtok(text, "\n"); line && n < 63; line = strtok(NULL, "\n")) {
        CHECK(!strncmp(line, "NODEPROF_", 9) && strchr(line, '='), "line '%s'", line);
        envp[n++] = line;
    }
    envp[n] = NULL;
    CHECK(n == count_options(), "%d lines printed, %d options", n, count_options());
    load(&back, envp);
    CHECK(nreports == 0, "printed defaults do not parse: %s", reports[0]);
    CHECK(memcmp(&back, &def, sizeof def) == 0, "printed defaults read back differently");
    free(text);
}

/* ---- each kind ---------------------------------------------------------------- */

static void test_bool(void)
{
    struct np_config cfg;
    const char *yes[] = { "1", "on", "true", "yes", "ON", "True", "YES" };
    const char *no[] = { "0", "off", "false", "no", "OFF", "" };
    char buf[64];
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        snprintf(buf, sizeof buf, "NODEPROF_WORKERS=%s", yes[i]);
        CHECK(load1(&cfg, buf) == 0 && cfg.workers, "%s", buf);
    }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        snprintf(buf, sizeof buf, "NODEPROF_CPU=%s", no[i]);
        CHECK(load1(&cfg, buf) == 0 && !cfg.cpu, "%s", buf);
    }
    check_bad("NODEPROF_CPU=maybe", "invalid NODEPROF_CPU=maybe: expected on or off; using on");
    check_bad("NODEPROF_WORKERS=2", "invalid NODEPROF_WORKERS=2: expected on or off; using off");
    check_bad("NODEPROF_DISABLE=y", "invalid NODEPROF_DISABLE=y: expected on or off; using 0");
}

static void test_long(void)
{
    struct np_config cfg;
    CHECK(load1(&cfg, "NODEPROF_CPU_INTERVAL=1") == 0 && cfg.cpu_interval_us == 1, "1");
    CHECK(load1(&cfg, "NODEPROF_CPU_INTERVAL=100") == 0 && cfg.cpu_interval_us == 100, "100");
    CHECK(load1(&cfg, "NODEPROF_CPU_INTERVAL=1000000") == 0 && cfg.cpu_interval_us == 1000000, "max");
    CHECK(load1(&cfg, "NODEPROF_CPU_INTERVAL=+250") == 0 && cfg.cpu_interval_us == 250, "+250");
    CHECK(load1(&cfg, "NODEPROF_KEEP=3") == 0 && cfg.keep == 3, "keep");
    CHECK(load1(&cfg, "NODEPROF_HEAPSNAPSHOT_NEAR_LIMIT=1000") == 0 && cfg.heapsnapshot_near_limit == 1000, "near");
    check_bad("NODEPROF_CPU_INTERVAL=abc", "invalid NODEPROF_CPU_INTERVAL=abc: not a number; using 1000");
    check_bad("NODEPROF_CPU_INTERVAL=-5", "invalid NODEPROF_CPU_INTERVAL=-5: out of range 1..1000000; using 1000");
    check_bad("NODEPROF_CPU_INTERVAL=0", "invalid NODEPROF_CPU_INTERVAL=0: out of range 1..1000000; using 1000");
    check_bad("NODEPROF_CPU_INTERVAL=1000001",
              "invalid NODEPROF_CPU_INTERVAL=1000001: out of range 1..1000000; using 1000");
    check_bad("NODEPROF_CPU_INTERVAL=99999999999",
              "invalid NODEPROF_CPU_INTERVAL=99999999999: out of range 1..1000000; using 1000");
    check_bad("NODEPROF_CPU_INTERVAL=99999999999999999999",
              "invalid NODEPROF_CPU_INTERVAL=99999999999999999999: out of range 1..1000000; using 1000");
    check_bad("NODEPROF_CPU_INTERVAL=12abc", "invalid NODEPROF_CPU_INTERVAL=12abc: not a number; using 1000");
    check_bad("NODEPROF_CPU_INTERVAL=1.5", "invalid NODEPROF_CPU_INTERVAL=1.5: not a number; using 1000");
    check_bad("NODEPROF_CPU_INTERVAL=", "invalid NODEPROF_CPU_INTERVAL=: empty; using 1000");
    check_bad("NODEPROF_KEEP=-1", "invalid NODEPROF_KEEP=-1: out of range 0..1000000; using 0");
    /* a percentage, with or without its sign */
    CHECK(load1(&cfg, "NODEPROF_LEAK_GROWTH=20%") == 0 && cfg.leak_growth_pct == 20, "20%%");
    CHECK(load1(&cfg, "NODEPROF_LEAK_GROWTH=150") == 0 && cfg.leak_growth_pct == 150, "150");
    CHECK(load1(&cfg, "NODEPROF_LEAK_WATCH=on") == 0 && cfg.leak_watch && cfg.leak_growth_pct == 50 &&
          cfg.leak_settle_ms == 60000, "leak defaults");
    check_bad("NODEPROF_LEAK_GROWTH=0%", "invalid NODEPROF_LEAK_GROWTH=0%: out of range 1..100000; using 50%");
    check_bad("NODEPROF_LEAK_GROWTH=5%%", "invalid NODEPROF_LEAK_GROWTH=5%%: not a number; using 50%");
    check_bad("NODEPROF_LEAK_GROWTH=%", "invalid NODEPROF_LEAK_GROWTH=%: empty; using 50%");

    const char *why = NULL;
    long v = 7;
    CHECK(np_parse_long("42", 0, 100, &v, &why) == 0 && v == 42, "42");
    CHECK(np_parse_long("101", 0, 100, &v, &why) == -1 && v == 42, "101 leaves the value");
    CHECK_STR(why, "out of range 0..100");
    CHECK(np_parse_long(NULL, 0, 100, &v, &why) == -1, "NULL");
    CHECK_STR(why, "empty");
    CHECK(np_parse_long("0x10", 0, 100, &v, &why) == -1, "hex");
    CHECK_STR(why, "not a number");
    CHECK(np_parse_long("-", 0, 100, &v, &why) == -1, "-");
    CHECK_STR(why, "not a number");
}

static void test_string(void)
{
    struct np_config cfg;
    CHECK(load1(&cfg, "NODEPROF_DIR=/var/tmp/profiles") == 0, "dir");
    CHECK_STR(cfg.dir, "/var/tmp/profiles");
    CHECK(load1(&cfg, "NODEPROF_MATCH=*/server.js") == 0, "match");
    CHECK_STR(cfg.match, "*/server.js");
    /* A name pattern is checked when it is read: a bad one falls back. */
    check_bad("NODEPROF_NAME=", "invalid NODEPROF_NAME=: empty name; using nodeprof-%s-%t-%h-%p-%n");
    check_bad("NODEPROF_NAME=x%q", "invalid NODEPROF_NAME=x%q: unknown % sequence (use %p %t %n %h %w %s %c %{VAR} %%); using nodeprof-%s-%t-%h-%p-%n");
    check_bad("NODEPROF_NAME=a/b", "invalid NODEPROF_NAME=a/b: a name, not a path (use NODEPROF_DIR); using nodeprof-%s-%t-%h-%p-%n");
    CHECK(load1(&cfg, "NODEPROF_NAME=svc-%h-%p") == 0, "good name");
    CHECK_STR(cfg.name, "svc-%h-%p");

    /* Too long: reported with the value cut at 200 characters. */
    size_t n = sizeof cfg.match + 10;
    char *big = malloc(n + 32);
    strcpy(big, "NODEPROF_MATCH=");
    memset(big + 15, 'a', n);
    big[15 + n] = '\0';
    char want[400];
    snprintf(want, sizeof want, "invalid NODEPROF_MATCH=%.200s: too long; using (empty)", big + 15);
    check_bad(big, want);
    /* Exactly the field's size minus one fits. */
    big[15 + sizeof cfg.match - 1] = '\0';
    CHECK(load1(&cfg, big) == 0 && strlen(cfg.match) == sizeof cfg.match - 1, "longest match");
    free(big);
}

static void test_enum(void)
{
    struct np_config cfg;
    const char *levels[] = { "error", "warn", "info", "debug" };
    char buf[64];
    for (int i = 0; i < 4; i++) {
        snprintf(buf, sizeof buf, "NODEPROF_LOG=%s", levels[i]);
        CHECK(load1(&cfg, buf) == 0 && cfg.log_level == i, "%s", buf);
    }
    CHECK(load1(&cfg, "NODEPROF_LOG=DEBUG") == 0 && cfg.log_level == NP_LOG_DEBUG, "case");
    CHECK(load1(&cfg, "NODEPROF_SIGNAL_ACTION=toggle") == 0 && cfg.signal_action == NP_SIGACT_TOGGLE, "toggle");
    CHECK(load1(&cfg, "NODEPROF_SIGNAL_ACTION=heapsnapshot") == 0 &&
          cfg.signal_action == NP_SIGACT_HEAPSNAPSHOT, "heapsnapshot");
    check_bad("NODEPROF_LOG=loud", "invalid NODEPROF_LOG=loud: expected one of error|warn|info|debug; using warn");
    check_bad("NODEPROF_LOG=inf", "invalid NODEPROF_LOG=inf: expected one of error|warn|info|debug; using warn");
    check_bad("NODEPROF_LOG=infos", "invalid NODEPROF_LOG=infos: expected one of error|warn|info|debug; using warn");
    check_bad("NODEPROF_LOG=", "invalid NODEPROF_LOG=: expected one of error|warn|info|debug; using warn");
    check_bad("NODEPROF_SIGNAL_ACTION=dumpx",
              "invalid NODEPROF_SIGNAL_ACTION=dumpx: expected one of dump|toggle|heapsnapshot|stacks; using dump");
}

static void test_duration(void)
{
    struct { const char *s; long ms; } ok[] = {
        { "off", 0 }, { "OFF", 0 }, { "0", 0 }, { "100ms", 100 }, { "500ms", 500 }, { "60s", 60000 },
        { "5m", 300000 }, { "1h", 3600000 }, { "10", 10000 }, { "168h", 168L * 3600 * 1000 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        long v = -1;
        const char *why = NULL;
        CHECK(np_parse_duration_ms(ok[i].s, &v, &why) == 0 && v == ok[i].ms, "%s -> %ld (%s)", ok[i].s, v,
              why ? why : "");
    }
    struct { const char *s, *why; } bad[] = {
        { "99ms", "out of range 100ms..168h" }, { "169h", "out of range 100ms..168h" },
        { "5x", "unknown unit (use ms, s, m or h)" }, { "5 s", "unknown unit (use ms, s, m or h)" },
        { "abc", "not a number" }, { "", "not a number" }, { "-5s", "not a number" },
        { "99999999999999999999s", "too large" }, { "9223372036854775807h", "too large" },
        { "9223372036854775807ms", "out of range 100ms..168h" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        long v = 77;
        const char *why = NULL;
        CHECK(np_parse_duration_ms(bad[i].s, &v, &why) == -1, "'%s' accepted", bad[i].s);
        CHECK_STR(why, bad[i].why);
    }
    long v;
    const char *why;
    CHECK(np_parse_duration_ms(NULL, &v, &why) == -1, "NULL");

    struct np_config cfg;
    CHECK(load1(&cfg, "NODEPROF_PERIOD=5m") == 0 && cfg.period_ms == 300000, "period");
    check_bad("NODEPROF_PERIOD=50ms", "invalid NODEPROF_PERIOD=50ms: out of range 100ms..168h; using off");
    check_bad("NODEPROF_PERIOD=soon", "invalid NODEPROF_PERIOD=soon: not a number; using off");
}

/* A duration without a unit is still read as seconds, with one line. */
static void test_bare_duration(void)
{
    struct np_config cfg;
    CHECK(load1(&cfg, "NODEPROF_PERIOD=10") == 1 && cfg.period_ms == 10000, "period 10: %d reports", nreports);
    CHECK_STR(reports[0], "NODEPROF_PERIOD=10: no unit, read as 10s; write 10s");
    CHECK(load1(&cfg, "NODEPROF_CPU_WINDOW=30") == 1 && cfg.cpu_window_ms == 30000, "window 30");
    CHECK_STR(reports[0], "NODEPROF_CPU_WINDOW=30: no unit, read as 30s; write 30s");
    const char *quiet[] = { "NODEPROF_PERIOD=0", "NODEPROF_PERIOD=10s", "NODEPROF_PERIOD=off",
                            "NODEPROF_CPU_WINDOW=500ms", "NODEPROF_CPU_INTERVAL=100" };
    for (size_t i = 0; i < sizeof quiet / sizeof *quiet; i++)
        CHECK(load1(&cfg, quiet[i]) == 0, "%s: %d reports", quiet[i], nreports);
    /* A bad value gets its one "invalid" line, not this one too. */
    check_bad("NODEPROF_PERIOD=700000", "invalid NODEPROF_PERIOD=700000: out of range 100ms..168h; using off");
}

static void test_bytes(void)
{
    struct { const char *s; long v; } ok[] = {
        { "100", 100 }, { "100b", 100 }, { "1k", 1024 }, { "1K", 1024 }, { "2kb", 2048 }, { "3KiB", 3072 },
        { "512k", 512 * 1024 }, { "1m", 1L << 20 }, { "2MB", 2L << 20 }, { "1g", 1L << 30 }, { "0", 0 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        long v = -1;
        const char *why = NULL;
        CHECK(np_parse_bytes(ok[i].s, &v, &why) == 0 && v == ok[i].v, "%s -> %ld", ok[i].s, v);
    }
    struct { const char *s, *why; } bad[] = {
        { "5x", "unknown unit (use k, m or g)" }, { "1t", "unknown unit (use k, m or g)" },
        { "abc", "not a number" }, { "", "not a number" }, { "-1k", "not a number" },
        { "9223372036854775807g", "too large" }, { "99999999999999999999", "too large" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        long v = 77;
        const char *why = NULL;
        CHECK(np_parse_bytes(bad[i].s, &v, &why) == -1, "'%s' accepted", bad[i].s);
        CHECK_STR(why, bad[i].why);
    }
    struct np_config cfg;
    CHECK(load1(&cfg, "NODEPROF_HEAP_INTERVAL=64k") == 0 && cfg.heap_interval == 65536, "64k");
    CHECK(load1(&cfg, "NODEPROF_HEAP_INTERVAL=1g") == 0 && cfg.heap_interval == 1L << 30, "1g");
    check_bad("NODEPROF_HEAP_INTERVAL=0", "invalid NODEPROF_HEAP_INTERVAL=0: out of range 1..1g; using 512k");
    check_bad("NODEPROF_HEAP_INTERVAL=2g", "invalid NODEPROF_HEAP_INTERVAL=2g: out of range 1..1g; using 512k");
    check_bad("NODEPROF_HEAP_INTERVAL=lots",
              "invalid NODEPROF_HEAP_INTERVAL=lots: not a number; using 512k");
}

static void test_signal(void)
{
    struct { const char *s; int sig; } ok[] = {
        { "SIGUSR2", SIGUSR2 }, { "USR2", SIGUSR2 }, { "usr2", SIGUSR2 }, { "sigusr2", SIGUSR2 },
        { "12", SIGUSR2 }, { "off", 0 }, { "OFF", 0 }, { "SIGWINCH", SIGWINCH }, { "QUIT", SIGQUIT },
        { "RTMIN+3", 0 }, { "SIGRTMIN+0", 0 },
    };
    ok[9].sig = SIGRTMIN + 3;
    ok[10].sig = SIGRTMIN;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        int v = -1;
        const char *why = NULL;
        CHECK(np_parse_signal(ok[i].s, &v, &why) == 0 && v == ok[i].sig, "%s -> %d (%s)", ok[i].s, v,
              why ? why : "");
    }
    const char *node = "SIGUSR1 belongs to node (it opens the inspector port)";
    const char *cannot = "that signal cannot be used as a trigger";
    struct { const char *s, *why; } bad[] = {
        { "SIGUSR1", node }, { "usr1", node }, { "10", node },
        { "SIGTERM", cannot }, { "15", cannot }, { "INT", cannot }, { "2", cannot }, { "9", cannot },
        { "11", cannot }, { "17", cannot }, { "13", cannot }, { "14", cannot }, { "19", cannot }, { "6", cannot },
        { "SIGKILL", cannot }, { "SIGSEGV", cannot }, { "SIGCHLD", cannot }, { "SIGPIPE", cannot },
        { "SIGALRM", cannot }, { "SIGSTOP", cannot }, { "SIGABRT", cannot }, { "SIGXFSZ", cannot },
        /* SIGHUP ends the process (shutdown.c watches it with INT and
         * TERM); SIGPROF is the V8 CPU sampler's own signal. */
        { "SIGHUP", cannot }, { "1", cannot }, { "SIGPROF", cannot },
        { "FOO", "not a signal name" }, { "", "not a signal name" }, { "RTMIN+99", "not a signal name" },
        { "0", "not a signal" }, { "65", "not a signal" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int v = 77;
        const char *why = NULL;
        CHECK(np_parse_signal(bad[i].s, &v, &why) == -1, "'%s' accepted as %d", bad[i].s, v);
        CHECK_STR(why, bad[i].why);
    }
    int v;
    const char *why;
    CHECK(np_parse_signal(NULL, &v, &why) == -1, "NULL");
    CHECK_STR(np_signal_name(SIGUSR2), "SIGUSR2");
    CHECK_STR(np_signal_name(SIGTERM), "SIGTERM");
    CHECK_STR(np_signal_name(SIGHUP), "SIGHUP");
    CHECK_STR(np_signal_name(63), "signal");

    struct np_config cfg;
    CHECK(load1(&cfg, "NODEPROF_SIGNAL=off") == 0 && cfg.signal == 0, "off");
    check_bad("NODEPROF_SIGNAL=SIGUSR1", "invalid NODEPROF_SIGNAL=SIGUSR1: SIGUSR1 belongs to node (it opens the "
              "inspector port); using SIGUSR2");
    check_bad("NODEPROF_SIGNAL=TERM", "invalid NODEPROF_SIGNAL=TERM: that signal cannot be used as a trigger; "
              "using SIGUSR2");
}

static void test_formats(void)
{
    struct { const char *s; unsigned bits; } ok[] = {
        { "cpuprofile", NP_FMT_CPUPROFILE }, { "pprof", NP_FMT_PPROF }, { "PPROF", NP_FMT_PPROF },
        { "pprof,html", NP_FMT_PPROF | NP_FMT_HTML }, { "html,pprof,html", NP_FMT_PPROF | NP_FMT_HTML },
        { "cpuprofile,pprof,collapsed,speedscope,html,top", 63u }, { "top,", NP_FMT_TOP },
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        unsigned v = 0;
        const char *why = NULL;
        CHECK(np_parse_formats(ok[i].s, &v, &why) == 0 && v == ok[i].bits, "%s -> %u", ok[i].s, v);
    }
    const char *unknown = "unknown format (use cpuprofile, pprof, collapsed, speedscope, html, top)";
    struct { const char *s, *why; } bad[] = {
        { "", "empty" }, { "json", unknown }, { "pprof,,html", unknown }, { "pprof html", unknown },
        { "cpu", unknown }, { "cpuprofiles", unknown },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unsigned v = 77;
        const char *why = NULL;
        CHECK(np_parse_formats(bad[i].s, &v, &why) == -1 && v == 77, "'%s' accepted", bad[i].s);
        CHECK_STR(why, bad[i].why);
    }
    CHECK_STR(np_format_name(NP_FMT_CPUPROFILE), "cpuprofile");
    CHECK_STR(np_format_name(NP_FMT_PPROF), "pprof");
    CHECK_STR(np_format_name(NP_FMT_COLLAPSED), "collapsed");
    CHECK_STR(np_format_name(NP_FMT_SPEEDSCOPE), "speedscope");
    CHECK_STR(np_format_name(NP_FMT_HTML), "html");
    CHECK_STR(np_format_name(NP_FMT_TOP), "top");
    CHECK_STR(np_format_name(NP_FMT_PPROF | NP_FMT_HTML), "?");
    CHECK_STR(np_format_name(0), "?");

    struct np_config cfg;
    CHECK(load1(&cfg, "NODEPROF_FORMATS=html,cpuprofile") == 0 &&
          cfg.formats == (NP_FMT_HTML | NP_FMT_CPUPROFILE), "formats");
    check_bad("NODEPROF_FORMATS=svg", "invalid NODEPROF_FORMATS=svg: unknown format (use cpuprofile, pprof, "
              "collapsed, speedscope, html, top); using cpuprofile");
}

/* ---- names ---------------------------------------------------------------------- */

static void test_unknown_names(void)
{
    struct np_config cfg, def;
    np_config_defaults(&def);
    CHECK(load1(&cfg, "NODEPROF_CPU_INTERVALL=5") == 1, "one report");
    CHECK_STR(reports[0], "unknown variable NODEPROF_CPU_INTERVALL (did you mean NODEPROF_CPU_INTERVAL?)");
    CHECK(memcmp(&cfg, &def, sizeof cfg) == 0, "an unknown name changes nothing");
    load1(&cfg, "NODEPROF_DIRS=/tmp");
    CHECK_STR(reports[0], "unknown variable NODEPROF_DIRS (did you mean NODEPROF_DIR?)");
    load1(&cfg, "NODEPROF_cpu=off");
    CHECK_STR(reports[0], "unknown variable NODEPROF_cpu (did you mean NODEPROF_CPU?)");
    CHECK(cfg.cpu, "lower-case names are not ours");
    load1(&cfg, "NODEPROF_WORKER=on");
    CHECK_STR(reports[0], "unknown variable NODEPROF_WORKER (did you mean NODEPROF_WORKERS?)");
    load1(&cfg, "NODEPROF_ZZZZZZZZZZZZZZZZ=1");
    CHECK_STR(reports[0], "unknown variable NODEPROF_ZZZZZZZZZZZZZZZZ");
    /* A name longer than the buffers: reported, cut, no overflow. */
    char lng[300] = "NODEPROF_";
    memset(lng + 9, 'Q', 200);
    strcpy(lng + 209, "=1");
    CHECK(load1(&cfg, lng) == 1, "long name");
    CHECK(!strncmp(reports[0], "unknown variable NODEPROF_QQQQ", 30), "%s", reports[0]);
    CHECK(strlen(reports[0]) < 120, "long name not cut: %zu", strlen(reports[0]));
    /* No '=' at all. */
    CHECK(load1(&cfg, "NODEPROF_LOGG") == 1, "no '='");
    CHECK_STR(reports[0], "unknown variable NODEPROF_LOGG (did you mean NODEPROF_LOG?)");

    /* Several problems: each reported once, the good values still taken. */
    char *envp[] = { "NODEPROF_CPU_INTERVAL=abc", "NODEPROF_LOG=info", "NODEPROF_KEPP=3",
                     "NODEPROF_HEAP=on", "NODEPROF_PERIOD=1y", NULL };
    load(&cfg, envp);
    CHECK(nreports == 3, "%d reports", nreports);
    CHECK_STR(reports[0], "invalid NODEPROF_CPU_INTERVAL=abc: not a number; using 1000");
    CHECK_STR(reports[1], "invalid NODEPROF_PERIOD=1y: unknown unit (use ms, s, m or h); using off");
    CHECK_STR(reports[2], "unknown variable NODEPROF_KEPP (did you mean NODEPROF_KEEP?)");
    CHECK(cfg.log_level == NP_LOG_INFO && cfg.heap && cfg.cpu_interval_us == 1000 && cfg.period_ms == 0,
          "good values taken, bad ones default");

    /* A name that is a prefix of another is not confused with it. */
    load1(&cfg, "NODEPROF_CPU_INTERVAL=100");
    CHECK(nreports == 0 && cfg.cpu && cfg.cpu_interval_us == 100, "prefix");
    /* The first of two assignments wins, as getenv() does. */
    char *twice[] = { "NODEPROF_KEEP=4", "NODEPROF_KEEP=5", NULL };
    load(&cfg, twice);
    CHECK(nreports == 0 && cfg.keep == 4, "keep %ld", cfg.keep);
}

/* A NULL report function: problems are not reported, and nothing breaks
 * (the agent parses once quietly to learn where log lines go). */
static void test_quiet_load(void)
{
    struct np_config cfg;
    char *envp[] = { "NODEPROF_CPU_INTERVAL=abc", "NODEPROF_CPU_INTERVALL=5", "NODEPROF_LOG=info", NULL };
    np_config_load(&cfg, envp, NULL, NULL);
    CHECK(cfg.cpu_interval_us == 1000 && cfg.log_level == NP_LOG_INFO, "quiet load");
}

/* ---- printing --------------------------------------------------------------------- */

static char *print_to_string(const struct np_config *cfg, int markdown)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (markdown) np_config_print_markdown(f);
    else np_config_print(cfg, f);
    fclose(f);
    return text;
}

static void test_print(void)
{
    struct np_config cfg;
    char *envp[] = { "NODEPROF_LOG=debug", "NODEPROF_PERIOD=5m", "NODEPROF_FORMATS=pprof,cpuprofile",
                     "NODEPROF_SIGNAL=off", "NODEPROF_HEAP_INTERVAL=1m", "NODEPROF_WORKERS=yes",
                     "NODEPROF_SIGNAL_ACTION=heapsnapshot", "NODEPROF_DIR=/x y", NULL };
    load(&cfg, envp);
    CHECK(nreports == 0, "%s", reports[0]);
    char *text = print_to_string(&cfg, 0);
    const char *want[] = {
        "NODEPROF_DISABLE=off\n", "NODEPROF_DIR=/x y\n", "NODEPROF_NAME=nodeprof-%s-%t-%h-%p-%n\n",
        "NODEPROF_CPU=on\n", "NODEPROF_CPU_INTERVAL=1000\n", "NODEPROF_WORKERS=on\n", "NODEPROF_MATCH=\n",
        "NODEPROF_LOG=debug\n", "NODEPROF_LOG_FILE=\n", "NODEPROF_FIFO=on\n", "NODEPROF_SIGNAL=off\n",
        "NODEPROF_SIGNAL_ACTION=heapsnapshot\n", "NODEPROF_HEAP=off\n", "NODEPROF_HEAP_INTERVAL=1048576\n",
        "NODEPROF_PERIOD=300000ms\n", "NODEPROF_KEEP=0\n", "NODEPROF_FORMATS=cpuprofile,pprof\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const char *at = strstr(text, want[i]);
        CHECK(at && (at == text || at[-1] == '\n'), "missing line %s", want[i]);
    }
    CHECK(strstr(text, "NODEPROF_SIGNAL=SIGUSR2") == NULL, "signal printed twice");
    free(text);

    np_config_defaults(&cfg);
    text = print_to_string(&cfg, 0);
    CHECK(strstr(text, "\nNODEPROF_SIGNAL=SIGUSR2\n") != NULL, "default signal");
    CHECK(strstr(text, "\nNODEPROF_SIGNAL_ACTION=dump\n") != NULL, "default action");
    CHECK(strstr(text, "\nNODEPROF_PERIOD=off\n") != NULL, "default period");
    CHECK(strstr(text, "\nNODEPROF_LOG=warn\n") != NULL, "default log");
    free(text);

    text = print_to_string(NULL, 1);
    CHECK(!strncmp(text, "| variable | default | meaning |\n|---|---|---|\n", 46), "header");
    int rows = count_options();
    CHECK(rows >= 19, "%d rows", rows);
    CHECK(strstr(text, "| `NODEPROF_CPU_INTERVAL` | `1000` | ") != NULL, "interval row");
    CHECK(strstr(text, "| `NODEPROF_MATCH` | (empty) | ") != NULL, "empty default row");
    free(text);
}

/* NODEPROF_FILE_MODE: strict octal, owner rw, never wider than 0664. */
static void test_file_mode(void)
{
    struct np_config cfg;
    np_config_defaults(&cfg);
    CHECK(cfg.file_mode == 0600, "default %lo", cfg.file_mode);
    const struct { const char *s; long mode; } ok[] = {
        { "0644", 0644 }, { "0640", 0640 }, { "600", 0600 }, { "0664", 0664 }, { "0660", 0660 },
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char var[64];
        snprintf(var, sizeof var, "NODEPROF_FILE_MODE=%s", ok[i].s);
        CHECK(load1(&cfg, var) == 0 && cfg.file_mode == ok[i].mode, "%s -> %lo", ok[i].s, cfg.file_mode);
    }
    const char *digits = "expected 3 or 4 octal digits, such as 0640";
    const char *wide = "no execute, setuid, setgid or sticky bits (at most 0664)";
    const char *owner = "the owner must keep read and write (0600)";
    const char *others = "others may not write (at most 0664)";
    const struct { const char *s, *why; } bad[] = {
        { "0755", wide }, { "0700", wide }, { "0601", wide }, { "4600", wide }, { "1666", wide },
        { "0400", owner }, { "0044", owner }, { "000", owner }, { "0777", wide }, { "0666", others }, { "0602", others },
        { "644 ", digits }, { "0o644", digits }, { "0x1a4", digits }, { "rw-r--r--", digits }, { "", digits },
        { "06440", digits }, { "64", digits }, { "0648", digits }, { "-644", digits }, { "+644", digits },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char var[64], want[256];
        snprintf(var, sizeof var, "NODEPROF_FILE_MODE=%s", bad[i].s);
        snprintf(want, sizeof want, "invalid NODEPROF_FILE_MODE=%s: %s; using 0600", bad[i].s, bad[i].why);
        check_bad(var, want);
    }
    char *envp[] = { "NODEPROF_FILE_MODE=640", NULL };
    load(&cfg, envp);
    char *text = print_to_string(&cfg, 0);
    CHECK(strstr(text, "\nNODEPROF_FILE_MODE=0640\n") != NULL, "printed as 0640: %s", text);
    free(text);
}

/* NODEPROF_LABELS: %{VAR} expanded at load, checked, stored canonical. */
static void test_labels(void)
{
    struct np_config cfg;
    char *envp[] = { "GIT_SHA=abc123", "NODEPROF_LABELS=service=checkout,version=%{GIT_SHA},pct=100%%", NULL };
    load(&cfg, envp);
    CHECK(nreports == 0, "no report: %s", reports[0]);
    CHECK_STR(cfg.labels, "service=checkout,version=abc123,pct=100%");
    check_bad("NODEPROF_LABELS=service=checkout,version=%{NOT_SET_HERE}",
              "invalid NODEPROF_LABELS=service=checkout,version=%{NOT_SET_HERE}: label version: %{NOT_SET_HERE} is not set; using (empty)");
    check_bad("NODEPROF_LABELS=9lives=x",
              "invalid NODEPROF_LABELS=9lives=x: '9lives=x': expected key=value, the key a name ([A-Za-z_][A-Za-z0-9_.-]*, at most 63 bytes); using (empty)");
    check_bad("NODEPROF_LABELS=a=1,a=2", "invalid NODEPROF_LABELS=a=1,a=2: label a given twice; using (empty)");
    check_bad("NODEPROF_LABELS=a=", "invalid NODEPROF_LABELS=a=: label a: empty value; using (empty)");
    check_bad("NODEPROF_LABELS=a=1%", "invalid NODEPROF_LABELS=a=1%: label a: % must be %% or %{VAR}; using (empty)");
    check_bad("NODEPROF_LABELS=a=caf\xc3\xa9", "invalid NODEPROF_LABELS=a=caf\xc3\xa9: label a: the value may hold printable ASCII only, without ','; using (empty)");
    /* A variable's comma would make a second label: refused. */
    char *comma[] = { "V=x,y", "NODEPROF_LABELS=a=%{V}", NULL };
    load(&cfg, comma);
    CHECK(nreports == 1 && cfg.labels[0] == '\0', "comma from a variable: %s", reports[0]);
    /* Bounded: 17 labels, a value of 128 bytes, 512 bytes in all. */
    char many[400] = "NODEPROF_LABELS=";
    for (int i = 0; i < 17; i++) snprintf(many + strlen(many), sizeof many - strlen(many), "%sk%d=v", i ? "," : "", i);
    CHECK(load1(&cfg, many) == 1 && strstr(reports[0], "more than 16 labels"), "%s", reports[0]);
    char big[200] = "NODEPROF_LABELS=a=";
    memset(big + strlen(big), 'x', 128);
    CHECK(load1(&cfg, big) == 1 && strstr(reports[0], "longer than 127"), "%s", reports[0]);
    char total[700] = "NODEPROF_LABELS=";
    for (int i = 0; i < 5; i++) {
        snprintf(total + strlen(total), sizeof total - strlen(total), "%sk%d=", i ? "," : "", i);
        memset(total + strlen(total), 'v', 120);
    }
    CHECK(load1(&cfg, total) == 1 && strstr(reports[0], "longer than 511"), "%s", reports[0]);
    CHECK(load1(&cfg, "NODEPROF_LABELS=") == 0 && cfg.labels[0] == '\0', "empty: none");
}

int main(void)
{
    test_defaults();
    test_labels();
    test_file_mode();
    test_print_round_trip();
    test_bool();
    test_long();
    test_string();
    test_enum();
    test_duration();
    test_bare_duration();
    test_bytes();
    test_signal();
    test_formats();
    test_unknown_names();
    test_quiet_load();
    test_print();
    return END();
}
