/* sipreg digest authentication (RFC 7616, RFC 8760, RFC 2617/2069 compatibility): hashes,
 * stateless nonces, challenges, credential checks with nc replay tracking, client credentials. */
#ifndef SIPREG_AUTH_H
#define SIPREG_AUTH_H

#include "sipreg/core.h"
#include "sipreg/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- algorithms and digest arithmetic ---- */

enum sipreg_auth_alg {
    SIPREG_AUTH_MD5 = 0,
    SIPREG_AUTH_MD5_SESS,
    SIPREG_AUTH_SHA256,
    SIPREG_AUTH_SHA256_SESS,
    SIPREG_AUTH_SHA512_256,
    SIPREG_AUTH_SHA512_256_SESS,
    SIPREG_AUTH_ALG__COUNT
};

enum sipreg_auth_qop {
    SIPREG_AUTH_QOP_NONE = 0, /* RFC 2069 compatibility: no qop, no cnonce, no nc */
    SIPREG_AUTH_QOP_AUTH,
    SIPREG_AUTH_QOP_AUTH_INT,
};

/* Room for the longest lowercase hex digest (SHA-256 / SHA-512-256: 64) and a NUL. */
#define SIPREG_AUTH_HEX_MAX 65

/* Algorithm of an `algorithm` token (case-insensitive). An absent token (p == NULL) is MD5, as
 * RFC 2617 and RFC 7616 say. 0, or SIPREG_EINVAL for an unknown or empty token. */
SIPREG_API int sipreg_auth_alg_parse(struct sipreg_str token, enum sipreg_auth_alg *out);
/* Canonical token ("SHA-256", "MD5-sess"...); "" for an out-of-range value. */
SIPREG_API const char *sipreg_auth_alg_name(enum sipreg_auth_alg alg);
/* Length of the algorithm's hex digests: 32 (MD5*) or 64 (SHA-256*, SHA-512-256*); 0 if out of
 * range. */
SIPREG_API size_t sipreg_auth_alg_hexlen(enum sipreg_auth_alg alg);
/* The algorithm without "-sess": the hash family an HA1 belongs to (MD5-sess -> MD5). */
SIPREG_API enum sipreg_auth_alg sipreg_auth_alg_base(enum sipreg_auth_alg alg);
/* Strength of the algorithm's hash family, for ordering: 1 MD5, 2 SHA-256, 3 SHA-512-256 (a
 * -sess variant as its base; an out-of-range value as MD5). */
SIPREG_API int sipreg_auth_alg_strength(enum sipreg_auth_alg alg);

/* HA1 = H(username ":" realm ":" password) in lowercase hex, NUL-terminated, for the algorithm's
 * hash (a -sess algorithm gives the same value as its base: the session part is applied per
 * response). The values are hashed as given (no unquoting). This is what a store keeps.
 * 0, SIPREG_EINVAL (bad alg), SIPREG_ECRYPTO. */
SIPREG_API int sipreg_auth_ha1(enum sipreg_auth_alg alg, struct sipreg_str username,
                               struct sipreg_str realm, struct sipreg_str password,
                               char out[SIPREG_AUTH_HEX_MAX]);

/* Inputs of one response computation (RFC 7616 §3.4.1). `nonce`, `cnonce`, `uri` are the values
 * as they appear between the quotes of the header: quoted-pair escapes are removed before
 * hashing. `nc` is the 8-hex-digit text as sent. */
struct sipreg_auth_calc {
    enum sipreg_auth_alg alg;
    enum sipreg_auth_qop qop;
    struct sipreg_str ha1;    /* hex H(username:realm:password) of alg's hash family */
    struct sipreg_str nonce;  /* server nonce */
    struct sipreg_str cnonce; /* required with a qop; unused without */
    struct sipreg_str nc;     /* required with a qop; unused without */
    struct sipreg_str method; /* request method ("REGISTER") */
    struct sipreg_str uri;    /* digest-uri */
    struct sipreg_str body;   /* auth-int only: the message body (absent = empty) */
};

/* The request-digest in lowercase hex, NUL-terminated:
 *   qop auth/auth-int: H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)
 *   no qop (RFC 2069): H(HA1 ":" nonce ":" HA2)
 * with HA2 = H(method ":" uri) or, for auth-int, H(method ":" uri ":" H(body)), and for -sess
 * HA1 replaced by H(HA1 ":" nonce ":" cnonce). 0, SIPREG_EINVAL (HA1 of the wrong length, -sess
 * without qop, missing cnonce/nc with a qop), SIPREG_ECRYPTO. */
SIPREG_API int sipreg_auth_response(const struct sipreg_auth_calc *c,
                                    char out[SIPREG_AUTH_HEX_MAX]);

/* ---- server secret and stateless nonces ---- */

#define SIPREG_AUTH_SECRET_LEN 32
/* A nonce is base64url without padding of 8 (issue time) + 4 (epoch) + 8 (random) + 16 (MAC)
 * bytes. */
#define SIPREG_AUTH_NONCE_LEN  48
#define SIPREG_AUTH_OPAQUE_LEN 22

/* The server secret. Every node sharing the same 32 bytes issues and accepts the same nonces and
 * opaque. Fill it with sipreg_auth_secret_init*(); the derived keys are private. */
struct sipreg_auth_secret {
    uint8_t key[SIPREG_AUTH_SECRET_LEN];
    uint8_t k_nonce[32];                     /* HMAC key for nonces */
    uint8_t k_dummy[32];                     /* HMAC key for dummy HA1s */
    char opaque[SIPREG_AUTH_OPAQUE_LEN + 1]; /* fixed opaque, NUL-terminated */
};

/* A fresh secret from RAND_bytes. 0 or SIPREG_ECRYPTO. */
SIPREG_API int sipreg_auth_secret_init_random(struct sipreg_auth_secret *s);
/* A secret from stored bytes (exactly SIPREG_AUTH_SECRET_LEN, e.g. as read back by a store).
 * 0, SIPREG_EINVAL (wrong length), SIPREG_ECRYPTO. */
SIPREG_API int sipreg_auth_secret_init(struct sipreg_auth_secret *s, const void *key, size_t len);
/* Wipes the secret (OPENSSL_cleanse). */
SIPREG_API void sipreg_auth_secret_fini(struct sipreg_auth_secret *s);

/* What a nonce is bound to, inside its MAC, besides the realm and the secret:
 * - `bind`: bytes naming the client it was sent to (sipreg_auth_bind_addr() of its address), so
 *   that a nonce drawn from one address is worthless at another, and answering one proves that
 *   the address receives what is sent to it; absent (p == NULL): bound to nothing;
 * - `epoch`: the epoch of the replay tracker that will count its uses (see below); a nonce of
 *   another epoch was issued before a restart or by a node that does not share the tracker. */
struct sipreg_auth_nonce_scope {
    struct sipreg_str bind;
    uint32_t epoch;
};

/* Room for sipreg_auth_bind_addr()'s output. */
#define SIPREG_AUTH_BIND_MAX 9

/* The binding bytes of a client address: its IPv4 address (an IPv4-mapped IPv6 address counts
 * as IPv4), or the /64 of an IPv6 address (one host or subscriber line usually holds a whole
 * /64, and any of its addresses can be chosen at will). Returns the length written (5 or 9).
 * The registrar keys its per-source limits and budgets with the same bytes. */
SIPREG_API size_t sipreg_auth_bind_addr(const struct sipreg_netaddr *a,
                                        uint8_t out[SIPREG_AUTH_BIND_MAX]);

/* Writes a new nonce for `realm` and `scope` (NULL: unbound, epoch 0) issued at `now`
 * (SIPREG_AUTH_NONCE_LEN chars, NUL-terminated). `now` is the nonce clock: nodes sharing a
 * secret must share it too (use wall-clock ms there). 0 or SIPREG_ECRYPTO. */
SIPREG_API int sipreg_auth_nonce_build(const struct sipreg_auth_secret *s, struct sipreg_str realm,
                                       const struct sipreg_auth_nonce_scope *scope, sipreg_time now,
                                       char out[SIPREG_AUTH_NONCE_LEN + 1]);

/* What a genuine nonce carries. `tag` is its MAC: unique per nonce and unforgeable, the key for
 * replay tracking. */
struct sipreg_auth_nonce_info {
    sipreg_time issued;
    uint32_t epoch;
    uint8_t tag[16];
};

/* Checks a nonce: decodes it, checks its length and MAC (realm, secret and `scope`'s binding) in
 * constant time, then its epoch and age.
 * 0: genuine and fresh (of `scope`'s epoch, issued at most `lifetime` ms ago and at most `skew`
 * ms ahead of now); SIPREG_ESTALE: genuine but of another epoch, older than that or further in
 * the future; SIPREG_EAUTH: forged, garbled, for another realm, secret or binding. `info` (may
 * be NULL) is filled for 0 and SIPREG_ESTALE. SIPREG_ECRYPTO on a libcrypto failure. */
SIPREG_API int sipreg_auth_nonce_verify(const struct sipreg_auth_secret *s, struct sipreg_str realm,
                                        const struct sipreg_auth_nonce_scope *scope,
                                        struct sipreg_str nonce, sipreg_time now,
                                        sipreg_time lifetime, sipreg_time skew,
                                        struct sipreg_auth_nonce_info *info /* OUT */);

/* A deterministic stand-in HA1 for a user that does not exist, so that checking an unknown user
 * costs the same as a known one: hex HMAC(secret, alg family, username, realm) of the
 * algorithm's hex length, NUL-terminated. 0, SIPREG_EINVAL, SIPREG_ECRYPTO. */
SIPREG_API int sipreg_auth_dummy_ha1(const struct sipreg_auth_secret *s, enum sipreg_auth_alg alg,
                                     struct sipreg_str username, struct sipreg_str realm,
                                     char out[SIPREG_AUTH_HEX_MAX]);

/* ---- nc replay tracker ---- */

/* Remembers the highest nc seen for each nonce (keyed by its MAC tag) in a fixed number of
 * entries. When full, the entry with the oldest issue time is evicted and the tracker keeps a
 * watermark: the newest issue time it ever evicted. A nonce it does not hold whose issue time is
 * at or below the watermark may have been evicted, so it is refused as stale (the client simply
 * gets a fresh nonce) rather than allowing its nc to start over. Thread-safe (one internal
 * mutex): workers of one process may share one tracker. Replays sent to another process or node
 * are not seen: each tracker only knows the nonces it was shown. The nonce clock should not step
 * backwards: after a backward step, new nonces may fall under the watermark and be answered as
 * stale until the clock catches up (never accepted twice, so this costs liveness, not safety). */
struct sipreg_auth_tracker;

/* Creates a tracker of `capacity` entries (at least 1, at most 2^26). Memory is about 48 bytes
 * per entry, allocated once here. 0, SIPREG_EINVAL, SIPREG_ENOMEM. */
SIPREG_API int sipreg_auth_tracker_create(struct sipreg_auth_tracker **out, size_t capacity);
SIPREG_API void sipreg_auth_tracker_destroy(struct sipreg_auth_tracker *t);
/* Records use `nc` of the nonce `info`. 0 when nc is above every nc seen for it (it is then
 * remembered); SIPREG_ESTALE when nc is repeated or lower, when the nonce may have been evicted,
 * when nc is 0 or 0xffffffff, or when the nonce was burned. Only call it for requests whose
 * response was verified, or anyone could use up a client's nonce. */
SIPREG_API int sipreg_auth_tracker_check(struct sipreg_auth_tracker *t,
                                         const struct sipreg_auth_nonce_info *info, uint32_t nc);
/* 0 when the nonce may still be used; SIPREG_ESTALE when it was burned or may have been
 * evicted. Changes nothing. */
SIPREG_API int sipreg_auth_tracker_usable(struct sipreg_auth_tracker *t,
                                          const struct sipreg_auth_nonce_info *info);
/* Uses the nonce up: every later sipreg_auth_tracker_check() of it is refused. For a wrong
 * answer to a genuine nonce, so that one nonce cannot serve unlimited guesses. */
SIPREG_API void sipreg_auth_tracker_burn(struct sipreg_auth_tracker *t,
                                         const struct sipreg_auth_nonce_info *info);
/* The tracker's epoch: random, fixed at creation, never 0. Nonces to be counted by this tracker
 * must carry it (sipreg_auth_nonce_scope, sipreg_auth_server_cfg.epoch); others are stale. */
SIPREG_API uint32_t sipreg_auth_tracker_epoch(const struct sipreg_auth_tracker *t);
/* Entries held now. */
SIPREG_API size_t sipreg_auth_tracker_count(struct sipreg_auth_tracker *t);

/* ---- server: challenge and credential check ---- */

/* Server policy. Zero fields take the defaults given. */
struct sipreg_auth_server_cfg {
    struct sipreg_str realm;                 /* required; no '"', '\\' or control characters */
    const struct sipreg_auth_secret *secret; /* required */
    sipreg_time nonce_lifetime;              /* ms a nonce stays fresh: 300000 */
    sipreg_time nonce_skew; /* ms a nonce may come from the future (other nodes): 2000 */
    /* Algorithms offered (one challenge each, in this order) and the only ones accepted.
     * NULL: MD5 alone (what deployed phones accept; SHA-256 is the operator's to turn on). */
    const enum sipreg_auth_alg *algs;
    size_t nalgs;
    bool proxy;          /* Proxy-Authenticate (407) instead of WWW-Authenticate (401) */
    bool offer_auth_int; /* qop="auth,auth-int" instead of qop="auth" (auth-int is accepted
                          * either way) */
    /* Accept RFC 2069 credentials (no qop, so no nc): off by default because our challenges
     * always offer qop, which RFC 3261 §22.4 clients must use, and without nc a captured
     * request replays freely. When on, such a nonce is good for one request only. */
    bool allow_rfc2069;
    /* The epoch nonces are issued with and must carry: sipreg_auth_tracker_epoch() of the
     * tracker given to sipreg_auth_verify(). */
    uint32_t epoch;
};

/* Writes one "WWW-Authenticate: Digest realm=..., nonce=..., opaque=..., algorithm=...,
 * qop=..." line (CRLF-terminated) per configured algorithm, sharing one fresh nonce issued at
 * `now`, bound to `bind` (sipreg_auth_bind_addr() of the client's address; absent: unbound) and
 * cfg->epoch; ", stale=true" is added to each when `stale`. The output depends on no username,
 * and its length only on the configuration. 0, SIPREG_EINVAL (bad cfg), SIPREG_ENOSPC (the
 * buffer is then overflowed), SIPREG_ECRYPTO. */
SIPREG_API int sipreg_auth_challenge_build(struct sipreg_buf *b,
                                           const struct sipreg_auth_server_cfg *cfg,
                                           struct sipreg_str bind, sipreg_time now, bool stale);

/* Why a credential check failed, for logs only (never tell the client). */
#define SIPREG_AUTH_REASON_MAP(XX)                                      \
    XX(OK, "ok")                                                        \
    XX(SCHEME, "scheme is not Digest")                                  \
    XX(ALGORITHM, "algorithm unknown or not offered")                   \
    XX(USERNAME, "username missing")                                    \
    XX(REALM, "realm mismatch")                                         \
    XX(URI, "digest-uri differs from the Request-URI")                  \
    XX(OPAQUE, "opaque missing or wrong")                               \
    XX(QOP, "qop missing, unknown or not allowed")                      \
    XX(NC, "nc missing or malformed")                                   \
    XX(CNONCE, "cnonce missing")                                        \
    XX(RESPONSE_FORMAT, "response missing or malformed")                \
    XX(NONCE, "nonce forged, malformed or sent to another address")     \
    XX(RESPONSE, "response mismatch")                                   \
    XX(NONCE_STALE, "nonce expired")                                    \
    XX(NONCE_EPOCH, "nonce issued before a restart or by another node") \
    XX(REPLAY, "nc replayed, nonce used up or evicted")

enum sipreg_auth_reason {
#define SIPREG_XX_AUTH_REASON(name, text) SIPREG_AUTH_REASON_##name,
    SIPREG_AUTH_REASON_MAP(SIPREG_XX_AUTH_REASON)
#undef SIPREG_XX_AUTH_REASON
        SIPREG_AUTH_REASON__COUNT
};

/* Log text of a reason; never NULL. */
SIPREG_API const char *sipreg_auth_reason_text(enum sipreg_auth_reason r);

/* The request being authenticated. */
struct sipreg_auth_request {
    struct sipreg_str method; /* the request method token */
    struct sipreg_str ruri;   /* the Request-URI exactly as in the request line */
    struct sipreg_str body;   /* the body, for qop=auth-int (absent = empty) */
    struct sipreg_str bind;   /* what nonces were bound to for this client: see
                               * sipreg_auth_challenge_build (absent: unbound) */
};

/* Checks Authorization/Proxy-Authorization credentials `cred` against the request.
 *
 * `ha1` is the stored hex HA1 of the user for the hash family of the algorithm the client used
 * (sipreg_auth_alg_parse(cred->algorithm), then sipreg_auth_alg_base()): look it up by
 * username and realm, and for an unknown user pass sipreg_auth_dummy_ha1() so that the work and
 * its time are the same. Unescaping the username for that lookup is the caller's business.
 *
 * In order:
 * - the scheme is Digest and the nonce was issued for this realm, secret and `req->bind`, else
 *   SIPREG_ENONCE: the request proves nothing about its sender (its source may be forged);
 *   answer with a fresh challenge and count nothing;
 * - the nonce is of cfg->epoch, fresh, and not used up in the tracker, else SIPREG_ESTALE,
 *   decided before the response is computed so that a used nonce tests no password: answer
 *   with a fresh challenge and stale=true, count nothing;
 * - from here a failure is the sender's (it received the nonce) and burns the nonce: algorithm
 *   offered, username present, realm equal, digest-uri byte-equal to `req->ruri` (clients copy
 *   the Request-URI), opaque equal, qop auth/auth-int (or absent if allowed), cnonce and a
 *   well-formed nc with a qop, then the response, compared in constant time: SIPREG_EAUTH;
 * - last the nc tracker: SIPREG_ESTALE for a replayed or lower nc (the client retries with a
 *   fresh nonce, a replayer gains nothing).
 * Returns 0 when authenticated, SIPREG_ENONCE, SIPREG_ESTALE, SIPREG_EAUTH, SIPREG_EINVAL (bad
 * cfg, ha1 of the wrong length, NULL tracker) or SIPREG_ECRYPTO. `why` (may be NULL) gets the
 * reason. */
SIPREG_API int sipreg_auth_verify(const struct sipreg_auth_server_cfg *cfg,
                                  const struct sipreg_auth *cred,
                                  const struct sipreg_auth_request *req, struct sipreg_str ha1,
                                  sipreg_time now, struct sipreg_auth_tracker *t,
                                  enum sipreg_auth_reason *why /* OUT */);

/* sipreg_auth_verify() in two steps, so that a caller can refuse a request whose nonce proves
 * nothing before it looks the user up (a forged source address then costs no store read):
 * sipreg_auth_verify_nonce() makes the first two checks above (0, SIPREG_ENONCE,
 * SIPREG_ESTALE, SIPREG_EINVAL, SIPREG_ECRYPTO) and fills `info`; only after 0, pass that
 * `info` to sipreg_auth_verify_response(), which makes the rest with the same results. */
SIPREG_API int sipreg_auth_verify_nonce(const struct sipreg_auth_server_cfg *cfg,
                                        const struct sipreg_auth *cred,
                                        const struct sipreg_auth_request *req, sipreg_time now,
                                        struct sipreg_auth_tracker *t,
                                        struct sipreg_auth_nonce_info *info /* OUT */,
                                        enum sipreg_auth_reason *why /* OUT */);
SIPREG_API int
sipreg_auth_verify_response(const struct sipreg_auth_server_cfg *cfg,
                            const struct sipreg_auth *cred, const struct sipreg_auth_request *req,
                            struct sipreg_str ha1, const struct sipreg_auth_nonce_info *info,
                            struct sipreg_auth_tracker *t, enum sipreg_auth_reason *why /* OUT */);

/* ---- client ---- */

/* What a client is willing to answer, on top of what it can answer at all. A zeroed policy
 * (or NULL) refuses nothing more. */
struct sipreg_auth_client_policy {
    /* The weakest algorithm answered: challenges of a weaker hash family are skipped (MD5 <
     * SHA-256 < SHA-512-256; -sess counts as its base). MD5 (0): any. */
    enum sipreg_auth_alg min_alg;
    /* Skip RFC 2069 challenges (no qop: no cnonce, no nc, so a captured answer replays freely).
     * Implied when min_alg is above MD5 (RFC 7616 challenges always carry a qop). */
    bool require_qop;
    /* Answer only challenges whose realm is exactly this (byte for byte, case-sensitive; the
     * challenge's quoted-pair escapes are removed first), so that nobody can make the client
     * hash its password for another realm. Absent (p == NULL): any realm. */
    struct sipreg_str realm;
};

/* Why sipreg_auth_challenge_choose() answered nothing; texts fit in an event reason. */
#define SIPREG_AUTH_REFUSAL_MAP(XX)               \
    XX(OK, "ok")                                  \
    XX(UNUSABLE, "no usable challenge")           \
    XX(REALM, "challenge realm not allowed")      \
    XX(ALGORITHM, "challenge algorithm too weak") \
    XX(QOP, "challenge without qop not allowed")

enum sipreg_auth_refusal {
#define SIPREG_XX_AUTH_REFUSAL(name, text) SIPREG_AUTH_REFUSAL_##name,
    SIPREG_AUTH_REFUSAL_MAP(SIPREG_XX_AUTH_REFUSAL)
#undef SIPREG_XX_AUTH_REFUSAL
        SIPREG_AUTH_REFUSAL__COUNT
};

/* Text of a refusal; never NULL. */
SIPREG_API const char *sipreg_auth_refusal_text(enum sipreg_auth_refusal r);

/* Picks the challenge to answer among `n` parsed WWW-Authenticate/Proxy-Authenticate values:
 * the strongest supported algorithm (SHA-512-256 > SHA-256 > MD5, -sess as strong as its base),
 * the first one among equals. Skipped as unusable: schemes other than Digest, unknown
 * algorithms, no realm or nonce, a qop list with neither auth nor auth-int, -sess without qop.
 * Then skipped by `pol` (may be NULL: no policy), in this order: another realm, an algorithm
 * below min_alg, no qop when one is required.
 * 0 and *idx set, or SIPREG_ENOENT when none is left. `why` (may be NULL) gets OK, or for
 * SIPREG_ENOENT the rule that skipped the first challenge only the policy refused, UNUSABLE when
 * none was usable at all. Reads nothing but its arguments; thread-safe. */
SIPREG_API int sipreg_auth_challenge_choose(const struct sipreg_auth *ch, size_t n,
                                            const struct sipreg_auth_client_policy *pol,
                                            size_t *idx /* OUT */,
                                            enum sipreg_auth_refusal *why /* OUT */);

/* What the client answers with. Give either `password`, or `ha1` with `ha1_alg` (any algorithm
 * of the hash family the HA1 was computed with). */
struct sipreg_auth_client_cred {
    struct sipreg_str username;
    struct sipreg_str password; /* absent when ha1 is given */
    struct sipreg_str ha1;
    enum sipreg_auth_alg ha1_alg;
    struct sipreg_str method; /* request method */
    struct sipreg_str uri;    /* the Request-URI of the request being sent */
    struct sipreg_str body;   /* for qop=auth-int */
    struct sipreg_str cnonce; /* absent: 16 bytes from RAND_bytes, in hex */
    uint32_t nc;              /* how many times this nonce was used, this time included: >= 1 */
};

/* Appends the Authorization/Proxy-Authorization header value answering `ch` to `b`:
 * Digest username, realm, nonce, uri, response, algorithm, then cnonce, qop, nc (8 hex digits)
 * when the challenge offers a qop (auth preferred to auth-int), and opaque when given. realm,
 * nonce and opaque are echoed as received. No policy is applied here: pass only a challenge
 * sipreg_auth_challenge_choose() chose under yours. 0, SIPREG_EINVAL (challenge unusable, HA1 of
 * another hash family or length, nc 0, neither password nor HA1), SIPREG_ENOSPC, SIPREG_ECRYPTO. */
SIPREG_API int sipreg_auth_credentials_build(struct sipreg_buf *b, const struct sipreg_auth *ch,
                                             const struct sipreg_auth_client_cred *c);

#ifdef __cplusplus
}
#endif
#endif
