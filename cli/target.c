#include "target.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Reads a whole small /proc file (cmdline, environ: NUL-separated). */
static size_t read_proc(long pid, const char *what, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/%s", pid, what);
    FILE *f = fopen(path, "re");
    if (!f) return 0;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

unsigned long long target_start_time(long pid)
{
    char buf[1024];
    if (!read_proc(pid, "stat", buf, sizeof buf)) return 0;
    /* After the command name in parentheses (which may hold anything),
     * field 22 is the start time: the 20th after ')'. */
    char *p = strrchr(buf, ')');
    for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

static int read_uid(long pid, uid_t *uid)
{
    char buf[4096];
    if (!read_proc(pid, "status", buf, sizeof buf)) return -1;
    const char *line = strstr(buf, "\nUid:");
    if (!line) return -1;
    *uid = (uid_t)strtoul(line + 5, NULL, 10);
    return 0;
}

/* node, nodejs, node20, node-22.1 (what packagers call it), maybe
 * " (deleted)" after an upgrade replaced the file. */
static bool exe_is_node(const char *exe)
{
    const char *base = strrchr(exe, '/');
    base = base ? base + 1 : exe;
    if (strncmp(base, "node", 4)) return false;
    const char *p = base + 4;
    if (!strncmp(p, "js", 2)) p += 2;
    p += strspn(p, "0123456789.-");
    return !*p || !strcmp(p, " (deleted)");
}

/* "host:port", "port" or "host": the port (or -1 if there is none) and
 * whether the host is the loopback one. */
static void parse_host_port(const char *v, int *port, bool *loopback)
{
    const char *colon = strrchr(v, ':');
    const char *num = colon ? colon + 1 : v;
    char *end;
    long p = strtol(num, &end, 10);
    bool numeric = *num && !*end && p >= 0 && p <= 65535;
    if (numeric) *port = (int)p;
    size_t hostlen = colon ? (size_t)(colon - v) : numeric ? 0 : strlen(v);
    if (hostlen)
        *loopback = (hostlen == 9 && !strncmp(v, "127.0.0.1", 9)) || (hostlen == 9 && !strncmp(v, "localhost", 9));
}

/* One argument of node's: --inspect-port=N, --debug-port=N, --inspect=[H:]P,
 * --inspect-brk=..., --inspect-wait=... (a value in the next argument for
 * the --*-port forms). */
static void scan_option(const char *arg, const char *next, struct target *t)
{
    static const char *const with_host[] = { "--inspect=", "--inspect-brk=", "--inspect-wait=", "--inspect-port=", "--debug-port=" };
    if (!strcmp(arg, "--disable-sigusr1")) t->sigusr1_off = true;
    for (size_t i = 0; i < sizeof with_host / sizeof *with_host; i++) {
        size_t n = strlen(with_host[i]);
        if (!strncmp(arg, with_host[i], n)) parse_host_port(arg + n, &t->port, &t->port_loopback);
        else if (next && n > 1 && !strncmp(arg, with_host[i], n - 1) && !arg[n - 1] && strstr(with_host[i], "port"))
            parse_host_port(next, &t->port, &t->port_loopback);
    }
}

static void scan_cmdline(long pid, struct target *t)
{
    static char buf[65536];
    size_t n = read_proc(pid, "cmdline", buf, sizeof buf);
    /* node's own options come before the script: stop at the first
     * argument that is not an option. */
    size_t i = strlen(buf) + 1;
    while (i < n && buf[i] == '-') {
        const char *arg = buf + i;
        i += strlen(arg) + 1;
        if (!strcmp(arg, "--")) break;
        scan_option(arg, i < n ? buf + i : NULL, t);
    }
}

static void scan_node_options(long pid, struct target *t)
{
    static char buf[131072];
    size_t n = read_proc(pid, "environ", buf, sizeof buf);
    for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
        if (strncmp(buf + i, "NODE_OPTIONS=", 13)) continue;
        char *save, *words[2] = { NULL, NULL };
        for (char *w = strtok_r(buf + i + 13, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
            words[0] = words[1];
            words[1] = w;
            if (words[0]) scan_option(words[0], w, t);
        }
        if (words[1]) scan_option(words[1], NULL, t);
        return;
    }
}

int target_read(long pid, struct target *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->pid = pid;
    t->port = TARGET_DEFAULT_PORT;
    t->port_loopback = true;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/exe", pid);
    ssize_t n = readlink(path, t->exe, sizeof t->exe - 1);
    t->start = target_start_time(pid);
    if (!t->start || read_uid(pid, &t->uid)) {
        snprintf(err, errlen, "no process %ld", pid);
        return -1;
    }
    if (n > 0) {
        t->exe[n] = '\0';
        t->is_node = exe_is_node(t->exe);
    }
    /* Our connection goes to our own 127.0.0.1: in another network
     * namespace, the port we checked is not the one we would reach. */
    char mine[64] = "", theirs[64] = "";
    snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
    ssize_t a = readlink("/proc/self/ns/net", mine, sizeof mine - 1), b = readlink(path, theirs, sizeof theirs - 1);
    t->other_netns = a <= 0 || b <= 0 || a != b || memcmp(mine, theirs, (size_t)a);
    /* NODE_OPTIONS first: the command line wins, as in node. */
    scan_node_options(pid, t);
    scan_cmdline(pid, t);
    return 0;
}

/* Whether a listener on this local address (hex, as /proc/net/tcp{,6}
 * shows it) receives a connection to 127.0.0.1: bound to 127.0.0.1 or to
 * the wildcard, in IPv4 or as a dual-stack or v4-mapped IPv6 socket. One
 * on another address (10.0.0.5, ::1) shares the port number but is never
 * what our connection reaches. */
static bool reaches_loopback(const char *addr, size_t len)
{
    static const char *const reach[] = {
        "0100007F", "00000000",
        "00000000000000000000000000000000", "0000000000000000FFFF00000100007F",
    };
    for (size_t i = 0; i < sizeof reach / sizeof *reach; i++)
        if (strlen(reach[i]) == len && !strncasecmp(addr, reach[i], len)) return true;
    return false;
}

static unsigned long listener_in(const char *path, int port)
{
    FILE *f = fopen(path, "re");
    if (!f) return 0;
    char line[512];
    unsigned long found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char local[64], remote[64];
        unsigned state;
        unsigned long inode;
        /* sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode */
        if (sscanf(line, "%*s %63s %63s %x %*s %*s %*s %*s %*s %lu", local, remote, &state, &inode) != 4) continue;
        const char *colon = strrchr(local, ':');
        if (state == 0x0A && colon && strtol(colon + 1, NULL, 16) == port && reaches_loopback(local, (size_t)(colon - local)))
            found = inode;
    }
    fclose(f);
    return found;
}

unsigned long target_listener(long pid, int port)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/net/tcp", pid);
    unsigned long inode = listener_in(path, port);
    snprintf(path, sizeof path, "/proc/%ld/net/tcp6", pid);
    return inode ? inode : listener_in(path, port);
}

bool target_holds_socket(long pid, unsigned long inode)
{
    char dir[64], want[64], link[64], path[320];
    snprintf(dir, sizeof dir, "/proc/%ld/fd", pid);
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    DIR *d = opendir(dir);
    if (!d) return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n > 0) { link[n] = '\0'; found = !strcmp(link, want); }
    }
    closedir(d);
    return found;
}

static int by_value(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

long *target_node_pids(size_t *n)
{
    *n = 0;
    DIR *d = opendir("/proc");
    if (!d) return NULL;
    size_t cap = 64;
    long *pids = malloc(cap * sizeof *pids);
    struct dirent *e;
    while (pids && (e = readdir(d))) {
        char *end, path[300], exe[256];
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        snprintf(path, sizeof path, "/proc/%ld/exe", pid);
        ssize_t len = readlink(path, exe, sizeof exe - 1);
        if (len <= 0) continue;
        exe[len] = '\0';
        if (!exe_is_node(exe)) continue;
        if (*n == cap) {
            long *more = realloc(pids, (cap *= 2) * sizeof *pids);
            if (!more) break;
            pids = more;
        }
        pids[(*n)++] = pid;
    }
    closedir(d);
    if (pids) qsort(pids, *n, sizeof *pids, by_value);
    return pids;
}
