/* The I/O drivers' socket layer: the only library code that makes socket system calls. */
#ifndef SIPREG_NET_INT_H
#define SIPREG_NET_INT_H

#include <stddef.h>

#include "sipreg/core.h"

struct sockaddr;
struct sockaddr_storage;

/* Converts between socket addresses and sipreg_netaddr (transport set to `transport`). */
int sipreg__sockaddr_to_netaddr(const struct sockaddr *sa, uint8_t transport,
                                struct sipreg_netaddr *out);
/* Returns the socklen to use. */
unsigned sipreg__netaddr_to_sockaddr(const struct sipreg_netaddr *a, struct sockaddr_storage *out);

/* Opens a non-blocking UDP socket bound to `a` (port 0: any). With `reuseport`, several sockets
 * may bind the same address (one per worker; the kernel spreads peers over them). Large buffers
 * are requested. Returns the fd, or a negative SIPREG_E* with errno kept. */
int sipreg__udp_open(const struct sipreg_netaddr *a, int reuseport);

/* The address a socket is bound to (after binding to port 0, say). */
int sipreg__udp_local(int fd, struct sipreg_netaddr *out);

/* One datagram for batched receive. */
struct sipreg__dgram {
    char *buf;
    size_t cap;
    size_t len;
    struct sipreg_netaddr from;
};

/* Receives up to n datagrams without blocking (recvmmsg). Returns how many entries of v were
 * filled (0 when none is waiting), or a negative SIPREG_E*. A truncated datagram (larger than
 * cap) or one from an unusable address has len 0: skip it. */
int sipreg__udp_recv(int fd, struct sipreg__dgram *v, size_t n);

/* Sends one datagram; 0, or SIPREG_EAGAIN when the socket buffer is full, SIPREG_EIO otherwise. */
int sipreg__udp_send(int fd, const void *buf, size_t len, const struct sipreg_netaddr *to);

/* One datagram to send in a batch: len bytes at buf, to `to`. */
struct sipreg__out {
    const char *buf;
    size_t len;
    struct sipreg_netaddr to;
};

/* Sends v[0..n) from one socket without blocking, with as few system calls as the kernel allows
 * (sendmmsg). A datagram the kernel refuses (unreachable, too large) is skipped; when the socket
 * buffer is full the rest are not sent. Returns how many were sent; the others are lost, as any
 * datagram may be. */
size_t sipreg__udp_send_batch(int fd, const struct sipreg__out *v, size_t n);

/* Attaches a classic BPF reuseport program to the reuseport group of `fd` (a bound UDP socket of
 * `family` 4 or 6): a datagram goes to the group's socket number hash(source) mod `nsocks`, in
 * the order the sockets were bound, where the source is the IPv4 address or the IPv6 /64 (the
 * bytes sipreg_auth_bind_addr() keeps) and the hash is keyed with `seed`. 0, or SIPREG_EIO with
 * errno kept (a kernel without SO_ATTACH_REUSEPORT_CBPF). */
int sipreg__udp_steer(int fd, int family, unsigned nsocks, uint32_t seed);

/* ---- TCP and the client driver's helpers (tcp.c) ---- */

/* Starts a non-blocking TCP connection to `to`. Returns the fd (connecting or connected), or a
 * negative SIPREG_E*. */
int sipreg__tcp_connect(const struct sipreg_netaddr *to);
/* For a socket started by sipreg__tcp_connect(): 0 once connected, SIPREG_EAGAIN while still
 * connecting, SIPREG_EIO when the connection failed. */
int sipreg__tcp_connected(int fd);
/* Sends without blocking: bytes written (0 when the socket buffer is full), or SIPREG_EIO. */
long sipreg__tcp_send(int fd, const void *buf, size_t len);
/* Reads without blocking: bytes read (> 0), 0 when nothing is waiting, SIPREG_EIO on an error or
 * when the peer closed. */
long sipreg__tcp_recv(int fd, void *buf, size_t cap);
/* The local address of any socket, with `transport` set. */
int sipreg__sock_local(int fd, uint8_t transport, struct sipreg_netaddr *out);
/* Resolves `host` with the system resolver (getaddrinfo; blocking): up to `cap` IPv4/IPv6
 * addresses in the resolver's order, each with `port` and `transport`. The count, or
 * SIPREG_ENOENT. */
int sipreg__resolve(const char *host, uint16_t port, uint8_t transport, struct sipreg_netaddr *out,
                    size_t cap);
/* The source address the system would use to reach `to` (port 0), without sending anything. */
int sipreg__route_source(const struct sipreg_netaddr *to, struct sipreg_netaddr *out);
/* Monotonic clock in ms. */
int64_t sipreg__mono_ms(void);
/* Unix time in ms. */
int64_t sipreg__wall_ms(void);

#endif
