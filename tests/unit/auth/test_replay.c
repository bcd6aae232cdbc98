/* Tests for src/auth/replay.c: nc ordering, eviction by issue time, watermark, threads. */
#include <pthread.h>
#include <stdatomic.h>

#include "auth/auth_int.h"
#include "test.h"

/* A nonce description with a tag whose hash part takes only `spread` values at the top of any
 * power-of-two table, to force long probe runs that wrap around, and whose other bytes make it
 * unique. */
static struct sipreg_auth_nonce_info mk(uint32_t id, sipreg_time issued, unsigned spread)
{
    struct sipreg_auth_nonce_info in = {.issued = issued};
    uint64_t h = spread ? ~(uint64_t)(id % spread * 3) : id * 0x9e3779b97f4a7c15ull;
    memcpy(in.tag, &h, 8);
    memcpy(in.tag + 8, &id, 4);
    return in;
}

/* Creates a tracker; under the OOM sweep an allocation failure ends the test quietly. */
#define CREATE(t, cap)                                   \
    do {                                                 \
        int e_ = sipreg_auth_tracker_create((t), (cap)); \
        if (e_ == SIPREG_ENOMEM && test_oom_active)      \
            return 0;                                    \
        ASSERT_EQ(e_, 0);                                \
    } while (0)

TEST(auth_tracker_create_limits)
{
    struct sipreg_auth_tracker *t = (struct sipreg_auth_tracker *)&t;
    ASSERT_EQ(sipreg_auth_tracker_create(&t, 0), SIPREG_EINVAL);
    ASSERT(t == NULL);
    ASSERT_EQ(sipreg_auth_tracker_create(&t, ((size_t)1 << 26) + 1), SIPREG_EINVAL);
    int err = sipreg_auth_tracker_create(&t, 1);
    if (test_oom_active && err == SIPREG_ENOMEM) {
        ASSERT(t == NULL);
        return 0;
    }
    ASSERT_EQ(err, 0);
    ASSERT_EQ(sipreg_auth_tracker_count(t), 0);
    sipreg_auth_tracker_destroy(t);
    sipreg_auth_tracker_destroy(NULL);
    return 0;
}

TEST(auth_tracker_nc_order)
{
    struct sipreg_auth_tracker *t;
    uint32_t nc;
    CREATE(&t, 8);
    struct sipreg_auth_nonce_info a = mk(1, 100, 0), b = mk(2, 100, 0);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &a, 0), SIPREG_ESTALE);
    ASSERT_EQ(sipreg_auth_tracker_count(t), 0);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &a, 1), 0);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &a, 1), SIPREG_ESTALE); /* replay */
    ASSERT_EQ(sipreg_auth_tracker_check(t, &a, 2), 0);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &a, 5), 0);             /* gaps are fine */
    ASSERT_EQ(sipreg_auth_tracker_check(t, &a, 3), SIPREG_ESTALE); /* lower */
    ASSERT_EQ(sipreg_auth_tracker_check(t, &a, 5), SIPREG_ESTALE);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &b, 1), 0); /* nonces are independent */
    ASSERT_EQ(sipreg_auth_tracker_check(t, &a, 0xffffffffu), SIPREG_ESTALE); /* reserved */
    ASSERT_EQ(sipreg_auth_tracker_check(t, &a, 0xfffffffeu), 0);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &a, 0xfffffffeu), SIPREG_ESTALE);
    ASSERT(sipreg__auth_tracker_find(t, a.tag, &nc));
    ASSERT_EQ(nc, 0xfffffffeu);
    ASSERT(sipreg__auth_tracker_find(t, b.tag, &nc));
    ASSERT_EQ(nc, 1);
    ASSERT_EQ(sipreg_auth_tracker_count(t), 2);
    sipreg_auth_tracker_destroy(t);
    return 0;
}

/* A wrong answer burns a nonce: no later count of it is accepted, and usable() says so without
 * changing anything. Epochs are random, fixed and never 0. */
TEST(auth_tracker_burn_usable_epoch)
{
    struct sipreg_auth_tracker *t, *t2;
    uint32_t nc;
    CREATE(&t, 4);
    int e = sipreg_auth_tracker_create(&t2, 4);
    if (e == SIPREG_ENOMEM && test_oom_active) {
        sipreg_auth_tracker_destroy(t);
        return 0;
    }
    ASSERT_EQ(e, 0);
    ASSERT(sipreg_auth_tracker_epoch(t) != 0 && sipreg_auth_tracker_epoch(t2) != 0);
    ASSERT(sipreg_auth_tracker_epoch(t) != sipreg_auth_tracker_epoch(t2));
    ASSERT_EQ(sipreg_auth_tracker_epoch(t), sipreg_auth_tracker_epoch(t));
    struct sipreg_auth_nonce_info a = mk(1, 100, 0), b = mk(2, 100, 0);
    ASSERT_EQ(sipreg_auth_tracker_usable(t, &a), 0);
    ASSERT_EQ(sipreg_auth_tracker_count(t), 0); /* usable() inserts nothing */
    ASSERT_EQ(sipreg_auth_tracker_check(t, &a, 1), 0);
    sipreg_auth_tracker_burn(t, &a);
    ASSERT_EQ(sipreg_auth_tracker_usable(t, &a), SIPREG_ESTALE);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &a, 2), SIPREG_ESTALE);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &a, 0xfffffffeu), SIPREG_ESTALE);
    /* a nonce burned before any success */
    sipreg_auth_tracker_burn(t, &b);
    ASSERT(sipreg__auth_tracker_find(t, b.tag, &nc));
    ASSERT_EQ(nc, 0xffffffffu);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &b, 1), SIPREG_ESTALE);
    ASSERT_EQ(sipreg_auth_tracker_count(t), 2);
    sipreg_auth_tracker_destroy(t);
    sipreg_auth_tracker_destroy(t2);
    return 0;
}

TEST(auth_tracker_eviction_watermark)
{
    struct sipreg_auth_tracker *t;
    uint32_t nc;
    CREATE(&t, 4);
    struct sipreg_auth_nonce_info n10 = mk(10, 10, 0), n20 = mk(20, 20, 0), n30 = mk(30, 30, 0),
                                  n40 = mk(40, 40, 0), n50 = mk(50, 50, 0);
    /* Inserted out of issue order: eviction follows issue time, not arrival. */
    ASSERT_EQ(sipreg_auth_tracker_check(t, &n30, 1), 0);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &n10, 1), 0);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &n40, 1), 0);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &n20, 1), 0);
    ASSERT_EQ(sipreg_auth_tracker_count(t), 4);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &n50, 1), 0); /* full: n10 goes */
    ASSERT_EQ(sipreg_auth_tracker_count(t), 4);
    ASSERT(!sipreg__auth_tracker_find(t, n10.tag, &nc));
    ASSERT(sipreg__auth_tracker_find(t, n20.tag, &nc));
    /* The evicted nonce must not start over at any nc. */
    ASSERT_EQ(sipreg_auth_tracker_check(t, &n10, 2), SIPREG_ESTALE);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &n10, 1000), SIPREG_ESTALE);
    /* A never-seen nonce at or below the watermark is refused too. */
    struct sipreg_auth_nonce_info old = mk(99, 10, 0), older = mk(98, 5, 0);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &old, 1), SIPREG_ESTALE);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &older, 1), SIPREG_ESTALE);
    /* Above the watermark but older than all held: it would be evicted at once. */
    struct sipreg_auth_nonce_info mid = mk(97, 15, 0);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &mid, 1), SIPREG_ESTALE);
    ASSERT_EQ(sipreg_auth_tracker_count(t), 4);
    /* Held nonces keep counting. */
    ASSERT_EQ(sipreg_auth_tracker_check(t, &n20, 2), 0);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &n20, 2), SIPREG_ESTALE);
    /* A newer one evicts n20 and raises the watermark to 20. */
    struct sipreg_auth_nonce_info n25 = mk(25, 25, 0);
    ASSERT_EQ(sipreg_auth_tracker_check(t, &n25, 1), 0);
    ASSERT(!sipreg__auth_tracker_find(t, n20.tag, &nc));
    ASSERT_EQ(sipreg_auth_tracker_check(t, &n20, 3), SIPREG_ESTALE);
    ASSERT(sipreg__auth_tracker_find(t, n30.tag, &nc));
    ASSERT(sipreg__auth_tracker_find(t, n40.tag, &nc));
    ASSERT(sipreg__auth_tracker_find(t, n50.tag, &nc));
    ASSERT(sipreg__auth_tracker_find(t, n25.tag, &nc));
    sipreg_auth_tracker_destroy(t);
    return 0;
}

/* A plain model of the policy: linear scans, no hashing, no heap. */
struct model {
    uint32_t id[256];
    sipreg_time issued[256];
    uint32_t nc[256];
    size_t n, cap;
    bool has_wm;
    sipreg_time wm;
};

static int model_check(struct model *m, uint32_t id, sipreg_time issued, uint32_t nc)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->id[i] == id) {
            if (nc <= m->nc[i])
                return SIPREG_ESTALE;
            m->nc[i] = nc;
            return 0;
        }
    }
    if (m->has_wm && issued <= m->wm)
        return SIPREG_ESTALE;
    size_t at = m->n;
    if (m->n == m->cap) {
        at = 0;
        for (size_t i = 1; i < m->n; i++)
            if (m->issued[i] < m->issued[at])
                at = i;
        if (issued < m->issued[at])
            return SIPREG_ESTALE;
        if (!m->has_wm || m->issued[at] > m->wm)
            m->wm = m->issued[at];
        m->has_wm = true;
    } else {
        m->n++;
    }
    m->id[at] = id;
    m->issued[at] = issued;
    m->nc[at] = nc;
    return 0;
}

static bool model_find(const struct model *m, uint32_t id, uint32_t *nc)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->id[i] == id) {
            *nc = m->nc[i];
            return true;
        }
    return false;
}

/* Many evictions through colliding probe runs, with issue times arriving shuffled and nonces
 * reused: the tracker agrees with the model on every answer and on what it holds. */
TEST(auth_tracker_eviction_stress)
{
    enum { CAP = 200, TOTAL = 3000 };
    static struct model m;
    struct sipreg_auth_tracker *t;
    uint32_t nc, mnc;
    memset(&m, 0, sizeof m);
    m.cap = CAP;
    CREATE(&t, CAP);
    for (uint32_t step = 0; step < TOTAL; step++) {
        /* Mostly new nonces; every third step reuses a recent one with a varying nc. */
        uint32_t id = step % 3 == 2 ? step - (step * 7) % 50 % (step + 1) : step;
        uint32_t use = 1 + (step * 13) % 5;
        sipreg_time issued = (sipreg_time)(id ^ 5u); /* unique, shuffled within blocks of 8 */
        struct sipreg_auth_nonce_info in = mk(id, issued, 7);
        ASSERT_EQ(sipreg_auth_tracker_check(t, &in, use), model_check(&m, id, issued, use));
        ASSERT_EQ(sipreg_auth_tracker_count(t), m.n);
        if (step % 97 == 0 || step == TOTAL - 1) {
            for (uint32_t k = 0; k <= step; k++) {
                struct sipreg_auth_nonce_info q = mk(k, 0, 7);
                bool held = sipreg__auth_tracker_find(t, q.tag, &nc);
                ASSERT_EQ(held, model_find(&m, k, &mnc));
                if (held)
                    ASSERT_EQ(nc, mnc);
            }
        }
    }
    ASSERT_EQ(m.n, CAP);
    sipreg_auth_tracker_destroy(t);
    return 0;
}

struct race {
    struct sipreg_auth_tracker *t;
    struct sipreg_auth_nonce_info in;
    atomic_int accepted[2001];
};

static void *race_run(void *arg)
{
    struct race *r = arg;
    for (uint32_t nc = 1; nc <= 2000; nc++)
        if (sipreg_auth_tracker_check(r->t, &r->in, nc) == 0)
            atomic_fetch_add(&r->accepted[nc], 1);
    return NULL;
}

/* Workers sharing one tracker never accept the same nc twice. */
TEST(auth_tracker_threads)
{
    static struct race r;
    pthread_t th[4];
    memset(&r, 0, sizeof r);
    CREATE(&r.t, 16);
    r.in = mk(1, 1, 0);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&th[i], NULL, race_run, &r), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    int total = 0;
    for (int nc = 1; nc <= 2000; nc++) {
        ASSERT(atomic_load(&r.accepted[nc]) <= 1);
        total += atomic_load(&r.accepted[nc]);
    }
    ASSERT(total >= 1);
    ASSERT_EQ(atomic_load(&r.accepted[2000]), 1); /* nothing above it was ever offered */
    sipreg_auth_tracker_destroy(r.t);
    return 0;
}
