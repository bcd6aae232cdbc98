/* sipreg transactions: non-INVITE client and server transactions (RFC 3261 §17.1.2, §17.2.2),
 * sans-I/O. Time is always passed in; nothing here reads a clock, touches a socket or sleeps. */
#ifndef SIPREG_TXN_H
#define SIPREG_TXN_H

#include "sipreg/core.h"
#include "sipreg/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 3261 Table 4 defaults, in ms. */
#define SIPREG_TXN_T1        500
#define SIPREG_TXN_T2        4000
#define SIPREG_TXN_T4        5000
/* Timers are bounded so that 64*T1 and friends cannot overflow: at most one hour. */
#define SIPREG_TXN_TIMER_MAX 3600000

/* ==== Non-INVITE server transactions (a table of them) ==== */

#define SIPREG_NIST_DEFAULT_CAPACITY 4096
#define SIPREG_NIST_DEFAULT_MAX_RESP 8192
/* Hard ceilings on the table size and on one cached response. */
#define SIPREG_NIST_MAX_CAPACITY     (1u << 24)
#define SIPREG_NIST_MAX_RESP         65535
/* A match key longer than this (branch + sent-by + method, or the RFC 2543 fields) is refused
 * with SIPREG_ELIMIT. */
#define SIPREG_NIST_MAX_KEY          2048

/* Table configuration. A zero field means the default beside it; cfg may be NULL. */
struct sipreg_nist_cfg {
    size_t capacity;      /* live transactions: SIPREG_NIST_DEFAULT_CAPACITY */
    sipreg_time t1;       /* SIPREG_TXN_T1; Timer J = 64*T1 on unreliable transports, 0 else */
    sipreg_time t4;       /* SIPREG_TXN_T4; not used by non-INVITE servers (Table 4), checked */
    size_t max_response;  /* largest cached final response: SIPREG_NIST_DEFAULT_MAX_RESP */
    size_t max_cached;    /* bytes of cached responses in the whole table: 32 MiB; past it the
                           * oldest Completed transactions are ended early to make room */
    unsigned max_replays; /* times one cached response is resent: 10, what a client retransmits
                           * within Timer F; later retransmissions are absorbed, so that a
                           * captured request replayed from its source draws a bounded number
                           * of answers */
    uint8_t hash_key[16]; /* SipHash key of the match table; all zero: drawn from libcrypto's
                             RAND_bytes, so peers cannot aim Via branches at one bucket */
};

/* One server transaction. Opaque; lives in its table's slab. */
struct sipreg_nist;
struct sipreg_nist_table;

/* sipreg_nist_receive() results (positive; failures are negative SIPREG_E* codes). */
enum {
    SIPREG_NIST_NEW = 1,    /* a new transaction in Trying: pass the request to the TU */
    SIPREG_NIST_ABSORB = 2, /* retransmission before the final response: send nothing */
    SIPREG_NIST_REPLAY = 3, /* retransmission in Completed: resend *cached to the source */
};
/* sipreg_nist_respond() result on a reliable transport: the transaction has gone (Timer J = 0). */
#define SIPREG_NIST_TERMINATED 4

/* sipreg_nist_state() values. Terminated transactions are freed at once, so never seen. */
enum sipreg_nist_state {
    SIPREG_NIST_STATE_TRYING = 1,    /* waiting for the TU's final response */
    SIPREG_NIST_STATE_COMPLETED = 2, /* final response cached, Timer J running */
};

/* Counters since the table was created, and the longest hash chain (computed on demand). */
struct sipreg_nist_stats {
    uint64_t created;  /* SIPREG_NIST_NEW results */
    uint64_t absorbed; /* SIPREG_NIST_ABSORB results */
    uint64_t replayed; /* SIPREG_NIST_REPLAY results */
    uint64_t evicted;  /* Completed transactions dropped early: the table or its byte budget was
                        * full */
    uint64_t full;     /* SIPREG_ELIMIT results because nothing could be evicted */
    uint64_t
        timed_out; /* Trying transactions dropped by their 64*T1 guard: the TU never answered */
    uint64_t terminated; /* Completed transactions ended by Timer J (or at once, reliable) */
    size_t max_chain;    /* longest hash bucket chain now */
};

/* Creates an empty table; every slot is allocated here, so receiving a new request never
 * allocates unless its match key is longer than an inline slot (then one small block).
 * Returns 0, SIPREG_EINVAL (bad cfg), SIPREG_ENOMEM or SIPREG_ECRYPTO (no random key).
 * A table is not thread-safe: use one per worker thread. */
SIPREG_API int sipreg_nist_table_create(struct sipreg_nist_table **out,
                                        const struct sipreg_nist_cfg *cfg);
/* Frees the table and every transaction in it (pointers to them become invalid). NULL is ok. */
SIPREG_API void sipreg_nist_table_destroy(struct sipreg_nist_table *t);
/* Live (Trying + Completed) transactions. */
SIPREG_API size_t sipreg_nist_table_count(const struct sipreg_nist_table *t);
SIPREG_API void sipreg_nist_table_stats(const struct sipreg_nist_table *t,
                                        struct sipreg_nist_stats *out);

/* Matches a received request against the table (RFC 3261 §17.2.3): when the top Via branch
 * starts with "z9hG4bK", by branch (case-insensitive) + sent-by host (case-insensitive) and port
 * as written (absent port is not 5060) + request method; otherwise (RFC 2543 peers) by
 * Request-URI, To tag, From tag, Call-ID, CSeq number and method and the top Via value byte for
 * byte. `src` is where it came from: its transport decides Timer J.
 *
 * Returns SIPREG_NIST_NEW (*txn set to a new transaction in Trying; the TU must later call
 * sipreg_nist_respond() or sipreg_nist_abandon(), or it is dropped 64*T1 after creation),
 * SIPREG_NIST_ABSORB (*txn set), SIPREG_NIST_REPLAY (*txn set and *cached = the cached final
 * response, valid until the next call on this table), or:
 *   SIPREG_EINVAL  `req` is a response, an INVITE or an ACK (they need no non-INVITE server
 *                  transaction: answer or drop them statelessly);
 *   SIPREG_EPARSE / SIPREG_ENOMEM  the Via/From/To could not be parsed from the message's arena;
 *   SIPREG_ELIMIT  the table is full of Trying transactions (answer 503 statelessly), or the
 *                  match key is longer than SIPREG_NIST_MAX_KEY;
 *   SIPREG_ENOMEM  a long key could not be stored.
 * When the table is full, the Completed transaction whose Timer J fires first is evicted to make
 * room (a later retransmission of its request then counts as new). Trying ones never are.
 * `txn` and `cached` may be NULL. */
SIPREG_API int sipreg_nist_receive(struct sipreg_nist_table *t, struct sipreg_msg *req,
                                   const struct sipreg_netaddr *src, sipreg_time now,
                                   struct sipreg_nist **txn /* OUT */,
                                   struct sipreg_str *cached /* OUT */);

/* Gives the final response (the bytes the caller sends, a status line "SIP/2.0 2xx".."6xx"), sent
 * by the caller itself this first time. Unreliable transport: the bytes are copied into the
 * transaction (one heap block per transaction, grown only when a longer one replaces it), the
 * transaction moves to Completed and Timer J (64*T1) starts; returns 0. Reliable transport: nothing
 * is copied, the transaction terminates at once and SIPREG_NIST_TERMINATED is returned: `txn` is
 * then invalid. Calling it again in Completed replaces the cached response (e.g. a 500 after a
 * failed store commit replaces a pending 200) without restarting Timer J.
 * To stay within max_cached, older Completed transactions may be ended first.
 * Errors leave the transaction as it was: SIPREG_EINVAL (not a final response), SIPREG_ELIMIT
 * (longer than max_response, or more than max_cached with nothing left to end), SIPREG_ENOMEM. */
SIPREG_API int sipreg_nist_respond(struct sipreg_nist_table *t, struct sipreg_nist *txn,
                                   const char *resp, size_t len, sipreg_time now);

/* Drops a transaction in Trying, e.g. when its request was dropped; `txn` is then invalid.
 * A Completed transaction is left alone (its cached response must still absorb retransmits). */
SIPREG_API void sipreg_nist_abandon(struct sipreg_nist_table *t, struct sipreg_nist *txn);

/* SIPREG_NIST_STATE_TRYING or SIPREG_NIST_STATE_COMPLETED. */
SIPREG_API int sipreg_nist_state(const struct sipreg_nist *txn);

/* A stable name for a transaction: slot and generation. A TU that answers asynchronously (after a
 * store commit) keeps the id rather than the pointer, and finds the transaction again with
 * sipreg_nist_find(), which returns NULL once it has ended (guard expiry, eviction, abandon).
 * An id is never 0, so 0 can stand for "no transaction". */
SIPREG_API uint64_t sipreg_nist_id(const struct sipreg_nist *txn);
/* The address the transaction's request first came from. A cached response should be resent
 * only there: anyone can replay a captured request from a spoofed address. */
SIPREG_API const struct sipreg_netaddr *sipreg_nist_source(const struct sipreg_nist *txn);
SIPREG_API struct sipreg_nist *sipreg_nist_find(struct sipreg_nist_table *t, uint64_t id);

/* The earliest time sipreg_nist_timeout() has work to do, or -1 when the table is empty. */
SIPREG_API sipreg_time sipreg_nist_next_timeout(const struct sipreg_nist_table *t);

/* Terminates every Completed transaction whose Timer J has fired and every Trying one older than
 * 64*T1, freeing them. Both timers have a constant length, so each state keeps a FIFO list
 * ordered by expiry: the work is O(1) per expired transaction plus O(1), whatever the table size.
 * Time is taken as non-decreasing: an earlier `now` than seen before counts as the latest seen. */
SIPREG_API void sipreg_nist_timeout(struct sipreg_nist_table *t, sipreg_time now);

/* ==== Non-INVITE client transaction ==== */

struct sipreg_nict_cfg {
    bool reliable;  /* TCP/TLS: no retransmissions (no Timer E), Timer K = 0 */
    sipreg_time t1; /* SIPREG_TXN_T1 when 0; Timer F = 64*T1 */
    sipreg_time t2; /* SIPREG_TXN_T2 when 0; the cap of Timer E */
    sipreg_time t4; /* SIPREG_TXN_T4 when 0; Timer K on unreliable transports */
};

/* One transaction per request. Not thread-safe; distinct transactions may live on different
 * threads. */
struct sipreg_nict;

/* Results of sipreg_nict_timeout() and sipreg_nict_receive(). */
enum {
    SIPREG_NICT_NONE = 0,        /* nothing to do */
    SIPREG_NICT_RETRANSMIT = 1,  /* Timer E fired: resend sipreg_nict_request() */
    SIPREG_NICT_TIMEOUT = 2,     /* Timer F fired: Terminated, tell the TU (408-like) */
    SIPREG_NICT_TERMINATED = 3,  /* Timer K fired in Completed: Terminated, destroy it */
    SIPREG_NICT_PROVISIONAL = 4, /* a 1xx for the TU (the first one moves Trying to Proceeding) */
    SIPREG_NICT_FINAL = 5,       /* a 2xx-6xx for the TU: Completed (Terminated if reliable) */
    SIPREG_NICT_ABSORB = 6,      /* a response after the final one: drop it */
};

/* sipreg_nict_state() values. */
enum sipreg_nict_state {
    SIPREG_NICT_STATE_TRYING = 1,
    SIPREG_NICT_STATE_PROCEEDING = 2,
    SIPREG_NICT_STATE_COMPLETED = 3,
    SIPREG_NICT_STATE_TERMINATED = 4,
};

/* Creates a transaction in Trying for the request `req` (len bytes: a whole request, not INVITE or
 * ACK, with a top Via branch; the branch and everything else are the caller's choice), copied in
 * one heap block. The caller sends the request once right after this; Timers E and F start at
 * `now`. cfg may be NULL (unreliable, RFC defaults). Returns 0, SIPREG_EINVAL (bad cfg, or not
 * such a request), SIPREG_EPARSE (malformed), SIPREG_ELIMIT (too large to parse), SIPREG_ENOMEM. */
SIPREG_API int sipreg_nict_create(struct sipreg_nict **out, const struct sipreg_nict_cfg *cfg,
                                  const char *req, size_t len, sipreg_time now);
/* NULL is ok. */
SIPREG_API void sipreg_nict_destroy(struct sipreg_nict *c);

/* The request bytes to send and resend; valid until destroy. */
SIPREG_API void sipreg_nict_request(const struct sipreg_nict *c, const char **p /* OUT */,
                                    size_t *len /* OUT */);

/* 1 when the response belongs to this transaction (RFC 3261 §17.1.3): its top Via branch equals
 * the request's (case-insensitive) and its CSeq method is the request's; 0 otherwise (also when
 * `resp` is a request or its Via does not parse). May parse the Via into resp's arena. */
SIPREG_API int sipreg_nict_matches(const struct sipreg_nict *c, struct sipreg_msg *resp);

/* Feeds a response that sipreg_nict_matches() accepted. Returns SIPREG_NICT_PROVISIONAL,
 * SIPREG_NICT_FINAL (Completed and Timer K = T4 started, or Terminated at once when reliable) or
 * SIPREG_NICT_ABSORB (Completed or Terminated already); SIPREG_EINVAL when `resp` is not a
 * response with a status 100..699. */
SIPREG_API int sipreg_nict_receive(struct sipreg_nict *c, const struct sipreg_msg *resp,
                                   sipreg_time now);

/* Runs the timers due at `now`. Returns SIPREG_NICT_NONE, SIPREG_NICT_RETRANSMIT (Timer E: it
 * starts at T1 and doubles up to T2 in Trying, then is T2 in Proceeding; at most one retransmission
 * per call, the next one counted from `now`), SIPREG_NICT_TIMEOUT (Timer F, 64*T1 after create,
 * in Trying or Proceeding) or SIPREG_NICT_TERMINATED (Timer K in Completed). */
SIPREG_API int sipreg_nict_timeout(struct sipreg_nict *c, sipreg_time now);

/* The earliest time sipreg_nict_timeout() has work to do, or -1 once Terminated. */
SIPREG_API sipreg_time sipreg_nict_next_timeout(const struct sipreg_nict *c);

/* One of enum sipreg_nict_state. */
SIPREG_API int sipreg_nict_state(const struct sipreg_nict *c);

#ifdef __cplusplus
}
#endif
#endif
