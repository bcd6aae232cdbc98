/* UDP sockets for the drivers: bind, batched non-blocking receive and send, reuseport steering. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_int.h"

int sipreg__sockaddr_to_netaddr(const struct sockaddr *sa, uint8_t transport,
                                struct sipreg_netaddr *out)
{
    memset(out, 0, sizeof *out);
    out->transport = transport;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        out->family = 4;
        memcpy(out->ip, &s4->sin_addr, 4);
        out->port = ntohs(s4->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(&s6->sin6_addr, mapped, 12) == 0) {
            /* an IPv4 peer on a dual-stack socket is an IPv4 peer */
            out->family = 4;
            memcpy(out->ip, (const uint8_t *)&s6->sin6_addr + 12, 4);
        } else {
            out->family = 6;
            memcpy(out->ip, &s6->sin6_addr, 16);
        }
        out->port = ntohs(s6->sin6_port);
        return 0;
    }
    return SIPREG_EINVAL;
}

unsigned sipreg__netaddr_to_sockaddr(const struct sipreg_netaddr *a, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (a->family == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)out;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a->ip, 4);
        s4->sin_port = htons(a->port);
        return sizeof *s4;
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)out;
    s6->sin6_family = AF_INET6;
    memcpy(&s6->sin6_addr, a->ip, 16);
    s6->sin6_port = htons(a->port);
    return sizeof *s6;
}

int sipreg__udp_open(const struct sipreg_netaddr *a, int reuseport)
{
    int fd =
        socket(a->family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return SIPREG_EIO;
    int one = 1;
    if (a->family == 6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        goto fail;
    /* room for bursts: a registrar that keeps up still sees thousands of datagrams at once */
    int size = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    struct sockaddr_storage ss;
    unsigned sl = sipreg__netaddr_to_sockaddr(a, &ss);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0)
        goto fail;
    return fd;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return SIPREG_EIO;
}

int sipreg__udp_local(int fd, struct sipreg_netaddr *out)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return SIPREG_EIO;
    return sipreg__sockaddr_to_netaddr((struct sockaddr *)&ss, SIPREG_TRANSPORT_UDP, out);
}

#define BATCH 64

int sipreg__udp_recv(int fd, struct sipreg__dgram *v, size_t n)
{
    struct mmsghdr mm[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_storage from[BATCH];
    if (n > BATCH)
        n = BATCH;
    for (size_t i = 0; i < n; i++) {
        iov[i] = (struct iovec){v[i].buf, v[i].cap};
        memset(&mm[i], 0, sizeof mm[i]);
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
        mm[i].msg_hdr.msg_name = &from[i];
        mm[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int got;
    do {
        got = recvmmsg(fd, mm, (unsigned)n, MSG_DONTWAIT, NULL);
    } while (got < 0 && errno == EINTR);
    if (got < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : SIPREG_EIO;
    for (int i = 0; i < got; i++) {
        v[i].len = mm[i].msg_len;
        /* larger than any message we accept: drop, never parse a fragment */
        if ((mm[i].msg_hdr.msg_flags & MSG_TRUNC) ||
            sipreg__sockaddr_to_netaddr((struct sockaddr *)&from[i], SIPREG_TRANSPORT_UDP,
                                        &v[i].from) != 0)
            v[i].len = 0;
    }
    return got;
}

int sipreg__udp_send(int fd, const void *buf, size_t len, const struct sipreg_netaddr *to)
{
    struct sockaddr_storage ss;
    unsigned sl = sipreg__netaddr_to_sockaddr(to, &ss);
    ssize_t n;
    do {
        n = sendto(fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? SIPREG_EAGAIN : SIPREG_EIO;
    return 0;
}

size_t sipreg__udp_send_batch(int fd, const struct sipreg__out *v, size_t n)
{
    struct mmsghdr mm[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_storage to[BATCH];
    size_t sent = 0;
    while (n) {
        size_t k = n < BATCH ? n : BATCH;
        for (size_t i = 0; i < k; i++) {
            iov[i] = (struct iovec){(void *)(uintptr_t)v[i].buf, v[i].len};
            memset(&mm[i], 0, sizeof mm[i]);
            mm[i].msg_hdr.msg_iov = &iov[i];
            mm[i].msg_hdr.msg_iovlen = 1;
            mm[i].msg_hdr.msg_name = &to[i];
            mm[i].msg_hdr.msg_namelen = sipreg__netaddr_to_sockaddr(&v[i].to, &to[i]);
        }
        size_t i = 0;
        while (i < k) {
            int got = sendmmsg(fd, mm + i, (unsigned)(k - i), MSG_DONTWAIT);
            if (got > 0) {
                i += (size_t)got;
                sent += (size_t)got;
                continue;
            }
            if (got < 0 && errno == EINTR)
                continue;
            /* a full socket buffer will not empty while we loop: the rest is lost, as datagrams
             * are; any other error belongs to the first datagram alone (its destination) */
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return sent;
            i++;
        }
        v += k;
        n -= k;
    }
    return sent;
}

int sipreg__udp_steer(int fd, int family, unsigned nsocks, uint32_t seed)
{
    /* Reuseport programs see the datagram from its UDP payload on; SKF_NET_OFF reaches the IP
     * header. The hash mixes the source address (IPv4: bytes 12-15; IPv6: the /64 in bytes 8-15)
     * with a per-server seed, so that no one can aim a set of addresses at one worker, then folds
     * the high bits down before the modulo (a product's low bits depend only on low bits). */
    struct sock_filter v4[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_K, seed),
        BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1u),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
        BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, nsocks),
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    struct sock_filter v6[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 8),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_K, seed),
        BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1u),
        BPF_STMT(BPF_ST, 0),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12),
        BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 0),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
        BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x85ebca6bu),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
        BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, nsocks),
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    if (!nsocks) {
        errno = EINVAL;
        return SIPREG_EIO;
    }
    struct sock_fprog prog = family == 4 ? (struct sock_fprog){sizeof v4 / sizeof v4[0], v4}
                                         : (struct sock_fprog){sizeof v6 / sizeof v6[0], v6};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) != 0)
        return SIPREG_EIO;
    return 0;
}
