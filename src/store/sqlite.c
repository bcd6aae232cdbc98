/* SQLite location and credential store: WAL + synchronous=FULL, group commit, versioned schema. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"

/* PRAGMA application_id of a sipreg database ("SPRG"): tells ours from other SQLite files. */
#define APP_ID 0x53505247

/* Schema migrations: entry i takes the database from user_version i to i + 1. The next version
 * is one more string here; never edit a released entry. */
static const char *const migrations[] = {
    /* 1 */
    "CREATE TABLE bindings(aor TEXT NOT NULL, key TEXT NOT NULL, contact TEXT NOT NULL,"
    " expires_at INTEGER NOT NULL, q INTEGER NOT NULL, call_id TEXT NOT NULL,"
    " cseq INTEGER NOT NULL, source TEXT, transport TEXT, path TEXT, instance TEXT,"
    " reg_id INTEGER NOT NULL, user_agent TEXT, registered_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL, PRIMARY KEY(aor, key));"
    /* The primary key's index serves lookups by aor alone; expiry scans need their own. */
    "CREATE INDEX bindings_expires_at ON bindings(expires_at);"
    "CREATE TABLE users(username TEXT NOT NULL, realm TEXT NOT NULL, ha1_md5 TEXT,"
    " ha1_sha256 TEXT, ha1_sha512_256 TEXT, enabled INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, PRIMARY KEY(username, realm));"
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);",
    /* 2: the domain a user belongs to; NULL (rows from version 1 too) means its realm's. */
    "ALTER TABLE users ADD COLUMN domain TEXT;",
    /* 3: every row carries its AOR's version, the token of compare-and-set (all rows of an AOR
     * share it; an AOR without rows has version 0). New versions come from a counter of the
     * whole database, so that none is ever handed out twice. Existing AORs get distinct
     * versions from their first row's rowid, and the counter starts above them. */
    "ALTER TABLE bindings ADD COLUMN version INTEGER NOT NULL DEFAULT 0;"
    "UPDATE bindings SET version ="
    " (SELECT min(b.rowid) FROM bindings b WHERE b.aor = bindings.aor);"
    "CREATE TABLE version_seq(v INTEGER NOT NULL);"
    "INSERT INTO version_seq(v) SELECT coalesce(max(version), 0) FROM bindings;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

#define BCOLS                                                                                     \
    "aor, key, contact, expires_at, q, call_id, cseq, source, transport, path, instance, reg_id," \
    " user_agent, registered_at, updated_at"
#define VERSION_COL 15 /* of S_READ: BCOLS, then version */
#define UCOLS       "username, realm, ha1_md5, ha1_sha256, ha1_sha512_256, enabled, created_at, domain"

enum {
    S_BEGIN,
    S_BEGIN_READ,
    S_COMMIT,
    S_ROLLBACK,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_VERSION,
    S_READ,
    S_NEXT_VERSION,
    S_INSERT,
    S_DEL_AOR,
    S_EXPIRE,
    S_ITERATE,
    S_USER_PUT,
    S_USER_DEL,
    S_USER_GET,
    S_USER_ITER,
    S_META_GET,
    S_META_PUT,
    S_N
};

static const char *const sql[S_N] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_BEGIN_READ] = "BEGIN",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT apply",
    [S_RELEASE] = "RELEASE apply",
    [S_ROLLBACK_TO] = "ROLLBACK TO apply",
    [S_VERSION] = "SELECT version FROM bindings WHERE aor = ?1 LIMIT 1",
    /* rowid order is the order replace inserted them in */
    [S_READ] = "SELECT " BCOLS ", version FROM bindings WHERE aor = ?1 ORDER BY rowid",
    [S_NEXT_VERSION] = "UPDATE version_seq SET v = v + 1 RETURNING v",
    [S_INSERT] = "INSERT INTO bindings(" BCOLS ", version) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                 " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [S_DEL_AOR] = "DELETE FROM bindings WHERE aor = ?1",
    [S_EXPIRE] = "DELETE FROM bindings WHERE rowid IN (SELECT rowid FROM bindings"
                 " WHERE expires_at <= ?1 LIMIT ?2)",
    [S_ITERATE] = "SELECT " BCOLS " FROM bindings WHERE expires_at > ?1 ORDER BY aor, rowid",
    [S_USER_PUT] = "INSERT OR REPLACE INTO users(" UCOLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [S_USER_DEL] = "DELETE FROM users WHERE username = ?1 AND realm = ?2",
    [S_USER_GET] = "SELECT " UCOLS " FROM users WHERE username = ?1 AND realm = ?2",
    [S_USER_ITER] = "SELECT " UCOLS " FROM users ORDER BY realm, username",
    [S_META_GET] = "SELECT v FROM meta WHERE k = ?1",
    [S_META_PUT] = "INSERT OR REPLACE INTO meta(k, v) VALUES(?1, ?2)",
};

/* One connection per store object, opened SQLITE_OPEN_NOMUTEX: a store object must be used
 * by one thread at a time. Several store objects (threads, processes) may share a file; their
 * writes serialise on SQLite's lock (busy timeout, then SIPREG_EBUSY). */
struct sq {
    sqlite3 *db;
    sqlite3_stmt *st[S_N];
    struct sipreg__store_limits l;
    int in_batch; /* a BEGIN IMMEDIATE is open */
    int poisoned; /* the open batch was lost: the next commit must fail */
};

static int map(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return 0;
    case SQLITE_NOMEM: return SIPREG_ENOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return SIPREG_EBUSY;
    case SQLITE_TOOBIG: return SIPREG_ELIMIT;
    default: return SIPREG_ESTORE;
    }
}

/* After a failed statement: SQLite rolls the whole transaction back on some errors (I/O, disk
 * full, out of memory). The changes of the batch are then gone, so the next commit must say so
 * rather than report success. */
static int failed(struct sq *q, int err)
{
    if (err && q->in_batch && sqlite3_get_autocommit(q->db)) {
        q->in_batch = 0;
        q->poisoned = 1;
    }
    return err;
}

/* Steps st to completion and resets it. */
static int run(struct sq *q, sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_reset(st);
    return failed(q, map(rc));
}

/* Steps st once: 1 for a row, 0 when done (st reset), or an error (st reset). */
static int step(struct sq *q, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    sqlite3_reset(st);
    return failed(q, map(rc));
}

static int bind_str(sqlite3_stmt *st, int i, struct sipreg_str s)
{
    if (!s.p)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text64(st, i, s.len ? s.p : "", s.len, SQLITE_STATIC, SQLITE_UTF8);
}

static int bind_all(sqlite3_stmt *st, int rc)
{
    if (rc != SQLITE_OK) {
        sqlite3_reset(st);
        return map(rc);
    }
    return 0;
}

/* A text column as a slice into SQLite's memory (valid until the next step or reset). */
static int col_str(sqlite3_stmt *st, int i, struct sipreg_str *out)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        *out = SIPREG_STR_NULL;
        return 0;
    }
    const char *p = (const char *)sqlite3_column_text(st, i);
    if (!p)
        return SIPREG_ENOMEM;
    *out = (struct sipreg_str){p, (size_t)sqlite3_column_bytes(st, i)};
    return 0;
}

static int row_binding(sqlite3_stmt *st, struct sipreg_binding *b)
{
    int err;
    memset(b, 0, sizeof *b);
    if ((err = col_str(st, 0, &b->aor)) || (err = col_str(st, 1, &b->key)) ||
        (err = col_str(st, 2, &b->contact)) || (err = col_str(st, 5, &b->call_id)) ||
        (err = col_str(st, 7, &b->source)) || (err = col_str(st, 8, &b->transport)) ||
        (err = col_str(st, 9, &b->path)) || (err = col_str(st, 10, &b->instance)) ||
        (err = col_str(st, 12, &b->user_agent)))
        return err;
    b->expires_at = sqlite3_column_int64(st, 3);
    b->q = sqlite3_column_int(st, 4);
    b->cseq = (uint32_t)sqlite3_column_int64(st, 6);
    b->reg_id = (int32_t)sqlite3_column_int(st, 11);
    b->registered_at = sqlite3_column_int64(st, 13);
    b->updated_at = sqlite3_column_int64(st, 14);
    return 0;
}

static int row_user(sqlite3_stmt *st, struct sipreg_user *u)
{
    int err;
    memset(u, 0, sizeof *u);
    if ((err = col_str(st, 0, &u->username)) || (err = col_str(st, 1, &u->realm)) ||
        (err = col_str(st, 2, &u->ha1_md5)) || (err = col_str(st, 3, &u->ha1_sha256)) ||
        (err = col_str(st, 4, &u->ha1_sha512_256)) || (err = col_str(st, 7, &u->domain)))
        return err;
    u->enabled = sqlite3_column_int(st, 5) != 0;
    u->created_at = sqlite3_column_int64(st, 6);
    return 0;
}

/* Copies the rows of the bound S_READ into the arena: one pass to size, one to copy. The
 * caller holds a transaction, so both passes see the same rows. OUT: *version, the AOR's
 * (every row has the same; 0 without rows). */
static int list_rows(struct sq *q, sqlite3_stmt *st, struct sipreg_arena *a,
                     struct sipreg_binding_list *out, uint64_t *version)
{
    struct sipreg_binding b;
    size_t n = 0, nchars = 0, k = 0;
    char *cur, *end;
    int err;
    *version = 0;
    while ((err = step(q, st)) == 1) {
        if ((err = row_binding(st, &b)))
            goto out;
        if (n == 0)
            *version = (uint64_t)sqlite3_column_int64(st, VERSION_COL);
        n++;
        nchars += sipreg__binding_strlen(&b);
    }
    if (err)
        return err;
    if ((err = sipreg__list_alloc(a, n, nchars, out, &cur)))
        return err;
    end = cur + nchars;
    while (k < n && (err = step(q, st)) == 1) {
        if ((err = row_binding(st, &b)))
            goto out;
        if (sipreg__binding_strlen(&b) > (size_t)(end - cur)) {
            err = SIPREG_ESTORE;
            goto out;
        }
        sipreg__binding_copy(&out->v[k++], &b, &cur);
    }
    if (err < 0)
        return err;
    err = k == n ? 0 : SIPREG_ESTORE;
out:
    sqlite3_reset(st);
    return err;
}

static int begin_batch(struct sq *q)
{
    if (q->in_batch)
        return 0;
    int err = run(q, q->st[S_BEGIN]);
    if (!err)
        q->in_batch = 1;
    return err;
}

/* The body of replace, inside a savepoint. See sipreg_store_replace() for the contract. */
static int replace_body(struct sq *q, struct sipreg_str aor, const struct sipreg_binding *v,
                        size_t n, uint64_t *new_version)
{
    sqlite3_stmt *st = q->st[S_DEL_AOR];
    int64_t version;
    int err;
    /* The whole list goes and comes back in the given order: rowids then keep that order, and
     * no rule about which rows changed is needed here. */
    if ((err = bind_all(st, bind_str(st, 1, aor))) || (err = run(q, st)))
        return err;
    *new_version = 0;
    if (n == 0)
        return 0;
    st = q->st[S_NEXT_VERSION];
    if ((err = step(q, st)) != 1)
        return err ? err : SIPREG_ESTORE;
    version = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    st = q->st[S_INSERT];
    for (size_t i = 0; i < n; i++) {
        const struct sipreg_binding *b = &v[i];
        int rc = bind_str(st, 1, aor);
        rc = rc ? rc : bind_str(st, 2, b->key);
        rc = rc ? rc : bind_str(st, 3, b->contact);
        rc = rc ? rc : sqlite3_bind_int64(st, 4, b->expires_at);
        rc = rc ? rc : sqlite3_bind_int(st, 5, b->q);
        rc = rc ? rc : bind_str(st, 6, b->call_id);
        rc = rc ? rc : sqlite3_bind_int64(st, 7, b->cseq);
        rc = rc ? rc : bind_str(st, 8, b->source);
        rc = rc ? rc : bind_str(st, 9, b->transport);
        rc = rc ? rc : bind_str(st, 10, b->path);
        rc = rc ? rc : bind_str(st, 11, b->instance);
        rc = rc ? rc : sqlite3_bind_int(st, 12, b->reg_id);
        rc = rc ? rc : bind_str(st, 13, b->user_agent);
        rc = rc ? rc : sqlite3_bind_int64(st, 14, b->registered_at);
        rc = rc ? rc : sqlite3_bind_int64(st, 15, b->updated_at);
        rc = rc ? rc : sqlite3_bind_int64(st, 16, version);
        if ((err = bind_all(st, rc)) || (err = run(q, st)))
            return err;
    }
    *new_version = (uint64_t)version;
    return 0;
}

/* Ends the savepoint; when the change failed, undoes it first. If even that fails the batch
 * cannot be trusted: roll it all back and make the next commit fail. */
static int end_savepoint(struct sq *q, int err)
{
    if (!q->in_batch)
        return err;
    if (err && run(q, q->st[S_ROLLBACK_TO]) == 0 && run(q, q->st[S_RELEASE]) == 0)
        return err;
    if (!err && (err = run(q, q->st[S_RELEASE])) == 0)
        return 0;
    if (q->in_batch) {
        run(q, q->st[S_ROLLBACK]);
        q->in_batch = 0;
        q->poisoned = 1;
    }
    return err;
}

/* The current version of aor, within the open transaction. */
static int aor_version(struct sq *q, struct sipreg_str aor, uint64_t *version)
{
    sqlite3_stmt *st = q->st[S_VERSION];
    int err;
    if ((err = bind_all(st, bind_str(st, 1, aor))))
        return err;
    *version = 0;
    if ((err = step(q, st)) != 1)
        return err;
    *version = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

static int sq_replace(void *self, struct sipreg_str aor, uint64_t expect,
                      const struct sipreg_binding *v, size_t n, int64_t now, uint64_t *new_version)
{
    struct sq *q = self;
    uint64_t version;
    int err;
    (void)now;
    /* The check runs inside the write transaction (BEGIN IMMEDIATE holds the write lock), so no
     * other connection, in this process or another, can change the AOR between it and the
     * write. */
    if ((err = begin_batch(q)) || (err = aor_version(q, aor, &version)))
        return err;
    if (version != expect)
        return SIPREG_ECONFLICT;
    if ((err = run(q, q->st[S_SAVEPOINT])))
        return err;
    return end_savepoint(q, replace_body(q, aor, v, n, new_version));
}

static int sq_commit(void *self)
{
    struct sq *q = self;
    int err;
    if (q->poisoned) {
        if (!sqlite3_get_autocommit(q->db))
            run(q, q->st[S_ROLLBACK]);
        q->in_batch = 0;
        q->poisoned = 0;
        return SIPREG_ESTORE;
    }
    if (!q->in_batch)
        return 0;
    err = run(q, q->st[S_COMMIT]);
    /* A failed COMMIT may leave the transaction open (busy) or already rolled back (I/O
     * error); either way every change of the batch must go. */
    if (err && !sqlite3_get_autocommit(q->db))
        run(q, q->st[S_ROLLBACK]);
    q->in_batch = 0;
    q->poisoned = 0;
    return err;
}

/* Reads run inside the open batch, or else in a read transaction of their own. */
static int begin_read(struct sq *q, int *own)
{
    *own = 0;
    if (q->in_batch)
        return 0;
    int err = run(q, q->st[S_BEGIN_READ]);
    if (!err)
        *own = 1;
    return err;
}

static int end_read(struct sq *q, int own, int err)
{
    if (own) {
        int e2 = run(q, q->st[S_COMMIT]);
        if (!sqlite3_get_autocommit(q->db))
            run(q, q->st[S_ROLLBACK]);
        if (!err)
            err = e2;
    }
    return err;
}

static int sq_read(void *self, struct sipreg_str aor, struct sipreg_arena *a,
                   struct sipreg_binding_list *out, uint64_t *version)
{
    struct sq *q = self;
    sqlite3_stmt *st = q->st[S_READ];
    int own, err;
    if ((err = begin_read(q, &own)))
        return err;
    if (!(err = bind_all(st, bind_str(st, 1, aor))))
        err = list_rows(q, st, a, out, version);
    return end_read(q, own, err);
}

static int sq_expire(void *self, int64_t now, size_t max_rows, size_t *purged)
{
    struct sq *q = self;
    sqlite3_stmt *st = q->st[S_EXPIRE];
    int err;
    if ((err = begin_batch(q)))
        return err;
    if ((err = bind_all(st, sqlite3_bind_int64(st, 1, now))) ||
        (err = bind_all(
             st, sqlite3_bind_int64(st, 2, max_rows > INT64_MAX ? INT64_MAX : (int64_t)max_rows))))
        return err;
    if ((err = run(q, st)))
        return err;
    *purged = (size_t)sqlite3_changes(q->db);
    return 0;
}

static int sq_iterate(void *self, int64_t now, sipreg_store_binding_fn fn, void *ud)
{
    struct sq *q = self;
    sqlite3_stmt *st = q->st[S_ITERATE];
    struct sipreg_binding b;
    int err;
    if ((err = bind_all(st, sqlite3_bind_int64(st, 1, now))))
        return err;
    while ((err = step(q, st)) == 1) {
        if ((err = row_binding(st, &b)) || (err = fn(&b, ud))) {
            sqlite3_reset(st);
            return err;
        }
    }
    return err;
}

static int sq_user_put(void *self, const struct sipreg_user *u)
{
    struct sq *q = self;
    sqlite3_stmt *st = q->st[S_USER_PUT];
    int err, rc;
    if ((err = begin_batch(q)))
        return err;
    rc = bind_str(st, 1, u->username);
    rc = rc ? rc : bind_str(st, 2, u->realm);
    rc = rc ? rc : bind_str(st, 3, u->ha1_md5);
    rc = rc ? rc : bind_str(st, 4, u->ha1_sha256);
    rc = rc ? rc : bind_str(st, 5, u->ha1_sha512_256);
    rc = rc ? rc : sqlite3_bind_int(st, 6, u->enabled ? 1 : 0);
    rc = rc ? rc : sqlite3_bind_int64(st, 7, u->created_at);
    rc = rc ? rc : bind_str(st, 8, u->domain);
    if ((err = bind_all(st, rc)))
        return err;
    return run(q, st);
}

static int sq_user_del(void *self, struct sipreg_str username, struct sipreg_str realm)
{
    struct sq *q = self;
    sqlite3_stmt *st = q->st[S_USER_DEL];
    int err;
    if ((err = begin_batch(q)))
        return err;
    if ((err = bind_all(st, bind_str(st, 1, username))) ||
        (err = bind_all(st, bind_str(st, 2, realm))) || (err = run(q, st)))
        return err;
    return sqlite3_changes(q->db) ? 0 : SIPREG_ENOENT;
}

static int sq_user_get(void *self, struct sipreg_str username, struct sipreg_str realm,
                       struct sipreg_arena *a, struct sipreg_user *out)
{
    struct sq *q = self;
    sqlite3_stmt *st = q->st[S_USER_GET];
    struct sipreg_user u;
    char *cur;
    int err;
    if ((err = bind_all(st, bind_str(st, 1, username))) ||
        (err = bind_all(st, bind_str(st, 2, realm))))
        return err;
    if ((err = step(q, st)) != 1)
        return err ? err : SIPREG_ENOENT;
    if (!(err = row_user(st, &u))) {
        if ((cur = sipreg_arena_alloc(a, sipreg__user_strlen(&u))))
            sipreg__user_copy(out, &u, &cur);
        else
            err = SIPREG_ENOMEM;
    }
    sqlite3_reset(st);
    return err;
}

static int sq_user_iterate(void *self, sipreg_store_user_fn fn, void *ud)
{
    struct sq *q = self;
    sqlite3_stmt *st = q->st[S_USER_ITER];
    struct sipreg_user u;
    int err;
    while ((err = step(q, st)) == 1) {
        if ((err = row_user(st, &u)) || (err = fn(&u, ud))) {
            sqlite3_reset(st);
            return err;
        }
    }
    return err;
}

static int sq_meta_get(void *self, struct sipreg_str key, struct sipreg_arena *a,
                       struct sipreg_str *out)
{
    struct sq *q = self;
    sqlite3_stmt *st = q->st[S_META_GET];
    int err;
    if ((err = bind_all(st, bind_str(st, 1, key))))
        return err;
    if ((err = step(q, st)) != 1)
        return err ? err : SIPREG_ENOENT;
    const void *p = sqlite3_column_blob(st, 0);
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    char *cur;
    err = 0;
    if (!p && n) /* a NULL pointer with bytes is SQLite running out of memory */
        err = SIPREG_ENOMEM;
    else if (!(cur = sipreg_arena_alloc(a, n)))
        err = SIPREG_ENOMEM;
    else
        *out = sipreg__str_copy((struct sipreg_str){p ? p : "", n}, &cur);
    sqlite3_reset(st);
    return err;
}

static int sq_meta_put(void *self, struct sipreg_str key, struct sipreg_str value)
{
    struct sq *q = self;
    sqlite3_stmt *st = q->st[S_META_PUT];
    int err, rc;
    if ((err = begin_batch(q)))
        return err;
    rc = bind_str(st, 1, key);
    rc = rc ? rc : sqlite3_bind_blob64(st, 2, value.p, value.len, SQLITE_STATIC);
    if ((err = bind_all(st, rc)))
        return err;
    return run(q, st);
}

static void sq_close(void *self)
{
    struct sq *q = self;
    if (q->db && !sqlite3_get_autocommit(q->db))
        sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < S_N; i++)
        sqlite3_finalize(q->st[i]);
    sqlite3_close(q->db);
    sipreg_free(q);
}

/* Runs one ad hoc statement returning one integer row. */
static int query_int(sqlite3 *db, const char *text, int64_t *v)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, text, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return map(rc);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? SIPREG_ESTORE : map(rc);
}

/* The schema version of the database, 0 for an empty file; SIPREG_ESTORE for a file that is not
 * SQLite, a SQLite database of something else, or a newer schema than ours. */
static int schema_version(sqlite3 *db, int *version)
{
    int64_t app = 0, ver = 0, objects = 0; /* gcc -O3 cannot see query_int set them */
    int err;
    /* The first read of the header: a file that is not SQLite fails here (SQLITE_NOTADB). */
    if ((err = query_int(db, "PRAGMA application_id", &app)) ||
        (err = query_int(db, "PRAGMA user_version", &ver)) ||
        (err = query_int(db, "SELECT count(*) FROM sqlite_master", &objects)))
        return err == SIPREG_EBUSY || err == SIPREG_ENOMEM ? err : SIPREG_ESTORE;
    if (app == 0 && ver == 0 && objects == 0) {
        *version = 0;
        return 0;
    }
    if (app != APP_ID || ver < 1 || ver > SCHEMA_VERSION)
        return SIPREG_ESTORE;
    *version = (int)ver;
    return 0;
}

static int exec(sqlite3 *db, const char *text)
{
    return map(sqlite3_exec(db, text, NULL, NULL, NULL));
}

static int migrate(sqlite3 *db)
{
    int version, err;
    if ((err = schema_version(db, &version)) || version == SCHEMA_VERSION)
        return err;
    if ((err = exec(db, "BEGIN IMMEDIATE")))
        return err;
    /* Again under the write lock: another process may have migrated meanwhile. */
    if ((err = schema_version(db, &version)))
        goto out;
    for (; version < SCHEMA_VERSION; version++)
        if ((err = exec(db, migrations[version])))
            goto out;
    char text[96];
    snprintf(text, sizeof text, "PRAGMA user_version = %d; PRAGMA application_id = %d",
             SCHEMA_VERSION, APP_ID);
    if ((err = exec(db, text)))
        goto out;
    err = exec(db, "COMMIT");
out:
    if (!sqlite3_get_autocommit(db))
        exec(db, "ROLLBACK");
    return err;
}

/* WAL lets readers run beside the writer; synchronous=FULL makes each commit reach the disk
 * (WAL with NORMAL may lose the last commits on power loss), since the 200 OK promises it. */
static int set_durability(sqlite3 *db)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return map(rc);
    rc = sqlite3_step(st);
    const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    /* An in-memory or temporary database has no WAL; a file that refuses it is an error. */
    const char *file = sqlite3_db_filename(db, "main");
    int ok = mode && (strcmp(mode, "wal") == 0 || !file || !*file);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return map(rc);
    if (!ok)
        return SIPREG_ESTORE;
    return exec(db, "PRAGMA synchronous = FULL");
}

/* The database holds HA1s, which answer digest challenges as well as passwords do. SQLite
 * would create the file with 0644 less the umask, and its -wal and -shm files copy the mode of
 * the database file: so create the file ourselves, 0600 whatever the umask, before SQLite opens
 * it. An existing file is left alone. Special names are SQLite's business. */
static int create_private(const char *path)
{
    if (!*path || strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : SIPREG_ESTORE;
    /* the umask may have taken bits from 0600 too (umask 0277): set it exactly */
    int err = fchmod(fd, 0600) == 0 ? 0 : SIPREG_ESTORE;
    close(fd);
    if (err)
        unlink(path);
    return err;
}

int sipreg__sqlite_open(void **self, const char *path, const struct sipreg__store_limits *l)
{
    struct sq *q;
    int err, rc;
    if ((err = create_private(path)))
        return err;
    if (!(q = sipreg_calloc(1, sizeof *q)))
        return SIPREG_ENOMEM;
    q->l = *l;
    rc = sqlite3_open_v2(path, &q->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err = rc == SQLITE_NOMEM ? SIPREG_ENOMEM : SIPREG_ESTORE;
        goto fail;
    }
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, l->busy_ms < 0 ? 0 : l->busy_ms);
    /* Identify the file before writing anything to it. */
    int version;
    if ((err = schema_version(q->db, &version)) || (err = set_durability(q->db)) ||
        (err = migrate(q->db)))
        goto fail;
    for (int i = 0; i < S_N; i++) {
        rc = sqlite3_prepare_v3(q->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &q->st[i], NULL);
        if (rc != SQLITE_OK) {
            err = rc == SQLITE_NOMEM ? SIPREG_ENOMEM : SIPREG_ESTORE;
            goto fail;
        }
    }
    *self = q;
    return 0;
fail:
    sq_close(q);
    return err;
}

const struct sipreg_store_ops sipreg__sqlite_ops = {
    .version = SIPREG_STORE_OPS_VERSION,
    .read = sq_read,
    .replace = sq_replace,
    .expire = sq_expire,
    .iterate = sq_iterate,
    .commit = sq_commit,
    .user_put = sq_user_put,
    .user_del = sq_user_del,
    .user_get = sq_user_get,
    .user_iterate = sq_user_iterate,
    .meta_get = sq_meta_get,
    .meta_put = sq_meta_put,
    .close = sq_close,
};
