/* sipreg registration client (RFC 3261 §10.2): a sans-I/O core holding any number of
 * registrations, and a small socket driver on top of it for programs that want one. */
#ifndef SIPREG_CLIENT_H
#define SIPREG_CLIENT_H

#include "sipreg/auth.h"
#include "sipreg/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== The sans-I/O core ====
 *
 * The core takes bytes and time in (sipreg_client_receive, sipreg_client_timeout) and gives
 * datagrams (sipreg_client_pull), a deadline (sipreg_client_next_timeout) and state-change
 * events out. It never reads a clock, touches a socket or sleeps. Not thread-safe: one client is
 * used by one thread at a time. */

struct sipreg_client;
struct sipreg_reg;

enum sipreg_reg_state {
    SIPREG_REG_UNREGISTERED = 0,  /* not registered (initially, and after end) */
    SIPREG_REG_REGISTERING = 1,   /* a REGISTER is on its way, no binding confirmed yet */
    SIPREG_REG_REGISTERED = 2,    /* the registrar confirmed the binding; refreshes keep it */
    SIPREG_REG_UNREGISTERING = 3, /* the Expires: 0 REGISTER of end() is on its way */
    SIPREG_REG_ERROR = 4,         /* the last attempt failed; `next` says when it is retried */
};

/* Name of a state ("registered"); "" out of range. */
SIPREG_API const char *sipreg_reg_state_name(enum sipreg_reg_state s);

/* A state change (or the outcome of a refresh, where the state stays Registered). Everything
 * it points to is valid during the callback only. */
struct sipreg_reg_event {
    struct sipreg_reg *reg;
    void *ud; /* the registration's sipreg_reg_cfg.ud */
    enum sipreg_reg_state state;
    enum sipreg_reg_state old_state;
    /* The last final response: status 200..699, 0 when none (yet), 408 for a local timeout.
     * `reason` is its reason phrase, or a local text ("no response", "authentication failed",
     * "connection lost"). */
    int status;
    struct sipreg_str reason;
    /* Why the state is Error (or why an unregistration ended without confirmation): 0, or
     * SIPREG_EAUTH (challenge not satisfied, 403, or refused by the realm/min_alg/require_qop
     * policy: `reason` is then sipreg_auth_refusal_text()), SIPREG_ETIMEDOUT (no response from any
     * address), SIPREG_EIO (connection lost), SIPREG_ELIMIT (423 loop), SIPREG_EPARSE
     * (unusable response), SIPREG_EINVAL (other rejection: see status), SIPREG_ENOMEM. */
    int error;
    uint32_t expires; /* seconds granted by the registrar for our contact; 0 when none */
    sipreg_time next; /* when the next refresh (Registered) or retry (Error) is due; -1 none */
    struct sipreg_str contact;                /* the contact URI registered (or last sent) */
    const struct sipreg_netaddr *public_addr; /* learned from received/rport; NULL if none */
};

typedef void (*sipreg_client_event_fn)(const struct sipreg_reg_event *ev, void *ud);

/* Client configuration. Zero fields take the defaults given. */
struct sipreg_client_cfg {
    /* Called synchronously from sipreg_client_timeout()/sipreg_client_receive() on every state
     * change and after every refresh. It may call sipreg_reg_begin()/sipreg_reg_end() but must
     * not destroy a registration or the client. */
    sipreg_client_event_fn on_event;
    void *ud;
    const char *user_agent; /* User-Agent header; NULL: "sipreg/<version>"; "" for none */
    sipreg_time t1, t2, t4; /* transaction timers, ms (RFC 3261 defaults 500, 4000, 5000) */
    sipreg_time retry_min;  /* first retry after a failure: 5000 ms; doubles per failure */
    sipreg_time retry_max;  /* cap of that backoff: 300000 ms */
    sipreg_time auth_retry; /* least wait after an authentication failure: 300000 ms */
    /* Seed of the generator of Call-IDs, tags, branches, cnonces and jitter. 0: a random key
     * from libcrypto (production); a fixed value gives reproducible tests. */
    uint64_t seed;
};

/* How the contact follows NAT. */
enum sipreg_nat_mode {
    SIPREG_NAT_NONE = 0,    /* the contact uses the local address */
    SIPREG_NAT_REWRITE = 1, /* an automatic contact uses the public address learned from
                             * received/rport: when it changes, register the new contact and
                             * remove the stale one in the same REGISTER */
};

enum sipreg_keepalive {
    SIPREG_KEEPALIVE_CRLF = 0,    /* "\r\n\r\n" (RFC 5626 §4.4.1 on TCP; a NAT ping on UDP) */
    SIPREG_KEEPALIVE_OPTIONS = 1, /* UDP: an OPTIONS request to the registrar; no answer makes
                                   * the registration refresh at once */
};

/* One registration. Strings are copied by sipreg_reg_create(). */
struct sipreg_reg_cfg {
    const char *registrar; /* registrar URI: "sip:example.com", "sip:[2001:db8::1]:5070" or
                              "sip:host;transport=tcp" (required) */
    const char *aor;       /* address of record, To and From: "sip:alice@example.com" (required) */
    const char *user;      /* digest username; NULL: the AOR's user part */
    const char *password;  /* either the password ... */
    const char *ha1;       /* ... or a hex HA1 of the hash family of ha1_alg */
    enum sipreg_auth_alg ha1_alg;
    /* What challenges are answered (see struct sipreg_auth_client_policy); a 401/407 with
     * nothing acceptable left is an authentication failure whose event reason says why. */
    const char *realm;            /* only this realm, exactly (case-sensitive); NULL: any */
    enum sipreg_auth_alg min_alg; /* the weakest algorithm answered; MD5 (0): any */
    bool require_qop;             /* refuse RFC 2069 challenges; implied above MD5 */
    /* Contact URI ("sip:alice@192.0.2.7:5062"); NULL: automatic, "sip:USER@ADDR:PORT" with the
     * local address the driver reports (or the public one, SIPREG_NAT_REWRITE). */
    const char *contact;
    uint32_t expires;  /* requested expiry in seconds: 3600 (raised by a 423's Min-Expires) */
    bool no_refresh;   /* register once: no automatic refresh (the binding simply expires) */
    uint8_t transport; /* SIPREG_TRANSPORT_UDP or _TCP; the URI's transport param wins */
    enum sipreg_nat_mode nat;
    uint32_t keepalive; /* seconds between keep-alives while registered; 0: none */
    enum sipreg_keepalive keepalive_kind;
    void *ud;
};

/* Creates a client. 0, SIPREG_EINVAL (bad timers), SIPREG_ENOMEM, SIPREG_ECRYPTO. */
SIPREG_API int sipreg_client_create(struct sipreg_client **out,
                                    const struct sipreg_client_cfg *cfg);
/* Frees the client, its registrations and queued output; sends nothing (see shutdown). */
SIPREG_API void sipreg_client_destroy(struct sipreg_client *c);

/* Tells the client the local address requests of this transport and family leave from (what Via
 * and an automatic contact carry). A registration with its own (sipreg_reg_set_local) wins.
 * Registrations that wait for an address are sent at the next timeout; a registered one whose
 * automatic contact changes re-registers at once and removes the stale contact. 0/EINVAL. */
SIPREG_API int sipreg_client_set_local(struct sipreg_client *c, const struct sipreg_netaddr *local);

/* The budget of answers to requests, per client: a token bucket of SIPREG_CLIENT_ANSWER_BURST
 * answers, refilled at SIPREG_CLIENT_ANSWER_RATE per second. A registrar probes far less often
 * (an OPTIONS every few seconds at most); anything faster is a flood, whatever its source. */
#define SIPREG_CLIENT_ANSWER_RATE  10
#define SIPREG_CLIENT_ANSWER_BURST 10

/* Feeds one whole message (a datagram, or one framed stream message) that arrived from `from`
 * (its transport included) on the local address `local` (may be NULL: not checked). Responses
 * are matched to their transaction. Requests (OPTIONS keep-alive probes...) are answered
 * (OPTIONS 200, others 501; ACK dropped) only when `from` is, transport included, the current
 * registrar address of a registration that is begun, bound or has a request in flight, and
 * only within the answer budget above: other requests are dropped silently, so that a forged
 * source address cannot make the client a reflector or an amplifier. Bare CRLF keep-alives and
 * garbage are dropped. Returns 0 (also for dropped input) or SIPREG_ENOMEM. */
SIPREG_API int sipreg_client_receive(struct sipreg_client *c, const char *buf, size_t len,
                                     const struct sipreg_netaddr *from,
                                     const struct sipreg_netaddr *local, sipreg_time now);

/* Runs everything due at `now`: retransmissions, transaction timeouts, sends, refreshes, retries,
 * keep-alives. 0 or SIPREG_ENOMEM (the failed step is retried later). */
SIPREG_API int sipreg_client_timeout(struct sipreg_client *c, sipreg_time now);

/* When sipreg_client_timeout() has work next: a time (possibly in the past: call it now), or -1
 * when nothing is scheduled. Output waiting in the queue does not count: pull it. */
SIPREG_API sipreg_time sipreg_client_next_timeout(const struct sipreg_client *c);

/* Takes the next datagram to send: copies it into out (cap bytes), sets *n, *to (transport
 * included) and *local (the address it must leave from, transport/family; port 0 when the
 * client was not told one). Returns 0 with *n = 0 when nothing is queued, SIPREG_ENOSPC (the
 * message stays queued) when cap is too small. `local` may be NULL. */
SIPREG_API int sipreg_client_pull(struct sipreg_client *c, char *out, size_t cap, size_t *n,
                                  struct sipreg_netaddr *to, struct sipreg_netaddr *local);

/* A stream connection the driver should close: a transaction over it went unanswered, so it may
 * be half-open (a crashed peer, a NAT that forgot it). Returns 1 and sets *remote while there are
 * such requests (each once), 0 otherwise. The next message to that address opens a new one. */
SIPREG_API int sipreg_client_pull_reset(struct sipreg_client *c, struct sipreg_netaddr *remote);

/* A stream connection to `remote` failed or closed: transactions on it fail at once (the next
 * address is tried), and registrations bound through it re-register after 1-5 s (random). */
SIPREG_API void sipreg_client_transport_lost(struct sipreg_client *c, sipreg_time now,
                                             const struct sipreg_netaddr *remote);

/* Ends every registration (sipreg_reg_end). The driver then runs the client until
 * sipreg_client_pending() is 0 or its own deadline passes. */
SIPREG_API void sipreg_client_shutdown(struct sipreg_client *c);
/* Registrations still unregistering (an end() not yet answered). */
SIPREG_API size_t sipreg_client_pending(const struct sipreg_client *c);

/* Adds a registration in state Unregistered; nothing is sent before sipreg_reg_begin().
 * If the registrar host is an IP address, it is the target; otherwise the caller resolves the
 * host and calls sipreg_reg_set_targets(). 0, SIPREG_EINVAL (missing or malformed URI, both or
 * neither of password/ha1 with a user... see cfg), SIPREG_ENOMEM. */
SIPREG_API int sipreg_reg_create(struct sipreg_client *c, struct sipreg_reg **out,
                                 const struct sipreg_reg_cfg *cfg);
/* Removes and frees a registration at once, sending nothing (end() it first). NULL is ok. */
SIPREG_API void sipreg_reg_destroy(struct sipreg_reg *r);

/* A registration that is due to send but has no registrar address yet (its name did not
 * resolve), or NULL. Each is returned once per due time: the driver resolves the name, then
 * calls sipreg_reg_set_targets() or sipreg_reg_targets_failed(). Call after
 * sipreg_client_timeout(). */
SIPREG_API struct sipreg_reg *sipreg_client_want_targets(struct sipreg_client *c);
/* The registrar's name of `r` did not resolve: `r` goes to Error (an event is sent, with
 * `reason`) and is due again after the usual backoff, when sipreg_client_want_targets()
 * returns it again. */
SIPREG_API void sipreg_reg_targets_failed(struct sipreg_reg *r, sipreg_time now, int error,
                                          struct sipreg_str reason);

/* The registrar's addresses in order of preference (at most 8 are kept; transport and port
 * included). A timeout moves to the next one. 0 or SIPREG_EINVAL (n == 0). */
SIPREG_API int sipreg_reg_set_targets(struct sipreg_reg *r, const struct sipreg_netaddr *addrs,
                                      size_t n);
/* The address in use now; SIPREG_ENOENT when none is known. */
SIPREG_API int sipreg_reg_target(const struct sipreg_reg *r, struct sipreg_netaddr *out);
/* The local address of this registration's own transport (a TCP connection). 0/EINVAL. */
SIPREG_API int sipreg_reg_set_local(struct sipreg_reg *r, const struct sipreg_netaddr *local);
/* Registration parameters derived from the cfg: the registrar host (without brackets), its port
 * (0: default) and transport, as the driver needs them to resolve it. Valid until destroy. */
SIPREG_API void sipreg_reg_registrar(const struct sipreg_reg *r, struct sipreg_str *host,
                                     uint16_t *port, uint8_t *transport);

/* Starts registering (sent at the next timeout) and, unless no_refresh, keeps the binding
 * refreshed, retrying after failures, until end(). */
SIPREG_API void sipreg_reg_begin(struct sipreg_reg *r);
/* Unregisters this contact (REGISTER with Expires: 0, sent at the next timeout) when a binding
 * may exist; otherwise the registration just goes Unregistered. Stops refreshes and retries. */
SIPREG_API void sipreg_reg_end(struct sipreg_reg *r);

/* The current state, as an event would report it. */
SIPREG_API enum sipreg_reg_state sipreg_reg_state(const struct sipreg_reg *r);
SIPREG_API void sipreg_reg_info(const struct sipreg_reg *r, struct sipreg_reg_event *out);

/* ==== The driver: sockets, a resolver and a poll loop over the core ==== */

struct sipreg_client_io;

struct sipreg_client_io_cfg {
    struct sipreg_client_cfg client;
    /* Local UDP address to bind, "ADDR:PORT" ("0.0.0.0:5062", "[::]:0"); NULL: an ephemeral
     * port on both 0.0.0.0 and [::]. TCP connections take their port from the system. */
    const char *local;
};

/* A descriptor to watch: readable always, writable when `want_write`. */
struct sipreg_io_fd {
    int fd;
    bool want_write;
};

/* Creates the driver and its core; sockets are opened as registrations need them.
 * 0, SIPREG_EINVAL (bad local address), SIPREG_EIO, SIPREG_ENOMEM, SIPREG_ECRYPTO. */
SIPREG_API int sipreg_client_io_create(struct sipreg_client_io **out,
                                       const struct sipreg_client_io_cfg *cfg);
/* Frees everything, sending nothing. NULL is ok. */
SIPREG_API void sipreg_client_io_destroy(struct sipreg_client_io *io);
/* The core client, for sipreg_reg_* calls. */
SIPREG_API struct sipreg_client *sipreg_client_io_client(struct sipreg_client_io *io);

/* Creates a registration and resolves its registrar with the system resolver (blocking
 * getaddrinfo; an IP address needs no lookup). Every address of a family the driver can use is
 * a target; the port defaults to 5060. 0, SIPREG_EINVAL, SIPREG_ENOENT (the name does not
 * resolve), SIPREG_EIO (no socket), SIPREG_ENOMEM. */
SIPREG_API int sipreg_client_io_reg_add(struct sipreg_client_io *io,
                                        const struct sipreg_reg_cfg *cfg, struct sipreg_reg **out);

/* Fills up to `cap` descriptors to watch; returns how many there are (may exceed cap). */
SIPREG_API size_t sipreg_client_io_fds(struct sipreg_client_io *io, struct sipreg_io_fd *fds,
                                       size_t cap);
/* Milliseconds until sipreg_client_io_process() must run again even without I/O (0: now), or
 * -1 for no deadline. */
SIPREG_API int sipreg_client_io_timeout_ms(struct sipreg_client_io *io);
/* Reads whatever is waiting on every descriptor, runs the core's timers, sends its output.
 * Never blocks. 0 or SIPREG_ENOMEM. */
SIPREG_API int sipreg_client_io_process(struct sipreg_client_io *io);
/* A blocking loop over poll(): returns 0 once *stop becomes non-zero (a signal handler may set
 * it) or sipreg_client_io_break() is called; SIPREG_EIO if poll fails otherwise. */
SIPREG_API int sipreg_client_io_run(struct sipreg_client_io *io, const volatile int *stop);
/* Makes sipreg_client_io_run() return after the current step (e.g. from an event callback). */
SIPREG_API void sipreg_client_io_break(struct sipreg_client_io *io);
/* Ends every registration and runs until each is answered or `timeout_ms` passes. Returns 0
 * when all were answered, SIPREG_ETIMEDOUT otherwise. */
SIPREG_API int sipreg_client_io_shutdown(struct sipreg_client_io *io, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
