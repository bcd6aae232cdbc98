/* Tests for sipreg_store_decide: the RFC 3261 §10.3 rules alone, no store involved. */
#include <stddef.h>

#include "sipreg/store.h"
#include "test.h"

static _Alignas(max_align_t) char mem[1 << 14]; /* aligned: exact arena sizes below */
static struct sipreg_arena arena;

static struct sipreg_str Z(const char *z) {
    return sipreg_str_z(z);
}

static struct sipreg_store_op
up(const char *key, int64_t exp, const char *cid, uint32_t cseq)
{
    struct sipreg_store_op op;
    memset(&op, 0, sizeof op);
    op.kind = SIPREG_STORE_UPSERT;
    op.b.key = Z(key);
    op.b.contact = Z(key);
    op.b.expires_at = exp;
    op.b.q = -1;
    op.b.call_id = Z(cid);
    op.b.cseq = cseq;
    op.b.reg_id = -1;
    return op;
}

static struct sipreg_store_op rm(const char *key, const char *cid, uint32_t cseq)
{
    struct sipreg_store_op op = up(key, 0, cid, cseq);
    op.kind = SIPREG_STORE_REMOVE;
    return op;
}

static struct sipreg_store_op rm_all(const char *cid, uint32_t cseq)
{
    struct sipreg_store_op op;
    memset(&op, 0, sizeof op);
    op.kind = SIPREG_STORE_REMOVE_ALL;
    op.b.call_id = Z(cid);
    op.b.cseq = cseq;
    return op;
}

/* A stored binding as a read would return it. */
static struct sipreg_binding stored(const char *key, int64_t exp, const char *cid, uint32_t cseq,
                                    int64_t registered_at)
{
    struct sipreg_binding b = up(key, exp, cid, cseq).b;
    b.aor = Z("aor");
    b.registered_at = registered_at;
    b.updated_at = registered_at;
    return b;
}

static int decide(const struct sipreg_binding_list *cur, const struct sipreg_store_op *ops,
                  size_t n, int64_t now, size_t max, struct sipreg_binding_list *out)
{
    struct sipreg_store_change c = {Z("aor"), ops, n};
    sipreg_arena_init(&arena, mem, sizeof mem);
    return sipreg_store_decide(cur, &c, now, max, &arena, out);
}

TEST(store_decide_new_and_refresh)
{
    struct sipreg_binding_list out;
    struct sipreg_store_op ops[2] = {up("a", 2000, "c", 1), up("b", 2000, "c", 1)};
    /* Nothing stored (NULL and empty alike): both are new, stamped with now. */
    ASSERT_EQ(decide(NULL, ops, 2, 1000, 0, &out), 0);
    ASSERT_EQ(out.n, 2);
    ASSERT_STR(out.v[0].aor, "aor");
    ASSERT_STR(out.v[0].key, "a");
    ASSERT_STR(out.v[1].key, "b");
    ASSERT_EQ(out.v[1].registered_at, 1000);
    ASSERT_EQ(out.v[1].updated_at, 1000);
    /* Nothing is copied: the result points into the change. */
    ASSERT(out.v[0].contact.p == ops[0].b.contact.p);

    struct sipreg_binding cur[3] = {stored("x", 3000, "c", 1, 500), stored("a", 3000, "c", 1, 600),
                                    stored("y", 3000, "d", 7, 700)};
    struct sipreg_binding_list l = {cur, 3};
    struct sipreg_store_op r[2] = {up("a", 4000, "c", 2), up("z", 4000, "c", 2)};
    r[0].b.contact = Z("a-new");
    r[0].b.registered_at = 1; /* ignored */
    ASSERT_EQ(decide(&l, r, 2, 1000, 0, &out), 0);
    ASSERT_EQ(out.n, 4);
    /* a refresh keeps its place and registered_at; new keys go last */
    ASSERT_STR(out.v[0].key, "x");
    ASSERT_STR(out.v[1].key, "a");
    ASSERT_STR(out.v[2].key, "y");
    ASSERT_STR(out.v[3].key, "z");
    ASSERT_STR(out.v[1].contact, "a-new");
    ASSERT_EQ(out.v[1].registered_at, 600);
    ASSERT_EQ(out.v[1].updated_at, 1000);
    ASSERT_EQ(out.v[1].expires_at, 4000);
    ASSERT_EQ(out.v[3].registered_at, 1000);
    /* untouched ones are the stored bindings as they were, sharing their strings */
    ASSERT_EQ(out.v[0].updated_at, 500);
    ASSERT(out.v[2].key.p == cur[2].key.p);
    /* An empty change is the current list. */
    ASSERT_EQ(decide(&l, NULL, 0, 1000, 0, &out), 0);
    ASSERT_EQ(out.n, 3);
    /* The later of two ops on one key wins; a remove then an upsert is a new registration. */
    struct sipreg_store_op two[3] = {up("a", 2000, "c", 5), rm("a", "c", 5), up("a", 2500, "c", 5)};
    ASSERT_EQ(decide(&l, two, 3, 1000, 0, &out), 0);
    ASSERT_EQ(out.n, 3);
    ASSERT_STR(out.v[2].key, "a");
    ASSERT_EQ(out.v[2].expires_at, 2500);
    ASSERT_EQ(out.v[2].registered_at, 1000);
    return 0;
}

TEST(store_decide_ordering)
{
    struct sipreg_binding_list out;
    struct sipreg_binding cur[2] = {stored("k1", 2000, "C", 5, 900),
                                    stored("k2", 2000, "D", 3, 900)};
    struct sipreg_binding_list l = {cur, 2};
    /* Same Call-ID, CSeq not higher: the whole change fails, the arena rewound. */
    for (uint32_t cseq = 4; cseq <= 5; cseq++) {
        struct sipreg_store_op ops[2] = {up("k3", 3000, "C", 9), up("k1", 3000, "C", cseq)};
        ASSERT_EQ(decide(&l, ops, 2, 1000, 0, &out), SIPREG_EORDER);
        ASSERT_EQ(arena.used, 0);
        ASSERT(!out.v && out.n == 0);
        struct sipreg_store_op r = rm("k1", "C", cseq);
        ASSERT_EQ(decide(&l, &r, 1, 1000, 0, &out), SIPREG_EORDER);
    }
    /* Higher CSeq, or another Call-ID (the UA restarted), replace. */
    struct sipreg_store_op hi = up("k1", 3000, "C", 6), other = up("k1", 3000, "E", 1);
    ASSERT_EQ(decide(&l, &hi, 1, 1000, 0, &out), 0);
    ASSERT_EQ(out.v[0].cseq, 6);
    ASSERT_EQ(decide(&l, &other, 1, 1000, 0, &out), 0);
    ASSERT_STR(out.v[0].call_id, "E");
    /* The check is per key: k2's Call-ID on k1 is only another Call-ID there. */
    struct sipreg_store_op cross = up("k1", 3000, "D", 1);
    ASSERT_EQ(decide(&l, &cross, 1, 1000, 0, &out), 0);
    /* Contact: * is checked against every binding. */
    struct sipreg_store_op all = rm_all("D", 3);
    ASSERT_EQ(decide(&l, &all, 1, 1000, 0, &out), SIPREG_EORDER);
    all = rm_all("D", 4);
    ASSERT_EQ(decide(&l, &all, 1, 1000, 0, &out), 0);
    ASSERT_EQ(out.n, 0);
    ASSERT(!out.v);
    all = rm_all("F", 1);
    ASSERT_EQ(decide(&l, &all, 1, 1000, 0, &out), 0);
    ASSERT_EQ(out.n, 0);
    /* Removing what is not there is fine. */
    struct sipreg_store_op none = rm("nothing", "C", 1);
    ASSERT_EQ(decide(&l, &none, 1, 1000, 0, &out), 0);
    ASSERT_EQ(out.n, 2);
    return 0;
}

TEST(store_decide_expired_are_absent)
{
    struct sipreg_binding_list out;
    struct sipreg_binding cur[3] = {stored("gone", 1000, "C", 9, 100),
                                    stored("live", 2000, "C", 1, 200),
                                    stored("also", 999, "C", 9, 300)};
    struct sipreg_binding_list l = {cur, 3};
    /* Expired bindings are dropped and do not take part in the ordering check: the same Call-ID
     * with a lower CSeq is a new registration. */
    struct sipreg_store_op op = up("gone", 3000, "C", 1);
    ASSERT_EQ(decide(&l, &op, 1, 1000, 0, &out), 0);
    ASSERT_EQ(out.n, 2);
    ASSERT_STR(out.v[0].key, "live");
    ASSERT_STR(out.v[1].key, "gone");
    ASSERT_EQ(out.v[1].registered_at, 1000);
    struct sipreg_store_op all = rm_all("C", 2);
    ASSERT_EQ(decide(&l, &all, 1, 1000, 0, &out), 0);
    ASSERT_EQ(out.n, 0);
    /* An UPSERT already expired removes (Expires: 0). */
    op = up("live", 1000, "C", 2);
    ASSERT_EQ(decide(&l, &op, 1, 1000, 0, &out), 0);
    ASSERT_EQ(out.n, 0);
    return 0;
}

TEST(store_decide_limit_on_growth)
{
    struct sipreg_binding_list out;
    struct sipreg_binding cur[3] = {stored("a", 2000, "C", 1, 1), stored("b", 2000, "C", 1, 1),
                                    stored("c", 2000, "C", 1, 1)};
    struct sipreg_binding_list l = {cur, 2};
    struct sipreg_store_op grow = up("d", 2000, "C", 1);
    ASSERT_EQ(decide(&l, &grow, 1, 1000, 2, &out), SIPREG_ELIMIT);
    ASSERT_EQ(arena.used, 0);
    ASSERT_EQ(decide(&l, &grow, 1, 1000, 3, &out), 0);
    /* Above a lowered limit: refreshing and shrinking still work, growing does not. */
    l.n = 3;
    struct sipreg_store_op refresh = up("a", 2000, "C", 2);
    ASSERT_EQ(decide(&l, &refresh, 1, 1000, 1, &out), 0);
    ASSERT_EQ(out.n, 3);
    struct sipreg_store_op swap[2] = {rm("a", "C", 2), up("d", 2000, "C", 1)};
    ASSERT_EQ(decide(&l, swap, 2, 1000, 1, &out), 0);
    ASSERT_EQ(decide(&l, &grow, 1, 1000, 1, &out), SIPREG_ELIMIT);
    /* Expired bindings make room. */
    cur[2].expires_at = 1000;
    ASSERT_EQ(decide(&l, &grow, 1, 1000, 3, &out), 0);
    /* 0 is the default limit. */
    struct sipreg_store_op many[SIPREG_STORE_DEFAULT_MAX_PER_AOR + 1];
    char keys[SIPREG_STORE_DEFAULT_MAX_PER_AOR + 1][8];
    for (int i = 0; i <= SIPREG_STORE_DEFAULT_MAX_PER_AOR; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        many[i] = up(keys[i], 2000, "C", 1);
    }
    ASSERT_EQ(decide(NULL, many, SIPREG_STORE_DEFAULT_MAX_PER_AOR, 1000, 0, &out), 0);
    ASSERT_EQ(decide(NULL, many, SIPREG_STORE_DEFAULT_MAX_PER_AOR + 1, 1000, 0, &out),
              SIPREG_ELIMIT);
    return 0;
}

TEST(store_decide_invalid_and_small_arena)
{
    struct sipreg_binding_list out;
    struct sipreg_store_op op = up("k", 2000, "C", 1);
    struct sipreg_store_change c = {Z("aor"), &op, 1};
    sipreg_arena_init(&arena, mem, sizeof mem);
    ASSERT_EQ(sipreg_store_decide(NULL, NULL, 1000, 0, &arena, &out), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_store_decide(NULL, &c, 1000, 0, NULL, &out), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_store_decide(NULL, &c, 1000, 0, &arena, NULL), SIPREG_EINVAL);
    struct sipreg_binding_list bad = {NULL, 1};
    ASSERT_EQ(sipreg_store_decide(&bad, &c, 1000, 0, &arena, &out), SIPREG_EINVAL);
    c.aor = Z("");
    ASSERT_EQ(sipreg_store_decide(NULL, &c, 1000, 0, &arena, &out), SIPREG_EINVAL);
    c.aor = Z("aor");
    op.b.contact = SIPREG_STR_NULL;
    ASSERT_EQ(decide(NULL, &op, 1, 1000, 0, &out), SIPREG_EINVAL);
    op = up("k", 2000, "", 1);
    ASSERT_EQ(decide(NULL, &op, 1, 1000, 0, &out), SIPREG_EINVAL);
    op = up("k", 2000, "C", 1);
    op.b.q = 1001;
    ASSERT_EQ(decide(NULL, &op, 1, 1000, 0, &out), SIPREG_EINVAL);
    op = up("k", 2000, "C", 1);
    op.kind = (enum sipreg_store_op_kind)9;
    ASSERT_EQ(decide(NULL, &op, 1, 1000, 0, &out), SIPREG_EINVAL);
    ASSERT_EQ(arena.used, 0);
    /* Only the array goes into the arena: one binding's worth, then ENOMEM below it. */
    op = up("k", 2000, "C", 1);
    sipreg_arena_init(&arena, mem, sizeof(struct sipreg_binding));
    ASSERT_EQ(sipreg_store_decide(NULL, &c, 1000, 0, &arena, &out), 0);
    ASSERT_EQ(out.n, 1);
    sipreg_arena_init(&arena, mem, sizeof(struct sipreg_binding) - 1);
    ASSERT_EQ(sipreg_store_decide(NULL, &c, 1000, 0, &arena, &out), SIPREG_ENOMEM);
    ASSERT_EQ(arena.used, 0);
    ASSERT(!out.v && out.n == 0);
    return 0;
}
