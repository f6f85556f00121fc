#include "common/peeruid.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* The two ends of the connection, as the peer's socket sees them. */
struct ends {
    int family;
    unsigned char peer_addr[16], our_addr[16]; /* network order; 4 bytes for IPv4 */
    unsigned short peer_port, our_port;        /* host order */
};

static void take_end(const struct sockaddr_storage *ss, unsigned char addr[16], unsigned short *port)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
        memcpy(addr, &v4->sin_addr, 4);
        *port = ntohs(v4->sin_port);
    } else {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
        memcpy(addr, &v6->sin6_addr, 16);
        *port = ntohs(v6->sin6_port);
    }
}

static int read_ends(int fd, struct ends *e, char *err, size_t errlen)
{
    struct sockaddr_storage peer, ours;
    socklen_t pl = sizeof peer, ol = sizeof ours;
    if (getpeername(fd, (struct sockaddr *)&peer, &pl) || getsockname(fd, (struct sockaddr *)&ours, &ol)) {
        snprintf(err, errlen, "the connection's addresses: %s", strerror(errno));
        return -1;
    }
    if ((peer.ss_family != AF_INET && peer.ss_family != AF_INET6) || peer.ss_family != ours.ss_family) {
        snprintf(err, errlen, "not a TCP/IP connection");
        return -1;
    }
    memset(e, 0, sizeof *e);
    e->family = peer.ss_family;
    take_end(&peer, e->peer_addr, &e->peer_port);
    take_end(&ours, e->our_addr, &e->our_port);
    return 0;
}

/* ---- sock_diag netlink --------------------------------------------------- */

static int ask_netlink(const struct ends *e, uid_t *uid)
{
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0) return -1;
    /* The kernel answers within the call; the timeout only bounds a kernel
     * that would not. */
    struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
    setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req;
    memset(&req, 0, sizeof req);
    req.nlh.nlmsg_len = sizeof req;
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST;
    req.r.sdiag_family = (unsigned char)e->family;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = ~0U;
    /* The peer's socket: its source is the peer's end, its destination ours. */
    req.r.id.idiag_sport = htons(e->peer_port);
    req.r.id.idiag_dport = htons(e->our_port);
    memcpy(req.r.id.idiag_src, e->peer_addr, e->family == AF_INET ? 4 : 16);
    memcpy(req.r.id.idiag_dst, e->our_addr, e->family == AF_INET ? 4 : 16);
    req.r.id.idiag_cookie[0] = req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    long buf[1024];
    ssize_t n = -1;
    if (sendto(nl, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) == (ssize_t)sizeof req)
        n = recv(nl, buf, sizeof buf, 0);
    close(nl);
    const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
    if (n < 0 || !NLMSG_OK(h, (size_t)n) || h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
        h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
        return -1;
    const struct inet_diag_msg *m = NLMSG_DATA(h);
    *uid = (uid_t)m->idiag_uid;
    return 0;
}

/* ---- /proc/net/tcp ------------------------------------------------------- */

/* "0100007F:1F90" as /proc/net/tcp writes an address (the 32-bit words of
 * the address in host order, in hex) and a port. */
static void proc_end(const struct ends *e, const unsigned char addr[16], unsigned short port, char *out, size_t len)
{
    size_t words = e->family == AF_INET ? 1 : 4, n = 0;
    for (size_t w = 0; w < words; w++) {
        unsigned v;
        memcpy(&v, addr + 4 * w, 4);
        n += (size_t)snprintf(out + n, len - n, "%08X", v);
    }
    snprintf(out + n, len - n, ":%04X", port);
}

static int ask_proc(const struct ends *e, uid_t *uid)
{
    char local[48], remote[48], line[512];
    proc_end(e, e->peer_addr, e->peer_port, local, sizeof local);
    proc_end(e, e->our_addr, e->our_port, remote, sizeof remote);
    FILE *f = fopen(e->family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", "re");
    if (!f) return -1;
    int rc = -1;
    while (rc && fgets(line, sizeof line, f)) {
        char l[48], r[48];
        unsigned long u;
        /* sl local rem st tx:rx tr:when retrnsmt uid */
        if (sscanf(line, " %*s %47s %47s %*s %*s %*s %*s %lu", l, r, &u) == 3 && !strcmp(l, local) && !strcmp(r, remote)) {
            *uid = (uid_t)u;
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

int np_peer_uid(int fd, uid_t *uid, char *err, size_t errlen)
{
    struct ends e;
    if (read_ends(fd, &e, err, errlen)) return -1;
    if (ask_netlink(&e, uid) == 0 || ask_proc(&e, uid) == 0) return 0;
    snprintf(err, errlen, "the connecting socket was not found (sock_diag, /proc/net/tcp)");
    return -1;
}

int np_peer_uid_from_proc(int fd, uid_t *uid, char *err, size_t errlen)
{
    struct ends e;
    if (read_ends(fd, &e, err, errlen)) return -1;
    if (ask_proc(&e, uid) == 0) return 0;
    snprintf(err, errlen, "the connecting socket was not found in /proc/net/tcp");
    return -1;
}
