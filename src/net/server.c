/* The registrar's server driver: worker threads, each with its own UDP sockets (SO_REUSEPORT,
 * steered by source), an epoll loop and recvmmsg/sendmmsg batches, and one store writer thread
 * that commits every worker's change sets in groups. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "net_int.h"
#include "registrar/registrar_int.h"
#include "sipreg/server.h"
#include "store/writer.h"

#define RX_BATCH 64
#define RX_BUF   65536
#define TX_MAX   128              /* replies sent in one sendmmsg round */
#define TX_BUF   (256 * 1024)     /* their bytes; at least one reply of any size (65535) */
#define STOP_EV  UINT32_MAX       /* epoll data of the stop eventfd */
#define INBOX_EV (UINT32_MAX - 1) /* of the worker's writer inbox */
#define DRAIN_MS 5000             /* what a stopping worker waits for its changes' commits */
#define PURGE_MS 1000             /* between the writer's purges of expired bindings */

struct worker {
    struct sipreg_server *srv;
    pthread_t thread;
    unsigned id;
    int epfd;
    int fds[SIPREG_SERVER_LISTEN_MAX];
    struct sipreg_netaddr local[SIPREG_SERVER_LISTEN_MAX];
    size_t nfds;
    struct sipreg_registrar *reg;
    struct sipreg_store *reader; /* NULL: the registrar reads the server's store */
    char *mem;                   /* receive buffers, then the send buffer */
    /* counters: written by the worker alone, read by anyone */
    _Atomic uint64_t rx, tx, dropped;
    uint64_t n_rx, n_tx, n_dropped; /* the worker's own copies */
    /* replies of the batch being sent */
    char *txbuf;
    size_t txused, ntx;
    struct sipreg__out out[TX_MAX];
    uint8_t out_sock[TX_MAX];
    struct sipreg__out scratch[TX_MAX];
};

struct sipreg_server {
    unsigned nworkers;
    size_t nlisten;
    struct sipreg_netaddr local[SIPREG_SERVER_LISTEN_MAX]; /* bound addresses */
    struct worker *w;
    struct sipreg_registrar_shared *shared;
    struct sipreg_store *store; /* the writer's */
    struct sipreg__writer *writer;
    bool no_writer; /* the workers flush their own changes */
    int stop_fd;
    bool steering;
    bool started;
    unsigned nthreads; /* threads running (started and not joined) */
    sipreg_server_log_fn on_log;
    void *log_ud;
};

static void logm(const struct sipreg_server *srv, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logm(const struct sipreg_server *srv, int level, const char *fmt, ...)
{
    if (!srv->on_log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    srv->on_log(level, line, srv->log_ud);
}

/* ---- output: every reply of a batch, in one sendmmsg per socket ---- */

static void tx_flush(struct worker *w)
{
    if (!w->ntx)
        return;
    for (size_t s = 0; s < w->nfds; s++) {
        const struct sipreg__out *v = w->out;
        size_t n = w->ntx;
        if (w->nfds > 1) {
            /* the replies leaving from socket s, in order */
            n = 0;
            for (size_t i = 0; i < w->ntx; i++)
                if (w->out_sock[i] == s)
                    w->scratch[n++] = w->out[i];
            v = w->scratch;
        }
        if (!n)
            continue;
        size_t sent = sipreg__udp_send_batch(w->fds[s], v, n);
        w->n_tx += sent;
        w->n_dropped += n - sent;
    }
    w->ntx = 0;
    w->txused = 0;
}

/* The socket a reply leaves from: the one its request came in on (RFC 3581 §4: NATs expect the
 * reply from the address they sent to), else one of the destination's family; -1 when none. */
static int reply_sock(const struct worker *w, const struct sipreg_netaddr *local,
                      const struct sipreg_netaddr *to)
{
    for (size_t i = 0; i < w->nfds; i++)
        if (sipreg_netaddr_eq(&w->local[i], local))
            return (int)i;
    for (size_t i = 0; i < w->nfds; i++)
        if (w->local[i].family == to->family)
            return (int)i;
    return -1;
}

static void send_out(struct worker *w)
{
    for (;;) {
        if (w->ntx == TX_MAX)
            tx_flush(w);
        size_t n;
        struct sipreg_netaddr to, local;
        int err = sipreg_registrar_pull(w->reg, w->txbuf + w->txused, TX_BUF - w->txused, &n, &to,
                                        &local);
        if (err == SIPREG_ENOSPC && w->ntx) {
            /* no room left behind the replies gathered: send them, then take it again */
            tx_flush(w);
            continue;
        }
        if (err)
            break; /* SIPREG_ENOENT: none left */
        int s = reply_sock(w, &local, &to);
        if (s < 0) {
            w->n_dropped++;
            continue;
        }
        w->out[w->ntx] = (struct sipreg__out){w->txbuf + w->txused, n, to};
        w->out_sock[w->ntx] = (uint8_t)s;
        w->ntx++;
        w->txused += n;
    }
    tx_flush(w);
}

static void publish(struct worker *w)
{
    atomic_store_explicit(&w->rx, w->n_rx, memory_order_relaxed);
    atomic_store_explicit(&w->tx, w->n_tx, memory_order_relaxed);
    atomic_store_explicit(&w->dropped, w->n_dropped, memory_order_relaxed);
}

/* ---- the worker loop ---- */

/* Hands the change sets the registrar decided to the writer; one the writer cannot queue is
 * answered at once (500, Retry-After). */
static void hand_over(struct worker *w, sipreg_time now)
{
    for (struct sipreg__wjob *j = sipreg__registrar_take_jobs(w->reg), *next; j; j = next) {
        next = j->next;
        if (sipreg__writer_submit(w->srv->writer, w->id, j) != 0) {
            sipreg__wjob_fail(j, SIPREG_EBUSY);
            sipreg__registrar_complete(w->reg, j, now);
        }
    }
}

/* Answers the changes the writer has made durable (or failed). */
static void collect(struct worker *w)
{
    sipreg_time now = sipreg__mono_ms();
    for (struct sipreg__wjob *j = sipreg__writer_take(w->srv->writer, w->id), *next; j; j = next) {
        next = j->next;
        if (j->err && j->err != SIPREG_EORDER && j->err != SIPREG_ELIMIT && j->err != SIPREG_EINVAL)
            logm(w->srv, SIPREG_SERVER_LOG_ERROR, "store write failed (%s): answered 500",
                 sipreg_strerror(j->err));
        sipreg__registrar_complete(w->reg, j, now);
    }
    send_out(w);
}

/* A stopping worker still answers what it handed to the writer, for a while. */
static void drain(struct worker *w)
{
    int fd = sipreg__writer_inbox_fd(w->srv->writer, w->id);
    sipreg_time until = sipreg__mono_ms() + DRAIN_MS;
    while (sipreg__registrar_pending(w->reg)) {
        sipreg_time now = sipreg__mono_ms();
        if (now >= until)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)(until - now)) > 0)
            collect(w);
    }
    publish(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct sipreg_server *srv = w->srv;
    struct sipreg__dgram dg[RX_BATCH];
    char *mem = w->mem;
    w->txbuf = mem + (size_t)RX_BATCH * RX_BUF;
    for (int i = 0; i < RX_BATCH; i++)
        dg[i] = (struct sipreg__dgram){mem + (size_t)i * RX_BUF, RX_BUF, 0, {0}};
    for (;;) {
        sipreg_time now = sipreg__mono_ms();
        sipreg_time next = sipreg_registrar_next_timeout(w->reg);
        int timeout = next < 0      ? 1000
                      : next <= now ? 0
                                    : (int)(next - now > 1000 ? 1000 : next - now);
        struct epoll_event evs[SIPREG_SERVER_LISTEN_MAX + 1];
        int nev = epoll_wait(w->epfd, evs, SIPREG_SERVER_LISTEN_MAX + 1, timeout);
        if (nev < 0 && errno != EINTR) {
            logm(srv, SIPREG_SERVER_LOG_ERROR, "worker %u: epoll_wait: %s", w->id, strerror(errno));
            break;
        }
        bool stop = false;
        for (int e = 0; e < nev; e++) {
            uint32_t idx = evs[e].data.u32;
            if (idx == STOP_EV) {
                stop = true;
                continue;
            }
            if (idx == INBOX_EV) {
                collect(w);
                publish(w);
                continue;
            }
            /* drain the socket in batches; the changes of each batch go to the writer */
            for (int round = 0; round < 16; round++) {
                int got = sipreg__udp_recv(w->fds[idx], dg, RX_BATCH);
                if (got <= 0)
                    break;
                now = sipreg__mono_ms();
                int64_t wall = sipreg__wall_ms();
                for (int i = 0; i < got; i++) {
                    if (!dg[i].len) {
                        w->n_dropped++;
                        continue;
                    }
                    w->n_rx++;
                    int err = sipreg_registrar_receive(w->reg, dg[i].buf, dg[i].len, &dg[i].from,
                                                       &w->local[idx], now, wall);
                    if (err)
                        logm(srv, SIPREG_SERVER_LOG_ERROR, "worker %u: %s", w->id,
                             sipreg_strerror(err));
                }
                if (srv->no_writer) {
                    int err = sipreg_registrar_flush(w->reg, now);
                    if (err)
                        logm(srv, SIPREG_SERVER_LOG_ERROR, "store commit failed (%s): answered 500",
                             sipreg_strerror(err));
                } else {
                    hand_over(w, now);
                }
                send_out(w);
                publish(w);
                if (got < RX_BATCH)
                    break;
            }
        }
        if (stop) {
            if (!srv->no_writer)
                drain(w);
            break;
        }
        now = sipreg__mono_ms();
        if (now >= sipreg_registrar_next_timeout(w->reg)) {
            int err = sipreg_registrar_timeout(w->reg, now, sipreg__wall_ms());
            if (err)
                logm(srv, SIPREG_SERVER_LOG_ERROR, "worker %u: timers: %s", w->id,
                     sipreg_strerror(err));
            send_out(w);
            publish(w);
        }
    }
    return NULL;
}

/* ---- life cycle ---- */

/* Opens worker k's socket on every listen address and its epoll set. */
static int open_sockets(struct sipreg_server *srv, struct worker *w,
                        const struct sipreg_server_cfg *cfg)
{
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0) {
        logm(srv, SIPREG_SERVER_LOG_ERROR, "cannot create an epoll set: %s", strerror(errno));
        return SIPREG_EIO;
    }
    for (size_t i = 0; i < cfg->nlisten; i++) {
        /* every worker binds the address the first one got, so that port 0 means one port */
        const struct sipreg_netaddr *a = w->id ? &srv->local[i] : &cfg->listen[i];
        int fd = sipreg__udp_open(a, srv->nworkers > 1);
        if (fd < 0) {
            char s[SIPREG_NETADDR_STRLEN];
            sipreg_netaddr_format(&cfg->listen[i], s, sizeof s);
            logm(srv, SIPREG_SERVER_LOG_ERROR, "cannot listen on %s: %s", s, strerror(errno));
            return fd;
        }
        w->fds[w->nfds++] = fd;
        int err = sipreg__udp_local(fd, &w->local[i]);
        if (err) {
            logm(srv, SIPREG_SERVER_LOG_ERROR, "cannot read a socket's address: %s",
                 strerror(errno));
            return err;
        }
        if (!w->id)
            srv->local[i] = w->local[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
            return SIPREG_EIO;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = STOP_EV};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, srv->stop_fd, &ev) != 0)
        return SIPREG_EIO;
    return 0;
}

/* Steers each listen address's datagrams by source: all or nothing, since the registrars' state
 * is made per worker only when every group steers. */
static bool attach_steering(struct sipreg_server *srv)
{
    uint32_t seed;
    if (RAND_bytes((unsigned char *)&seed, sizeof seed) != 1) {
        logm(srv, SIPREG_SERVER_LOG_WARN,
             "source steering unavailable (no random seed): per-source state shared by the "
             "workers");
        return false;
    }
    for (size_t i = 0; i < srv->nlisten; i++)
        if (sipreg__udp_steer(srv->w[0].fds[i], srv->local[i].family, srv->nworkers, seed) != 0) {
            logm(srv, SIPREG_SERVER_LOG_WARN,
                 "source steering unavailable (%s): per-source state shared by the workers",
                 strerror(errno));
            return false;
        }
    return true;
}

int sipreg_server_create(struct sipreg_server **out, const struct sipreg_server_cfg *cfg)
{
    *out = NULL;
    if (!cfg || !cfg->nlisten || cfg->nlisten > SIPREG_SERVER_LISTEN_MAX || !cfg->listen ||
        cfg->workers > SIPREG_SERVER_WORKERS_MAX)
        return SIPREG_EINVAL;
    for (size_t i = 0; i < cfg->nlisten; i++)
        if (cfg->listen[i].transport != SIPREG_TRANSPORT_UDP ||
            (cfg->listen[i].family != 4 && cfg->listen[i].family != 6))
            return SIPREG_EINVAL;
    struct sipreg_server *srv = sipreg_calloc(1, sizeof *srv);
    if (!srv)
        return SIPREG_ENOMEM;
    srv->nworkers = cfg->workers ? cfg->workers : 1;
    srv->nlisten = cfg->nlisten;
    srv->on_log = cfg->on_log;
    srv->log_ud = cfg->log_ud;
    srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    srv->w = sipreg_calloc(srv->nworkers, sizeof *srv->w);
    int err = SIPREG_ENOMEM;
    if (!srv->w)
        goto fail;
    for (unsigned k = 0; k < srv->nworkers; k++) {
        srv->w[k].srv = srv;
        srv->w[k].id = k;
        srv->w[k].epfd = -1;
    }
    if (srv->stop_fd < 0) {
        err = SIPREG_EIO;
        goto fail;
    }
    for (size_t i = 0; i < cfg->nlisten; i++)
        for (size_t j = 0; j < i; j++)
            if (cfg->listen[i].port && sipreg_netaddr_eq(&cfg->listen[i], &cfg->listen[j])) {
                /* its sockets would join the first one's reuseport group, twice as many as
                 * there are workers, and steering would reach only some of the workers */
                char s[SIPREG_NETADDR_STRLEN];
                sipreg_netaddr_format(&cfg->listen[i], s, sizeof s);
                logm(srv, SIPREG_SERVER_LOG_ERROR, "listen address %s given twice", s);
                err = SIPREG_EINVAL;
                goto fail;
            }
    /* the sockets first, so that a busy port is reported before anything else; worker k's
     * socket is number k of each address's reuseport group, as steering expects */
    for (unsigned k = 0; k < srv->nworkers; k++)
        if ((err = open_sockets(srv, &srv->w[k], cfg)) != 0)
            goto fail;
    srv->steering = srv->nworkers > 1 && !cfg->no_steering && attach_steering(srv);

    struct sipreg_registrar_cfg rc = cfg->registrar;
    size_t tracker = rc.tracker_capacity ? rc.tracker_capacity : 65536;
    /* Steered, every worker keeps the state of its own sources and only the per-user limiter is
     * shared. Otherwise one set of limits and replay state for all workers: a peer spread over
     * them by the kernel must not get each limit once per worker, nor replay a nonce once per
     * worker. */
    rc.source_local = srv->steering;
    rc.tracker_capacity = tracker * srv->nworkers;
    err = sipreg_registrar_shared_create(&srv->shared, &rc);
    if (err) {
        logm(srv, SIPREG_SERVER_LOG_ERROR, "cannot start the registrar: %s", sipreg_strerror(err));
        goto fail;
    }
    rc.tracker_capacity = tracker;
    rc.shared = srv->shared;
    rc.local = srv->local;
    rc.nlocal = srv->nlisten;
    srv->store = cfg->registrar.store;
    srv->no_writer = cfg->no_writer;
    for (unsigned k = 0; k < srv->nworkers; k++) {
        struct worker *w = &srv->w[k];
        if (cfg->open_reader && (err = cfg->open_reader(cfg->reader_ud, k, &w->reader)) != 0) {
            w->reader = NULL;
            logm(srv, SIPREG_SERVER_LOG_ERROR, "cannot open the store for worker %u: %s", k,
                 sipreg_strerror(err));
            goto fail;
        }
        rc.store = w->reader ? w->reader : srv->store;
        err = sipreg_registrar_create(&srv->w[k].reg, &rc);
        if (!err && !cfg->no_writer)
            sipreg__registrar_use_writer(srv->w[k].reg);
        /* the worker's buffers now, so that no thread starts without them */
        if (!err && !(srv->w[k].mem = sipreg_malloc((size_t)RX_BATCH * RX_BUF + TX_BUF)))
            err = SIPREG_ENOMEM;
        if (err) {
            logm(srv, SIPREG_SERVER_LOG_ERROR, "cannot start the registrar: %s",
                 sipreg_strerror(err));
            goto fail;
        }
    }
    *out = srv;
    return 0;
fail:
    sipreg_server_destroy(srv);
    return err;
}

void sipreg_server_stop(struct sipreg_server *srv)
{
    /* a write on an eventfd: async-signal-safe; the count stays non-zero and every worker's
     * level-triggered epoll set reports it until the server is destroyed */
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(srv->stop_fd, &one, sizeof one);
    } while (n < 0 && errno == EINTR);
}

int sipreg_server_join(struct sipreg_server *srv)
{
    for (unsigned k = 0; k < srv->nthreads; k++)
        pthread_join(srv->w[k].thread, NULL);
    srv->nthreads = 0;
    /* it commits everything submitted before it stops; answers nobody collects are freed */
    sipreg__writer_destroy(srv->writer);
    srv->writer = NULL;
    sipreg_time now = sipreg__mono_ms();
    for (unsigned k = 0; srv->no_writer && k < srv->nworkers; k++)
        if (srv->w[k].reg)
            (void)sipreg_registrar_flush(srv->w[k].reg, now);
    return 0;
}

/* The store writer, each worker's inbox in its epoll set. */
static int start_writer(struct sipreg_server *srv)
{
    struct sipreg__writer_cfg wc = {
        .store = srv->store, .ninbox = srv->nworkers, .purge_every_ms = PURGE_MS};
    int err = sipreg__writer_create(&srv->writer, &wc);
    if (err) {
        logm(srv, SIPREG_SERVER_LOG_ERROR, "cannot start the store writer: %s",
             sipreg_strerror(err));
        return err == SIPREG_ENOMEM ? err : SIPREG_EIO;
    }
    for (unsigned k = 0; k < srv->nworkers; k++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = INBOX_EV};
        if (epoll_ctl(srv->w[k].epfd, EPOLL_CTL_ADD, sipreg__writer_inbox_fd(srv->writer, k),
                      &ev) != 0) {
            logm(srv, SIPREG_SERVER_LOG_ERROR, "cannot watch the store writer: %s",
                 strerror(errno));
            sipreg__writer_destroy(srv->writer);
            srv->writer = NULL;
            return SIPREG_EIO;
        }
    }
    return 0;
}

int sipreg_server_start(struct sipreg_server *srv)
{
    if (srv->started)
        return SIPREG_EINVAL;
    srv->started = true;
    int err = srv->no_writer ? 0 : start_writer(srv);
    if (err)
        return err;
    for (; srv->nthreads < srv->nworkers; srv->nthreads++)
        if (pthread_create(&srv->w[srv->nthreads].thread, NULL, worker_main,
                           &srv->w[srv->nthreads]) != 0) {
            logm(srv, SIPREG_SERVER_LOG_ERROR, "cannot start worker threads");
            sipreg_server_stop(srv);
            sipreg_server_join(srv);
            return SIPREG_EIO;
        }
    return 0;
}

int sipreg_server_run(struct sipreg_server *srv)
{
    int err = sipreg_server_start(srv);
    if (err)
        return err;
    return sipreg_server_join(srv);
}

void sipreg_server_destroy(struct sipreg_server *srv)
{
    if (!srv)
        return;
    if (srv->nthreads) {
        sipreg_server_stop(srv);
        sipreg_server_join(srv);
    }
    for (unsigned k = 0; srv->w && k < srv->nworkers; k++) {
        struct worker *w = &srv->w[k];
        sipreg_registrar_destroy(w->reg);
        sipreg_store_close(w->reader);
        sipreg_free(w->mem);
        for (size_t i = 0; i < w->nfds; i++)
            close(w->fds[i]);
        if (w->epfd >= 0)
            close(w->epfd);
    }
    sipreg_registrar_shared_destroy(srv->shared);
    if (srv->stop_fd >= 0)
        close(srv->stop_fd);
    sipreg_free(srv->w);
    sipreg_free(srv);
}

int sipreg_server_local(const struct sipreg_server *srv, size_t i, struct sipreg_netaddr *out)
{
    if (i >= srv->nlisten)
        return SIPREG_ENOENT;
    *out = srv->local[i];
    return 0;
}

int sipreg_server_stats(const struct sipreg_server *srv, int worker,
                        struct sipreg_server_stats *out)
{
    if (worker < -1 || worker >= (int)srv->nworkers)
        return SIPREG_ENOENT;
    memset(out, 0, sizeof *out);
    for (unsigned k = 0; k < srv->nworkers; k++) {
        if (worker >= 0 && (unsigned)worker != k)
            continue;
        struct worker *w = &srv->w[k];
        out->rx += atomic_load_explicit(&w->rx, memory_order_relaxed);
        out->tx += atomic_load_explicit(&w->tx, memory_order_relaxed);
        out->dropped += atomic_load_explicit(&w->dropped, memory_order_relaxed);
    }
    return 0;
}

unsigned sipreg_server_workers(const struct sipreg_server *srv)
{
    return srv->nworkers;
}

int sipreg_server_steering(const struct sipreg_server *srv)
{
    return srv->steering;
}
