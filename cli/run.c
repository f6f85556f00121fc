/* nodeprof run: runs a command under the library, forwards the signals
 * sent to us, prints the files written, and ends as the command ended. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "common/config.h"
#include "common/rundir.h"

static const char run_usage[] =
    "usage: nodeprof run [OPTIONS] -- CMD [ARGS...]\n"
    "\n"
    "Runs CMD with libnodeprof.so preloaded (prepended to any LD_PRELOAD). Every node\n"
    "process it starts is profiled; when CMD ends, the files written are listed on\n"
    "stderr and nodeprof exits with CMD's status, or dies of the same signal.\n"
    "Signals sent to nodeprof by other processes (kill) are forwarded to CMD; signals\n"
    "from the terminal already reach CMD, which shares our process group.\n"
    "\n"
    "options (each sets the NODEPROF_* variable of the same meaning):\n"
    "  --dir DIR          where profiles go (NODEPROF_DIR; default: each process's current\n"
    "                     directory); a relative DIR is taken against the current directory\n"
    "                     once, here, so children that change directory write there too\n"
    "  --interval US      CPU sampling interval in microseconds (NODEPROF_CPU_INTERVAL)\n"
    "  --match GLOB       profile only node processes whose main script matches (NODEPROF_MATCH):\n"
    "                     without '/', its file name with or without extension (server.js,\n"
    "                     server, worker-*); with '/', its path, relative to the working\n"
    "                     directory unless it starts with / or * (app/server.js, */server.js)\n"
    "  --formats LIST     output formats, e.g. cpuprofile,pprof,html (NODEPROF_FORMATS)\n"
    "  --heap             also run the sampling heap profiler (NODEPROF_HEAP=on)\n"
    "  --workers          also profile worker threads (NODEPROF_WORKERS=on)\n"
    "  -q, --quiet        do not list the files written\n";

static pid_t child_pid;

/* Forwards signals sent by another process (kill(1), a supervisor). Those
 * the kernel raised for the terminal (SI_KERNEL) reached the child already. */
static void forward_signal(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    if (child_pid > 0 && info->si_code <= 0 && info->si_pid != child_pid) kill(child_pid, sig);
}

static void install_forwarding(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = forward_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD || sig == SIGSEGV || sig == SIGBUS ||
            sig == SIGFPE || sig == SIGILL || sig == SIGABRT || sig == SIGTRAP || sig == SIGSYS ||
            (sig >= 32 && sig < SIGRTMIN))
            continue;
        /* A signal our caller ignores stays ignored, in the child too
         * (exec keeps SIG_IGN and resets handlers to the default). */
        struct sigaction old;
        if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sig, &sa, NULL);
    }
}

static int set_option(const char *var, const char *value)
{
    if (setenv(var, value, 1) == 0) return 0;
    fprintf(stderr, "nodeprof: cannot set %s\n", var);
    return -1;
}

static int prepend_preload(const char *lib)
{
    const char *old = getenv("LD_PRELOAD");
    char value[PATH_MAX * 4];
    if (snprintf(value, sizeof value, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "") >= (int)sizeof value) {
        fputs("nodeprof: LD_PRELOAD too long\n", stderr);
        return -1;
    }
    return set_option("LD_PRELOAD", value);
}

/* --dir DIR as an absolute path, taken against our working directory now:
 * every process of CMD, whatever its working directory (npm runs scripts
 * in the package's, a tool may chdir), writes to the same place. Not made
 * canonical (the directory may not exist yet; symlinks are the user's). */
static int set_dir(const char *dir)
{
    char cwd[PATH_MAX], abs[PATH_MAX * 2];
    if (dir[0] == '/' || dir[0] == '\0') return set_option("NODEPROF_DIR", dir);
    if (!getcwd(cwd, sizeof cwd)) {
        fprintf(stderr, "nodeprof: --dir %s: cannot read the current directory: %s\n", dir, strerror(errno));
        return -1;
    }
    while (dir[0] == '.' && dir[1] == '/') dir += 2;
    if (!strcmp(dir, ".")) dir = "";
    const char *sep = !*dir || !strcmp(cwd, "/") ? "" : "/";
    if (snprintf(abs, sizeof abs, "%s%s%s", cwd, sep, dir) >= PATH_MAX) {
        fprintf(stderr, "nodeprof: --dir %s: path too long\n", dir);
        return -1;
    }
    return set_option("NODEPROF_DIR", abs);
}

/* A manifest file the library appends written paths to. */
static int make_manifest(char *path, size_t len)
{
    char dir[256], err[512];
    np_rundir_path(dir, sizeof dir);
    if (np_rundir_ensure(dir, err, sizeof err)) {
        fprintf(stderr, "nodeprof: %s\n", err);
        return -1;
    }
    snprintf(path, len, "%s/run-%ld.manifest", dir, (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        fprintf(stderr, "nodeprof: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    close(fd);
    return set_option("NODEPROF_MANIFEST", path);
}

static void print_manifest(const char *path, int quiet)
{
    FILE *f = fopen(path, "r");
    char line[PATH_MAX + 2];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!quiet) fprintf(stderr, "nodeprof: wrote %s\n", line);
        n++;
    }
    if (f) fclose(f);
    if (!n && !quiet) fputs("nodeprof: no profile was written\n", stderr);
    unlink(path);
}

static int parse_options(int argc, char **argv, int *quiet)
{
    static const struct { const char *flag, *var, *fixed; } opts[] = {
        { "--dir", "NODEPROF_DIR", NULL }, { "--interval", "NODEPROF_CPU_INTERVAL", NULL },
        { "--match", "NODEPROF_MATCH", NULL }, { "--formats", "NODEPROF_FORMATS", NULL },
        { "--heap", "NODEPROF_HEAP", "on" }, { "--workers", "NODEPROF_WORKERS", "on" },
    };
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        if (argv[i][0] != '-') break; /* the command itself, without "--" */
        if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) { *quiet = 1; continue; }
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(run_usage, stdout); exit(0); }
        size_t k;
        for (k = 0; k < sizeof opts / sizeof *opts; k++)
            if (!strcmp(argv[i], opts[k].flag)) break;
        if (k == sizeof opts / sizeof *opts) {
            fprintf(stderr, "nodeprof: unknown option %s\n%s", argv[i], run_usage);
            return -1;
        }
        const char *value = opts[k].fixed;
        if (!value && ++i >= argc) {
            fprintf(stderr, "nodeprof: %s needs a value\n", opts[k].flag);
            return -1;
        }
        if (!strcmp(opts[k].flag, "--dir") ? set_dir(argv[i]) : set_option(opts[k].var, value ? value : argv[i]))
            return -1;
    }
    if (i < argc && !strcmp(argv[i], "--")) i++;
    if (i >= argc) {
        fputs(run_usage, stderr);
        return -1;
    }
    return i;
}

/* Ends the way the child ended: same exit status, or death by the same signal. */
static int end_like(int status)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        signal(sig, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        raise(sig);
        return 128 + sig;
    }
    return WEXITSTATUS(status);
}

int cli_run(int argc, char **argv)
{
    int quiet = 0;
    int first = parse_options(argc, argv, &quiet);
    if (first < 0) return 2;
    char lib[PATH_MAX], manifest[PATH_MAX];
    if (cli_find_library(lib, sizeof lib)) {
        fputs("nodeprof: cannot find libnodeprof.so next to this command or in ../lib\n", stderr);
        return 2;
    }
    if (prepend_preload(lib) || make_manifest(manifest, sizeof manifest)) return 2;
    install_forwarding();
    child_pid = fork();
    if (child_pid < 0) {
        fprintf(stderr, "nodeprof: fork: %s\n", strerror(errno));
        return 2;
    }
    if (child_pid == 0) {
        execvp(argv[first], argv + first);
        fprintf(stderr, "nodeprof: cannot run %s: %s\n", argv[first], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(child_pid, &status, 0) < 0)
        if (errno != EINTR) { status = 127 << 8; break; }
    print_manifest(manifest, quiet);
    return end_like(status);
}
