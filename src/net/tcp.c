/* TCP connections (RFC 3261 §18 stream transport) and the client driver's socket helpers:
 * resolver, route source address, monotonic clock. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net_int.h"

int sipreg__tcp_connect(const struct sipreg_netaddr *to)
{
    int fd =
        socket(to->family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return SIPREG_EIO;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_storage ss;
    unsigned sl = sipreg__netaddr_to_sockaddr(to, &ss);
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return SIPREG_EIO;
    }
    return fd;
}

int sipreg__tcp_connected(int fd)
{
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        return SIPREG_EIO;
    if (soerr) {
        errno = soerr;
        return SIPREG_EIO;
    }
    struct sockaddr_storage ss;
    sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        return 0;
    return errno == ENOTCONN ? SIPREG_EAGAIN : SIPREG_EIO;
}

long sipreg__tcp_send(int fd, const void *buf, size_t len)
{
    ssize_t n;
    do {
        n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : SIPREG_EIO;
    return (long)n;
}

long sipreg__tcp_recv(int fd, void *buf, size_t cap)
{
    ssize_t n;
    do {
        n = recv(fd, buf, cap, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : SIPREG_EIO;
    return n == 0 ? SIPREG_EIO : (long)n;
}

int sipreg__sock_local(int fd, uint8_t transport, struct sipreg_netaddr *out)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return SIPREG_EIO;
    return sipreg__sockaddr_to_netaddr((struct sockaddr *)&ss, transport, out);
}

int sipreg__resolve(const char *host, uint16_t port, uint8_t transport, struct sipreg_netaddr *out,
                    size_t cap)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = transport == SIPREG_TRANSPORT_UDP ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return SIPREG_ENOENT;
    size_t n = 0;
    for (struct addrinfo *ai = res; ai && n < cap; ai = ai->ai_next) {
        struct sipreg_netaddr a;
        if (sipreg__sockaddr_to_netaddr(ai->ai_addr, transport, &a) != 0)
            continue;
        a.port = port;
        bool dup = false;
        for (size_t i = 0; i < n && !dup; i++)
            dup = sipreg_netaddr_eq(&out[i], &a);
        if (!dup)
            out[n++] = a;
    }
    freeaddrinfo(res);
    return n ? (int)n : SIPREG_ENOENT;
}

int sipreg__route_source(const struct sipreg_netaddr *to, struct sipreg_netaddr *out)
{
    /* connecting a UDP socket sends nothing but makes the kernel pick the route and source */
    int fd = socket(to->family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return SIPREG_EIO;
    struct sockaddr_storage ss;
    unsigned sl = sipreg__netaddr_to_sockaddr(to, &ss);
    int err = connect(fd, (struct sockaddr *)&ss, sl) == 0
                  ? sipreg__sock_local(fd, SIPREG_TRANSPORT_UDP, out)
                  : SIPREG_EIO;
    close(fd);
    if (!err)
        out->port = 0;
    return err;
}

int64_t sipreg__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sipreg__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
