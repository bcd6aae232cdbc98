/* sipreg registrar: RFC 3261 §10.3 with digest authentication, sans-I/O. */
#ifndef SIPREG_REGISTRAR_H
#define SIPREG_REGISTRAR_H

#include "sipreg/auth.h"
#include "sipreg/core.h"
#include "sipreg/msg.h"
#include "sipreg/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What happened to one request, for logs and metrics: the broad kind. The outcome below says
 * exactly which. Slices are valid during the callback. */
enum sipreg_registrar_event_kind {
    SIPREG_REG_EV_REGISTERED = 1, /* a binding was added or refreshed */
    SIPREG_REG_EV_UNREGISTERED,   /* a binding was removed (expires 0, or Contact: *) */
    SIPREG_REG_EV_QUERY,          /* a REGISTER without Contact was answered */
    SIPREG_REG_EV_CHALLENGED,     /* 401 sent to a request without usable credentials */
    SIPREG_REG_EV_AUTH_FAILED,    /* credentials were wrong (reason says why) */
    SIPREG_REG_EV_BLOCKED,        /* a source or user reached its failure limit */
    SIPREG_REG_EV_REJECTED,       /* any other error response */
    SIPREG_REG_EV_MALFORMED,      /* a datagram that could not be parsed (answered or dropped) */
    SIPREG_REG_EV_THROTTLED, /* a reply to an unauthenticated source was dropped: over budget */
};

/* Every answer the registrar gives and every event it reports, in one table:
 * XX(NAME, "name" as logged, status sent (0: none), reason phrase (NULL: given with the event: the
 * parser's or the authentication's reason, or the status's standard phrase), event kind, suggested
 * log level (0 error, 1 warn, 2 info, 3 debug)). A driver logs or counts by outcome; the registrar
 *    answers from the same row, so the two never drift apart. */
#define SIPREG_REG_OUTCOME_MAP(XX)                                                               \
    XX(REGISTERED, "registered", 200, NULL, REGISTERED, 2)                                       \
    XX(UNREGISTERED, "unregistered", 200, NULL, UNREGISTERED, 2)                                 \
    XX(ALL_REMOVED, "all-removed", 200, NULL, UNREGISTERED, 2)                                   \
    XX(QUERY, "query", 200, NULL, QUERY, 2)                                                      \
    XX(CHALLENGED, "challenged", 401, NULL, CHALLENGED, 3)                                       \
    XX(AUTH_FAILED, "auth-failed", 401, NULL, AUTH_FAILED, 1)                                    \
    XX(SLOWED_DOWN, "slowed-down", 0, "failure limit reached: slowing down", BLOCKED, 1)         \
    XX(SOURCE_REFUSED, "source-refused", 403, "Forbidden", REJECTED, 2)                          \
    XX(USER_REFUSED, "user-refused", 403, "Forbidden", REJECTED, 2)                              \
    XX(CREDENTIALS_UNAVAILABLE, "credentials-unavailable", 500, "Service Unavailable", REJECTED, \
       0)                                                                                        \
    XX(NOT_ALLOWED, "not-allowed", 403, "Not Allowed to Register This AOR", REJECTED, 2)         \
    XX(DOMAIN_NOT_SERVED, "domain-not-served", 404, "Domain Not Served", REJECTED, 2)            \
    XX(URI_SCHEME, "uri-scheme", 416, NULL, REJECTED, 2)                                         \
    XX(UNSUPPORTED, "unsupported", 420, NULL, REJECTED, 2)                                       \
    XX(MALFORMED_FIELD, "malformed-field", 400, NULL, REJECTED, 2)                               \
    XX(TO_NOT_AOR, "to-not-aor", 400, "To Is Not a SIP Address-of-Record", REJECTED, 2)          \
    XX(AOR_WITHOUT_USER, "aor-without-user", 400, "Address-of-Record Without User", REJECTED, 2) \
    XX(AOR_TOO_LONG, "aor-too-long", 400, "Address-of-Record Too Long", REJECTED, 2)             \
    XX(BAD_EXPIRES, "bad-expires", 400, "Bad Expires", REJECTED, 2)                              \
    XX(PATH_TOO_LONG, "path-too-long", 400, "Path Too Long", REJECTED, 2)                        \
    XX(MESSAGE_TOO_LARGE, "message-too-large", 513, "Message Too Large", REJECTED, 2)            \
    XX(CONTACT_TOO_LONG, "contact-too-long", 400, "Contact Too Long", REJECTED, 2)               \
    XX(BAD_WILDCARD, "bad-wildcard", 400, "Invalid Wildcard Contact", REJECTED, 2)               \
    XX(TOO_MANY_CONTACTS, "too-many-contacts", 403, "Too Many Contacts", REJECTED, 2)            \
    XX(INTERVAL_TOO_BRIEF, "interval-too-brief", 423, NULL, REJECTED, 2)                         \
    XX(OUT_OF_ORDER, "out-of-order", 500, "Out of Order Request", REJECTED, 2)                   \
    XX(INVALID_CONTACT, "invalid-contact", 400, "Invalid Contact", REJECTED, 2)                  \
    XX(STORE_UNAVAILABLE, "store-unavailable", 500, "Location Service Unavailable", REJECTED, 0) \
    XX(RESPONSE_TOO_LARGE, "response-too-large", 500, "Response Too Large", REJECTED, 1)         \
    XX(METHOD_NOT_ALLOWED, "method-not-allowed", 405, NULL, REJECTED, 2)                         \
    XX(MALFORMED_FROM_TO, "malformed-from-to", 400, "Malformed From or To", REJECTED, 2)         \
    XX(NO_TRANSACTION_ROOM, "no-transaction-room", 503, NULL, REJECTED, 1)                       \
    XX(MALFORMED, "malformed", 0, NULL, MALFORMED, 3)                                            \
    XX(THROTTLED_SIZE, "throttled-size", 0,                                                      \
       "reply over 3 times its request to an unproven source", THROTTLED, 1)                     \
    XX(THROTTLED_BUDGET, "throttled-budget", 0, "reply budget of this source exhausted",         \
       THROTTLED, 1)

enum sipreg_registrar_outcome {
#define SIPREG_XX_REG_OUTCOME(name, text, status, phrase, kind, level) SIPREG_REG_OUT_##name,
    SIPREG_REG_OUTCOME_MAP(SIPREG_XX_REG_OUTCOME)
#undef SIPREG_XX_REG_OUTCOME
        SIPREG_REG_OUT__COUNT
};

/* The outcome's name in lower case with dashes ("auth-failed"); "?" when out of range. */
SIPREG_API const char *sipreg_registrar_outcome_name(enum sipreg_registrar_outcome o);
/* The outcome's suggested log level: 0 error, 1 warn, 2 info, 3 debug. */
SIPREG_API int sipreg_registrar_outcome_level(enum sipreg_registrar_outcome o);

struct sipreg_registrar_event {
    enum sipreg_registrar_event_kind kind;
    int status;                /* status sent, 0 when nothing was sent */
    const char *reason;        /* why, for logs */
    struct sipreg_str aor;     /* may be absent */
    struct sipreg_str contact; /* may be absent */
    struct sipreg_str user;    /* authenticated or claimed username; may be absent */
    int64_t expires;           /* granted expiry for REGISTERED, else -1 */
    const struct sipreg_netaddr *src;
    enum sipreg_registrar_outcome outcome;
};

typedef void (*sipreg_registrar_event_fn)(const struct sipreg_registrar_event *ev, void *ud);

/* What one domain may set apart from the registrar's defaults. */
struct sipreg_registrar_domain {
    const char *name;                 /* a domain of sipreg_registrar_cfg.domains */
    const char *realm;                /* NULL: the registrar's realm, else the domain's name */
    const enum sipreg_auth_alg *algs; /* NULL: the registrar's algorithms */
    size_t nalgs;                     /* at most 4 */
};

/* Configuration. Zero fields take the defaults named beside them. Strings and arrays are copied. */
struct sipreg_registrar_cfg {
    const char *const *domains; /* domains served (required, at least one) */
    size_t ndomains;
    const struct sipreg_netaddr *local; /* our own listen addresses: a Request-URI naming one */
    size_t nlocal;                      /* of them is accepted too (phones register to IPs) */
    const char *realm; /* digest realm of every domain; NULL: each domain's own name. A user
                        * (sipreg_store_user_get by name and realm) registers only AORs of its
                        * domain: its record's domain, else the one its realm names */
    const struct sipreg_registrar_domain *domain_policy; /* per-domain realm and algorithms */
    size_t ndomain_policy;
    struct sipreg_store *store;              /* required; not owned */
    const struct sipreg_auth_secret *secret; /* required unless no_auth; not owned */
    bool no_auth;                     /* accept every REGISTER without credentials (tests, labs) */
    bool allow_third_party;           /* let a user register AORs other than its own */
    int unknown_domain_status;        /* 404 (default) or 403 */
    uint32_t min_expires;             /* 60: shorter non-zero requests get 423 */
    uint32_t max_expires;             /* 7200: longer requests are capped */
    uint32_t default_expires;         /* 3600: when neither Contact nor Expires says */
    sipreg_time nonce_lifetime;       /* 300000 ms */
    const enum sipreg_auth_alg *algs; /* offered (in order) and accepted: MD5 alone, which */
    size_t nalgs;                     /* every deployed phone answers; at most 4 */
    /* Failed authentications (wrong answers to a nonce sent to that source; nothing else
     * counts): from fail_limit_* failures within fail_window on, a source (IPv4 address or IPv6
     * /64) or a user is slowed down: each failure makes it wait 1 s, 2 s, 4 s ... up to
     * fail_cooldown before it is verified again, and the count is forgiven after a whole
     * fail_cooldown without failure. A slowed-down source is refused only for users that failed
     * from it; a slowed-down user is still verified at the source where it last succeeded
     * (within 24 h) with no failure since. */
    uint32_t fail_limit_source; /* 20 */
    uint32_t fail_limit_user;   /* 10 */
    sipreg_time fail_window;    /* 60000 ms */
    sipreg_time fail_cooldown;  /* 300000 ms */
    bool fail_silent;           /* refused requests are dropped instead of answered 403 */
    size_t txn_capacity;        /* 16384 server transactions (a change waits in one) */
    /* Replies to sources that have not proven they receive our packets (by answering a nonce
     * sent to them) are at most 3 times the size of their request, and at most reply_rate per
     * second per source (IPv4 address or IPv6 /64), so that forged source addresses cannot
     * turn the registrar into an amplifier. Replies to proven sources are not counted. */
    uint32_t reply_rate;               /* 100 replies/s */
    uint32_t reply_burst;              /* 200 */
    bool reply_unlimited;              /* no budget (the 3x cap stays) */
    const struct sipreg_cidr *trusted; /* sources exempt from the reply budget, the 3x cap and */
    size_t ntrusted;                   /* the source failure limit (an edge proxy); the per-user
                                        * limit still applies */
    size_t tracker_capacity;           /* 65536 nonces remembered for nc replay checks */
    struct sipreg_registrar_shared *shared; /* not owned; NULL: the registrar keeps its own.
                                             * Workers must share one, so that failure limits,
                                             * reply budgets and nonce-count replay checks hold
                                             * across them (see below) */
    /* With `shared`: this registrar keeps its own per-source state (the nonce-count tracker,
     * the source failure limiter, the user-at-a-source records, the reply budgets: everything
     * keyed by sipreg_auth_bind_addr() of the source, to which nonces are bound too) and takes
     * only the per-user failure limiter from `shared`, which must have been created with
     * source_local set as well. Only for a driver that brings every datagram of a source to the
     * same registrar (sipreg/server.h steers them so): otherwise a source spread over workers
     * gets each limit once per worker. */
    bool source_local;
    const char *server; /* Server header: "sipreg" */
    sipreg_registrar_event_fn on_event;
    void *ud;
};

struct sipreg_registrar;

/* What the registrars of several workers share (thread-safe): the nonce-count replay tracker,
 * the failed-authentication limiters and the per-source reply budgets, sized and tuned from
 * `cfg` (its fail_*, reply_*, tracker_capacity and no_auth fields). Without sharing, a peer
 * whose packets the kernel spreads over N workers would get N times every limit, and a nonce
 * could be replayed once per worker. With cfg->source_local, only the per-user failure limiter
 * (a user can be guessed at from any source): for registrars that are each given all the
 * datagrams of their sources (see source_local). 0, SIPREG_ENOMEM, SIPREG_EINVAL,
 * SIPREG_ECRYPTO. */
struct sipreg_registrar_shared;
SIPREG_API int sipreg_registrar_shared_create(struct sipreg_registrar_shared **out,
                                              const struct sipreg_registrar_cfg *cfg);
SIPREG_API void sipreg_registrar_shared_destroy(struct sipreg_registrar_shared *sh);

/* Creates a registrar. 0, SIPREG_EINVAL (cfg), SIPREG_ENOMEM. Not thread-safe: one registrar per
 * worker; several may share a store only if the store is made safe for it by the caller. */
SIPREG_API int sipreg_registrar_create(struct sipreg_registrar **out,
                                       const struct sipreg_registrar_cfg *cfg);
SIPREG_API void sipreg_registrar_destroy(struct sipreg_registrar *r);

/* Processes one received datagram from `src`, received on `local`. `now` is monotonic ms (timers);
 * `wall_ms` is Unix time in ms (binding expiry, nonces, the Date header). Replies are queued:
 * take them with sipreg_registrar_pull(). A REGISTER that changes bindings is decided here but
 * not applied: its change set is parked (retransmissions are absorbed meanwhile), and it is
 * answered once sipreg_registrar_flush() has made it durable, from the bindings it left (or
 * with the error it met: 500 out of order, 403 too many contacts, 500 when the commit failed).
 * Other replies are ready at once and never wait behind a parked one. The store is only read
 * here (credentials, queries). Returns 0 (also for dropped or rejected input), or SIPREG_ENOMEM
 * / SIPREG_ESTORE on local failures. */
SIPREG_API int sipreg_registrar_receive(struct sipreg_registrar *r, const char *buf, size_t len,
                                        const struct sipreg_netaddr *src,
                                        const struct sipreg_netaddr *local, sipreg_time now,
                                        int64_t wall_ms);

/* Applies every parked change set to the store and commits them at once (group commit), then
 * queues their answers; when the commit fails each is answered 500 (Retry-After: 5). Call after
 * every batch of receives. (The library's server driver does not call it: its store writer
 * thread applies the change sets of every worker instead.) */
SIPREG_API int sipreg_registrar_flush(struct sipreg_registrar *r, sipreg_time now);

/* Takes the next releasable reply: copies it to out (cap bytes; 65535 always suffices), its
 * destination to *to and, when `local` is not NULL, the address its request came in on (given
 * to sipreg_registrar_receive; zeroed when none was), from which it must leave (RFC 3581 §4).
 * 0, SIPREG_ENOENT when none is ready, SIPREG_ENOSPC when cap is too small (the reply is kept). */
SIPREG_API int sipreg_registrar_pull(struct sipreg_registrar *r, char *out, size_t cap,
                                     size_t *n /* OUT */, struct sipreg_netaddr *to /* OUT */,
                                     struct sipreg_netaddr *local /* OUT */);

/* Runs timers: transaction expiry and the purge of expired bindings (bounded work, committed
 * at once; left to the store writer under the server driver). */
SIPREG_API int sipreg_registrar_timeout(struct sipreg_registrar *r, sipreg_time now,
                                        int64_t wall_ms);
/* When sipreg_registrar_timeout() should run next (monotonic ms). */
SIPREG_API sipreg_time sipreg_registrar_next_timeout(const struct sipreg_registrar *r);

/* The binding key of a Contact (normalised URI, or +sip.instance with reg-id), written into
 * out. Exposed for tools and tests. 0 or SIPREG_ENOSPC. */
SIPREG_API int sipreg_registrar_binding_key(const struct sipreg_contact *c, struct sipreg_buf *out);

#ifdef __cplusplus
}
#endif
#endif
