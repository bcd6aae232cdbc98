/* Tests for the location store: one behavioural body run against every backend. */
#include <stdlib.h>
#include <unistd.h>

#include "sipreg/store.h"
#include "store/store_int.h"
#include "test.h"

#include "store_fixture.h"

/* ---- helpers ---- */

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

static char arena_mem[1 << 16];
static struct sipreg_arena arena;

static int apply(struct sipreg_store *s, const char *aor, const struct sipreg_store_op *ops,
                 size_t n, int64_t now, struct sipreg_binding_list *out)
{
    struct sipreg_store_change c = {Z(aor), ops, n};
    sipreg_arena_init(&arena, arena_mem, sizeof arena_mem);
    return sipreg_store_apply(s, &c, now, out ? &arena : NULL, out);
}

static int apply1(struct sipreg_store *s, const char *aor, struct sipreg_store_op op, int64_t now)
{
    return apply(s, aor, &op, 1, now, NULL);
}

static int lookup(struct sipreg_store *s, const char *aor, int64_t now,
                  struct sipreg_binding_list *out)
{
    sipreg_arena_init(&arena, arena_mem, sizeof arena_mem);
    return sipreg_store_lookup(s, Z(aor), now, &arena, out);
}

/* The binding with this key in l, or NULL. */
static const struct sipreg_binding *find(const struct sipreg_binding_list *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (sipreg_str_eq(l->v[i].key, Z(key)))
            return &l->v[i];
    return NULL;
}

static int count_cb(const struct sipreg_binding *b, void *ud)
{
    (void)b;
    ++*(size_t *)ud;
    return 0;
}

static size_t count_all(struct sipreg_store *s, int64_t now)
{
    size_t n = 0;
    if (sipreg_store_iterate(s, now, count_cb, &n))
        return (size_t)-1;
    return n;
}

/* ---- behaviour common to every backend ---- */

static int body_roundtrip(struct sipreg_store *s)
{
    struct sipreg_binding_list l;
    struct sipreg_store_op op = up("sip:alice@192.0.2.1", 1000 + 3600, "cid-1@host", 42);
    op.b.contact = Z("<sip:alice@192.0.2.1;transport=udp>;expires=3600");
    op.b.q = 700;
    op.b.source = Z("udp:192.0.2.4:5060");
    op.b.transport = Z("udp");
    op.b.path = (struct sipreg_str){"", 0}; /* present but empty */
    op.b.instance = Z("<urn:uuid:00000000-0000-1000-8000-000a95a0e128>");
    op.b.reg_id = 7;
    op.b.user_agent = Z("agent/1.0");
    op.b.registered_at = 5; /* ignored: the store stamps it */
    ASSERT_EQ(apply(s, "sip:alice@example.com", &op, 1, 1000, &l), 0);
    ASSERT_EQ(l.n, 1);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            ASSERT_EQ(sipreg_store_commit(s), 0);
            ASSERT_EQ(lookup(s, "sip:alice@example.com", 1001, &l), 0);
            ASSERT_EQ(l.n, 1);
        }
        const struct sipreg_binding *b = &l.v[0];
        ASSERT_STR(b->aor, "sip:alice@example.com");
        ASSERT_STR(b->key, "sip:alice@192.0.2.1");
        ASSERT_STR(b->contact, "<sip:alice@192.0.2.1;transport=udp>;expires=3600");
        ASSERT_EQ(b->expires_at, 4600);
        ASSERT_EQ(b->q, 700);
        ASSERT_STR(b->call_id, "cid-1@host");
        ASSERT_EQ(b->cseq, 42);
        ASSERT_STR(b->source, "udp:192.0.2.4:5060");
        ASSERT_STR(b->transport, "udp");
        ASSERT_STR(b->path, "");
        ASSERT_STR(b->instance, "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>");
        ASSERT_EQ(b->reg_id, 7);
        ASSERT_STR(b->user_agent, "agent/1.0");
        ASSERT_EQ(b->registered_at, 1000);
        ASSERT_EQ(b->updated_at, 1000);
    }
    /* Absent strings stay absent; q and reg_id -1, the largest CSeq. */
    struct sipreg_store_op o2 = up("k2", 5000, "c2", UINT32_MAX);
    ASSERT_EQ(apply(s, "sip:bob@example.com", &o2, 1, 1000, &l), 0);
    ASSERT_EQ(l.n, 1);
    ASSERT_ABSENT(l.v[0].source);
    ASSERT_ABSENT(l.v[0].transport);
    ASSERT_ABSENT(l.v[0].path);
    ASSERT_ABSENT(l.v[0].instance);
    ASSERT_ABSENT(l.v[0].user_agent);
    ASSERT_EQ(l.v[0].q, -1);
    ASSERT_EQ(l.v[0].reg_id, -1);
    ASSERT_EQ(l.v[0].cseq, UINT32_MAX);
    /* Other AORs and unknown ones. */
    ASSERT_EQ(lookup(s, "sip:carol@example.com", 1000, &l), 0);
    ASSERT_EQ(l.n, 0);
    ASSERT_EQ(lookup(s, "sip:alice@example.com", 1000, &l), 0);
    ASSERT_EQ(l.n, 1);
    ASSERT_EQ(count_all(s, 1000), 2);
    return 0;
}

static int body_refresh_order(struct sipreg_store *s)
{
    struct sipreg_binding_list l;
    struct sipreg_store_op ops[3] = {up("a", 2000, "c", 1), up("b", 2000, "c", 1),
                                     up("c", 2000, "c", 1)};
    ASSERT_EQ(apply(s, "aor", ops, 3, 1000, &l), 0);
    ASSERT_EQ(l.n, 3);
    /* Refreshing b keeps its place and registered_at, moves updated_at and the expiry. */
    struct sipreg_store_op r = up("b", 3000, "c", 2);
    r.b.contact = Z("b-new");
    ASSERT_EQ(apply(s, "aor", &r, 1, 1100, &l), 0);
    ASSERT_EQ(l.n, 3);
    ASSERT_STR(l.v[0].key, "a");
    ASSERT_STR(l.v[1].key, "b");
    ASSERT_STR(l.v[2].key, "c");
    ASSERT_STR(l.v[1].contact, "b-new");
    ASSERT_EQ(l.v[1].registered_at, 1000);
    ASSERT_EQ(l.v[1].updated_at, 1100);
    ASSERT_EQ(l.v[1].expires_at, 3000);
    ASSERT_EQ(l.v[0].updated_at, 1000);
    /* Two ops on one key in a change: the later wins. */
    struct sipreg_store_op two[2] = {up("d", 2000, "c", 5), up("d", 2500, "c", 5)};
    ASSERT_EQ(apply(s, "aor", two, 2, 1100, &l), 0);
    ASSERT_EQ(l.n, 4);
    ASSERT_EQ(find(&l, "d")->expires_at, 2500);
    /* An empty change lists the AOR. */
    ASSERT_EQ(apply(s, "aor", NULL, 0, 1100, &l), 0);
    ASSERT_EQ(l.n, 4);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

static int body_expiry(struct sipreg_store *s)
{
    struct sipreg_binding_list l;
    ASSERT_EQ(apply1(s, "aor", up("short", 1010, "c", 1), 1000), 0);
    ASSERT_EQ(apply1(s, "aor", up("long", 2000, "c", 1), 1000), 0);
    ASSERT_EQ(lookup(s, "aor", 1009, &l), 0);
    ASSERT_EQ(l.n, 2);
    /* expires_at is the first second the binding is gone. */
    ASSERT_EQ(lookup(s, "aor", 1010, &l), 0);
    ASSERT_EQ(l.n, 1);
    ASSERT_STR(l.v[0].key, "long");
    ASSERT_EQ(count_all(s, 1010), 1);
    ASSERT_EQ(lookup(s, "aor", 5000, &l), 0);
    ASSERT_EQ(l.n, 0);
    /* An expired binding is absent for ordering too: the same Call-ID with a lower CSeq is a new
     * registration, with a new registered_at. */
    ASSERT_EQ(apply(s, "aor", (struct sipreg_store_op[]){up("short", 1100, "c", 1)}, 1, 1050, &l),
              0);
    ASSERT_EQ(l.n, 2);
    ASSERT_EQ(find(&l, "short")->registered_at, 1050);
    /* An UPSERT already expired is a removal (Expires: 0). */
    ASSERT_EQ(apply(s, "aor", (struct sipreg_store_op[]){up("long", 1050, "c", 2)}, 1, 1050, &l),
              0);
    ASSERT_EQ(l.n, 1);
    ASSERT_STR(l.v[0].key, "short");
    /* Removing what is not there is fine. */
    ASSERT_EQ(apply1(s, "aor", rm("nothing", "c", 1), 1050), 0);
    ASSERT_EQ(apply1(s, "nobody", rm_all("c", 1), 1050), 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

static int body_expire_purges(struct sipreg_store *s)
{
    char aor[16];
    size_t n;
    /* 30 AORs, each with one binding expiring at 1100 and one at 5000. */
    for (int i = 0; i < 30; i++) {
        snprintf(aor, sizeof aor, "aor%d", i);
        struct sipreg_store_op ops[2] = {up("old", 1100, "c", 1), up("new", 5000, "c", 1)};
        ASSERT_EQ(apply(s, aor, ops, 2, 1000, NULL), 0);
    }
    ASSERT_EQ(sipreg_store_commit(s), 0);
    ASSERT_EQ(sipreg_store_expire(s, 1099, 100, &n), 0);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(sipreg_store_expire(s, 1100, 0, &n), 0);
    ASSERT_EQ(n, 0);
    /* Bounded: at most max_rows per call. */
    ASSERT_EQ(sipreg_store_expire(s, 1100, 7, &n), 0);
    ASSERT_EQ(n, 7);
    size_t total = 7;
    for (int i = 0; i < 10 && n; i++) {
        ASSERT_EQ(sipreg_store_expire(s, 1100, 8, &n), 0);
        ASSERT(n <= 8);
        total += n;
    }
    ASSERT_EQ(total, 30);
    ASSERT_EQ(sipreg_store_expire(s, 1100, 100, &n), 0);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    /* Unexpired bindings are all still there, even asked about from the past. */
    ASSERT_EQ(count_all(s, 0), 30);
    struct sipreg_binding_list l;
    ASSERT_EQ(lookup(s, "aor13", 1000, &l), 0);
    ASSERT_EQ(l.n, 1);
    ASSERT_STR(l.v[0].key, "new");
    /* Everything goes once it expires; empty AORs vanish. */
    ASSERT_EQ(sipreg_store_expire(s, 6000, 1000, &n), 0);
    ASSERT_EQ(n, 30);
    ASSERT_EQ(count_all(s, 0), 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

/* The AOR "aor" holds exactly k1 (cid C, cseq 5, expiring 2000). */
static int only_k1(struct sipreg_store *s, uint32_t cseq)
{
    struct sipreg_binding_list l;
    ASSERT_EQ(lookup(s, "aor", 1000, &l), 0);
    ASSERT_EQ(l.n, 1);
    ASSERT_STR(l.v[0].key, "k1");
    ASSERT_STR(l.v[0].call_id, "C");
    ASSERT_EQ(l.v[0].cseq, cseq);
    ASSERT_EQ(l.v[0].expires_at, 2000);
    return 0;
}

static int body_cseq_order(struct sipreg_store *s)
{
    struct sipreg_binding_list l;
    ASSERT_EQ(apply1(s, "aor", up("k1", 2000, "C", 5), 1000), 0);
    /* Lower or equal CSeq with the same Call-ID fails the whole change set. */
    for (uint32_t cseq = 4; cseq <= 5; cseq++) {
        struct sipreg_store_op ops[2] = {up("k2", 3000, "C", 9), up("k1", 3000, "C", cseq)};
        sipreg_arena_init(&arena, arena_mem, sizeof arena_mem);
        struct sipreg_store_change c = {Z("aor"), ops, 2};
        ASSERT_EQ(sipreg_store_apply(s, &c, 1000, &arena, &l), SIPREG_EORDER);
        ASSERT_EQ(arena.used, 0);
        ASSERT_EQ(l.n, 0);
        ASSERT(!l.v);
        if (only_k1(s, 5))
            return 1;
        ASSERT_EQ(apply1(s, "aor", rm("k1", "C", cseq), 1000), SIPREG_EORDER);
        if (only_k1(s, 5))
            return 1;
    }
    /* Higher CSeq updates. */
    ASSERT_EQ(apply(s, "aor", (struct sipreg_store_op[]){up("k1", 2000, "C", 6)}, 1, 1000, &l), 0);
    if (only_k1(s, 6))
        return 1;
    /* Another Call-ID replaces whatever its CSeq (the UA rebooted). */
    ASSERT_EQ(apply(s, "aor", (struct sipreg_store_op[]){up("k1", 2500, "D", 1)}, 1, 1000, &l), 0);
    ASSERT_EQ(l.n, 1);
    ASSERT_STR(l.v[0].call_id, "D");
    ASSERT_EQ(l.v[0].cseq, 1);
    /* Removal by another Call-ID, and by a higher CSeq. */
    ASSERT_EQ(apply1(s, "aor", up("k2", 2500, "D", 2), 1000), 0);
    ASSERT_EQ(apply(s, "aor", (struct sipreg_store_op[]){rm("k1", "E", 1)}, 1, 1000, &l), 0);
    ASSERT_EQ(l.n, 1);
    ASSERT_EQ(apply(s, "aor", (struct sipreg_store_op[]){rm("k2", "D", 3)}, 1, 1000, &l), 0);
    ASSERT_EQ(l.n, 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

static int body_wildcard(struct sipreg_store *s)
{
    struct sipreg_binding_list l;
    ASSERT_EQ(apply1(s, "aor", up("k1", 2000, "C1", 10), 1000), 0);
    ASSERT_EQ(apply1(s, "aor", up("k2", 2000, "C2", 3), 1000), 0);
    ASSERT_EQ(apply1(s, "other", up("k1", 2000, "C1", 1), 1000), 0);
    /* Contact: * with a CSeq not above one binding's of the same Call-ID: nothing goes. */
    ASSERT_EQ(apply1(s, "aor", rm_all("C1", 10), 1000), SIPREG_EORDER);
    ASSERT_EQ(apply1(s, "aor", rm_all("C2", 2), 1000), SIPREG_EORDER);
    ASSERT_EQ(lookup(s, "aor", 1000, &l), 0);
    ASSERT_EQ(l.n, 2);
    ASSERT_EQ(apply(s, "aor", (struct sipreg_store_op[]){rm_all("C1", 11)}, 1, 1000, &l), 0);
    ASSERT_EQ(l.n, 0);
    ASSERT_EQ(lookup(s, "other", 1000, &l), 0);
    ASSERT_EQ(l.n, 1);
    /* A fresh Call-ID removes everything. */
    ASSERT_EQ(apply1(s, "aor", up("k3", 2000, "C3", 1), 1000), 0);
    ASSERT_EQ(apply(s, "aor", (struct sipreg_store_op[]){rm_all("C9", 1)}, 1, 1000, &l), 0);
    ASSERT_EQ(l.n, 0);
    ASSERT_EQ(count_all(s, 1000), 1);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

static int body_limits(struct sipreg_store *s)
{
    struct sipreg_binding_list l;
    /* max_bindings_per_aor is 2 here. */
    struct sipreg_store_op two[2] = {up("k1", 2000, "C", 1), up("k2", 2000, "C", 1)};
    ASSERT_EQ(apply(s, "aor", two, 2, 1000, NULL), 0);
    struct sipreg_store_op more[2] = {up("k1", 2000, "C", 2), up("k3", 2000, "C", 1)};
    ASSERT_EQ(apply(s, "aor", more, 2, 1000, &l), SIPREG_ELIMIT);
    ASSERT_EQ(lookup(s, "aor", 1000, &l), 0);
    ASSERT_EQ(l.n, 2);
    ASSERT_EQ(find(&l, "k1")->cseq, 1);
    /* Refresh at the limit is fine, and so is a swap within one change. */
    ASSERT_EQ(apply1(s, "aor", up("k1", 2000, "C", 2), 1000), 0);
    struct sipreg_store_op swap[2] = {rm("k2", "C", 2), up("k3", 2000, "C", 1)};
    ASSERT_EQ(apply(s, "aor", swap, 2, 1000, &l), 0);
    ASSERT_EQ(l.n, 2);
    ASSERT(find(&l, "k3") && !find(&l, "k2"));
    /* Expired bindings do not count. */
    ASSERT_EQ(apply1(s, "aor", up("k4", 3000, "C", 1), 2000), 0);
    /* Over-long fields (max_field_len 64 here). */
    char longkey[80];
    memset(longkey, 'x', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = 0;
    ASSERT_EQ(apply1(s, "aor", up(longkey, 3000, "C", 1), 2000), SIPREG_ELIMIT);
    ASSERT_EQ(apply1(s, longkey, up("k", 3000, "C", 1), 2000), SIPREG_ELIMIT);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

static int body_arena_small(struct sipreg_store *s)
{
    static char small[4096];
    struct sipreg_arena a;
    struct sipreg_binding_list l;
    struct sipreg_store_op ops[2] = {up("k1", 2000, "C", 1), up("k2", 2000, "C", 1)};
    struct sipreg_store_change c = {Z("aor"), ops, 2};
    /* Too small to list the result: ENOMEM, nothing changed, arena rewound. */
    sipreg_arena_init(&a, small, 100);
    a.used = 8;
    ASSERT_EQ(sipreg_store_apply(s, &c, 1000, &a, &l), SIPREG_ENOMEM);
    ASSERT_EQ(a.used, 8);
    ASSERT_EQ(l.n, 0);
    ASSERT_EQ(count_all(s, 1000), 0);
    sipreg_arena_init(&a, small, sizeof small);
    ASSERT_EQ(sipreg_store_apply(s, &c, 1000, &a, &l), 0);
    size_t need = a.used;
    /* Every smaller arena fails cleanly; the exact size works. */
    for (size_t cap = 0; cap <= need; cap++) {
        sipreg_arena_init(&a, small, cap);
        int err = sipreg_store_lookup(s, Z("aor"), 1000, &a, &l);
        if (cap < need) {
            ASSERT_EQ(err, SIPREG_ENOMEM);
            ASSERT_EQ(a.used, 0);
            ASSERT(!l.v && l.n == 0);
        } else {
            ASSERT_EQ(err, 0);
            ASSERT_EQ(l.n, 2);
            ASSERT_STR(l.v[1].key, "k2");
        }
    }
    /* An empty list needs no room for bindings. */
    sipreg_arena_init(&a, small, 16);
    ASSERT_EQ(sipreg_store_lookup(s, Z("none"), 1000, &a, &l), 0);
    ASSERT_EQ(l.n, 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

static int body_invalid(struct sipreg_store *s)
{
    struct sipreg_binding_list l;
    struct sipreg_store_op op = up("k", 2000, "C", 1);
    struct sipreg_store_change c = {Z("aor"), &op, 1};
    ASSERT_EQ(apply1(s, "", up("k", 2000, "C", 1), 1000), SIPREG_EINVAL);
    ASSERT_EQ(apply1(s, "aor", up("", 2000, "C", 1), 1000), SIPREG_EINVAL);
    ASSERT_EQ(apply1(s, "aor", up("k", 2000, "", 1), 1000), SIPREG_EINVAL);
    ASSERT_EQ(apply1(s, "aor", rm_all("", 1), 1000), SIPREG_EINVAL);
    ASSERT_EQ(apply1(s, "aor", rm("", "C", 1), 1000), SIPREG_EINVAL);
    op.b.contact = SIPREG_STR_NULL;
    ASSERT_EQ(apply(s, "aor", &op, 1, 1000, NULL), SIPREG_EINVAL);
    op = up("k", 2000, "C", 1);
    op.b.q = 1001;
    ASSERT_EQ(apply(s, "aor", &op, 1, 1000, NULL), SIPREG_EINVAL);
    op.b.q = -2;
    ASSERT_EQ(apply(s, "aor", &op, 1, 1000, NULL), SIPREG_EINVAL);
    op = up("k", 2000, "C", 1);
    op.b.reg_id = -2;
    ASSERT_EQ(apply(s, "aor", &op, 1, 1000, NULL), SIPREG_EINVAL);
    op = up("k", 2000, "C", 1);
    op.b.path = (struct sipreg_str){NULL, 3};
    ASSERT_EQ(apply(s, "aor", &op, 1, 1000, NULL), SIPREG_EINVAL);
    op = up("k", 2000, "C", 1);
    op.kind = (enum sipreg_store_op_kind)0;
    ASSERT_EQ(apply(s, "aor", &op, 1, 1000, NULL), SIPREG_EINVAL);
    op = up("k", 2000, "C", 1);
    c.ops = NULL;
    ASSERT_EQ(sipreg_store_apply(s, &c, 1000, NULL, NULL), SIPREG_EINVAL);
    c.ops = &op;
    ASSERT_EQ(sipreg_store_apply(s, &c, 1000, NULL, &l), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_store_apply(NULL, &c, 1000, NULL, NULL), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_store_apply(s, NULL, 1000, NULL, NULL), SIPREG_EINVAL);
    ASSERT_EQ(lookup(s, "", 1000, &l), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_store_lookup(s, Z("aor"), 1000, NULL, &l), SIPREG_EINVAL);
    size_t n;
    ASSERT_EQ(sipreg_store_expire(s, 1000, 1, NULL), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_store_expire(NULL, 1000, 1, &n), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_store_iterate(s, 1000, NULL, NULL), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_store_commit(NULL), SIPREG_EINVAL);
    ASSERT_EQ(count_all(s, 0), 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

static int stop_cb(const struct sipreg_binding *b, void *ud)
{
    (void)b;
    return ++*(int *)ud == 3 ? 77 : 0;
}

static int body_iterate(struct sipreg_store *s)
{
    char aor[16];
    for (int i = 0; i < 5; i++) {
        snprintf(aor, sizeof aor, "aor%d", i);
        struct sipreg_store_op ops[2] = {up("a", 2000, "c", 1), up("b", 1500, "c", 1)};
        ASSERT_EQ(apply(s, aor, ops, 2, 1000, NULL), 0);
    }
    ASSERT_EQ(count_all(s, 1000), 10);
    ASSERT_EQ(count_all(s, 1500), 5);
    int seen = 0;
    ASSERT_EQ(sipreg_store_iterate(s, 1000, stop_cb, &seen), 77);
    ASSERT_EQ(seen, 3);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

#define MD5_A "0123456789abcdef0123456789abcdef"
#define SHA_A "0123456789abcdef0123456789abcdef0123456789ABCDEF0123456789abcdef"

static int user_count_cb(const struct sipreg_user *u, void *ud)
{
    ASSERT(u->username.len > 0 && u->realm.len > 0);
    ++*(int *)ud;
    return 0;
}

/* Counts the users iteration shows with a domain, checking the one there should be. */
static int user_domain_cb(const struct sipreg_user *u, void *ud)
{
    if (u->domain.p) {
        ASSERT_STR(u->domain, "example.net");
        ASSERT_STR(u->realm, "example.com");
        ++*(int *)ud;
    }
    return 0;
}

static int user_stop_cb(const struct sipreg_user *u, void *ud)
{
    (void)u;
    ++*(int *)ud;
    return 9;
}

static int body_users(struct sipreg_store *s)
{
    struct sipreg_arena a;
    struct sipreg_user u, g;
    memset(&u, 0, sizeof u);
    u.username = Z("alice");
    u.realm = Z("example.com");
    u.ha1_md5 = Z(MD5_A);
    u.ha1_sha256 = Z(SHA_A);
    u.enabled = true;
    u.created_at = 1234;
    ASSERT_EQ(sipreg_store_user_put(s, &u), 0);
    sipreg_arena_init(&a, arena_mem, sizeof arena_mem);
    ASSERT_EQ(sipreg_store_user_get(s, Z("alice"), Z("example.com"), &a, &g), 0);
    ASSERT_STR(g.username, "alice");
    ASSERT_STR(g.realm, "example.com");
    ASSERT_STR(g.ha1_md5, MD5_A);
    ASSERT_STR(g.ha1_sha256, SHA_A);
    ASSERT_ABSENT(g.ha1_sha512_256);
    ASSERT(g.enabled);
    ASSERT_EQ(g.created_at, 1234);
    ASSERT_ABSENT(g.domain); /* none given: the realm's domain */
    /* Too small an arena. */
    sipreg_arena_init(&a, arena_mem, 20);
    ASSERT_EQ(sipreg_store_user_get(s, Z("alice"), Z("example.com"), &a, &g), SIPREG_ENOMEM);
    ASSERT_EQ(a.used, 0);
    /* Same name in another realm is another user; put replaces. */
    u.realm = Z("other.org");
    ASSERT_EQ(sipreg_store_user_put(s, &u), 0);
    u.realm = Z("example.com");
    u.enabled = false;
    u.ha1_sha256 = SIPREG_STR_NULL;
    u.ha1_sha512_256 = Z(SHA_A);
    ASSERT_EQ(sipreg_store_user_put(s, &u), 0);
    sipreg_arena_init(&a, arena_mem, sizeof arena_mem);
    ASSERT_EQ(sipreg_store_user_get(s, Z("alice"), Z("example.com"), &a, &g), 0);
    ASSERT(!g.enabled);
    ASSERT_ABSENT(g.ha1_sha256);
    ASSERT_STR(g.ha1_sha512_256, SHA_A);
    ASSERT_EQ(sipreg_store_user_get(s, Z("Alice"), Z("example.com"), &a, &g), SIPREG_ENOENT);
    /* A domain is stored and returned; replacing the user replaces it too. */
    u.domain = Z("example.net");
    ASSERT_EQ(sipreg_store_user_put(s, &u), 0);
    sipreg_arena_init(&a, arena_mem, sizeof arena_mem);
    ASSERT_EQ(sipreg_store_user_get(s, Z("alice"), Z("example.com"), &a, &g), 0);
    ASSERT_STR(g.domain, "example.net");
    ASSERT_STR(g.realm, "example.com");
    ASSERT_STR(g.ha1_sha512_256, SHA_A);
    u.domain = Z("");
    ASSERT_EQ(sipreg_store_user_put(s, &u), SIPREG_EINVAL);
    u.domain = (struct sipreg_str){NULL, 3};
    ASSERT_EQ(sipreg_store_user_put(s, &u), SIPREG_EINVAL);
    u.domain = (struct sipreg_str){arena_mem, SIPREG_STORE_DEFAULT_MAX_FIELD + 1};
    ASSERT_EQ(sipreg_store_user_put(s, &u), SIPREG_ELIMIT);
    u.domain = SIPREG_STR_NULL;
    ASSERT_EQ(sipreg_store_user_get(s, Z("alice"), Z("example.com"), &a, &g), 0);
    ASSERT_STR(g.domain, "example.net"); /* the refused puts changed nothing */
    int n = 0;
    ASSERT_EQ(sipreg_store_user_iterate(s, user_domain_cb, &n), 0);
    ASSERT_EQ(n, 1);
    n = 0;
    ASSERT_EQ(sipreg_store_user_iterate(s, user_count_cb, &n), 0);
    ASSERT_EQ(n, 2);
    /* A user without a domain gets one when replaced with one, and loses it the same way. */
    u.domain = Z("example.com");
    u.realm = Z("other.org");
    ASSERT_EQ(sipreg_store_user_put(s, &u), 0);
    sipreg_arena_init(&a, arena_mem, sizeof arena_mem);
    ASSERT_EQ(sipreg_store_user_get(s, Z("alice"), Z("other.org"), &a, &g), 0);
    ASSERT_STR(g.domain, "example.com");
    u.domain = SIPREG_STR_NULL;
    ASSERT_EQ(sipreg_store_user_put(s, &u), 0);
    u.realm = Z("example.com");
    n = 0;
    ASSERT_EQ(sipreg_store_user_iterate(s, user_stop_cb, &n), 9);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(sipreg_store_user_iterate(s, NULL, NULL), SIPREG_EINVAL);
    /* Bad HA1s and keys. */
    u.ha1_md5 = Z("0123");
    ASSERT_EQ(sipreg_store_user_put(s, &u), SIPREG_EINVAL);
    u.ha1_md5 = Z("0123456789abcdef0123456789abcdeg");
    ASSERT_EQ(sipreg_store_user_put(s, &u), SIPREG_EINVAL);
    u.ha1_md5 = Z(MD5_A);
    u.username = Z("");
    ASSERT_EQ(sipreg_store_user_put(s, &u), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_store_user_del(s, Z("alice"), Z("")), SIPREG_EINVAL);
    /* Delete. */
    ASSERT_EQ(sipreg_store_user_del(s, Z("alice"), Z("example.com")), 0);
    ASSERT_EQ(sipreg_store_user_del(s, Z("alice"), Z("example.com")), SIPREG_ENOENT);
    ASSERT_EQ(sipreg_store_user_get(s, Z("alice"), Z("example.com"), &a, &g), SIPREG_ENOENT);
    ASSERT_EQ(sipreg_store_user_get(s, Z("alice"), Z("other.org"), &a, &g), 0);
    ASSERT_ABSENT(g.domain);
    n = 0;
    ASSERT_EQ(sipreg_store_user_iterate(s, user_count_cb, &n), 0);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

static int body_meta(struct sipreg_store *s)
{
    struct sipreg_arena a;
    struct sipreg_str v;
    static const char secret[] = {0x00, 0x01, (char)0xff, 0x00, 0x7f, 0x10};
    struct sipreg_str sv = {secret, sizeof secret};
    ASSERT_EQ(sipreg_store_meta_put(s, Z("secret"), sv), 0);
    sipreg_arena_init(&a, arena_mem, sizeof arena_mem);
    ASSERT_EQ(sipreg_store_meta_get(s, Z("secret"), &a, &v), 0);
    ASSERT_EQ(v.len, sizeof secret);
    ASSERT(memcmp(v.p, secret, sizeof secret) == 0);
    ASSERT_EQ(sipreg_store_meta_get(s, Z("nothing"), &a, &v), SIPREG_ENOENT);
    ASSERT_ABSENT(v);
    /* Replace, and an empty value. */
    ASSERT_EQ(sipreg_store_meta_put(s, Z("secret"), Z("two")), 0);
    ASSERT_EQ(sipreg_store_meta_put(s, Z("empty"), SIPREG_STR_NULL), 0);
    ASSERT_EQ(sipreg_store_meta_get(s, Z("secret"), &a, &v), 0);
    ASSERT_STR(v, "two");
    ASSERT_EQ(sipreg_store_meta_get(s, Z("empty"), &a, &v), 0);
    ASSERT_STR(v, "");
    sipreg_arena_init(&a, arena_mem, 2);
    ASSERT_EQ(sipreg_store_meta_get(s, Z("secret"), &a, &v), SIPREG_ENOMEM);
    ASSERT_EQ(a.used, 0);
    ASSERT_EQ(sipreg_store_meta_put(s, Z(""), Z("x")), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_store_meta_put(s, Z("k"), (struct sipreg_str){arena_mem, 70000}),
              SIPREG_ELIMIT);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

/* Read, then compare-and-set: a replace from a stale version fails and changes nothing, and
 * apply decides again on what the other writer left. */
static int body_cas(struct sipreg_store *s)
{
    struct sipreg_binding_list l;
    uint64_t v0, v1, v2, nv;
    sipreg_arena_init(&arena, arena_mem, sizeof arena_mem);
    ASSERT_EQ(sipreg_store_read(s, Z("aor"), 1000, &arena, &l, &v0), 0);
    ASSERT_EQ(v0, 0);
    ASSERT_EQ(l.n, 0);
    ASSERT_EQ(apply1(s, "aor", up("k1", 2000, "C", 1), 1000), 0);
    sipreg_arena_init(&arena, arena_mem, sizeof arena_mem);
    ASSERT_EQ(sipreg_store_read(s, Z("aor"), 1000, &arena, &l, &v1), 0);
    ASSERT(v1 != 0);
    ASSERT_EQ(l.n, 1);
    /* "A" decides on v1 ... */
    struct sipreg_binding_list next;
    struct sipreg_store_op a_op = up("kA", 2000, "A", 1);
    struct sipreg_store_change ca = {Z("aor"), &a_op, 1};
    ASSERT_EQ(sipreg_store_decide(&l, &ca, 1000, 0, &arena, &next), 0);
    ASSERT_EQ(next.n, 2);
    /* ... "B" changes the AOR meanwhile ... */
    ASSERT_EQ(apply1(s, "aor", up("kB", 2000, "B", 1), 1000), 0);
    /* ... so A's compare-and-set fails, with nothing changed. */
    ASSERT_EQ(sipreg_store_replace(s, Z("aor"), v1, next.v, next.n, 1000, &nv), SIPREG_ECONFLICT);
    ASSERT_EQ(nv, 0);
    /* an AOR that exists is not "absent" either */
    ASSERT_EQ(sipreg_store_replace(s, Z("aor"), 0, next.v, next.n, 1000, &nv), SIPREG_ECONFLICT);
    ASSERT_EQ(lookup(s, "aor", 1000, &l), 0);
    ASSERT_EQ(l.n, 2);
    ASSERT(find(&l, "kB") && !find(&l, "kA"));
    /* apply reads again and keeps B's binding. */
    ASSERT_EQ(apply(s, "aor", &a_op, 1, 1000, &l), 0);
    ASSERT_EQ(l.n, 3);
    ASSERT(find(&l, "k1") && find(&l, "kB") && find(&l, "kA"));
    /* replace from the current version works, stores bindings as given, gives a new version. */
    sipreg_arena_init(&arena, arena_mem, sizeof arena_mem);
    ASSERT_EQ(sipreg_store_read(s, Z("aor"), 1000, &arena, &l, &v2), 0);
    ASSERT(v2 != v1);
    struct sipreg_binding b = l.v[2];
    b.registered_at = 7;
    b.updated_at = 8;
    b.aor = SIPREG_STR_NULL; /* absent: the AOR given */
    ASSERT_EQ(sipreg_store_replace(s, Z("aor"), v2, &b, 1, 1000, &nv), 0);
    ASSERT(nv != 0 && nv != v2 && nv != v1);
    ASSERT_EQ(lookup(s, "aor", 1000, &l), 0);
    ASSERT_EQ(l.n, 1);
    ASSERT_STR(l.v[0].aor, "aor");
    ASSERT_STR(l.v[0].key, "kA");
    ASSERT_EQ(l.v[0].registered_at, 7);
    ASSERT_EQ(l.v[0].updated_at, 8);
    /* A replace of something apply would refuse, or with two bindings of one key. */
    struct sipreg_binding two[2] = {b, b};
    ASSERT_EQ(sipreg_store_replace(s, Z("aor"), nv, two, 2, 1000, NULL), SIPREG_EINVAL);
    two[1].key = Z("other");
    two[1].aor = Z("another aor");
    ASSERT_EQ(sipreg_store_replace(s, Z("aor"), nv, two, 2, 1000, NULL), SIPREG_EINVAL);
    two[1].aor = Z("aor");
    two[1].contact = SIPREG_STR_NULL;
    ASSERT_EQ(sipreg_store_replace(s, Z("aor"), nv, two, 2, 1000, NULL), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_store_replace(s, Z("aor"), nv, NULL, 2, 1000, NULL), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_store_replace(NULL, Z("aor"), nv, NULL, 0, 1000, NULL), SIPREG_EINVAL);
    ASSERT_EQ(sipreg_store_replace(s, Z(""), 0, NULL, 0, 1000, NULL), SIPREG_EINVAL);
    /* n == 0 deletes. */
    ASSERT_EQ(sipreg_store_replace(s, Z("aor"), nv, NULL, 0, 1000, &v0), 0);
    ASSERT_EQ(v0, 0);
    sipreg_arena_init(&arena, arena_mem, sizeof arena_mem);
    ASSERT_EQ(sipreg_store_read(s, Z("aor"), 1000, &arena, &l, &v0), 0);
    ASSERT_EQ(v0, 0);
    ASSERT_EQ(l.n, 0);
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

/* The version of aor now, or UINT64_MAX on error. */
static uint64_t version_of(struct sipreg_store *s, const char *aor)
{
    struct sipreg_binding_list l;
    uint64_t v;
    sipreg_arena_init(&arena, arena_mem, sizeof arena_mem);
    return sipreg_store_read(s, Z(aor), 1000, &arena, &l, &v) ? UINT64_MAX : v;
}

/* Versions are never handed out twice in a store, even to an AOR deleted and created again,
 * whichever way it went (apply, replace, expire). */
static int body_versions(struct sipreg_store *s)
{
    uint64_t seen[16];
    size_t n = 0, purged;
    ASSERT_EQ(apply1(s, "aor", up("k", 2000, "C", 1), 1000), 0);
    seen[n++] = version_of(s, "aor");
    ASSERT_EQ(apply1(s, "other", up("k", 2000, "C", 1), 1000), 0);
    seen[n++] = version_of(s, "other");
    ASSERT_EQ(apply1(s, "aor", rm("k", "C", 2), 1000), 0);
    ASSERT_EQ(version_of(s, "aor"), 0);
    ASSERT_EQ(apply1(s, "aor", up("k", 2000, "C", 3), 1000), 0);
    seen[n++] = version_of(s, "aor");
    ASSERT_EQ(apply1(s, "aor", rm_all("C", 4), 1000), 0);
    ASSERT_EQ(apply1(s, "aor", up("k", 1500, "C", 5), 1000), 0);
    seen[n++] = version_of(s, "aor");
    ASSERT_EQ(sipreg_store_commit(s), 0);
    /* An expired but unpurged AOR still has its version; purged, it has none. */
    ASSERT_EQ(version_of(s, "aor"), seen[n - 1]);
    for (int i = 0; i < 100; i++) {
        ASSERT_EQ(sipreg_store_expire(s, 1600, 100, &purged), 0);
        if (version_of(s, "aor") == 0)
            break;
    }
    ASSERT_EQ(version_of(s, "aor"), 0);
    ASSERT_EQ(version_of(s, "other"), seen[1]); /* untouched */
    ASSERT_EQ(apply1(s, "aor", up("k", 2000, "C", 1), 1000), 0);
    seen[n++] = version_of(s, "aor");
    /* A no-op change (listing) leaves the version alone; every write moves it. */
    ASSERT_EQ(apply(s, "aor", NULL, 0, 1000, NULL), 0);
    ASSERT_EQ(version_of(s, "aor"), seen[n - 1]);
    ASSERT_EQ(apply1(s, "aor", up("k", 2000, "C", 2), 1000), 0);
    seen[n++] = version_of(s, "aor");
    for (size_t i = 0; i < n; i++) {
        ASSERT(seen[i] != 0 && seen[i] != UINT64_MAX);
        for (size_t j = 0; j < i; j++)
            ASSERT(seen[i] != seen[j]);
    }
    ASSERT_EQ(sipreg_store_commit(s), 0);
    return 0;
}

/* ---- a third backend: an array, with no registration rule of its own ---- */

/* Proof that a backend needs only read and replace (plus expire and iterate): the rule bodies
 * above pass over this one too. Rows keep their AOR's version, as in the SQLite schema. */
#define ARR_ROWS 256

struct arr_row {
    struct sipreg_binding b; /* strings in mem */
    uint64_t version;
    char *mem;
};

struct arr {
    struct arr_row rows[ARR_ROWS];
    size_t n;
    uint64_t last_version;
};

static int arr_read(void *self, struct sipreg_str aor, struct sipreg_arena *a,
                    struct sipreg_binding_list *out, uint64_t *version)
{
    struct arr *t = self;
    size_t n = 0, nchars = 0, k = 0;
    char *cur;
    *version = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (sipreg_str_eq(t->rows[i].b.aor, aor)) {
            *version = t->rows[i].version;
            n++;
            nchars += sipreg__binding_strlen(&t->rows[i].b);
        }
    }
    int err = sipreg__list_alloc(a, n, nchars, out, &cur);
    if (err)
        return err;
    for (size_t i = 0; i < t->n; i++)
        if (sipreg_str_eq(t->rows[i].b.aor, aor))
            sipreg__binding_copy(&out->v[k++], &t->rows[i].b, &cur);
    return 0;
}

/* Deletes at most max rows: those of aor, or with aor absent those with expires_at <=
 * expired_at. The others keep their order. */
static size_t arr_delete(struct arr *t, struct sipreg_str aor, int64_t expired_at, size_t max)
{
    size_t k = 0, gone = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct arr_row *r = &t->rows[i];
        int drop =
            gone < max && (aor.p ? sipreg_str_eq(r->b.aor, aor) : r->b.expires_at <= expired_at);
        if (drop) {
            sipreg_free(r->mem);
            gone++;
        } else {
            t->rows[k++] = *r;
        }
    }
    t->n = k;
    return gone;
}

static int arr_replace(void *self, struct sipreg_str aor, uint64_t expect,
                       const struct sipreg_binding *v, size_t n, int64_t now, uint64_t *new_version)
{
    struct arr *t = self;
    size_t old = 0, i;
    uint64_t cur = 0;
    (void)now;
    for (i = 0; i < t->n; i++) {
        if (sipreg_str_eq(t->rows[i].b.aor, aor)) {
            cur = t->rows[i].version;
            old++;
        }
    }
    if (cur != expect)
        return SIPREG_ECONFLICT;
    if (n > old && t->n - old + n > ARR_ROWS)
        return SIPREG_ELIMIT;
    /* copies first, so that a failure changes nothing */
    char *mem[ARR_ROWS];
    for (i = 0; i < n; i++) {
        struct sipreg_binding b = v[i];
        b.aor = aor;
        if (!(mem[i] = sipreg_malloc(sipreg__binding_strlen(&b) + 1))) {
            while (i--)
                sipreg_free(mem[i]);
            return SIPREG_ENOMEM;
        }
    }
    arr_delete(t, aor, 0, SIZE_MAX);
    *new_version = n ? ++t->last_version : 0;
    for (i = 0; i < n; i++) {
        struct arr_row *r = &t->rows[t->n++];
        struct sipreg_binding b = v[i];
        char *p = mem[i];
        b.aor = aor;
        sipreg__binding_copy(&r->b, &b, &p);
        r->mem = mem[i];
        r->version = *new_version;
    }
    return 0;
}

static int arr_expire(void *self, int64_t now, size_t max_rows, size_t *purged)
{
    *purged = arr_delete(self, SIPREG_STR_NULL, now, max_rows);
    return 0;
}

static int arr_iterate(void *self, int64_t now, sipreg_store_binding_fn fn, void *ud)
{
    struct arr *t = self;
    for (size_t i = 0; i < t->n; i++) {
        int rc = t->rows[i].b.expires_at > now ? fn(&t->rows[i].b, ud) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

static int arr_commit(void *self)
{
    (void)self;
    return 0;
}

/* No credentials here: not the subject. */
static int arr_user_put(void *self, const struct sipreg_user *u)
{
    (void)self, (void)u;
    return SIPREG_ESTORE;
}
static int arr_user_del(void *self, struct sipreg_str username, struct sipreg_str realm)
{
    (void)self, (void)username, (void)realm;
    return SIPREG_ENOENT;
}
static int arr_user_get(void *self, struct sipreg_str username, struct sipreg_str realm,
                        struct sipreg_arena *a, struct sipreg_user *out)
{
    (void)self, (void)username, (void)realm, (void)a, (void)out;
    return SIPREG_ENOENT;
}
static int arr_user_iterate(void *self, sipreg_store_user_fn fn, void *ud)
{
    (void)self, (void)fn, (void)ud;
    return 0;
}
static int arr_meta_get(void *self, struct sipreg_str key, struct sipreg_arena *a,
                        struct sipreg_str *out)
{
    (void)self, (void)key, (void)a, (void)out;
    return SIPREG_ENOENT;
}
static int arr_meta_put(void *self, struct sipreg_str key, struct sipreg_str value)
{
    (void)self, (void)key, (void)value;
    return SIPREG_ESTORE;
}

static void arr_close(void *self)
{
    struct arr *t = self;
    arr_delete(t, SIPREG_STR_NULL, INT64_MAX, SIZE_MAX);
    sipreg_free(t);
}

static const struct sipreg_store_ops arr_ops = {
    .version = SIPREG_STORE_OPS_VERSION,
    .read = arr_read,
    .replace = arr_replace,
    .expire = arr_expire,
    .iterate = arr_iterate,
    .commit = arr_commit,
    .user_put = arr_user_put,
    .user_del = arr_user_del,
    .user_get = arr_user_get,
    .user_iterate = arr_user_iterate,
    .meta_get = arr_meta_get,
    .meta_put = arr_meta_put,
    .close = arr_close,
};

static int with_array(const struct sipreg_store_cfg *cfg, store_body_fn body)
{
    struct sipreg_store *s;
    struct arr *t = sipreg_calloc(1, sizeof *t);
    if (!t)
        return test_oom_active ? 0 : 1;
    if (sipreg_store_create_cfg(&s, &arr_ops, t, cfg)) {
        arr_close(t);
        return test_oom_active ? 0 : 1;
    }
    int rc = body(s);
    sipreg_store_close(s);
    return rc;
}

/* ---- the same bodies on both backends ---- */

static const struct sipreg_store_cfg limit_cfg = {.max_bindings_per_aor = 2, .max_field_len = 64};

TEST(store_mem_roundtrip)
{
    return with_store(0, NULL, body_roundtrip);
}
TEST(store_sqlite_roundtrip)
{
    return with_store(1, NULL, body_roundtrip);
}
TEST(store_mem_refresh_order)
{
    return with_store(0, NULL, body_refresh_order);
}
TEST(store_sqlite_refresh_order)
{
    return with_store(1, NULL, body_refresh_order);
}
TEST(store_mem_expiry)
{
    return with_store(0, NULL, body_expiry);
}
TEST(store_sqlite_expiry)
{
    return with_store(1, NULL, body_expiry);
}
TEST(store_mem_expire_purges)
{
    return with_store(0, NULL, body_expire_purges);
}
TEST(store_sqlite_expire_purges)
{
    return with_store(1, NULL, body_expire_purges);
}
TEST(store_mem_cseq_order)
{
    return with_store(0, NULL, body_cseq_order);
}
TEST(store_sqlite_cseq_order)
{
    return with_store(1, NULL, body_cseq_order);
}
TEST(store_mem_wildcard)
{
    return with_store(0, NULL, body_wildcard);
}
TEST(store_sqlite_wildcard)
{
    return with_store(1, NULL, body_wildcard);
}
TEST(store_mem_limits)
{
    return with_store(0, &limit_cfg, body_limits);
}
TEST(store_sqlite_limits)
{
    return with_store(1, &limit_cfg, body_limits);
}
TEST(store_mem_arena_small)
{
    return with_store(0, NULL, body_arena_small);
}
TEST(store_sqlite_arena_small)
{
    return with_store(1, NULL, body_arena_small);
}
TEST(store_mem_invalid)
{
    return with_store(0, NULL, body_invalid);
}
TEST(store_sqlite_invalid)
{
    return with_store(1, NULL, body_invalid);
}
TEST(store_mem_iterate)
{
    return with_store(0, NULL, body_iterate);
}
TEST(store_sqlite_iterate)
{
    return with_store(1, NULL, body_iterate);
}
TEST(store_mem_users)
{
    return with_store(0, NULL, body_users);
}
TEST(store_sqlite_users)
{
    return with_store(1, NULL, body_users);
}
TEST(store_mem_meta)
{
    return with_store(0, NULL, body_meta);
}
TEST(store_sqlite_meta)
{
    return with_store(1, NULL, body_meta);
}
TEST(store_mem_cas)
{
    return with_store(0, NULL, body_cas);
}
TEST(store_sqlite_cas)
{
    return with_store(1, NULL, body_cas);
}
TEST(store_mem_versions_never_reused)
{
    return with_store(0, NULL, body_versions);
}
TEST(store_sqlite_versions_never_reused)
{
    return with_store(1, NULL, body_versions);
}

/* The third backend through the same rule bodies. */
TEST(store_array_roundtrip)
{
    return with_array(NULL, body_roundtrip);
}
TEST(store_array_refresh_order)
{
    return with_array(NULL, body_refresh_order);
}
TEST(store_array_expiry)
{
    return with_array(NULL, body_expiry);
}
TEST(store_array_expire_purges)
{
    return with_array(NULL, body_expire_purges);
}
TEST(store_array_cseq_order)
{
    return with_array(NULL, body_cseq_order);
}
TEST(store_array_wildcard)
{
    return with_array(NULL, body_wildcard);
}
TEST(store_array_limits)
{
    return with_array(&limit_cfg, body_limits);
}
TEST(store_array_arena_small)
{
    return with_array(NULL, body_arena_small);
}
TEST(store_array_invalid)
{
    return with_array(NULL, body_invalid);
}
TEST(store_array_iterate)
{
    return with_array(NULL, body_iterate);
}
TEST(store_array_cas)
{
    return with_array(NULL, body_cas);
}
TEST(store_array_versions_never_reused)
{
    return with_array(NULL, body_versions);
}
