/* nodeprof ctl / nodeprof list: talk to profiled processes through their
 * control FIFOs (protocol in README.md, "Control FIFO"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "owner.h"
#include "term.h"
#include "common/command.h"
#include "common/config.h"
#include "common/rundir.h"

static const char ctl_usage[] =
    "usage: nodeprof ctl [--timeout SECONDS] [--fifo PATH] PID COMMAND...\n"
    "\n"
    "Sends COMMAND to the profiled node process PID and prints its reply: the files\n"
    "written, or the text asked for. Exits 0 on success, 1 on error or timeout.\n"
    "The timeout is 30 s (300 s for `heap snapshot`). A node process started without\n"
    "nodeprof is attached through its inspector instead (see the end of this text).\n"
    "\n"
    "commands:\n";

static char reply_path[PATH_MAX];

static void remove_reply_fifo(void)
{
    if (reply_path[0]) unlink(reply_path);
}

static void on_interrupt(int sig)
{
    remove_reply_fifo();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int make_reply_fifo(const char *dir)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(reply_path, sizeof reply_path, "%s/reply-%ld-%lx.fifo", dir, (long)getpid(), (unsigned long)ts.tv_nsec);
    if (mkfifo(reply_path, 0600) != 0) {
        fprintf(stderr, "nodeprof: cannot create %s: %s\n", reply_path, strerror(errno));
        reply_path[0] = '\0';
        return -1;
    }
    atexit(remove_reply_fifo);
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
    signal(SIGHUP, on_interrupt);
    /* Open our end first (non-blocking): the agent opens its end only when
     * it replies, and poll waits for that. */
    int fd = open(reply_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) fprintf(stderr, "nodeprof: cannot open %s: %s\n", reply_path, strerror(errno));
    return fd;
}

static int build_line(int argc, char **argv, char *line, size_t len)
{
    size_t n = 0;
    for (int i = 0; i < argc; i++) {
        int w = snprintf(line + n, len - n, "%s%s", i ? " " : "", argv[i]);
        if (w < 0 || (size_t)w >= len - n) return -1;
        n += (size_t)w;
    }
    int w = snprintf(line + n, len - n, " reply=%s\n", reply_path);
    return w < 0 || (size_t)w >= len - n ? -1 : (int)(n + (size_t)w);
}

static int send_line(const char *fifo, long pid, const char *line, int len)
{
    int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENXIO) fprintf(stderr, "nodeprof: process %ld is not reading %s (it may have exited)\n", pid, fifo);
        else fprintf(stderr, "nodeprof: cannot open %s: %s\n", fifo, strerror(errno));
        return -1;
    }
    /* The agent makes its FIFO as the process's user, whom we act as
     * (owner.h): one of another user's (a --fifo path in a shared
     * directory) would hand them the command and its reply path. */
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) || st.st_uid != geteuid()) {
        fprintf(stderr, "nodeprof: refusing %s: not a FIFO of uid %u\n", fifo, (unsigned)geteuid());
        close(fd);
        return -1;
    }
    /* One write of at most PIPE_BUF bytes: atomic, never interleaved. */
    ssize_t w = write(fd, line, (size_t)len);
    close(fd);
    if (w != len) {
        fprintf(stderr, "nodeprof: cannot send to %s: %s\n", fifo, w < 0 ? strerror(errno) : "short write");
        return -1;
    }
    return 0;
}

/* Reads the reply until the agent closes its end, the timeout passes, or
 * the process is gone (*gone set). */
static char *read_reply(int fd, long pid, int timeout_s, size_t *len, int *gone)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (buf) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = timeout_s * 1000L - ((now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left <= 0) { free(buf); return NULL; }
        struct pollfd p = { fd, POLLIN, 0 };
        int r = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
        if (r < 0 && errno != EINTR) break;
        if (r == 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) { *gone = 1; break; }
        if (r <= 0) continue;
        if (n + 1024 > cap && !(buf = realloc(buf, cap *= 2))) return NULL;
        ssize_t got = read(fd, buf + n, cap - n - 1);
        if (got > 0) { n += (size_t)got; continue; }
        if (got == 0 || (p.revents & POLLHUP)) break; /* the agent closed its end */
    }
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

static int print_reply(const char *reply)
{
    /* The reply is the target process's text (term.h). */
    if (!strncmp(reply, "ok\n", 3)) {
        cli_put_untrusted(stdout, reply + 3, true);
        return 0;
    }
    bool error = !strncmp(reply, "error: ", 7);
    fputs(error ? "nodeprof: " : "nodeprof: unexpected reply: ", stderr);
    cli_put_untrusted(stderr, error ? reply + 7 : reply, true);
    if (!error) fputc('\n', stderr);
    return 1;
}

static int parse_ctl_options(int argc, char **argv, int *timeout, const char **fifo)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(ctl_usage, stdout);
            fputs(np_command_help, stdout);
            fputs(cli_attach_help, stdout);
            exit(0);
        }
        long v;
        const char *why;
        if (!strcmp(argv[i], "--timeout") && i + 1 < argc && !np_parse_long(argv[i + 1], 1, 86400, &v, &why)) {
            *timeout = (int)v;
            i++;
        } else if (!strcmp(argv[i], "--fifo") && i + 1 < argc) {
            *fifo = argv[++i];
        } else {
            fprintf(stderr, "nodeprof: bad option %s\n", argv[i]);
            return -1;
        }
    }
    if (argc - i < 2) {
        fputs(ctl_usage, stderr);
        fputs(np_command_help, stderr);
        return -1;
    }
    return i;
}

/* Sends the command in ARGV to PID's FIFO and prints the reply. */
static int exchange(long pid, const char *dir, const char *fifo, int argc, char **argv, int timeout)
{
    int fd = make_reply_fifo(dir);
    if (fd < 0) return 1;
    char line[NP_COMMAND_MAX + 2];
    int len = build_line(argc, argv, line, sizeof line);
    if (len < 0 || len > NP_COMMAND_MAX) {
        close(fd);
        fputs("nodeprof: command too long\n", stderr);
        return 2;
    }
    if (send_line(fifo, pid, line, len)) {
        close(fd);
        return 1;
    }
    size_t n = 0;
    int gone = 0;
    char *reply = read_reply(fd, pid, timeout, &n, &gone);
    close(fd);
    int rc = 1;
    if (gone && n == 0) fprintf(stderr, "nodeprof: process %ld exited before replying\n", pid);
    else if (!reply) fprintf(stderr, "nodeprof: no reply from %ld within %d s (the command may still complete)\n", pid, timeout);
    else if (n == 0) fputs("nodeprof: empty reply\n", stderr);
    else rc = print_reply(reply);
    free(reply);
    return rc;
}

static void say_not_profiled(long pid, const char *fifo, bool fifo_given)
{
    fprintf(stderr, "nodeprof: process %ld is not profiled by nodeprof (no control FIFO %s); "
            "is it node, started with LD_PRELOAD=libnodeprof.so?%s\n", pid, fifo,
            fifo_given ? "" : " (`cpu dump [SECONDS]`, `heap snapshot` and `stack` also work on a node process "
            "started without nodeprof, through its inspector)");
}

int cli_ctl(int argc, char **argv)
{
    int timeout = 0;
    const char *fifo_opt = NULL;
    int i = parse_ctl_options(argc, argv, &timeout, &fifo_opt);
    if (i < 0) return 2;
    long pid;
    const char *why;
    if (np_parse_long(argv[i], 1, 1L << 30, &pid, &why)) {
        fprintf(stderr, "nodeprof: bad pid '%s'\n", argv[i]);
        return 2;
    }
    int nargs = argc - i - 1;
    char **args = argv + i + 1;
    if (!timeout) timeout = (nargs > 1 && !strcmp(args[0], "heap") && !strcmp(args[1], "snapshot")) ? 300 : 30;
    char dir[256], fifo[PATH_MAX], err[512];
    struct stat st;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
        fprintf(stderr, "nodeprof: no process %ld\n", pid);
        return 1;
    }
    if (cli_become_owner_of(pid, err, sizeof err)) {
        fprintf(stderr, "nodeprof: %s\n", err);
        return 1;
    }
    np_rundir_path(dir, sizeof dir);
    if (fifo_opt) snprintf(fifo, sizeof fifo, "%s", fifo_opt);
    else snprintf(fifo, sizeof fifo, "%s/%ld.ctl", dir, pid);
    /* Not profiled: node's own inspector (attach.h). */
    bool attachable = !fifo_opt && cli_attach_command(nargs, args);
    if (attachable && lstat(fifo, &st) != 0 && errno == ENOENT) return cli_attach(pid, nargs, args, timeout);
    if (stat(fifo, &st) != 0 || !S_ISFIFO(st.st_mode)) {
        say_not_profiled(pid, fifo, fifo_opt != NULL);
        return 1;
    }
    if (np_rundir_ensure(dir, err, sizeof err)) {
        fprintf(stderr, "nodeprof: %s\n", err);
        return 1;
    }
    return exchange(pid, dir, fifo, nargs, args, timeout);
}

/* A pid-named entry of the run directory: "<pid>.ctl" (a profiled
 * process's FIFO) or "reply-<pid>-<x>.fifo" (a nodeprof ctl's reply FIFO).
 * Returns the pid, or 0 if the name is neither. */
static long entry_pid(const char *name, bool *is_reply)
{
    char *end;
    *is_reply = !strncmp(name, "reply-", 6);
    const char *digits = *is_reply ? name + 6 : name;
    long pid = strtol(digits, &end, 10);
    if (end == digits || pid <= 0) return 0;
    if (*is_reply) {
        size_t n = strlen(end);
        return end[0] == '-' && n > 6 && !strcmp(end + n - 5, ".fifo") ? pid : 0;
    }
    return strcmp(end, ".ctl") ? 0 : pid;
}

/* Removes a FIFO of ours whose process is gone (SIGKILL, a crash); for a
 * reply path, also the regular file that earlier agents created there. */
static bool remove_if_stale(const char *dir, const char *name, long pid, bool is_reply)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) return false;
    if (lstat(path, &st) != 0 || st.st_uid != geteuid()) return true;
    bool kind = S_ISFIFO(st.st_mode) || (is_reply && S_ISREG(st.st_mode));
    if (kind && unlink(path) == 0)
        fprintf(stderr, "nodeprof: removed %s (process %ld is gone)\n", path, pid);
    return true;
}

/* Whether nobody reads the control FIFO at path: every live agent holds
 * its own open for reading, so such a FIFO was left by a process that is
 * gone even when its pid is alive again: reused by another process (a long
 * uptime, a container's small pid range), or a node of another pid
 * namespace sharing /tmp. Opening it writes nothing. */
static bool fifo_unread(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISFIFO(st.st_mode)) return false;
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0) {
        close(fd);
        return false;
    }
    return errno == ENXIO;
}

static void remove_unread(const char *path, long pid)
{
    struct stat st;
    if (lstat(path, &st) == 0 && st.st_uid == geteuid() && S_ISFIFO(st.st_mode) && unlink(path) == 0)
        fprintf(stderr, "nodeprof: removed %s (no process reads it: process %ld is not the one that made it)\n",
                path, pid);
}

/* The profiled processes whose FIFOs are in dir; with tidy, the FIFOs of
 * processes that are gone are removed (our own directory only). */
static void list_run_dir(const char *dir, bool tidy)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        bool is_reply;
        long pid = entry_pid(e->d_name, &is_reply);
        if (!pid || is_reply) {
            if (pid && tidy) remove_if_stale(dir, e->d_name, pid, is_reply);
            continue;
        }
        if (tidy ? remove_if_stale(dir, e->d_name, pid, is_reply) : (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (fifo_unread(path)) {
            if (tidy) remove_unread(path, pid);
            continue;
        }
        printf("%ld\t", pid);
        cli_print_cmdline(pid, "");
        printf("\t%s/%s\n", dir, e->d_name);
    }
    closedir(d);
}

/* Root also sees the other users' profiled processes (its `ctl` acts as
 * their owner: owner.h), from their private run directories, which it
 * reads and never changes. */
static void list_other_users(void)
{
    DIR *tmp = opendir("/tmp");
    struct dirent *e;
    while (tmp && (e = readdir(tmp))) {
        char *end;
        if (strncmp(e->d_name, "nodeprof-", 9)) continue;
        unsigned long uid = strtoul(e->d_name + 9, &end, 10);
        char dir[256];
        struct stat st;
        if (end == e->d_name + 9 || *end || uid == 0) continue;
        np_rundir_path_of((uid_t)uid, dir, sizeof dir);
        if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 0077)) continue;
        list_run_dir(dir, false);
    }
    if (tmp) closedir(tmp);
}

int cli_list(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--all")) return cli_list_all();
    if (argc > 1) {
        fputs("usage: nodeprof list [--all]\nLists the profiled node processes of this user (of every user, for root:\n"
              "pid, command line, FIFO) and removes this user's FIFOs left by processes that are gone\n"
              "(profiled processes, nodeprof ctl).\n"
              "--all lists every node process of this user (of every user, for root), profiled or not\n"
              "(pid, state, command line), "
              "and whether `nodeprof ctl` can attach to it through its inspector.\n"
              "Both close an inspector that a nodeprof ctl killed mid-command left open.\n",
              !strcmp(argv[1], "--help") ? stdout : stderr);
        return !strcmp(argv[1], "--help") ? 0 : 2;
    }
    char dir[256];
    struct stat st;
    np_rundir_path(dir, sizeof dir);
    cli_attach_sweep(0);
    int rc = 0;
    /* Our own private directory, tidied; nothing in another user's is removed. */
    if (lstat(dir, &st) != 0) {
        /* nothing was ever profiled by this user */
    } else if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077)) {
        fprintf(stderr, "nodeprof: refusing %s: not a private directory owned by uid %u\n", dir, (unsigned)geteuid());
        rc = 1;
    } else {
        list_run_dir(dir, true);
    }
    if (geteuid() == 0) list_other_users();
    return rc;
}
