/* sipreg server driver: the registrar on UDP, with worker threads, their sockets and loops. */
#ifndef SIPREG_SERVER_H
#define SIPREG_SERVER_H

#include "sipreg/core.h"
#include "sipreg/registrar.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The driver owns what the sans-I/O registrar leaves out: sockets, threads and clocks. Each of
 * its N workers is a thread with its own registrar, its own socket on every listen address
 * (SO_REUSEPORT when N > 1) and its own epoll loop. A worker reads datagrams in batches
 * (recvmmsg), hands each to its registrar, passes the change sets its registrar decided to the
 * store writer, then sends every reply it can in one system call per socket (sendmmsg), each
 * from the socket its request came in on (RFC 3581 §4).
 *
 * Store writes. One writer thread applies the change sets of every worker to the store and
 * commits them in groups: whatever arrived while the previous commit (its fsync) ran is the
 * next batch, so the batch grows with the load and nothing waits at low load. A REGISTER that
 * changes bindings is answered when its change is durable, by the worker that received it (the
 * writer wakes it through an eventfd); a failed commit is answered 500 (Retry-After). The writer
 * also purges expired bindings. Workers never write the store and never wait for a commit:
 * they read it (credentials, queries) through their own store object, see open_reader.
 *
 * Steering by source. With several workers the driver attaches a classic BPF program to each
 * listen address's reuseport group, so that every datagram of one source (an IPv4 address, or
 * an IPv6 /64: the bytes sipreg_auth_bind_addr() keeps) reaches the same worker, whatever its
 * port and whichever listen address of that family it is sent to. Whatever the registrar keeps
 * per source is then only ever touched by that worker, and each worker keeps its own:
 * - the nonce-count replay tracker: nonces are bound to the source they were sent to, and one
 *   drawn from elsewhere is refused before the tracker is consulted, so the uses of a nonce all
 *   arrive at the worker that issued it;
 * - the per-source failure limiter and the user-at-a-source records: keyed by the source;
 * - the per-source reply budgets: keyed by the source.
 * Only the per-user failure limiter stays shared (behind a mutex): a user may be guessed at from
 * any source. When the program cannot be attached (an old kernel, a seccomp filter), the kernel
 * spreads datagrams by its own hash of address and port, one source reaches several workers,
 * and all of that state is shared by the workers instead (logged as a warning at creation);
 * see sipreg_registrar_shared_create(). A source spread over workers must not get each limit
 * once per worker, nor replay a nonce once per worker. Hashing by address also means a single
 * source cannot use more than one worker, which is the intent: one client, one queue.
 *
 * Memory: with glibc, raise M_TRIM_THRESHOLD (mallopt) in a process running this driver, as
 * `sipreg serve` does: with the writer and the workers busy on several CPUs, each trim of a
 * thread's heap (SQLite frees about 100 KB after every savepoint) makes the kernel interrupt
 * every CPU to flush its TLB, which multiplied the CPU per registration by 6 in a measurement.
 * The library leaves process-wide settings to the program.
 *
 * Threads: create, start, join, run and destroy are called from one controlling thread.
 * sipreg_server_stop() may be called from any thread or a signal handler. The stats and local
 * address getters may be called from any thread at any time between create and destroy. The
 * registrar's on_event callback and the log callback run on the worker threads (several at once
 * when there are several workers) and, during create, on the calling thread. */

struct sipreg_server;

/* Levels of driver messages, as sipreg_registrar_outcome_level() numbers them. */
enum sipreg_server_log_level {
    SIPREG_SERVER_LOG_ERROR = 0,
    SIPREG_SERVER_LOG_WARN = 1,
    SIPREG_SERVER_LOG_INFO = 2,
    SIPREG_SERVER_LOG_DEBUG = 3,
};

/* A driver message: a socket that cannot be opened (naming the address), a store commit that
 * failed, a worker error. `msg` is one line without a newline, valid during the call. */
typedef void (*sipreg_server_log_fn)(int level, const char *msg, void *ud);

#define SIPREG_SERVER_LISTEN_MAX  16
#define SIPREG_SERVER_WORKERS_MAX 64

struct sipreg_server_cfg {
    /* The registrar's configuration, given to each worker's registrar (which copies what it
     * keeps). Its `local`/`nlocal` (the bound addresses) and `shared` are set by the driver and
     * ignored here; `tracker_capacity` is per worker. `store` is the store the writer thread
     * writes (from start to join: the caller leaves it alone meanwhile). */
    struct sipreg_registrar_cfg registrar;
    /* The store each worker reads (credentials, queries): open_reader(reader_ud, worker, &s)
     * opens it when the server is created (a connection of the worker's own to the same SQLite
     * file, say; it is closed with the server). NULL: the workers read registrar.store itself,
     * which must then be safe for several threads: the memory store is, a SQLite store is not
     * (sipreg_store_open_locked makes it so, at the cost of readers waiting for commits). */
    int (*open_reader)(void *reader_ud, unsigned worker, struct sipreg_store **out);
    void *reader_ud;
    /* No writer thread: each worker applies and commits its own changes after each batch
     * (sipreg_registrar_flush) through the store it reads, and purges. For bindings in memory,
     * whose commits cost nothing: a hand-over to a writer would only add its wake-ups. The
     * stores must then be safe for it (the memory store is; views of one, see open_reader). */
    bool no_writer;
    const struct sipreg_netaddr *listen; /* UDP addresses to bind (port 0: any), 1 to */
    size_t nlisten;                      /* SIPREG_SERVER_LISTEN_MAX; copied */
    unsigned workers;                    /* 1 (0) to SIPREG_SERVER_WORKERS_MAX */
    bool no_steering; /* leave datagrams to the kernel's hash of address and port */
    sipreg_server_log_fn on_log;
    void *log_ud;
};

/* Counts since creation. */
struct sipreg_server_stats {
    uint64_t rx;      /* datagrams received and handed to the registrar */
    uint64_t tx;      /* datagrams sent */
    uint64_t dropped; /* datagrams received truncated, and replies not sent (socket buffer
                       * full, no socket of the destination's family, refused by the kernel) */
};

/* Creates the server: the registrars' shared state, one registrar per worker, and every
 * socket, bound now so that a busy port is reported before any thread runs (the failing address
 * is logged at level error: "cannot listen on udp:127.0.0.1:5060: Address already in use").
 * Nothing runs before sipreg_server_start(). 0, SIPREG_EINVAL (cfg), SIPREG_EIO (a socket),
 * SIPREG_ENOMEM, SIPREG_ECRYPTO, or a registrar creation error (logged too); SIPREG_EINVAL also
 * for an address given twice. */
SIPREG_API int sipreg_server_create(struct sipreg_server **out,
                                    const struct sipreg_server_cfg *cfg);

/* Starts the store writer and the worker threads and returns. 0, or SIPREG_EIO when a thread
 * cannot be started (the ones started are stopped and joined again), SIPREG_EINVAL when already
 * started. */
SIPREG_API int sipreg_server_start(struct sipreg_server *srv);

/* Asks every worker to stop after the batch it is handling. Async-signal-safe, callable from any
 * thread, any number of times; before start, the workers stop as soon as they start. */
SIPREG_API void sipreg_server_stop(struct sipreg_server *srv);

/* Waits until every worker has stopped (each first answers the changes it handed to the writer,
 * waiting up to 5 s for them), then stops the writer thread once it has committed everything
 * submitted. 0 (also when the server was not started). */
SIPREG_API int sipreg_server_join(struct sipreg_server *srv);

/* sipreg_server_start() then sipreg_server_join(): blocks until sipreg_server_stop(). */
SIPREG_API int sipreg_server_run(struct sipreg_server *srv);

/* Stops and joins the workers if needed, then frees everything and closes the sockets. NULL is
 * ok. */
SIPREG_API void sipreg_server_destroy(struct sipreg_server *srv);

/* The address listen address `i` is bound to (the port chosen by the system for port 0).
 * 0, SIPREG_ENOENT when i >= nlisten. */
SIPREG_API int sipreg_server_local(const struct sipreg_server *srv, size_t i,
                                   struct sipreg_netaddr *out /* OUT */);

/* The counters of worker `worker` (0 to workers - 1), or of all workers with -1. Each counter is
 * read atomically; they are published after each batch. 0, SIPREG_ENOENT (no such worker). */
SIPREG_API int sipreg_server_stats(const struct sipreg_server *srv, int worker,
                                   struct sipreg_server_stats *out /* OUT */);

/* The number of workers. */
SIPREG_API unsigned sipreg_server_workers(const struct sipreg_server *srv);

/* 1 when datagrams are steered by source (see above), 0 when the kernel's hash spreads them
 * (one worker, no_steering, or the program could not be attached). */
SIPREG_API int sipreg_server_steering(const struct sipreg_server *srv);

#ifdef __cplusplus
}
#endif
#endif
