/* sipreg location and credential store: one interface, pluggable backends (memory, SQLite). */
#ifndef SIPREG_STORE_H
#define SIPREG_STORE_H

#include "sipreg/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults for a zero field of struct sipreg_store_cfg. */
#define SIPREG_STORE_DEFAULT_MAX_PER_AOR  32
#define SIPREG_STORE_DEFAULT_MAX_BINDINGS (1u << 20)
#define SIPREG_STORE_DEFAULT_MAX_FIELD    8192
#define SIPREG_STORE_DEFAULT_BUSY_MS      5000
/* Meta keys are at most this long, meta values at most SIPREG_STORE_MAX_META bytes. */
#define SIPREG_STORE_MAX_META_KEY         256
#define SIPREG_STORE_MAX_META             65536

/* Store configuration. A zero field means the default named beside it; cfg may be NULL. */
struct sipreg_store_cfg {
    size_t max_bindings_per_aor; /* SIPREG_STORE_DEFAULT_MAX_PER_AOR */
    size_t max_bindings;         /* all AORs together, memory backend only: DEFAULT_MAX_BINDINGS */
    size_t max_field_len;        /* any one string of a binding or user: DEFAULT_MAX_FIELD */
    uint8_t hash_key[16];        /* memory backend SipHash key; all zero: random (flooding) */
    int busy_timeout_ms;         /* SQLite: wait this long for a lock; < 0: never wait */
};

/* One registered contact of an address-of-record. Every string is a slice; an absent value has
 * p == NULL. Bindings returned by the store point into the caller's arena. */
struct sipreg_binding {
    struct sipreg_str aor;        /* the address-of-record, exactly as the registrar keys it */
    struct sipreg_str key;        /* identity within the AOR: normalised URI or instance/reg-id */
    struct sipreg_str contact;    /* the Contact value as received, for the 200 OK */
    int64_t expires_at;           /* Unix seconds */
    int q;                        /* -1: none, else 0..1000 (q=0.5 is 500) */
    struct sipreg_str call_id;    /* of the REGISTER that last changed the binding */
    uint32_t cseq;                /* ditto */
    struct sipreg_str source;     /* where that REGISTER came from, e.g. "udp:192.0.2.4:5060" */
    struct sipreg_str transport;  /* e.g. "udp" */
    struct sipreg_str path;       /* Path header values joined with ", "; may be empty */
    struct sipreg_str instance;   /* +sip.instance (RFC 5626) */
    int32_t reg_id;               /* -1: none */
    struct sipreg_str user_agent; /* User-Agent header */
    int64_t registered_at;        /* Unix seconds; set by apply (decide) on first insert */
    int64_t updated_at;           /* Unix seconds; set by apply (decide) on every change */
};

/* An array of bindings placed in the caller's arena. */
struct sipreg_binding_list {
    struct sipreg_binding *v;
    size_t n;
};

enum sipreg_store_op_kind {
    SIPREG_STORE_UPSERT = 1, /* add or refresh b (b.aor, registered_at, updated_at ignored) */
    SIPREG_STORE_REMOVE,     /* remove b.key (an UPSERT with expires_at <= now is the same) */
    SIPREG_STORE_REMOVE_ALL  /* Contact: * ; only b.call_id and b.cseq are used */
};

/* One operation of a change set. call_id and cseq are those of the REGISTER; they are always
 * required, as they drive the ordering check. */
struct sipreg_store_op {
    enum sipreg_store_op_kind kind;
    struct sipreg_binding b;
};

/* Every change one REGISTER makes to one AOR. Applied all-or-nothing. */
struct sipreg_store_change {
    struct sipreg_str aor;
    const struct sipreg_store_op *ops;
    size_t nops;
};

/* A user's credentials. HA1 values are lowercase or uppercase hex, computed by the caller
 * (H(username:realm:password) per algorithm); absent (p == NULL) when not provisioned. The
 * store never sees a password.
 *
 * `domain` is the SIP domain the user belongs to (a host name such as "example.com"; compare it
 * case-insensitively). The registrar authorizes a user only for AORs of its domain. A user
 * without a domain (p == NULL) belongs to the domain named by its realm. When present it is
 * not empty. The store keeps it as given; (username, realm) alone identify the user. */
struct sipreg_user {
    struct sipreg_str username;
    struct sipreg_str realm;
    struct sipreg_str ha1_md5;        /* 32 hex digits */
    struct sipreg_str ha1_sha256;     /* 64 hex digits */
    struct sipreg_str ha1_sha512_256; /* 64 hex digits */
    bool enabled;
    int64_t created_at;       /* Unix seconds, given by the caller */
    struct sipreg_str domain; /* absent: the realm's domain */
};

/* Iteration callbacks. The argument and its slices are valid only during the call; a non-zero
 * return stops the iteration, and the iterate function returns that value. A callback must not
 * call back into the same store. */
typedef int (*sipreg_store_binding_fn)(const struct sipreg_binding *b, void *ud);
typedef int (*sipreg_store_user_fn)(const struct sipreg_user *u, void *ud);

/* A backend, VFS-style: the public functions below validate their arguments, then call these
 * with `self`. Every function pointer is required. Arguments reaching a backend are valid
 * (non-NULL store objects, slices within limits); on failure the public layer rewinds the
 * arena, so a backend need not. `version` must be SIPREG_STORE_OPS_VERSION. Version 2 replaced
 * version 1's apply and lookup with read and replace; later versions will only append members.
 *
 * A backend holds no registration rules: it stores, for each AOR, a list of bindings
 * and a version, and replaces the list only if its version is unchanged (compare-and-set). The
 * RFC 3261 §10.3 rules (ordering, expiry, the per-AOR limit, registered_at and updated_at) live
 * once, in the front end (sipreg_store_decide and sipreg_store_apply), whatever the backend.
 *
 * read: every binding stored for aor, expired or not, in the order replace last stored them,
 *   copied into a (OUT: *out), and the AOR's version (OUT: *version): 0 when it has no binding
 *   stored. Each binding's aor is the aor asked for.
 * replace: if the AOR's version is still expect_version, replaces its whole list with v[0..n)
 *   atomically (n == 0 deletes the AOR) and gives its new version (OUT: *new_version; 0 after a
 *   delete), else fails with SIPREG_ECONFLICT and changes nothing. Stores `aor` as every
 *   binding's aor and everything else of v as given, in the given order. A new version is
 *   never one the store (the database, for a shared one) has handed out before, even for an
 *   AOR deleted and created again, so that a version read long ago cannot match by accident.
 *   The keys of v are distinct. Joins the open batch like every write (durable at commit).
 *   Limits of the backend itself (the memory backend's max_bindings) bite only when the list
 *   grows: SIPREG_ELIMIT. `now` is for backends that keep time themselves (a TTL); the
 *   version check must happen where the write does (inside the backend's own transaction or
 *   lock), so that several store objects on one database stay safe.
 * expire: deletes at most max_rows stored bindings with expires_at <= now. It does not change
 *   the version of an AOR that keeps bindings; one left with none is deleted (version 0).
 * iterate: every binding with expires_at > now. */
#define SIPREG_STORE_OPS_VERSION 2
struct sipreg_store_ops {
    int version;
    int (*read)(void *self, struct sipreg_str aor, struct sipreg_arena *a,
                struct sipreg_binding_list *out, uint64_t *version);
    int (*replace)(void *self, struct sipreg_str aor, uint64_t expect_version,
                   const struct sipreg_binding *v, size_t n, int64_t now, uint64_t *new_version);
    int (*expire)(void *self, int64_t now, size_t max_rows, size_t *purged);
    int (*iterate)(void *self, int64_t now, sipreg_store_binding_fn fn, void *ud);
    int (*commit)(void *self);
    int (*user_put)(void *self, const struct sipreg_user *u);
    int (*user_del)(void *self, struct sipreg_str username, struct sipreg_str realm);
    int (*user_get)(void *self, struct sipreg_str username, struct sipreg_str realm,
                    struct sipreg_arena *a, struct sipreg_user *out);
    int (*user_iterate)(void *self, sipreg_store_user_fn fn, void *ud);
    int (*meta_get)(void *self, struct sipreg_str key, struct sipreg_arena *a,
                    struct sipreg_str *out);
    int (*meta_put)(void *self, struct sipreg_str key, struct sipreg_str value);
    void (*close)(void *self);
};

/* An open store. Thread safety: a store object must be used by one thread at a time (the
 * registrar uses one writer). The SQLite backend holds one connection per store object; several
 * objects, in one process or several, may open the same file, and their batches then serialise
 * on SQLite's write lock (busy timeout, then SIPREG_EBUSY). */
struct sipreg_store;

/* ---- opening and closing ---- */

/* A store held in process memory: a compact location table (each AOR's bindings packed in one
 * block, about 100 bytes a binding beside its Contact URI and Call-ID; found in O(1) by a
 * SipHash-keyed table; purged by an expiry wheel that visits only what has expired) and tables
 * of users and metadata. Nothing survives close; commit is a no-op (changes are visible at
 * once). Unlike other store objects it may be used by several threads at once: reads run in
 * parallel, writes one at a time. A string of a binding is at most 65534 bytes here, whatever
 * max_field_len says. The hash key is cfg->hash_key, or random bytes when cfg is NULL or its
 * key is all zero. Returns 0, SIPREG_ENOMEM, SIPREG_ECRYPTO (no randomness) or SIPREG_EINVAL.
 * OUT: *out. */
SIPREG_API int sipreg_store_open_memory(struct sipreg_store **out,
                                        const struct sipreg_store_cfg *cfg);

/* A store in the SQLite database file `path` (NUL-terminated), created if absent, migrated to
 * the current schema on open. WAL journal with synchronous=FULL: once commit returns 0 the
 * changes survive a crash or power loss. The file holds password hashes: one this call creates
 * gets mode 0600 whatever the umask, and SQLite gives its -wal and -shm files the mode of the
 * database file. An existing file keeps its mode (checking it is the caller's business; the
 * library does not log). Special names (":memory:", "", "file:" URIs) are passed to SQLite as
 * they are. Returns SIPREG_ESTORE for a file that is not a sipreg
 * database (not SQLite, or SQLite with other tables or another application id) or whose schema
 * is newer than this library's, SIPREG_EBUSY when another process holds the lock past the
 * busy timeout, SIPREG_ENOMEM. One connection per store object. OUT: *out. */
SIPREG_API int sipreg_store_open_sqlite(struct sipreg_store **out, const char *path,
                                        const struct sipreg_store_cfg *cfg);

/* Wraps a backend: later calls dispatch to ops with self. ops must outlive the store; the
 * store takes ownership of self only on success (close calls ops->close(self)). The front end
 * applies cfg's max_bindings_per_aor (in sipreg_store_apply, through sipreg_store_decide) and
 * max_field_len; the other fields are for the backend, which gets them its own way. cfg may be
 * NULL: the defaults. A backend needs no registration rule of its own: see struct
 * sipreg_store_ops. Returns 0, SIPREG_EINVAL (bad ops version or missing member) or
 * SIPREG_ENOMEM. OUT: *out. */
SIPREG_API int sipreg_store_create_cfg(struct sipreg_store **out,
                                       const struct sipreg_store_ops *ops, void *self,
                                       const struct sipreg_store_cfg *cfg);
/* sipreg_store_create_cfg() with the default limits. */
SIPREG_API int sipreg_store_create(struct sipreg_store **out, const struct sipreg_store_ops *ops,
                                   void *self);

/* Makes `inner` usable from several threads (the registrar's workers), taking ownership of it,
 * with inner's limits. A thread that writes (replace, and so apply; expire, user_put, user_del,
 * meta_put) holds the store from that write until its own sipreg_store_commit(), so one
 * worker's batch is committed, or rolled back, by that worker alone and its 200 OKs are never
 * sent for another worker's lost commit. Reads from other threads wait meanwhile. Between an
 * apply's read and its replace another thread may write the AOR: the replace then conflicts and
 * apply reads again, now holding the store. A thread must commit what it wrote before it blocks
 * on anything else. Returns 0, SIPREG_ENOMEM (inner is then closed). OUT: *out. */
SIPREG_API int sipreg_store_open_locked(struct sipreg_store **out, struct sipreg_store *inner);

/* One store of two, taking ownership of both: bindings (read, replace and so apply and lookup,
 * expire, iterate) go to `locations`, with its limits, users and metadata to `credentials`; commit
 * commits both (credentials first; both even when one fails, each rolling back its own batch). A
 * batch that writes to both is not atomic across them: the registrar writes bindings only. For
 * `sipreg serve --location memory`: bindings in memory (lost on a crash, as Kamailio's default),
 * users in SQLite. Returns 0, SIPREG_EINVAL (a NULL store), SIPREG_ENOMEM; on failure both are
 * closed. OUT: *out. */
SIPREG_API int sipreg_store_open_split(struct sipreg_store **out, struct sipreg_store *locations,
                                       struct sipreg_store *credentials);

/* Another handle on s, sharing its backend, that closing leaves open (s must outlive it): for
 * giving one store to several owners, such as the split stores of several workers that share
 * one memory location store. Use it from several threads only when s is safe for that (the
 * memory store is). 0, SIPREG_EINVAL, SIPREG_ENOMEM. OUT: *out. */
SIPREG_API int sipreg_store_open_view(struct sipreg_store **out, struct sipreg_store *s);

/* Closes the store. Changes not yet committed are discarded by backends with transactions.
 * s may be NULL. */
SIPREG_API void sipreg_store_close(struct sipreg_store *s);

/* ---- bindings ---- */

/* The rules of RFC 3261 §10.3 steps 6-7, as a pure function: what c makes of an AOR whose
 * bindings are cur (cur may be NULL: none). No store is involved, so a registrar worker can
 * decide beside the writer and leave only the compare-and-set to it.
 *
 * Bindings of cur with expires_at <= now count as absent and are dropped. For each op touching
 * a current binding (or, for REMOVE_ALL, each current binding) with the same Call-ID, the op's
 * CSeq must be strictly higher than the stored one; a different Call-ID replaces. Checks use cur
 * as it is, and ops are then applied in order (a later op on the same key wins). Removing an
 * absent binding is not an error. An UPSERT makes a binding with aor c->aor, updated_at now and
 * registered_at now, or that of the binding of the same key it replaces (which keeps its place);
 * new keys are appended, so the result stays in order of first registration. The result may
 * hold at most max_per_aor bindings (0: SIPREG_STORE_DEFAULT_MAX_PER_AOR) when it has more than
 * cur's unexpired ones; a shrinking or equal list is never refused, so that an AOR above a
 * lowered limit can still refresh or shrink.
 *
 * Returns 0 and the next list: OUT: *out, its array in arena a; its slices point into cur's and
 * c's strings (nothing is copied), so those must outlive it. Fails with the arena rewound and
 * *out empty: SIPREG_EORDER (ordering), SIPREG_ELIMIT (the per-AOR limit), SIPREG_EINVAL (NULL
 * argument, empty AOR, key, contact or Call-ID, q or reg_id out of range, unknown op),
 * SIPREG_ENOMEM (the arena is too small). Field lengths are the store's business
 * (sipreg_store_apply checks them). Thread-safe. */
SIPREG_API int sipreg_store_decide(const struct sipreg_binding_list *cur,
                                   const struct sipreg_store_change *c, int64_t now,
                                   size_t max_per_aor, struct sipreg_arena *a,
                                   struct sipreg_binding_list *out);

/* The unexpired (expires_at > now) bindings of aor, copied into arena a in order of first
 * registration (OUT: *out; n == 0 when there are none), and the AOR's version (OUT: *version,
 * which may be NULL): the token sipreg_store_replace() compares. Version 0 means no binding is
 * stored; an AOR whose bindings have all expired but are not purged yet has a version and an
 * empty list. SIPREG_ENOMEM (arena rewound) when a is too small for the list. A read joins
 * nothing and needs no commit; on SQLite it sees the open batch of this store object, or else
 * the last commit of any. */
SIPREG_API int sipreg_store_read(struct sipreg_store *s, struct sipreg_str aor, int64_t now,
                                 struct sipreg_arena *a, struct sipreg_binding_list *out,
                                 uint64_t *version);

/* Compare-and-set: if aor's version is still `version` (from sipreg_store_read(); 0: the AOR
 * has no binding), replaces its whole binding list with v[0..n) (n == 0 deletes it) and gives
 * the new version (OUT: *new_version, may be NULL; 0 after a delete). The bindings are stored
 * as given (registered_at and updated_at included: use sipreg_store_decide() to make them),
 * each with aor as its aor; their keys must be distinct, their aor absent or equal to aor.
 * No ordering rule and no per-AOR limit is applied: that is decide's part.
 *
 * Fails with nothing changed: SIPREG_ECONFLICT (the version moved: read and decide again),
 * SIPREG_EINVAL (a binding apply would refuse, duplicate keys), SIPREG_ELIMIT (a field longer
 * than max_field_len, or a backend limit such as the memory store's max_bindings while the list
 * grows), SIPREG_ENOMEM, SIPREG_EBUSY (SQLite lock held elsewhere), SIPREG_ESTORE. Versions are
 * never reused within a store (within a database for SQLite), so ABA cannot happen. Joins the
 * open batch like apply: visible to this store object at once, durable after commit. The
 * version check is made under the backend's write lock (SQLite: inside its write transaction),
 * so store objects in several processes may share one database. */
SIPREG_API int sipreg_store_replace(struct sipreg_store *s, struct sipreg_str aor, uint64_t version,
                                    const struct sipreg_binding *v, size_t n, int64_t now,
                                    uint64_t *new_version);

/* Applies one REGISTER's change set to c->aor atomically, with the rules of
 * sipreg_store_decide() (RFC 3261 §10.3 steps 6-7, expiry, the per-AOR limit max_bindings_per_aor
 * of the store's cfg): it reads the AOR, decides and replaces it if its version is unchanged,
 * reading and deciding again when another writer came first (a bounded number of times, then
 * SIPREG_EBUSY).
 *
 * Returns 0 and, when out is not NULL, the AOR's unexpired bindings after the change (in order
 * of first registration) copied into arena a. Fails with nothing changed and the arena rewound:
 * SIPREG_EORDER (ordering), SIPREG_ELIMIT (the change would leave the AOR with more than
 * max_bindings_per_aor bindings, or the store above max_bindings, while growing it; there is
 * no eviction of old bindings; or a field above max_field_len), SIPREG_ENOMEM (heap, or the
 * arena is too small for the list), SIPREG_EINVAL (empty AOR, key, contact or Call-ID, q out of
 * range, unknown op), SIPREG_EBUSY (SQLite lock held elsewhere, or the AOR kept changing
 * under concurrent writers), SIPREG_ESTORE. A failed apply leaves other changes of the open
 * batch intact. The arena holds only the result: the AOR as read is kept elsewhere meanwhile.
 *
 * Batching: the change joins the store's open batch, opening one if none is; it is visible to
 * this store object at once but durable only after sipreg_store_commit(). */
SIPREG_API int sipreg_store_apply(struct sipreg_store *s, const struct sipreg_store_change *c,
                                  int64_t now, struct sipreg_arena *a,
                                  struct sipreg_binding_list *out);

/* Makes every change since the last commit (apply, replace, expire, user_put, user_del,
 * meta_put) durable at once: group commit. 0 also when nothing is pending. On failure
 * (SIPREG_ESTORE, SIPREG_EBUSY) every change since the last commit is rolled back, so each
 * REGISTER of the batch must be answered with an error. */
SIPREG_API int sipreg_store_commit(struct sipreg_store *s);

/* sipreg_store_read() without the version: the unexpired (expires_at > now) bindings of aor
 * into arena a, in order of first registration; n == 0 when there are none. SIPREG_ENOMEM
 * (arena rewound) when a is too small. OUT: *out. */
SIPREG_API int sipreg_store_lookup(struct sipreg_store *s, struct sipreg_str aor, int64_t now,
                                   struct sipreg_arena *a, struct sipreg_binding_list *out);

/* Deletes at most max_rows bindings with expires_at <= now (expired ones are already invisible
 * to lookups; this reclaims their space). Bounded work: call it periodically until *purged is
 * 0. The memory backend scans a slice of its table per call, so a 0 there means "nothing found
 * in this slice" only after a full sweep has been made. Joins the open batch. OUT: *purged. */
SIPREG_API int sipreg_store_expire(struct sipreg_store *s, int64_t now, size_t max_rows,
                                   size_t *purged);

/* Calls fn for every unexpired binding of every AOR (for listings; not for the hot path). */
SIPREG_API int sipreg_store_iterate(struct sipreg_store *s, int64_t now, sipreg_store_binding_fn fn,
                                    void *ud);

/* ---- credentials and server metadata ---- */

/* Inserts or replaces the user (username, realm), both non-empty, with every field of u (a
 * replaced user's domain is u->domain too). SIPREG_EINVAL for an HA1 that is not hex of its
 * algorithm's length or a present but empty domain, SIPREG_ELIMIT for a domain longer than
 * max_field_len. Joins the open batch. */
SIPREG_API int sipreg_store_user_put(struct sipreg_store *s, const struct sipreg_user *u);
/* Deletes a user; SIPREG_ENOENT when absent. Joins the open batch. */
SIPREG_API int sipreg_store_user_del(struct sipreg_store *s, struct sipreg_str username,
                                     struct sipreg_str realm);
/* The user's record (domain included), its slices in arena a. SIPREG_ENOENT means exactly "no
 * such user": it is returned only after a successful read found no record. A read that fails
 * returns another code (SIPREG_ESTORE for a damaged or unreadable database, SIPREG_EBUSY for a
 * lock held elsewhere past the busy timeout, SIPREG_ENOMEM also when a is too small), so a
 * caller must not take every error for an unknown user. A backend given to
 * sipreg_store_create() must keep this contract; the locked wrapper passes codes through. On
 * failure *out is zeroed and a rewound. OUT: *out. */
SIPREG_API int sipreg_store_user_get(struct sipreg_store *s, struct sipreg_str username,
                                     struct sipreg_str realm, struct sipreg_arena *a,
                                     struct sipreg_user *out);
/* Calls fn for every user. */
SIPREG_API int sipreg_store_user_iterate(struct sipreg_store *s, sipreg_store_user_fn fn, void *ud);

/* A small key/value table (the server secret, ...). Values are binary. get: SIPREG_ENOENT when
 * absent, the value copied into a. put: inserts or replaces; joins the open batch; ELIMIT above
 * SIPREG_STORE_MAX_META_KEY / SIPREG_STORE_MAX_META bytes. */
SIPREG_API int sipreg_store_meta_get(struct sipreg_store *s, struct sipreg_str key,
                                     struct sipreg_arena *a, struct sipreg_str *out);
SIPREG_API int sipreg_store_meta_put(struct sipreg_store *s, struct sipreg_str key,
                                     struct sipreg_str value);

#ifdef __cplusplus
}
#endif
#endif
