/* Tests for the SQLite store: durability, group commit and rollback, schema identity checks and
 * migrations, file modes, read errors. */
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "sipreg/store.h"
#include "test.h"

#include "store_fixture.h"

static char mem[1 << 14];

static struct sipreg_store_op sq_up(const char *key, int64_t exp, const char *cid, uint32_t cseq)
{
    struct sipreg_store_op op;
    memset(&op, 0, sizeof op);
    op.kind = SIPREG_STORE_UPSERT;
    op.b.key = sipreg_str_z(key);
    op.b.contact = sipreg_str_z(key);
    op.b.expires_at = exp;
    op.b.q = -1;
    op.b.call_id = sipreg_str_z(cid);
    op.b.cseq = cseq;
    op.b.reg_id = -1;
    return op;
}

static int sq_apply(struct sipreg_store *s, const char *aor, struct sipreg_store_op op)
{
    struct sipreg_store_change c = {sipreg_str_z(aor), &op, 1};
    return sipreg_store_apply(s, &c, 1000, NULL, NULL);
}

/* Bindings of aor at time 1000, or -1 on error. */
static long sq_count(struct sipreg_store *s, const char *aor)
{
    struct sipreg_arena a;
    struct sipreg_binding_list l;
    sipreg_arena_init(&a, mem, sizeof mem);
    if (sipreg_store_lookup(s, sipreg_str_z(aor), 1000, &a, &l))
        return -1;
    return (long)l.n;
}

/* Reads (or, with set, writes) the big-endian 32-bit header field at off of a closed
 * database. */
static int header_u32(const char *path, off_t off, uint32_t *v, int set)
{
    unsigned char b[4];
    int fd = open(path, set ? O_RDWR : O_RDONLY);
    if (fd < 0)
        return -1;
    int ok;
    if (set) {
        b[0] = (unsigned char)(*v >> 24);
        b[1] = (unsigned char)(*v >> 16);
        b[2] = (unsigned char)(*v >> 8);
        b[3] = (unsigned char)*v;
        ok = pwrite(fd, b, 4, off) == 4;
    } else {
        ok = pread(fd, b, 4, off) == 4;
        *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    }
    close(fd);
    return ok ? 0 : -1;
}

#define USER_VERSION_OFF 60
#define APP_ID_OFF       68
#define SCHEMA_V         3 /* the schema version this library writes */

static int durable_body(const struct tmpdb *t)
{
    struct sipreg_store *s;
    struct sipreg_arena a;
    struct sipreg_user u;
    struct sipreg_str v;
    size_t n;
    ASSERT_EQ(sipreg_store_open_sqlite(&s, t->path, NULL), 0);
    ASSERT_EQ(sq_apply(s, "kept", sq_up("k", 2000, "c", 1)), 0);
    ASSERT_EQ(sq_apply(s, "kept", sq_up("gone-later", 1500, "c", 1)), 0);
    memset(&u, 0, sizeof u);
    u.username = sipreg_str_z("bob");
    u.realm = sipreg_str_z("r");
    u.ha1_md5 = sipreg_str_z("00112233445566778899aabbccddeeff");
    u.enabled = true;
    ASSERT_EQ(sipreg_store_user_put(s, &u), 0);
    ASSERT_EQ(sipreg_store_meta_put(s, sipreg_str_z("secret"), sipreg_str_z("s3")), 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    ASSERT_EQ(sipreg_store_commit(s), 0); /* nothing pending */
    /* Not committed: visible to this connection, lost at close. */
    ASSERT_EQ(sq_apply(s, "lost", sq_up("k", 2000, "c", 1)), 0);
    ASSERT_EQ(sq_count(s, "lost"), 1);
    ASSERT_EQ(sipreg_store_expire(s, 1600, 10, &n), 0);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(sipreg_store_user_del(s, u.username, u.realm), 0);
    sipreg_store_close(s);

    uint32_t ver, app;
    ASSERT_EQ(header_u32(t->path, USER_VERSION_OFF, &ver, 0), 0);
    ASSERT_EQ(header_u32(t->path, APP_ID_OFF, &app, 0), 0);
    ASSERT_EQ(ver, SCHEMA_V);
    ASSERT_EQ(app, 0x53505247);

    ASSERT_EQ(sipreg_store_open_sqlite(&s, t->path, NULL), 0);
    int rc = 1;
    sipreg_arena_init(&a, mem, sizeof mem);
    if (sq_count(s, "kept") != 2 || sq_count(s, "lost") != 0)
        goto out;
    if (sipreg_store_user_get(s, u.username, u.realm, &a, &u) != 0 ||
        !sipreg_str_eq(u.ha1_md5, sipreg_str_z("00112233445566778899aabbccddeeff")))
        goto out;
    if (sipreg_store_meta_get(s, sipreg_str_z("secret"), &a, &v) != 0 ||
        !sipreg_str_eq(v, sipreg_str_z("s3")))
        goto out;
    rc = 0;
out:
    sipreg_store_close(s);
    ASSERT_EQ(rc, 0);
    return 0;
}

TEST(store_sqlite_durable_reopen)
{
    struct tmpdb t;
    if (tmpdb_make(&t))
        return 1;
    int rc = durable_body(&t);
    tmpdb_remove(&t);
    return rc;
}

static int batch_body(struct sipreg_store *a, struct sipreg_store *b)
{
    ASSERT_EQ(sq_apply(a, "x", sq_up("k", 2000, "c", 5)), 0);
    ASSERT_EQ(sipreg_store_commit(a), 0);
    /* A batch: three changes, and one failing between them which must not disturb them. */
    ASSERT_EQ(sq_apply(a, "a1", sq_up("k", 2000, "c", 1)), 0);
    ASSERT_EQ(sq_apply(a, "a2", sq_up("k", 2000, "c", 1)), 0);
    ASSERT_EQ(sq_apply(a, "x", sq_up("k", 2000, "c", 4)), SIPREG_EORDER);
    ASSERT_EQ(sq_apply(a, "a3", sq_up("k", 2000, "c", 1)), 0);
    ASSERT_EQ(sq_count(a, "a2"), 1);
    /* Another connection sees none of it yet, and cannot write meanwhile. */
    ASSERT_EQ(sq_count(b, "a1"), 0);
    ASSERT_EQ(sq_apply(b, "b1", sq_up("k", 2000, "c", 1)), SIPREG_EBUSY);
    ASSERT_EQ(sipreg_store_commit(b), 0);
    ASSERT_EQ(sipreg_store_commit(a), 0);
    ASSERT_EQ(sq_count(b, "a1"), 1);
    ASSERT_EQ(sq_count(b, "a2"), 1);
    ASSERT_EQ(sq_count(b, "a3"), 1);
    ASSERT_EQ(sq_count(b, "x"), 1);
    /* Now b may write; it sees a's committed binding when checking order. */
    ASSERT_EQ(sq_apply(b, "x", sq_up("k", 2000, "c", 5)), SIPREG_EORDER);
    ASSERT_EQ(sq_apply(b, "b1", sq_up("k", 2000, "c", 1)), 0);
    ASSERT_EQ(sipreg_store_commit(b), 0);
    ASSERT_EQ(sq_count(a, "b1"), 1);
    /* a's readers are not blocked by b's open batch either. */
    ASSERT_EQ(sq_apply(b, "b2", sq_up("k", 2000, "c", 1)), 0);
    ASSERT_EQ(sq_count(a, "b1"), 1);
    ASSERT_EQ(sq_count(a, "b2"), 0);
    ASSERT_EQ(sipreg_store_commit(b), 0);
    return 0;
}

TEST(store_sqlite_batch)
{
    struct tmpdb t;
    struct sipreg_store *a = NULL, *b = NULL;
    struct sipreg_store_cfg nowait = {.busy_timeout_ms = -1};
    int rc = 1;
    if (tmpdb_make(&t))
        return 1;
    if (sipreg_store_open_sqlite(&a, t.path, NULL) == 0 &&
        sipreg_store_open_sqlite(&b, t.path, &nowait) == 0)
        rc = batch_body(a, b);
    sipreg_store_close(a);
    sipreg_store_close(b);
    tmpdb_remove(&t);
    return rc;
}

/* The WAL may not grow: the next COMMIT cannot write its frames and fails. */
static int commit_fail_body(const struct tmpdb *t, struct sipreg_store *s)
{
    char wal[600];
    struct stat st;
    struct rlimit old, lim;
    ASSERT_EQ(sq_apply(s, "before", sq_up("k", 2000, "c", 1)), 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    snprintf(wal, sizeof wal, "%s-wal", t->path);
    ASSERT_EQ(stat(wal, &st), 0);
    ASSERT(st.st_size > 0);

    ASSERT_EQ(sq_apply(s, "batch1", sq_up("k", 2000, "c", 1)), 0);
    ASSERT_EQ(sq_apply(s, "batch2", sq_up("k", 2000, "c", 1)), 0);
    ASSERT_EQ(sq_apply(s, "before", sq_up("k", 2000, "c", 2)), 0);
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size;
    signal(SIGXFSZ, SIG_IGN);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int err = sipreg_store_commit(s);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    ASSERT(err == SIPREG_ESTORE || err == SIPREG_ENOMEM);
    /* Everything since the last commit is gone, what came before remains. */
    ASSERT_EQ(sq_count(s, "batch1"), 0);
    ASSERT_EQ(sq_count(s, "batch2"), 0);
    ASSERT_EQ(sq_count(s, "before"), 1);
    ASSERT_EQ(sq_apply(s, "before", sq_up("k", 2000, "c", 1)), SIPREG_EORDER);
    ASSERT_EQ(sq_apply(s, "before", sq_up("k", 2000, "c", 2)), 0);
    /* And the store works on. */
    ASSERT_EQ(sq_apply(s, "after", sq_up("k", 2000, "c", 1)), 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    ASSERT_EQ(sq_count(s, "after"), 1);
    return 0;
}

TEST(store_sqlite_commit_fails)
{
    struct tmpdb t;
    struct sipreg_store *s;
    int rc = 1;
    if (tmpdb_make(&t))
        return 1;
    if (sipreg_store_open_sqlite(&s, t.path, NULL) == 0) {
        rc = commit_fail_body(&t, s);
        sipreg_store_close(s);
    }
    /* After reopening, the failed batch is still absent. */
    if (rc == 0 && sipreg_store_open_sqlite(&s, t.path, NULL) == 0) {
        if (sq_count(s, "batch1") != 0 || sq_count(s, "after") != 1 || sq_count(s, "before") != 1)
            rc = 1;
        sipreg_store_close(s);
    }
    tmpdb_remove(&t);
    return rc;
}

/* Reads the whole file into buf; its length, or -1. */
static long slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap);
    close(fd);
    return (long)n;
}

/* Opening must fail with ESTORE and leave the file byte for byte as it was. */
static int refuses(const char *path)
{
    static char before[1 << 15], after[1 << 15];
    struct sipreg_store *s = NULL;
    long n1 = slurp(path, before, sizeof before);
    int err = sipreg_store_open_sqlite(&s, path, NULL);
    if (err == 0)
        sipreg_store_close(s);
    ASSERT_EQ(err, SIPREG_ESTORE);
    long n2 = slurp(path, after, sizeof after);
    ASSERT(n1 > 0);
    ASSERT_EQ(n1, n2);
    ASSERT(memcmp(before, after, (size_t)n1) == 0);
    return 0;
}

static int schema_body(const struct tmpdb *t)
{
    struct sipreg_store *s;
    uint32_t v;
    /* A sipreg database from a newer version. */
    ASSERT_EQ(sipreg_store_open_sqlite(&s, t->path, NULL), 0);
    sipreg_store_close(s);
    v = 999;
    ASSERT_EQ(header_u32(t->path, USER_VERSION_OFF, &v, 1), 0);
    if (refuses(t->path))
        return 1;
    /* Ours with no version. */
    v = 0;
    ASSERT_EQ(header_u32(t->path, USER_VERSION_OFF, &v, 1), 0);
    if (refuses(t->path))
        return 1;
    /* Another application's database, and one with tables but no application id. */
    v = SCHEMA_V;
    ASSERT_EQ(header_u32(t->path, USER_VERSION_OFF, &v, 1), 0);
    v = 0x12345678;
    ASSERT_EQ(header_u32(t->path, APP_ID_OFF, &v, 1), 0);
    if (refuses(t->path))
        return 1;
    v = 0;
    ASSERT_EQ(header_u32(t->path, APP_ID_OFF, &v, 1), 0);
    if (refuses(t->path))
        return 1;
    /* Restored, it opens again. */
    v = 0x53505247;
    ASSERT_EQ(header_u32(t->path, APP_ID_OFF, &v, 1), 0);
    ASSERT_EQ(sipreg_store_open_sqlite(&s, t->path, NULL), 0);
    sipreg_store_close(s);
    /* Not SQLite at all. */
    int fd = open(t->path, O_WRONLY | O_TRUNC);
    ASSERT(fd >= 0);
    for (int i = 0; i < 200; i++)
        ASSERT_EQ(write(fd, "this is not a database. ", 24), 24);
    close(fd);
    if (refuses(t->path))
        return 1;
    return 0;
}

TEST(store_sqlite_schema_checks)
{
    struct tmpdb t;
    if (tmpdb_make(&t))
        return 1;
    int rc = schema_body(&t);
    tmpdb_remove(&t);
    return rc;
}

TEST(store_sqlite_create_file)
{
    struct tmpdb t;
    struct sipreg_store *s;
    char path[600];
    int rc = 1;
    if (tmpdb_make(&t))
        return 1;
    /* A path that does not exist yet is created and migrated. */
    unlink(t.path);
    snprintf(path, sizeof path, "%s", t.path);
    if (sipreg_store_open_sqlite(&s, path, NULL) == 0) {
        rc = sq_apply(s, "a", sq_up("k", 2000, "c", 1)) || sipreg_store_commit(s);
        sipreg_store_close(s);
    }
    uint32_t v = 0;
    if (rc == 0 && (header_u32(path, USER_VERSION_OFF, &v, 0) || v != SCHEMA_V))
        rc = 1;
    tmpdb_remove(&t);
    /* A directory that does not exist. */
    snprintf(path, sizeof path, "%s.nodir/db", t.path);
    s = NULL;
    if (rc == 0 && sipreg_store_open_sqlite(&s, path, NULL) != SIPREG_ESTORE)
        rc = 1;
    sipreg_store_close(s);
    if (rc == 0 && sipreg_store_open_sqlite(&s, NULL, NULL) != SIPREG_EINVAL)
        rc = 1;
    return rc;
}

/* A batch larger than SQLite's page cache spills to the WAL before COMMIT: with the WAL unable
 * to grow, an apply fails midway. Whether SQLite then rolls the transaction back by itself or
 * not, the commit must fail and the whole batch vanish. */
static int spill_body(const struct tmpdb *t, struct sipreg_store *s)
{
    static char big[4000];
    char wal[600], aor[32];
    struct stat st;
    struct rlimit old, lim;
    int err = 0, i, failed_at = -1;
    memset(big, 'x', sizeof big);
    ASSERT_EQ(sq_apply(s, "before", sq_up("k", 2000, "c", 1)), 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    snprintf(wal, sizeof wal, "%s-wal", t->path);
    ASSERT_EQ(stat(wal, &st), 0);
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size;
    signal(SIGXFSZ, SIG_IGN);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (i = 0; i < 5000; i++) {
        struct sipreg_store_op op = sq_up("k", 2000, "c", 1);
        op.b.contact = (struct sipreg_str){big, sizeof big};
        snprintf(aor, sizeof aor, "aor%d", i);
        if ((err = sq_apply(s, aor, op)) != 0) {
            failed_at = i;
            break;
        }
    }
    /* One more change after the failure, then the commit. */
    int after = sq_apply(s, "late", sq_up("k", 2000, "c", 1));
    int cerr = sipreg_store_commit(s);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    ASSERT(failed_at > 0);
    ASSERT(err == SIPREG_ESTORE || err == SIPREG_ENOMEM);
    ASSERT(after == 0 || after == SIPREG_ESTORE);
    ASSERT(cerr == SIPREG_ESTORE || cerr == SIPREG_ENOMEM);
    ASSERT_EQ(sq_count(s, "aor0"), 0);
    ASSERT_EQ(sq_count(s, "late"), 0);
    ASSERT_EQ(sq_count(s, "before"), 1);
    ASSERT_EQ(sq_apply(s, "aor0", sq_up("k", 2000, "c", 1)), 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    ASSERT_EQ(sq_count(s, "aor0"), 1);
    return 0;
}

TEST(store_sqlite_apply_fails_midbatch)
{
    struct tmpdb t;
    struct sipreg_store *s;
    int rc = 1;
    if (tmpdb_make(&t))
        return 1;
    if (sipreg_store_open_sqlite(&s, t.path, NULL) == 0) {
        rc = spill_body(&t, s);
        sipreg_store_close(s);
    }
    tmpdb_remove(&t);
    return rc;
}

/* ---- file modes ---- */

/* The permission bits of path, or -1 when it cannot be stat'ed. */
static int mode_of(const char *path, const char *suffix)
{
    char p[600];
    struct stat st;
    snprintf(p, sizeof p, "%s%s", path, suffix);
    return stat(p, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* Creates the database under umask m, writes, and checks the three files while open. */
static int private_body(const struct tmpdb *t, mode_t m)
{
    struct sipreg_store *s;
    struct sipreg_user u = {.username = sipreg_str_z("bob"),
                            .realm = sipreg_str_z("r"),
                            .ha1_md5 = sipreg_str_z("00112233445566778899aabbccddeeff")};
    unlink(t->path);
    mode_t old = umask(m);
    int err = sipreg_store_open_sqlite(&s, t->path, NULL);
    umask(old);
    if (err)
        return test_oom_active ? 0 : 1;
    err = sipreg_store_user_put(s, &u);
    if (!err)
        err = sipreg_store_commit(s);
    int db = mode_of(t->path, ""), wal = mode_of(t->path, "-wal"), shm = mode_of(t->path, "-shm");
    sipreg_store_close(s);
    if (err)
        return test_oom_active ? 0 : 1;
    ASSERT_EQ(db, 0600);
    ASSERT_EQ(wal, 0600);
    ASSERT_EQ(shm, 0600);
    return 0;
}

/* A database this library creates, and SQLite's -wal and -shm beside it, are 0600 whatever the
 * umask (022 is the usual one; 0277 would leave the owner unable to write). */
TEST(store_sqlite_creates_private_files)
{
    struct tmpdb t;
    struct sipreg_store *s;
    if (tmpdb_make(&t))
        return 1;
    int rc = private_body(&t, 022);
    tmpdb_remove(&t);
    if (rc == 0)
        rc = private_body(&t, 0277);
    tmpdb_remove(&t);
    if (rc == 0)
        rc = private_body(&t, 0);
    tmpdb_remove(&t);
    if (rc)
        return rc;
    /* An existing file keeps its mode: warning about it is the program's business. */
    if (tmpdb_make(&t))
        return 1;
    ASSERT_EQ(chmod(t.path, 0644), 0);
    if (sipreg_store_open_sqlite(&s, t.path, NULL) == 0) {
        rc = mode_of(t.path, "") != 0644;
        sipreg_store_close(s);
    } else if (!test_oom_active) {
        rc = 1;
    }
    tmpdb_remove(&t);
    ASSERT_EQ(rc, 0);
    return 0;
}

/* ---- migrations ---- */

/* Schema version 1 exactly as released; never update it with the library's. */
static const char v1_schema[] =
    "CREATE TABLE bindings(aor TEXT NOT NULL, key TEXT NOT NULL, contact TEXT NOT NULL,"
    " expires_at INTEGER NOT NULL, q INTEGER NOT NULL, call_id TEXT NOT NULL,"
    " cseq INTEGER NOT NULL, source TEXT, transport TEXT, path TEXT, instance TEXT,"
    " reg_id INTEGER NOT NULL, user_agent TEXT, registered_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL, PRIMARY KEY(aor, key));"
    "CREATE INDEX bindings_expires_at ON bindings(expires_at);"
    "CREATE TABLE users(username TEXT NOT NULL, realm TEXT NOT NULL, ha1_md5 TEXT,"
    " ha1_sha256 TEXT, ha1_sha512_256 TEXT, enabled INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, PRIMARY KEY(username, realm));"
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);"
    "PRAGMA application_id = 1397772871; PRAGMA user_version = 1;"
    "INSERT INTO users VALUES('alice', 'example.com', '00112233445566778899aabbccddeeff', NULL,"
    " NULL, 1, 1234);"
    "INSERT INTO bindings VALUES('sip:alice@example.com', 'k', 'sip:alice@h', 2000, -1, 'c', 1,"
    " NULL, NULL, NULL, NULL, -1, NULL, 900, 900);"
    "INSERT INTO meta VALUES('auth.secret', x'0102');";

static int make_v1(const char *path)
{
    sqlite3 *db;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, v1_schema, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static int migrate_body(const struct tmpdb *t)
{
    static char umem[4096]; /* not mem: sq_count() reuses that */
    struct sipreg_store *s;
    struct sipreg_arena a;
    struct sipreg_user u;
    struct sipreg_str v;
    uint32_t ver;
    int rc = 1;
    if (make_v1(t->path))
        return test_oom_active ? 0 : 1;
    ASSERT_EQ(header_u32(t->path, USER_VERSION_OFF, &ver, 0), 0);
    ASSERT_EQ(ver, 1);
    if (sipreg_store_open_sqlite(&s, t->path, NULL))
        return test_oom_active ? 0 : 1;
    /* The old rows are all there; the old user has no domain. */
    sipreg_arena_init(&a, umem, sizeof umem);
    if (sipreg_store_user_get(s, sipreg_str_z("alice"), sipreg_str_z("example.com"), &a, &u) ||
        !sipreg_str_eq(u.ha1_md5, sipreg_str_z("00112233445566778899aabbccddeeff")) || u.domain.p ||
        !u.enabled || u.created_at != 1234 || sq_count(s, "sip:alice@example.com") != 1 ||
        sipreg_store_meta_get(s, sipreg_str_z("auth.secret"), &a, &v) || v.len != 2)
        goto out;
    u.domain = sipreg_str_z("example.org");
    if (sipreg_store_user_put(s, &u) || sipreg_store_commit(s))
        goto out;
    rc = 0;
out:
    sipreg_store_close(s);
    if (rc)
        return test_oom_active ? 0 : 1;
    ASSERT_EQ(header_u32(t->path, USER_VERSION_OFF, &ver, 0), 0);
    ASSERT_EQ(ver, SCHEMA_V);
    /* Migrated once: it opens again as it is, with the domain kept. */
    if (sipreg_store_open_sqlite(&s, t->path, NULL))
        return test_oom_active ? 0 : 1;
    sipreg_arena_init(&a, umem, sizeof umem);
    int err = sipreg_store_user_get(s, sipreg_str_z("alice"), sipreg_str_z("example.com"), &a, &u);
    sipreg_store_close(s);
    if (err)
        return test_oom_active ? 0 : 1;
    ASSERT_STR(u.domain, "example.org");
    return 0;
}

/* A database of schema version 1 (before users had domains) opens, migrates and keeps its rows. */
TEST(store_sqlite_migrates_v1)
{
    struct tmpdb t;
    if (tmpdb_make(&t))
        return 1;
    int rc = migrate_body(&t);
    tmpdb_remove(&t);
    return rc;
}

/* ---- read errors are not "no such user" ---- */

/* Overwrites every page but the first (the schema) of a closed database with garbage. */
static int trash_tables(const char *path)
{
    uint32_t hdr;
    struct stat st;
    static char junk[65536];
    if (header_u32(path, 16, &hdr, 0) || stat(path, &st))
        return -1;
    size_t page = hdr >> 16 == 1 ? 65536 : hdr >> 16;
    memset(junk, 0xa5, sizeof junk);
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    int ok = 1;
    for (off_t off = (off_t)page; ok && off < st.st_size; off += (off_t)page)
        ok = pwrite(fd, junk, page, off) == (ssize_t)page;
    close(fd);
    return ok && (size_t)st.st_size > page ? 0 : -1;
}

static int user_get_rc(struct sipreg_store *s, const char *name)
{
    struct sipreg_arena a;
    struct sipreg_user u;
    sipreg_arena_init(&a, mem, sizeof mem);
    return sipreg_store_user_get(s, sipreg_str_z(name), sipreg_str_z("r"), &a, &u);
}

static int read_error_body(const struct tmpdb *t)
{
    struct sipreg_store *s, *inner;
    struct sipreg_user u = {.username = sipreg_str_z("bob"),
                            .realm = sipreg_str_z("r"),
                            .ha1_md5 = sipreg_str_z("00112233445566778899aabbccddeeff")};
    int rc;
    ASSERT_EQ(sipreg_store_open_sqlite(&s, t->path, NULL), 0);
    ASSERT_EQ(sipreg_store_user_put(s, &u), 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    ASSERT_EQ(user_get_rc(s, "bob"), 0);
    ASSERT_EQ(user_get_rc(s, "nobody"), SIPREG_ENOENT);
    sipreg_store_close(s);

    /* Damaged: the schema is intact, the tables are garbage. */
    ASSERT_EQ(trash_tables(t->path), 0);
    ASSERT_EQ(sipreg_store_open_sqlite(&s, t->path, NULL), 0);
    int present = user_get_rc(s, "bob"), absent = user_get_rc(s, "nobody");
    if (present != SIPREG_ESTORE || absent != SIPREG_ESTORE) {
        sipreg_store_close(s);
        TEST_FAIL_("a damaged database reads as %s and %s", sipreg_errname(present),
                   sipreg_errname(absent));
    }
    /* The thread-safe wrapper passes the code through. */
    inner = s;
    if (sipreg_store_open_locked(&s, inner))
        return 1; /* inner closed */
    rc = user_get_rc(s, "bob") == SIPREG_ESTORE && user_get_rc(s, "nobody") == SIPREG_ESTORE;
    sipreg_store_close(s);
    ASSERT(rc);
    return 0;
}

/* sipreg_store_user_get says ENOENT only for a user that is not there: a damaged database is an
 * error, not an unknown user. (A lock held elsewhere gives EBUSY, but in WAL mode only a
 * connection opened after the lock was taken meets it, and then already at open.) */
TEST(store_sqlite_user_get_read_errors)
{
    if (test_oom_active)
        return 0; /* the body asserts success all along; its allocation paths are covered above */
    struct tmpdb t;
    if (tmpdb_make(&t))
        return 1;
    int rc = read_error_body(&t);
    tmpdb_remove(&t);
    return rc;
}

/* ---- compare-and-set across connections ---- */

/* Two store objects on one file, as two processes would have: A reads, B applies and commits,
 * A's replace from what it read conflicts, and A's apply, deciding again, keeps B's binding. */
static int cas_body(struct sipreg_store *a, struct sipreg_store *b)
{
    static char amem[1 << 14];
    struct sipreg_arena ar;
    struct sipreg_binding_list l, next;
    uint64_t v, nv;
    ASSERT_EQ(sq_apply(a, "aor", sq_up("k0", 2000, "c0", 1)), 0);
    ASSERT_EQ(sipreg_store_commit(a), 0);
    sipreg_arena_init(&ar, amem, sizeof amem);
    ASSERT_EQ(sipreg_store_read(a, sipreg_str_z("aor"), 1000, &ar, &l, &v), 0);
    ASSERT_EQ(l.n, 1);
    ASSERT(v != 0);
    struct sipreg_store_op op = sq_up("kA", 2000, "cA", 1);
    struct sipreg_store_change c = {sipreg_str_z("aor"), &op, 1};
    ASSERT_EQ(sipreg_store_decide(&l, &c, 1000, 0, &ar, &next), 0);

    ASSERT_EQ(sq_apply(b, "aor", sq_up("kB", 2000, "cB", 1)), 0);
    ASSERT_EQ(sipreg_store_commit(b), 0);

    ASSERT_EQ(sipreg_store_replace(a, sipreg_str_z("aor"), v, next.v, next.n, 1000, &nv),
              SIPREG_ECONFLICT);
    ASSERT_EQ(sipreg_store_apply(a, &c, 1000, NULL, NULL), 0);
    ASSERT_EQ(sipreg_store_commit(a), 0);
    /* Both see k0, kB and kA, in that order. */
    for (int i = 0; i < 2; i++) {
        sipreg_arena_init(&ar, amem, sizeof amem);
        ASSERT_EQ(sipreg_store_read(i ? b : a, sipreg_str_z("aor"), 1000, &ar, &l, &nv), 0);
        ASSERT_EQ(l.n, 3);
        ASSERT_STR(l.v[0].key, "k0");
        ASSERT_STR(l.v[1].key, "kB");
        ASSERT_STR(l.v[2].key, "kA");
        ASSERT(nv != v);
    }
    /* A version from before survives nothing: B's replace from it fails too. */
    ASSERT_EQ(sipreg_store_replace(b, sipreg_str_z("aor"), v, NULL, 0, 1000, NULL),
              SIPREG_ECONFLICT);
    ASSERT_EQ(sipreg_store_commit(b), 0);
    ASSERT_EQ(sq_count(a, "aor"), 3);
    return 0;
}

TEST(store_sqlite_cas_two_connections)
{
    struct tmpdb t;
    struct sipreg_store *a = NULL, *b = NULL;
    int rc = 1;
    if (tmpdb_make(&t))
        return 1;
    if (sipreg_store_open_sqlite(&a, t.path, NULL) == 0 &&
        sipreg_store_open_sqlite(&b, t.path, NULL) == 0)
        rc = cas_body(a, b);
    else if (test_oom_active)
        rc = 0;
    sipreg_store_close(a);
    sipreg_store_close(b);
    tmpdb_remove(&t);
    return rc;
}

/* ---- migration from schema version 2 ---- */

/* Schema version 2 exactly as released (version 1 and its ALTER), with two AORs: never update
 * it with the library's. alice's rows were inserted k2 first, so that is her order. */
static const char v2_schema[] =
    "CREATE TABLE bindings(aor TEXT NOT NULL, key TEXT NOT NULL, contact TEXT NOT NULL,"
    " expires_at INTEGER NOT NULL, q INTEGER NOT NULL, call_id TEXT NOT NULL,"
    " cseq INTEGER NOT NULL, source TEXT, transport TEXT, path TEXT, instance TEXT,"
    " reg_id INTEGER NOT NULL, user_agent TEXT, registered_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL, PRIMARY KEY(aor, key));"
    "CREATE INDEX bindings_expires_at ON bindings(expires_at);"
    "CREATE TABLE users(username TEXT NOT NULL, realm TEXT NOT NULL, ha1_md5 TEXT,"
    " ha1_sha256 TEXT, ha1_sha512_256 TEXT, enabled INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, PRIMARY KEY(username, realm));"
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);"
    "ALTER TABLE users ADD COLUMN domain TEXT;"
    "PRAGMA application_id = 1397772871; PRAGMA user_version = 2;"
    "INSERT INTO users VALUES('alice', 'example.com', '00112233445566778899aabbccddeeff', NULL,"
    " NULL, 1, 1234, 'example.org');"
    "INSERT INTO bindings VALUES('sip:alice@example.com', 'k2', 'sip:alice@h2', 2000, 500, 'c', 7,"
    " 'udp:192.0.2.4:5060', 'udp', NULL, NULL, -1, 'ua/2', 900, 950);"
    "INSERT INTO bindings VALUES('sip:bob@example.com', 'k', 'sip:bob@h', 2000, -1, 'd', 1,"
    " NULL, NULL, NULL, NULL, -1, NULL, 800, 800);"
    "INSERT INTO bindings VALUES('sip:alice@example.com', 'k1', 'sip:alice@h1', 2000, -1, 'c', 3,"
    " NULL, NULL, NULL, NULL, -1, NULL, 910, 910);"
    "INSERT INTO meta VALUES('auth.secret', x'0102');";

static int make_v2(const char *path)
{
    sqlite3 *db;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, v2_schema, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static int migrate_v2_checks(struct sipreg_store *s)
{
    static char bmem[1 << 14];
    struct sipreg_arena a;
    struct sipreg_binding_list l;
    struct sipreg_user u;
    uint64_t va, vb, v;
    sipreg_arena_init(&a, bmem, sizeof bmem);
    ASSERT_EQ(sipreg_store_read(s, sipreg_str_z("sip:alice@example.com"), 1000, &a, &l, &va), 0);
    ASSERT_EQ(l.n, 2);
    /* every field kept, and the order of first registration */
    ASSERT_STR(l.v[0].key, "k2");
    ASSERT_STR(l.v[0].contact, "sip:alice@h2");
    ASSERT_EQ(l.v[0].q, 500);
    ASSERT_EQ(l.v[0].cseq, 7);
    ASSERT_STR(l.v[0].source, "udp:192.0.2.4:5060");
    ASSERT_STR(l.v[0].user_agent, "ua/2");
    ASSERT_ABSENT(l.v[0].path);
    ASSERT_EQ(l.v[0].registered_at, 900);
    ASSERT_EQ(l.v[0].updated_at, 950);
    ASSERT_STR(l.v[1].key, "k1");
    ASSERT_EQ(sipreg_store_read(s, sipreg_str_z("sip:bob@example.com"), 1000, &a, &l, &vb), 0);
    ASSERT_EQ(l.n, 1);
    ASSERT(va != 0 && vb != 0 && va != vb);
    ASSERT_EQ(sipreg_store_user_get(s, sipreg_str_z("alice"), sipreg_str_z("example.com"), &a, &u),
              0);
    ASSERT_STR(u.domain, "example.org");
    /* The migrated rows take part in the rules: ordering against their CSeq ... */
    struct sipreg_store_op op = sq_up("k2", 3000, "c", 7);
    struct sipreg_store_change c = {sipreg_str_z("sip:alice@example.com"), &op, 1};
    ASSERT_EQ(sipreg_store_apply(s, &c, 1000, NULL, NULL), SIPREG_EORDER);
    op.b.cseq = 8;
    ASSERT_EQ(sipreg_store_apply(s, &c, 1000, NULL, NULL), 0);
    /* ... and a new version is none of the migrated ones. */
    sipreg_arena_init(&a, bmem, sizeof bmem);
    ASSERT_EQ(sipreg_store_read(s, sipreg_str_z("sip:alice@example.com"), 1000, &a, &l, &v), 0);
    ASSERT_EQ(l.n, 2);
    ASSERT_STR(l.v[0].key, "k2");
    ASSERT_EQ(l.v[0].registered_at, 900);
    ASSERT(v != va && v != vb && v != 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

/* A database of schema version 2 (before versions) migrates to 3 and keeps its bindings. */
TEST(store_sqlite_migrates_v2)
{
    struct tmpdb t;
    struct sipreg_store *s;
    uint32_t ver;
    int rc = 1;
    if (tmpdb_make(&t))
        return 1;
    if (make_v2(t.path)) {
        tmpdb_remove(&t);
        return test_oom_active ? 0 : 1;
    }
    if (sipreg_store_open_sqlite(&s, t.path, NULL) == 0) {
        rc = migrate_v2_checks(s);
        sipreg_store_close(s);
    } else if (test_oom_active) {
        rc = 0;
    }
    if (rc == 0 && !test_oom_active &&
        (header_u32(t.path, USER_VERSION_OFF, &ver, 0) || ver != SCHEMA_V))
        rc = 1;
    /* Opened again, it is as it was left. */
    if (rc == 0 && !test_oom_active && sipreg_store_open_sqlite(&s, t.path, NULL) == 0) {
        if (sq_count(s, "sip:alice@example.com") != 2 || sq_count(s, "sip:bob@example.com") != 1)
            rc = 1;
        sipreg_store_close(s);
    }
    tmpdb_remove(&t);
    return rc;
}
