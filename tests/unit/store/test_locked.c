/* Unit tests: the thread-safe store wrapper (a writer holds the store until its commit). */
#include <pthread.h>
#include <stdio.h>

#include "sipreg/store.h"
#include "store/store_int.h"
#include "test.h"

struct worker_arg {
    struct sipreg_store *s;
    int id;
    int errors;
};

static void *worker(void *p)
{
    struct worker_arg *w = p;
    char aor[32], key[32];
    snprintf(aor, sizeof aor, "sip:w%d@example.com", w->id);
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "sip:c%d@h:5060", i % 5);
        struct sipreg_store_op op = {SIPREG_STORE_UPSERT,
                                     {.key = sipreg_str_z(key),
                                      .contact = sipreg_str_z(key),
                                      .expires_at = 100000,
                                      .q = -1,
                                      .call_id = SIPREG_STR_LIT("cid"),
                                      .cseq = (uint32_t)i + 1,
                                      .reg_id = -1}};
        struct sipreg_store_change ch = {sipreg_str_z(aor), &op, 1};
        if (sipreg_store_apply(w->s, &ch, 1000, NULL, NULL) != 0)
            w->errors++;
        /* a second, failing write in the same batch (same CSeq again) */
        if (sipreg_store_apply(w->s, &ch, 1000, NULL, NULL) != SIPREG_EORDER)
            w->errors++;
        if (sipreg_store_commit(w->s) != 0)
            w->errors++;
    }
    return NULL;
}

TEST(store_locked_workers_commit_their_own_batches)
{
    if (test_oom_active)
        return 0; /* threads and injected OOM do not mix; the wrapper's OOM path is below */
    struct sipreg_store *inner, *s;
    ASSERT_EQ(sipreg_store_open_memory(&inner, NULL), 0);
    ASSERT_EQ(sipreg_store_open_locked(&s, inner), 0);
    pthread_t t[4];
    struct worker_arg w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker_arg){s, i, 0};
        ASSERT_EQ(pthread_create(&t[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    int errors = 0;
    for (int i = 0; i < 4; i++)
        errors += w[i].errors;
    char mem[8192];
    struct sipreg_arena a;
    struct sipreg_binding_list l;
    sipreg_arena_init(&a, mem, sizeof mem);
    int lerr = sipreg_store_lookup(s, SIPREG_STR_LIT("sip:w3@example.com"), 1000, &a, &l);
    sipreg_store_close(s);
    ASSERT_EQ(errors, 0);
    ASSERT_EQ(lerr, 0);
    ASSERT_EQ(l.n, 5);
    return 0;
}

/* Workers writing one AOR at once: between an apply's read and its replace another worker may
 * write, the replace conflicts and apply decides again. No change may be lost. */
static void *same_aor_worker(void *p)
{
    struct worker_arg *w = p;
    char key[32], cid[32];
    snprintf(key, sizeof key, "sip:c%d@h:5060", w->id);
    snprintf(cid, sizeof cid, "cid-%d", w->id);
    for (int i = 0; i < 100; i++) {
        struct sipreg_store_op op = {SIPREG_STORE_UPSERT,
                                     {.key = sipreg_str_z(key),
                                      .contact = sipreg_str_z(key),
                                      .expires_at = 100000,
                                      .q = -1,
                                      .call_id = sipreg_str_z(cid),
                                      .cseq = (uint32_t)i + 1,
                                      .reg_id = -1}};
        struct sipreg_store_change ch = {SIPREG_STR_LIT("sip:shared@example.com"), &op, 1};
        if (sipreg_store_apply(w->s, &ch, 1000, NULL, NULL) != 0)
            w->errors++;
        if (sipreg_store_commit(w->s) != 0)
            w->errors++;
    }
    return NULL;
}

TEST(store_locked_workers_share_an_aor)
{
    if (test_oom_active)
        return 0;
    struct sipreg_store *inner, *s;
    ASSERT_EQ(sipreg_store_open_memory(&inner, NULL), 0);
    ASSERT_EQ(sipreg_store_open_locked(&s, inner), 0);
    pthread_t t[4];
    struct worker_arg w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker_arg){s, i, 0};
        ASSERT_EQ(pthread_create(&t[i], NULL, same_aor_worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    int errors = 0;
    for (int i = 0; i < 4; i++)
        errors += w[i].errors;
    char mem[8192];
    struct sipreg_arena a;
    struct sipreg_binding_list l;
    sipreg_arena_init(&a, mem, sizeof mem);
    int lerr = sipreg_store_lookup(s, SIPREG_STR_LIT("sip:shared@example.com"), 1000, &a, &l);
    sipreg_store_close(s);
    ASSERT_EQ(errors, 0);
    ASSERT_EQ(lerr, 0);
    ASSERT_EQ(l.n, 4);
    for (size_t i = 0; i < l.n; i++)
        ASSERT_EQ(l.v[i].cseq, 100);
    return 0;
}

/* The wrapper takes the limits of the store it wraps. */
TEST(store_locked_inherits_limits)
{
    struct sipreg_store_cfg cfg = {.max_bindings_per_aor = 1};
    struct sipreg_store *inner, *s;
    if (sipreg_store_open_memory(&inner, &cfg))
        return test_oom_active ? 0 : 1;
    if (sipreg_store_open_locked(&s, inner))
        return test_oom_active ? 0 : 1;
    struct sipreg_store_op ops[2] = {
        {SIPREG_STORE_UPSERT,
         {.key = SIPREG_STR_LIT("k1"),
          .contact = SIPREG_STR_LIT("k1"),
          .expires_at = 2000,
          .q = -1,
          .call_id = SIPREG_STR_LIT("c"),
          .cseq = 1,
          .reg_id = -1}},
        {SIPREG_STORE_UPSERT,
         {.key = SIPREG_STR_LIT("k2"),
          .contact = SIPREG_STR_LIT("k2"),
          .expires_at = 2000,
          .q = -1,
          .call_id = SIPREG_STR_LIT("c"),
          .cseq = 1,
          .reg_id = -1}},
    };
    struct sipreg_store_change ch = {SIPREG_STR_LIT("aor"), ops, 2};
    int err = sipreg_store_apply(s, &ch, 1000, NULL, NULL);
    int cerr = sipreg_store_commit(s);
    sipreg_store_close(s);
    ASSERT_EQ(err, SIPREG_ELIMIT);
    ASSERT_EQ(cerr, 0);
    return 0;
}

TEST(store_locked_open_oom)
{
    struct sipreg_store *inner, *s;
    if (sipreg_store_open_memory(&inner, NULL) != 0)
        return test_oom_active ? 0 : 1;
    int err = sipreg_store_open_locked(&s, inner); /* closes inner on failure */
    if (err) {
        ASSERT(test_oom_active);
        ASSERT_EQ(err, SIPREG_ENOMEM);
        return 0;
    }
    sipreg_store_close(s);
    return 0;
}

/* A memory backend whose reads of users fail, as a broken database's would. */
static int failing_user_get(void *self, struct sipreg_str username, struct sipreg_str realm,
                            struct sipreg_arena *a, struct sipreg_user *out)
{
    (void)self, (void)username, (void)realm, (void)a, (void)out;
    return SIPREG_ESTORE;
}

static int locked_get(struct sipreg_store *s, const char *name)
{
    static char mem[1024];
    struct sipreg_arena a;
    struct sipreg_user u;
    sipreg_arena_init(&a, mem, sizeof mem);
    return sipreg_store_user_get(s, sipreg_str_z(name), sipreg_str_z("r"), &a, &u);
}

/* The wrapper passes user_get's codes through: ENOENT for an absent user only, a read error as
 * that error. */
TEST(store_locked_user_get_errors)
{
    static struct sipreg_store_ops failing;
    struct sipreg_store *inner, *s;
    struct sipreg__store_limits lim;
    struct sipreg_user u = {.username = sipreg_str_z("bob"), .realm = sipreg_str_z("r")};
    void *self;
    if (sipreg_store_open_memory(&inner, NULL))
        return test_oom_active ? 0 : 1;
    if (sipreg_store_open_locked(&s, inner))
        return test_oom_active ? 0 : 1;
    int put = sipreg_store_user_put(s, &u), commit = sipreg_store_commit(s);
    int present = locked_get(s, "bob"), absent = locked_get(s, "nobody");
    sipreg_store_close(s);
    if (put || commit)
        return test_oom_active ? 0 : 1;
    ASSERT_EQ(present, 0);
    ASSERT_EQ(absent, SIPREG_ENOENT);

    failing = sipreg__mem_ops;
    failing.user_get = failing_user_get;
    sipreg__store_limits(NULL, &lim);
    if (sipreg__mem_open(&self, &lim, NULL))
        return test_oom_active ? 0 : 1;
    if (sipreg_store_create(&inner, &failing, self)) {
        failing.close(self);
        return test_oom_active ? 0 : 1;
    }
    if (sipreg_store_open_locked(&s, inner))
        return test_oom_active ? 0 : 1;
    absent = locked_get(s, "nobody");
    sipreg_store_close(s);
    ASSERT_EQ(absent, SIPREG_ESTORE);
    return 0;
}
