/* Tests for the split store: bindings to one store, users and metadata to another. */
#include "sipreg/store.h"
#include "store_fixture.h"
#include "test.h"

static int count_binding(const struct sipreg_binding *b, void *ud)
{
    (void)b;
    ++*(int *)ud;
    return 0;
}

/* A failed check ends the test through its cleanup; under the OOM sweep a failure is expected. */
#define TRY(cond)                                                                        \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            if (!test_oom_active)                                                        \
                fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            rc = test_oom_active ? 0 : 1;                                                \
            goto out;                                                                    \
        }                                                                                \
    } while (0)

TEST(store_split_routes_each_part)
{
    struct sipreg_store *loc = NULL, *cred = NULL, *s = NULL;
    struct tmpdb t;
    char mem[4096];
    struct sipreg_arena a;
    int rc = 1;
    ASSERT_EQ(tmpdb_make(&t), 0);
    int err = sipreg_store_open_memory(&loc, NULL);
    if (!err)
        err = sipreg_store_open_sqlite(&cred, t.path, NULL);
    if (!err) {
        err = sipreg_store_open_split(&s, loc, cred); /* owns both now, even on failure */
        loc = cred = NULL;
    }
    if (err) {
        rc = test_oom_active ? 0 : 1;
        goto out;
    }
    struct sipreg_store_op op = {.kind = SIPREG_STORE_UPSERT,
                                 .b = {.key = sipreg_str_z("k"),
                                       .contact = sipreg_str_z("sip:a@h"),
                                       .expires_at = 2000,
                                       .q = -1,
                                       .call_id = sipreg_str_z("c"),
                                       .cseq = 1,
                                       .reg_id = -1}};
    struct sipreg_store_change c = {sipreg_str_z("sip:a@example.com"), &op, 1};
    char md5[33];
    memset(md5, 'a', 32);
    md5[32] = 0;
    struct sipreg_user u = {.username = sipreg_str_z("alice"),
                            .realm = sipreg_str_z("example.com"),
                            .ha1_md5 = sipreg_str_z(md5),
                            .enabled = true};
    if ((err = sipreg_store_apply(s, &c, 1000, NULL, NULL)) ||
        (err = sipreg_store_user_put(s, &u)) ||
        (err = sipreg_store_meta_put(s, sipreg_str_z("k"), sipreg_str_z("v"))) ||
        (err = sipreg_store_commit(s))) {
        rc = test_oom_active ? 0 : 1;
        goto out;
    }
    sipreg_store_close(s);
    s = NULL;
    /* the credentials went to the file, the bindings did not: reopen the file alone */
    TRY(sipreg_store_open_sqlite(&cred, t.path, NULL) == 0);
    int n = 0;
    TRY(sipreg_store_iterate(cred, 1000, count_binding, &n) == 0);
    TRY(n == 0);
    struct sipreg_user got;
    sipreg_arena_init(&a, mem, sizeof mem);
    TRY(sipreg_store_user_get(cred, sipreg_str_z("alice"), sipreg_str_z("example.com"), &a, &got) ==
        0);
    struct sipreg_str v;
    TRY(sipreg_store_meta_get(cred, sipreg_str_z("k"), &a, &v) == 0);
    TRY(sipreg_str_eq(v, sipreg_str_z("v")));
    /* and the bindings of a split store come from its locations part */
    TRY(sipreg_store_open_memory(&loc, NULL) == 0);
    TRY(sipreg_store_apply(loc, &c, 1000, NULL, NULL) == 0);
    err = sipreg_store_open_split(&s, loc, cred); /* owns both now, even on failure */
    loc = cred = NULL;
    TRY(err == 0);
    struct sipreg_binding_list list;
    TRY(sipreg_store_lookup(s, sipreg_str_z("sip:a@example.com"), 1000, &a, &list) == 0);
    TRY(list.n == 1);
    TRY(sipreg_store_user_get(s, sipreg_str_z("alice"), sipreg_str_z("example.com"), &a, &got) ==
        0);
    rc = 0;
out:
    sipreg_store_close(s);
    sipreg_store_close(loc);
    sipreg_store_close(cred);
    tmpdb_remove(&t);
    return rc;
}

TEST(store_split_null_part)
{
    struct sipreg_store *loc = NULL, *s = NULL;
    int err = sipreg_store_open_memory(&loc, NULL);
    if (err == SIPREG_ENOMEM && test_oom_active)
        return 0;
    ASSERT_EQ(err, 0);
    ASSERT_EQ(sipreg_store_open_split(&s, loc, NULL), SIPREG_EINVAL); /* loc closed: no leak */
    ASSERT(s == NULL);
    return 0;
}

/* Two workers' split stores share one memory location store through views, each with its own
 * SQLite connection for credentials; closing them leaves the location store open. */
TEST(store_split_views_share_locations)
{
    struct sipreg_store *loc = NULL, *s1 = NULL, *s2 = NULL, *v = NULL, *c = NULL;
    struct tmpdb t;
    char mem[4096];
    struct sipreg_arena a;
    int rc = 1;
    ASSERT_EQ(tmpdb_make(&t), 0);
    int err = sipreg_store_open_memory(&loc, NULL);
    for (int k = 0; k < 2 && !err; k++) {
        err = sipreg_store_open_view(&v, loc);
        if (!err)
            err = sipreg_store_open_sqlite(&c, t.path, NULL);
        else
            c = NULL;
        if (!err || v || c) {
            int e2 = v && c ? sipreg_store_open_split(k ? &s2 : &s1, v, c) : SIPREG_ENOMEM;
            if (!(v && c)) {
                sipreg_store_close(v);
                sipreg_store_close(c);
            }
            v = c = NULL;
            if (!err)
                err = e2;
        }
    }
    if (err) {
        rc = test_oom_active ? 0 : 1;
        goto out;
    }
    struct sipreg_store_op op = {.kind = SIPREG_STORE_UPSERT,
                                 .b = {.key = sipreg_str_z("k"),
                                       .contact = sipreg_str_z("sip:a@h"),
                                       .expires_at = 2000,
                                       .q = -1,
                                       .call_id = sipreg_str_z("c"),
                                       .cseq = 1,
                                       .reg_id = -1}};
    struct sipreg_store_change ch = {sipreg_str_z("sip:a@h"), &op, 1};
    TRY(sipreg_store_apply(s1, &ch, 1000, NULL, NULL) == 0);
    TRY(sipreg_store_commit(s1) == 0);
    struct sipreg_binding_list l;
    sipreg_arena_init(&a, mem, sizeof mem);
    TRY(sipreg_store_lookup(s2, sipreg_str_z("sip:a@h"), 1000, &a, &l) == 0 && l.n == 1);
    sipreg_store_close(s1);
    sipreg_store_close(s2);
    s1 = s2 = NULL;
    sipreg_arena_init(&a, mem, sizeof mem);
    TRY(sipreg_store_lookup(loc, sipreg_str_z("sip:a@h"), 1000, &a, &l) == 0 && l.n == 1);
    rc = 0;
out:
    sipreg_store_close(s1);
    sipreg_store_close(s2);
    sipreg_store_close(loc);
    tmpdb_remove(&t);
    return rc;
}
