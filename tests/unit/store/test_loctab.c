/* Tests for the compact location table: packing round trips, versions, limits, the expiry wheel,
 * and a long random run against a plain model. */
#include "sipreg/store.h"
#include "store/loctab.h"
#include "test.h"

static const uint8_t key0[16] = {1, 2, 3};
static char amem[1 << 16];

static struct sipreg_binding bnd(const char *key, const char *contact, int64_t exp)
{
    struct sipreg_binding b;
    memset(&b, 0, sizeof b);
    b.key = sipreg_str_z(key);
    b.contact = sipreg_str_z(contact);
    b.expires_at = exp;
    b.q = -1;
    b.call_id = sipreg_str_z("call-1@host");
    b.cseq = 7;
    b.source = sipreg_str_z("udp:192.0.2.1:5060");
    b.transport = sipreg_str_z("udp");
    b.reg_id = -1;
    b.registered_at = exp - 100;
    b.updated_at = exp - 50;
    return b;
}

static int str_same(struct sipreg_str a, struct sipreg_str b)
{
    if (!a.p || !b.p)
        return !a.p && !b.p;
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int same_binding(const struct sipreg_binding *a, const struct sipreg_binding *b)
{
    return str_same(a->key, b->key) && str_same(a->contact, b->contact) &&
           str_same(a->call_id, b->call_id) && str_same(a->source, b->source) &&
           str_same(a->transport, b->transport) && str_same(a->path, b->path) &&
           str_same(a->instance, b->instance) && str_same(a->user_agent, b->user_agent) &&
           a->expires_at == b->expires_at && a->q == b->q && a->cseq == b->cseq &&
           a->reg_id == b->reg_id && a->registered_at == b->registered_at &&
           a->updated_at == b->updated_at;
}

TEST(loctab_round_trip)
{
    struct sipreg__loctab *t;
    if (sipreg__loctab_create(&t, 100, key0))
        return 1;
    struct sipreg_binding v[5];
    v[0] = bnd("sip:a@192.0.2.1:5060", "<sip:a@192.0.2.1:5060>;+sip.instance=\"x\"", 2000);
    v[0].q = 500;
    v[0].reg_id = 1;
    v[0].instance = sipreg_str_z("<urn:uuid:1>");
    v[0].user_agent = sipreg_str_z("phone/1.0");
    v[0].path = sipreg_str_z("<sip:edge;lr>, <sip:core;lr>");
    v[1] = bnd("urn:uuid:1;1", "<sip:b@h>", 3000); /* key not in the contact */
    v[1].transport = sipreg_str_z("UDP");          /* not a known code: stored as is */
    v[1].q = 0;
    v[2] = bnd("sip:c@h", "sip:c@h", 4000);
    v[2].transport = SIPREG_STR_NULL; /* absent stays absent */
    v[2].path = (struct sipreg_str){"", 0};
    v[2].registered_at = -5; /* times that do not fit the narrow form */
    v[2].updated_at = INT64_MAX / 2;
    v[2].cseq = UINT32_MAX;
    v[3] = bnd("sip:d@h", "<sip:d@h>", 5000);
    v[3].transport = sipreg_str_z("wss");
    v[3].user_agent = (struct sipreg_str){"", 0}; /* present but empty */
    v[4] = bnd("", "<sip:e@h>", 6000);            /* an empty key stays empty */
    uint64_t ver = 0, got_ver = 0;
    int rc = sipreg__loctab_replace(t, sipreg_str_z("sip:a@example.com"), 0, v, 5, 1000, &ver);
    if (rc) {
        sipreg__loctab_destroy(t);
        ASSERT_EQ(rc, SIPREG_ENOMEM);
        return 1;
    }
    ASSERT(ver != 0);
    struct sipreg_arena a;
    sipreg_arena_init(&a, amem, sizeof amem);
    struct sipreg_binding_list out;
    rc = sipreg__loctab_read(t, sipreg_str_z("sip:a@example.com"), &a, &out, &got_ver);
    sipreg__loctab_destroy(t); /* what was read lives in the arena */
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(got_ver, ver);
    ASSERT_EQ(out.n, 5);
    for (size_t i = 0; i < 5; i++) {
        if (!same_binding(&out.v[i], &v[i]))
            TEST_FAIL_("binding %zu differs after the round trip", i);
        ASSERT_STR(out.v[i].aor, "sip:a@example.com");
    }
    ASSERT_STR(out.v[1].transport, "UDP");
    ASSERT_ABSENT(out.v[2].transport);
    ASSERT(out.v[3].user_agent.p && out.v[3].user_agent.len == 0);
    return 0;
}

TEST(loctab_versions)
{
    struct sipreg__loctab *t;
    if (sipreg__loctab_create(&t, 100, key0))
        return 1;
    struct sipreg_binding b = bnd("k", "<k>", 2000);
    struct sipreg_str aor = sipreg_str_z("sip:v@h");
    uint64_t v1, v2, v3, v4, seen = 0;
    struct sipreg_arena a;
    sipreg_arena_init(&a, amem, sizeof amem);
    struct sipreg_binding_list out;
    int rc = sipreg__loctab_replace(t, aor, 0, &b, 1, 1000, &v1);
    if (!rc)
        rc = sipreg__loctab_replace(t, aor, 0, &b, 1, 1000, &v2) == SIPREG_ECONFLICT ? 0 : -1;
    if (!rc)
        rc = sipreg__loctab_replace(t, aor, v1, &b, 1, 1000, &v2);
    if (!rc) /* the old version no longer matches */
        rc = sipreg__loctab_replace(t, aor, v1, NULL, 0, 1000, &v3) == SIPREG_ECONFLICT ? 0 : -1;
    if (!rc)
        rc = sipreg__loctab_replace(t, aor, v2, NULL, 0, 1000, &v3);
    if (!rc)
        rc = sipreg__loctab_read(t, aor, &a, &out, &seen);
    if (!rc) /* recreated: a version never given before */
        rc = sipreg__loctab_replace(t, aor, 0, &b, 1, 1000, &v4);
    size_t aors = sipreg__loctab_aors(t);
    sipreg__loctab_destroy(t);
    if (rc == SIPREG_ENOMEM && test_oom_active)
        return 1;
    ASSERT_EQ(rc, 0);
    ASSERT(v2 > v1);
    ASSERT_EQ(v3, 0);
    ASSERT_EQ(seen, 0);
    ASSERT_EQ(out.n, 0);
    ASSERT(v4 > v2);
    ASSERT_EQ(aors, 1);
    return 0;
}

TEST(loctab_limits)
{
    struct sipreg__loctab *t;
    if (sipreg__loctab_create(&t, 3, key0))
        return 1;
    struct sipreg_binding v[3] = {bnd("1", "<1>", 2000), bnd("2", "<2>", 2000),
                                  bnd("3", "<3>", 2000)};
    uint64_t va, vb, x;
    int rc = sipreg__loctab_replace(t, sipreg_str_z("a"), 0, v, 2, 1000, &va);
    if (!rc)
        rc = sipreg__loctab_replace(t, sipreg_str_z("b"), 0, v, 1, 1000, &vb);
    int grow = rc ? 0 : sipreg__loctab_replace(t, sipreg_str_z("b"), vb, v, 2, 1000, &x);
    int fresh = rc ? 0 : sipreg__loctab_replace(t, sipreg_str_z("c"), 0, v, 1, 1000, &x);
    int same = rc ? 0 : sipreg__loctab_replace(t, sipreg_str_z("a"), va, v + 1, 2, 1000, &va);
    int shrink = rc ? 0 : sipreg__loctab_replace(t, sipreg_str_z("a"), va, v, 1, 1000, &va);
    int now_fits = rc ? 0 : sipreg__loctab_replace(t, sipreg_str_z("c"), 0, v, 1, 1000, &x);
    size_t total = sipreg__loctab_bindings(t);
    /* a string too long to pack */
    static char big[SIPREG__LOCTAB_MAX_FIELD + 2];
    memset(big, 'x', sizeof big - 1);
    struct sipreg_binding lb = bnd("k", big, 2000);
    int toolong = rc ? 0 : sipreg__loctab_replace(t, sipreg_str_z("d"), 0, &lb, 1, 1000, &x);
    sipreg__loctab_destroy(t);
    if (test_oom_active)
        return rc || grow || fresh || same || shrink || now_fits;
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(grow, SIPREG_ELIMIT);
    ASSERT_EQ(fresh, SIPREG_ELIMIT);
    ASSERT_EQ(same, 0); /* at the limit, not growing */
    ASSERT_EQ(shrink, 0);
    ASSERT_EQ(now_fits, 0);
    ASSERT_EQ(total, 3);
    ASSERT_EQ(toolong, SIPREG_ELIMIT);
    return 0;
}

/* Counts bindings seen by iterate. */
static int count_fn(const struct sipreg_binding *b, void *ud)
{
    (void)b;
    ++*(size_t *)ud;
    return 0;
}

TEST(loctab_wheel)
{
    struct sipreg__loctab *t;
    if (sipreg__loctab_create(&t, 1000, key0))
        return 1;
    int rc = 0;
    uint64_t x;
    /* AOR i expires at 1000 + 10 i; AOR 50 far beyond the wheel's reach */
    for (int i = 0; i < 50 && !rc; i++) {
        char aor[16];
        snprintf(aor, sizeof aor, "aor%d", i);
        struct sipreg_binding b = bnd("k", "<k>", 1000 + 10 * i);
        rc = sipreg__loctab_replace(t, sipreg_str_z(aor), 0, &b, 1, 900, &x);
    }
    struct sipreg_binding far = bnd("k", "<k>", 900 + 100000);
    if (!rc)
        rc = sipreg__loctab_replace(t, sipreg_str_z("far"), 0, &far, 1, 900, &x);
    if (rc) {
        sipreg__loctab_destroy(t);
        return 1;
    }
    size_t purged = 0;
    sipreg__loctab_expire(t, 999, 100, &purged);
    size_t p0 = purged;
    sipreg__loctab_expire(t, 1000, 100, &purged); /* aor0 */
    size_t p1 = purged;
    sipreg__loctab_expire(t, 1095, 3, &purged); /* at most 3 of aor1..aor9 */
    size_t p2 = purged;
    sipreg__loctab_expire(t, 1095, 100, &purged); /* the rest of them */
    size_t p3 = purged, live = 0;
    sipreg__loctab_iterate(t, 1095, count_fn, &live);
    size_t aors = sipreg__loctab_aors(t);
    /* a jump far ahead: everything but "far" goes, a turn of the wheel at a time */
    for (int k = 0; k < 100; k++)
        sipreg__loctab_expire(t, 50000, 1000, &purged);
    size_t p4 = purged, aors4 = sipreg__loctab_aors(t);
    for (int k = 0; k < 100; k++)
        sipreg__loctab_expire(t, 200000, 1000, &purged);
    size_t p5 = purged, aors5 = sipreg__loctab_aors(t), total5 = sipreg__loctab_bindings(t);
    sipreg__loctab_destroy(t);
    ASSERT_EQ(p0, 0);
    ASSERT_EQ(p1, 1);
    ASSERT_EQ(p2, 4);
    ASSERT_EQ(p3, 10);
    ASSERT_EQ(live, 41);
    ASSERT_EQ(aors, 41);
    ASSERT_EQ(p4, 50);
    ASSERT_EQ(aors4, 1);
    ASSERT_EQ(p5, 51);
    ASSERT_EQ(aors5, 0);
    ASSERT_EQ(total5, 0);
    return 0;
}

/* ---- a random run against a model: arrays of (key, expiry, cseq) per AOR ---- */

#define M_AORS 64
#define M_PER  6

struct mb {
    char key[8];
    int64_t exp;
    uint32_t cseq;
};

struct maor {
    struct mb v[M_PER];
    size_t n;
    uint64_t version;
};

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int check_aor(struct sipreg__loctab *t, const struct maor *m, int i, int64_t now)
{
    char aor[16];
    snprintf(aor, sizeof aor, "sip:%d@h", i);
    struct sipreg_arena a;
    sipreg_arena_init(&a, amem, sizeof amem);
    struct sipreg_binding_list out;
    uint64_t ver;
    ASSERT_EQ(sipreg__loctab_read(t, sipreg_str_z(aor), &a, &out, &ver), 0);
    size_t live = 0;
    for (size_t j = 0; j < m->n; j++)
        live += m->v[j].exp > now;
    if (live) /* else purging may have taken the AOR away */
        ASSERT_EQ(ver, m->version);
    else
        ASSERT(ver == 0 || ver == m->version);
    /* the live bindings, in order, on both sides (either may still hold expired ones) */
    size_t k = 0;
    for (size_t j = 0; j < out.n; j++) {
        ASSERT_STR(out.v[j].aor, aor);
        if (out.v[j].expires_at <= now)
            continue;
        while (k < m->n && m->v[k].exp <= now)
            k++;
        ASSERT(k < m->n);
        ASSERT_STR(out.v[j].key, m->v[k].key);
        ASSERT_EQ(out.v[j].expires_at, m->v[k].exp);
        ASSERT_EQ(out.v[j].cseq, m->v[k].cseq);
        k++;
    }
    while (k < m->n && m->v[k].exp <= now)
        k++;
    ASSERT_EQ(k, m->n);
    return 0;
}

TEST(loctab_random_model)
{
    static struct maor model[M_AORS];
    memset(model, 0, sizeof model);
    struct sipreg__loctab *t;
    if (sipreg__loctab_create(&t, 100000, key0))
        return 1;
    int64_t now = 1000000;
    int rc = 0;
    size_t purged_total = 0;
    /* under the OOM sweep (one rerun per allocation) a short run covers every failure point */
    int steps = test_oom_active ? 300 : 20000;
    for (int step = 0; step < steps && !rc; step++) {
        int i = (int)(rnd() % M_AORS);
        struct maor *m = &model[i];
        char aor[16];
        snprintf(aor, sizeof aor, "sip:%d@h", i);
        uint64_t r = rnd() % 100;
        if (r < 3) {
            now += (int64_t)(rnd() % 3000); /* time passes, sometimes past the wheel */
            size_t purged = 0;
            sipreg__loctab_expire(t, now, 1 + rnd() % 50, &purged);
            purged_total += purged;
            /* the model drops expired bindings lazily: reads filter them */
            continue;
        }
        if (r < 10) {
            rc = check_aor(t, m, i, now);
            continue;
        }
        /* the next list: the live bindings, some dropped, some added, expiries refreshed */
        struct maor next;
        memset(&next, 0, sizeof next);
        for (size_t j = 0; j < m->n; j++)
            if (m->v[j].exp > now && rnd() % 5)
                next.v[next.n++] = m->v[j];
        while (next.n < M_PER && rnd() % 3 == 0) {
            struct mb *b = &next.v[next.n++];
            snprintf(b->key, sizeof b->key, "k%u", (unsigned)(rnd() % 1000));
            b->exp = now + 1 + (int64_t)(rnd() % 8000);
            b->cseq = (uint32_t)rnd();
        }
        struct sipreg_binding v[M_PER];
        for (size_t j = 0; j < next.n; j++) {
            v[j] = bnd(next.v[j].key, "<sip:x@h>", next.v[j].exp);
            v[j].cseq = next.v[j].cseq;
        }
        uint64_t expect = m->n ? m->version : 0, ver;
        size_t live = 0;
        for (size_t j = 0; j < m->n; j++)
            live += m->v[j].exp > now;
        if (m->n && !live) { /* purging may have taken the whole AOR away: version 0 then */
            struct sipreg_arena a;
            sipreg_arena_init(&a, amem, sizeof amem);
            struct sipreg_binding_list cur;
            ASSERT_EQ(sipreg__loctab_read(t, sipreg_str_z(aor), &a, &cur, &ver), 0);
            ASSERT(ver == expect || ver == 0);
            expect = ver;
        }
        if (rnd() % 10 == 0) { /* a stale version is refused and changes nothing */
            int e = sipreg__loctab_replace(t, sipreg_str_z(aor), expect + 1, v, next.n, now, &ver);
            if (e != SIPREG_ECONFLICT)
                TEST_FAIL_("step %d: stale version: %d", step, e);
            continue;
        }
        rc = sipreg__loctab_replace(t, sipreg_str_z(aor), expect, v, next.n, now, &ver);
        if (rc)
            break;
        if (next.n)
            ASSERT(ver > expect);
        next.version = ver;
        *m = next;
    }
    for (int i = 0; i < M_AORS && !rc; i++)
        rc = check_aor(t, &model[i], i, now);
    /* once everything has expired and a few turns of the wheel passed, nothing is left */
    for (int k = 0; k < 64 && !rc; k++) {
        size_t purged = 0;
        now += 1000;
        sipreg__loctab_expire(t, now, 1000, &purged);
    }
    size_t left = rc ? 0 : sipreg__loctab_bindings(t), aors = rc ? 0 : sipreg__loctab_aors(t);
    sipreg__loctab_destroy(t);
    if (rc && test_oom_active)
        return 1;
    ASSERT_EQ(rc, 0);
    ASSERT(purged_total > 0);
    ASSERT_EQ(left, 0);
    ASSERT_EQ(aors, 0);
    return 0;
}
