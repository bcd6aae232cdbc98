/* The registration client's driver: UDP sockets and TCP connections (RFC 3261 §18), the system
 * resolver and a poll() loop around the sans-I/O core. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "client_int.h"
#include "net/net_int.h"

#define CONN_MAX   16
#define STREAM_MAX 65536 /* one framed message on a connection */
#define OUT_MAX    262144

struct conn {
    int fd;
    struct sipreg_netaddr peer;
    bool connecting;
    char *out; /* bytes waiting for the socket */
    size_t outlen, outcap;
    char *in; /* bytes of a message not yet complete */
    size_t inlen;
};

struct sipreg_client_io {
    struct sipreg_client *c;
    struct sipreg_netaddr bind[2]; /* IPv4, IPv6 */
    bool can[2];
    int udp[2];
    struct sipreg_netaddr udp_local[2];
    struct conn conns[CONN_MAX];
    size_t nconn;
    bool brk;
    char buf[65536];
};

static int fam_ix(uint8_t family)
{
    return family == 6 ? 1 : 0;
}

int sipreg_client_io_create(struct sipreg_client_io **out, const struct sipreg_client_io_cfg *cfg)
{
    *out = NULL;
    struct sipreg_client_io *io = sipreg_calloc(1, sizeof *io);
    if (!io)
        return SIPREG_ENOMEM;
    io->udp[0] = io->udp[1] = -1;
    int err = 0;
    if (cfg->local) {
        struct sipreg_netaddr a;
        if (sipreg_netaddr_parse(&a, cfg->local, 0) != 0 || a.transport != SIPREG_TRANSPORT_UDP) {
            err = SIPREG_EINVAL;
            goto fail;
        }
        io->bind[fam_ix(a.family)] = a;
        io->can[fam_ix(a.family)] = true;
    } else {
        io->bind[0] = (struct sipreg_netaddr){.transport = SIPREG_TRANSPORT_UDP, .family = 4};
        io->bind[1] = (struct sipreg_netaddr){.transport = SIPREG_TRANSPORT_UDP, .family = 6};
        io->can[0] = io->can[1] = true;
    }
    err = sipreg_client_create(&io->c, &cfg->client);
    if (err)
        goto fail;
    *out = io;
    return 0;
fail:
    sipreg_free(io);
    return err;
}

static void conn_close(struct sipreg_client_io *io, size_t i)
{
    struct conn *k = &io->conns[i];
    close(k->fd);
    sipreg_free(k->out);
    sipreg_free(k->in);
    io->conns[i] = io->conns[--io->nconn];
}

void sipreg_client_io_destroy(struct sipreg_client_io *io)
{
    if (!io)
        return;
    while (io->nconn)
        conn_close(io, io->nconn - 1);
    for (int i = 0; i < 2; i++)
        if (io->udp[i] >= 0)
            close(io->udp[i]);
    sipreg_client_destroy(io->c);
    sipreg_free(io);
}

struct sipreg_client *sipreg_client_io_client(struct sipreg_client_io *io)
{
    return io->c;
}

static int zero_ip(const struct sipreg_netaddr *a)
{
    static const uint8_t z[16];
    return memcmp(a->ip, z, a->family == 4 ? 4 : 16) == 0;
}

/* Opens the UDP socket of the family of `to` if needed, and tells the core the address requests
 * to `to` leave from. */
static int udp_ready(struct sipreg_client_io *io, const struct sipreg_netaddr *to)
{
    int ix = fam_ix(to->family);
    if (!io->can[ix])
        return SIPREG_EINVAL;
    if (io->udp[ix] < 0) {
        int fd = sipreg__udp_open(&io->bind[ix], 0);
        if (fd < 0)
            return fd;
        int err = sipreg__udp_local(fd, &io->udp_local[ix]);
        if (err) {
            close(fd);
            return err;
        }
        io->udp[ix] = fd;
    }
    struct sipreg_netaddr l = io->udp_local[ix];
    if (zero_ip(&l)) {
        /* bound to any address: Via and Contact need the one the packets really leave from */
        struct sipreg_netaddr src;
        if (sipreg__route_source(to, &src) == 0)
            memcpy(l.ip, src.ip, sizeof l.ip);
    }
    return sipreg_client_set_local(io->c, &l);
}

static struct conn *conn_find(struct sipreg_client_io *io, const struct sipreg_netaddr *peer)
{
    for (size_t i = 0; i < io->nconn; i++)
        if (sipreg_netaddr_eq(&io->conns[i].peer, peer))
            return &io->conns[i];
    return NULL;
}

static void conn_connected(struct sipreg_client_io *io, struct conn *k)
{
    k->connecting = false;
    struct sipreg_netaddr l;
    if (sipreg__sock_local(k->fd, SIPREG_TRANSPORT_TCP, &l) == 0)
        (void)sipreg_client_set_local(io->c, &l);
}

static int conn_open(struct sipreg_client_io *io, const struct sipreg_netaddr *peer,
                     struct conn **out)
{
    if (io->nconn == CONN_MAX)
        return SIPREG_ELIMIT;
    int fd = sipreg__tcp_connect(peer);
    if (fd < 0)
        return fd;
    struct conn *k = &io->conns[io->nconn++];
    memset(k, 0, sizeof *k);
    k->fd = fd;
    k->peer = *peer;
    k->connecting = true;
    if (sipreg__tcp_connected(fd) == 0)
        conn_connected(io, k);
    *out = k;
    return 0;
}

/* Gives `r` the addresses among `t` we can send from, and readies their sockets. */
static int targets_ready(struct sipreg_client_io *io, struct sipreg_reg *r,
                         const struct sipreg_netaddr *t, int n)
{
    struct sipreg_netaddr use[TARGETS_MAX];
    size_t m = 0;
    for (int i = 0; i < n && m < TARGETS_MAX; i++)
        if (io->can[fam_ix(t[i].family)])
            use[m++] = t[i];
    if (!m)
        return SIPREG_ENOENT;
    int err = sipreg_reg_set_targets(r, use, m);
    for (size_t i = 0; !err && i < m; i++) {
        if (use[i].transport == SIPREG_TRANSPORT_UDP)
            err = udp_ready(io, &use[i]);
    }
    if (!err && use[0].transport == SIPREG_TRANSPORT_TCP && !conn_find(io, &use[0])) {
        /* connect now: the first REGISTER needs the connection's local address */
        struct conn *k;
        err = conn_open(io, &use[0], &k);
    }
    return err;
}

/* Resolves the registrar's name of `r` (the system resolver, which may block). SIPREG_ENOENT
 * when it has no address we can use: the core retries later. */
static int resolve_reg(struct sipreg_client_io *io, struct sipreg_reg *r)
{
    struct sipreg_netaddr t[TARGETS_MAX];
    struct sipreg_str host;
    uint16_t port;
    uint8_t tr;
    char h[URI_MAX];
    sipreg_reg_registrar(r, &host, &port, &tr);
    if (host.len >= sizeof h)
        return SIPREG_EINVAL;
    memcpy(h, host.p, host.len);
    h[host.len] = 0;
    int n = sipreg__resolve(h, port ? port : 5060, tr, t, TARGETS_MAX);
    if (n <= 0)
        return SIPREG_ENOENT;
    return targets_ready(io, r, t, n);
}

int sipreg_client_io_reg_add(struct sipreg_client_io *io, const struct sipreg_reg_cfg *cfg,
                             struct sipreg_reg **out)
{
    struct sipreg_reg *r;
    int err = sipreg_reg_create(io->c, &r, cfg);
    if (err)
        return err;
    struct sipreg_netaddr t;
    if (sipreg_reg_target(r, &t) == 0) {
        /* an address literal: a family we cannot send from is a configuration error */
        err = targets_ready(io, r, &t, 1);
        if (err == SIPREG_ENOENT)
            err = SIPREG_EINVAL;
    } else {
        /* a name that does not resolve now (no network yet, say) is tried again when the
         * registration is due, with the core's backoff: a device keeps trying */
        err = resolve_reg(io, r);
        if (err == SIPREG_ENOENT)
            err = 0;
    }
    if (err) {
        sipreg_reg_destroy(r);
        return err;
    }
    *out = r;
    return 0;
}

size_t sipreg_client_io_fds(struct sipreg_client_io *io, struct sipreg_io_fd *fds, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < 2; i++) {
        if (io->udp[i] < 0)
            continue;
        if (n < cap)
            fds[n] = (struct sipreg_io_fd){io->udp[i], false};
        n++;
    }
    for (size_t i = 0; i < io->nconn; i++) {
        struct conn *k = &io->conns[i];
        if (n < cap)
            fds[n] = (struct sipreg_io_fd){k->fd, k->connecting || k->outlen > 0};
        n++;
    }
    return n;
}

int sipreg_client_io_timeout_ms(struct sipreg_client_io *io)
{
    sipreg_time next = sipreg_client_next_timeout(io->c);
    if (next < 0)
        return -1;
    sipreg_time d = next - sipreg__mono_ms();
    if (d <= 0)
        return 0;
    return d > 3600000 ? 3600000 : (int)d;
}

static void conn_lost(struct sipreg_client_io *io, size_t i)
{
    struct sipreg_netaddr peer = io->conns[i].peer;
    conn_close(io, i);
    sipreg_client_transport_lost(io->c, sipreg__mono_ms(), &peer);
}

/* Writes what the socket takes. 0, or SIPREG_EIO when the connection is gone. */
static int conn_flush(struct conn *k)
{
    while (!k->connecting && k->outlen) {
        long w = sipreg__tcp_send(k->fd, k->out, k->outlen);
        if (w < 0)
            return SIPREG_EIO;
        if (w == 0)
            break;
        memmove(k->out, k->out + w, k->outlen - (size_t)w);
        k->outlen -= (size_t)w;
    }
    return 0;
}

static int conn_queue(struct conn *k, const char *p, size_t len)
{
    if (k->outlen + len > OUT_MAX)
        return SIPREG_ELIMIT;
    if (k->outlen + len > k->outcap) {
        size_t cap = k->outcap ? k->outcap : 4096;
        while (cap < k->outlen + len)
            cap *= 2;
        char *q = sipreg_realloc(k->out, cap);
        if (!q)
            return SIPREG_ENOMEM;
        k->out = q;
        k->outcap = cap;
    }
    memcpy(k->out + k->outlen, p, len);
    k->outlen += len;
    return 0;
}

/* Reads a connection and feeds every whole message to the core. SIPREG_EIO: close it. */
static int conn_read(struct sipreg_client_io *io, struct conn *k)
{
    if (!k->in) {
        k->in = sipreg_malloc(STREAM_MAX);
        if (!k->in)
            return SIPREG_ENOMEM;
    }
    for (;;) {
        long got = sipreg__tcp_recv(k->fd, k->in + k->inlen, STREAM_MAX - k->inlen);
        if (got < 0)
            return SIPREG_EIO;
        if (got == 0)
            return 0;
        k->inlen += (size_t)got;
        for (;;) {
            size_t mlen;
            struct sipreg_perr why;
            int err = sipreg_msg_frame(k->in, k->inlen, NULL, &mlen, &why);
            if (err == SIPREG_EAGAIN) {
                if (k->inlen == STREAM_MAX)
                    return SIPREG_EIO; /* larger than any message we take */
                break;
            }
            if (err)
                return SIPREG_EIO; /* the framing is lost: only a new connection recovers */
            struct sipreg_netaddr local;
            if (sipreg__sock_local(k->fd, SIPREG_TRANSPORT_TCP, &local) != 0)
                return SIPREG_EIO;
            err = sipreg_client_receive(io->c, k->in, mlen, &k->peer, &local, sipreg__mono_ms());
            memmove(k->in, k->in + mlen, k->inlen - mlen);
            k->inlen -= mlen;
            if (err)
                return err;
        }
    }
}

static int send_out(struct sipreg_client_io *io)
{
    struct sipreg_netaddr dead;
    while (sipreg_client_pull_reset(io->c, &dead)) {
        struct conn *k = conn_find(io, &dead);
        if (k)
            conn_close(io, (size_t)(k - io->conns));
    }
    for (;;) {
        size_t n;
        struct sipreg_netaddr to, local;
        int err = sipreg_client_pull(io->c, io->buf, sizeof io->buf, &n, &to, &local);
        if (err || !n)
            return err;
        if (to.transport == SIPREG_TRANSPORT_UDP) {
            int ix = fam_ix(to.family);
            if (io->udp[ix] < 0 && udp_ready(io, &to) != 0)
                continue; /* no socket of that family: lost like a dropped datagram */
            (void)sipreg__udp_send(io->udp[ix], io->buf, n, &to);
            continue;
        }
        struct conn *k = conn_find(io, &to);
        if (!k && conn_open(io, &to, &k) != 0) {
            sipreg_client_transport_lost(io->c, sipreg__mono_ms(), &to);
            continue;
        }
        err = conn_queue(k, io->buf, n);
        if (err == SIPREG_ENOMEM)
            return err;
        if (err || conn_flush(k) != 0)
            conn_lost(io, (size_t)(k - io->conns));
    }
}

int sipreg_client_io_process(struct sipreg_client_io *io)
{
    int ret = 0;
    for (int i = 0; i < 2; i++) {
        if (io->udp[i] < 0)
            continue;
        for (int rounds = 0; rounds < 64; rounds++) {
            struct sipreg__dgram d = {io->buf, sizeof io->buf, 0, {0}};
            int got = sipreg__udp_recv(io->udp[i], &d, 1);
            if (got <= 0)
                break;
            if (d.len == 0)
                continue;
            int err = sipreg_client_receive(io->c, io->buf, d.len, &d.from, &io->udp_local[i],
                                            sipreg__mono_ms());
            if (err)
                ret = err;
        }
    }
    for (size_t i = 0; i < io->nconn;) {
        struct conn *k = &io->conns[i];
        int err = 0;
        if (k->connecting) {
            err = sipreg__tcp_connected(k->fd);
            if (err == SIPREG_EAGAIN) {
                i++;
                continue;
            }
            if (!err)
                conn_connected(io, k);
        }
        if (!err)
            err = conn_read(io, k);
        if (!err)
            err = conn_flush(k);
        if (err == SIPREG_ENOMEM)
            ret = err;
        if (err && err != SIPREG_ENOMEM) {
            conn_lost(io, i);
            continue;
        }
        i++;
    }
    sipreg_time now = sipreg__mono_ms();
    int err = sipreg_client_timeout(io->c, now);
    if (err)
        ret = err;
    /* registrations due without an address: resolve their registrar's name again */
    int resolved = 0;
    for (struct sipreg_reg *r; (r = sipreg_client_want_targets(io->c)) != NULL;) {
        err = resolve_reg(io, r);
        if (err == SIPREG_ENOENT)
            sipreg_reg_targets_failed(r, now, SIPREG_ENOENT,
                                      SIPREG_STR_LIT("cannot resolve the registrar's name"));
        else if (err)
            ret = err;
        else
            resolved = 1;
    }
    if (resolved && (err = sipreg_client_timeout(io->c, now)) != 0)
        ret = err;
    err = send_out(io);
    return err ? err : ret;
}

void sipreg_client_io_break(struct sipreg_client_io *io)
{
    io->brk = true;
}

/* One poll() of at most `max_ms` (-1: no limit) over every descriptor. */
static int wait_io(struct sipreg_client_io *io, int max_ms)
{
    struct sipreg_io_fd fds[2 + CONN_MAX];
    struct pollfd p[2 + CONN_MAX];
    size_t n = sipreg_client_io_fds(io, fds, 2 + CONN_MAX);
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pollfd){fds[i].fd, (short)(POLLIN | (fds[i].want_write ? POLLOUT : 0)), 0};
    int t = sipreg_client_io_timeout_ms(io);
    if (max_ms >= 0 && (t < 0 || t > max_ms))
        t = max_ms;
    if (poll(p, n, t) < 0 && errno != EINTR)
        return SIPREG_EIO;
    return 0;
}

int sipreg_client_io_run(struct sipreg_client_io *io, const volatile int *stop)
{
    io->brk = false;
    for (;;) {
        (void)sipreg_client_io_process(io);
        if ((stop && *stop) || io->brk)
            return 0;
        /* a signal may set *stop between the check and poll: never sleep long */
        if (wait_io(io, 500) != 0)
            return SIPREG_EIO;
    }
}

int sipreg_client_io_shutdown(struct sipreg_client_io *io, int timeout_ms)
{
    sipreg_client_shutdown(io->c);
    int64_t end = sipreg__mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        (void)sipreg_client_io_process(io);
        if (sipreg_client_pending(io->c) == 0) {
            (void)send_out(io);
            return 0;
        }
        int64_t left = end - sipreg__mono_ms();
        if (left <= 0)
            return SIPREG_ETIMEDOUT;
        if (wait_io(io, (int)left) != 0)
            return SIPREG_EIO;
    }
}
