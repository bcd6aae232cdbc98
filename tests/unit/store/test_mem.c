/* Tests for the memory store: SipHash vectors, table growth, bounded expiry, total limit. */
#include "sipreg/store.h"
#include "store/store_int.h"
#include "test.h"

static char mem[1 << 14];

static struct sipreg_store_op mem_up(const char *key, int64_t exp)
{
    struct sipreg_store_op op;
    memset(&op, 0, sizeof op);
    op.kind = SIPREG_STORE_UPSERT;
    op.b.key = sipreg_str_z(key);
    op.b.contact = sipreg_str_z(key);
    op.b.expires_at = exp;
    op.b.q = -1;
    op.b.call_id = sipreg_str_z("c");
    op.b.cseq = 1;
    op.b.reg_id = -1;
    return op;
}

static int mem_put(struct sipreg_store *s, const char *aor, struct sipreg_store_op op)
{
    struct sipreg_store_change c = {sipreg_str_z(aor), &op, 1};
    return sipreg_store_apply(s, &c, 1000, NULL, NULL);
}

static int total_body(struct sipreg_store *s)
{
    /* Three bindings in all, two per AOR. */
    ASSERT_EQ(mem_put(s, "a", mem_up("1", 2000)), 0);
    ASSERT_EQ(mem_put(s, "a", mem_up("2", 2000)), 0);
    ASSERT_EQ(mem_put(s, "b", mem_up("1", 1500)), 0);
    ASSERT_EQ(mem_put(s, "c", mem_up("1", 2000)), SIPREG_ELIMIT);
    ASSERT_EQ(mem_put(s, "b", mem_up("2", 2000)), SIPREG_ELIMIT);
    /* Refresh at the limit is fine; expired-but-unpurged bindings still hold room. */
    struct sipreg_store_op r = mem_up("1", 2500);
    r.b.cseq = 2;
    ASSERT_EQ(mem_put(s, "a", r), 0);
    size_t n;
    ASSERT_EQ(sipreg_store_expire(s, 1600, 10, &n), 0);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(mem_put(s, "c", mem_up("1", 2000)), 0);
    return 0;
}

TEST(store_mem_total_limit)
{
    struct sipreg_store_cfg cfg = {.max_bindings = 3, .max_bindings_per_aor = 2};
    struct sipreg_store *s;
    if (sipreg_store_open_memory(&s, &cfg))
        return 1;
    int rc = total_body(s);
    sipreg_store_close(s);
    return rc;
}

static int grow_body(struct sipreg_store *s)
{
    char aor[32];
    struct sipreg_arena a;
    struct sipreg_binding_list l;
    size_t n, total = 0;
    /* Enough AORs to rehash the table several times. */
    for (int i = 0; i < 300; i++) {
        snprintf(aor, sizeof aor, "sip:user%d@example.com", i);
        ASSERT_EQ(mem_put(s, aor, mem_up("k", 1000 + 10 + i % 3)), 0);
    }
    for (int i = 0; i < 300; i++) {
        snprintf(aor, sizeof aor, "sip:user%d@example.com", i);
        sipreg_arena_init(&a, mem, sizeof mem);
        ASSERT_EQ(sipreg_store_lookup(s, sipreg_str_z(aor), 1000, &a, &l), 0);
        ASSERT_EQ(l.n, 1);
        ASSERT_STR(l.v[0].aor, aor);
    }
    /* Expiry one row at a time: each call purges exactly one until none are left, resuming
     * inside a bucket where the last call stopped. */
    for (int i = 0; i < 400; i++) {
        ASSERT_EQ(sipreg_store_expire(s, 1012, 1, &n), 0);
        if (n == 0)
            break;
        ASSERT_EQ(n, 1);
        total += n;
    }
    ASSERT_EQ(total, 300);
    return 0;
}

TEST(store_mem_grow_and_expire)
{
    struct sipreg_store_cfg cfg = {.hash_key = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}};
    struct sipreg_store *s;
    if (sipreg_store_open_memory(&s, &cfg))
        return 1;
    int rc = grow_body(s);
    sipreg_store_close(s);
    return rc;
}

/* A backend wrapped by sipreg_store_create dispatches there; bad ops are refused. */
TEST(store_mem_create_custom)
{
    struct sipreg_store *s;
    struct sipreg__store_limits lim;
    struct sipreg_store_ops bad = sipreg__mem_ops;
    void *self;
    ASSERT_EQ(sipreg_store_create(&s, NULL, NULL), SIPREG_EINVAL);
    bad.version = 99;
    ASSERT_EQ(sipreg_store_create(&s, &bad, NULL), SIPREG_EINVAL);
    bad = sipreg__mem_ops;
    bad.meta_put = NULL;
    ASSERT_EQ(sipreg_store_create(&s, &bad, NULL), SIPREG_EINVAL);
    sipreg__store_limits(NULL, &lim);
    ASSERT_EQ(lim.per_aor, SIPREG_STORE_DEFAULT_MAX_PER_AOR);
    ASSERT_EQ(lim.busy_ms, SIPREG_STORE_DEFAULT_BUSY_MS);
    if (sipreg__mem_open(&self, &lim, NULL))
        return 1;
    int err = sipreg_store_create(&s, &sipreg__mem_ops, self);
    if (err) {
        sipreg__mem_ops.close(self);
        return 1;
    }
    err = mem_put(s, "a", mem_up("1", 2000));
    sipreg_store_close(s);
    ASSERT_EQ(err, 0);
    return 0;
}

/* The order iteration meets users in is their hash order: a fingerprint of the key. */
struct order {
    char names[64][8];
    int n;
};

static int order_cb(const struct sipreg_user *u, void *ud)
{
    struct order *o = ud;
    if (o->n == 64 || u->username.len >= sizeof o->names[0])
        return 1;
    memcpy(o->names[o->n], u->username.p, u->username.len);
    o->names[o->n++][u->username.len] = '\0';
    return 0;
}

static int user_order(const struct sipreg_store_cfg *cfg, struct order *o)
{
    struct sipreg_store *s;
    int err = sipreg_store_open_memory(&s, cfg);
    if (err)
        return err;
    memset(o, 0, sizeof *o);
    for (int i = 0; i < 64 && !err; i++) {
        char name[8];
        snprintf(name, sizeof name, "u%d", i);
        struct sipreg_user u = {.username = sipreg_str_z(name), .realm = sipreg_str_z("r")};
        err = sipreg_store_user_put(s, &u);
    }
    if (!err)
        err = sipreg_store_user_iterate(s, order_cb, o);
    sipreg_store_close(s);
    return err;
}

/* Without a key of the caller's, each store draws its own: the same 64 users land in another
 * order (equal orders by chance: about 1 in 64!). A key given is used as it is. */
TEST(store_mem_random_hash_key)
{
    static struct order o1, o2;
    static const struct sipreg_store_cfg zero_key = {.max_bindings = 10};
    static const struct sipreg_store_cfg fixed = {.hash_key = {7, 1, 2, 3}};
    if (user_order(NULL, &o1) || user_order(NULL, &o2))
        return test_oom_active ? 0 : 1;
    ASSERT_EQ(o1.n, 64);
    ASSERT_EQ(o2.n, 64);
    ASSERT(memcmp(&o1, &o2, sizeof o1) != 0);
    if (user_order(&zero_key, &o1) || user_order(&zero_key, &o2))
        return test_oom_active ? 0 : 1;
    ASSERT(memcmp(&o1, &o2, sizeof o1) != 0);
    if (user_order(&fixed, &o1) || user_order(&fixed, &o2))
        return test_oom_active ? 0 : 1;
    ASSERT(memcmp(&o1, &o2, sizeof o1) == 0);
    return 0;
}
