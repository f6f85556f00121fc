/* np_peer_uid on real loopback connections, IPv4 and IPv6, through
 * sock_diag and through /proc/net/tcp alone; as root also from a child
 * that became another uid before connecting. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "common/peeruid.h"

#define OTHER_UID 12345

/* A listener on the loopback of family; its address in *ss. */
static int listener(int family, struct sockaddr_storage *ss, socklen_t *len)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
        v4->sin_family = AF_INET;
        v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof *v4;
    } else {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
        v6->sin6_family = AF_INET6;
        v6->sin6_addr = in6addr_loopback;
        *len = sizeof *v6;
    }
    if (bind(fd, (struct sockaddr *)ss, *len) || listen(fd, 4) || getsockname(fd, (struct sockaddr *)ss, len)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Connects to ss as uid (-1: as we are) from a child; returns the accepted
 * socket. The child stays connected until *done_fd is closed. */
static int accept_from(int lfd, const struct sockaddr_storage *ss, socklen_t len, int uid, pid_t *child, int *done_fd)
{
    int up[2], down[2]; /* child to parent: connected; parent to child: done */
    if (pipe(up)) return -1;
    if (pipe(down)) { close(up[0]); close(up[1]); return -1; }
    *child = fork();
    if (*child == 0) {
        close(up[0]);
        close(down[1]);
        if (uid >= 0 && (setgid((gid_t)uid) || setuid((uid_t)uid))) _exit(2);
        int c = socket(ss->ss_family, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (const struct sockaddr *)ss, len)) _exit(3);
        char b;
        (void)!write(up[1], "x", 1);
        (void)!read(down[0], &b, 1);
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    char b;
    int fd = read(up[0], &b, 1) == 1 ? accept(lfd, NULL, NULL) : -1;
    close(up[0]);
    *done_fd = down[1];
    return fd;
}

static void check_family(int family, int uid)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int lfd = listener(family, &ss, &len);
    if (lfd < 0) {
        printf("(no %s loopback here: skipped)\n", family == AF_INET ? "IPv4" : "IPv6");
        return;
    }
    pid_t child;
    int done = -1;
    int fd = accept_from(lfd, &ss, len, uid, &child, &done);
    uid_t want = uid >= 0 ? (uid_t)uid : geteuid(), got = (uid_t)-1, via_proc = (uid_t)-1;
    char err[200] = "";
    CHECK(fd >= 0 && np_peer_uid(fd, &got, err, sizeof err) == 0 && got == want, "family %d uid %d: got %d (%s)", family,
          (int)want, (int)got, err);
    CHECK(fd >= 0 && np_peer_uid_from_proc(fd, &via_proc, err, sizeof err) == 0 && via_proc == want,
          "family %d uid %d through /proc: got %d (%s)", family, (int)want, (int)via_proc, err);
    close(done);
    int status;
    waitpid(child, &status, 0);
    if (fd >= 0) close(fd);
    close(lfd);
}

static void check_not_a_socket(void)
{
    uid_t uid;
    char err[200];
    int p[2];
    CHECK(pipe(p) == 0 && np_peer_uid(p[0], &uid, err, sizeof err) == -1 && err[0], "a pipe: %s", err);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    check_family(AF_INET, -1);
    check_family(AF_INET6, -1);
    if (geteuid() == 0) {
        check_family(AF_INET, OTHER_UID);
        check_family(AF_INET6, OTHER_UID);
    } else {
        printf("(not root: no connection from another uid)\n");
    }
    check_not_a_socket();
    return END();
}
