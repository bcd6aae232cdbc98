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

#endif
