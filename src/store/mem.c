/* In-memory store: bindings in the compact location table (loctab.c), users and metadata in
 * SipHash-keyed tables. Safe for concurrent use: reads run in parallel, writes one at a time
 * (a store writer thread beside workers that read). */
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "store/loctab.h"
#include "store/store_int.h"

/* ---- a chained hash table of intrusive nodes; insertion never fails ---- */

struct hnode {
    struct hnode *next;
    uint64_t h;
};

struct htab {
    struct hnode **b;
    size_t nb; /* a power of two */
    size_t n;
};

#define HT_INITIAL 16

static int ht_init(struct htab *t)
{
    t->b = sipreg_calloc(HT_INITIAL, sizeof *t->b);
    t->nb = HT_INITIAL;
    t->n = 0;
    return t->b ? 0 : SIPREG_ENOMEM;
}

static struct hnode *ht_first(const struct htab *t, uint64_t h)
{
    return t->b[h & (t->nb - 1)];
}

/* Doubles the bucket array at load factor 1. If that allocation fails the table keeps working
 * with longer chains, so that inserting, which follows a change's commit point, cannot fail. */
static void ht_insert(struct htab *t, struct hnode *node)
{
    struct hnode **slot = &t->b[node->h & (t->nb - 1)];
    node->next = *slot;
    *slot = node;
    t->n++;
    if (t->n <= t->nb || t->nb > SIZE_MAX / 2 / sizeof *t->b)
        return;
    size_t nb = t->nb * 2;
    struct hnode **b = sipreg_calloc(nb, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < t->nb; i++) {
        struct hnode *x = t->b[i], *next;
        for (; x; x = next) {
            next = x->next;
            x->next = b[x->h & (nb - 1)];
            b[x->h & (nb - 1)] = x;
        }
    }
    sipreg_free(t->b);
    t->b = b;
    t->nb = nb;
}

static void ht_unlink(struct htab *t, struct hnode *node)
{
    struct hnode **pp = &t->b[node->h & (t->nb - 1)];
    while (*pp != node)
        pp = &(*pp)->next;
    *pp = node->next;
    t->n--;
}

/* ---- the store ---- */

struct muser {
    struct hnode node;
    struct sipreg_user u;
    char data[];
};

struct mmeta {
    struct hnode node;
    struct sipreg_str k, v;
    char data[];
};

struct mem {
    struct sipreg__store_limits l;
    uint8_t key[16];
    pthread_rwlock_t lock;
    bool lock_ok;
    struct sipreg__loctab *loc;
    struct htab users, meta;
};

#define RD(m) pthread_rwlock_rdlock(&(m)->lock)
#define WR(m) pthread_rwlock_wrlock(&(m)->lock)
#define UN(m) pthread_rwlock_unlock(&(m)->lock)

static uint64_t hash(const struct mem *m, struct sipreg_str s)
{
    return sipreg__siphash24(m->key, s.p, s.len);
}

static uint64_t user_hash(const struct mem *m, struct sipreg_str username, struct sipreg_str realm)
{
    uint64_t r = hash(m, realm);
    return hash(m, username) ^ ((r << 1) | (r >> 63));
}

static struct muser *find_user(const struct mem *m, uint64_t h, struct sipreg_str username,
                               struct sipreg_str realm)
{
    for (struct hnode *x = ht_first(&m->users, h); x; x = x->next) {
        struct muser *u = (struct muser *)x;
        if (x->h == h && sipreg_str_eq(u->u.username, username) && sipreg_str_eq(u->u.realm, realm))
            return u;
    }
    return NULL;
}

static struct mmeta *find_meta(const struct mem *m, uint64_t h, struct sipreg_str k)
{
    for (struct hnode *x = ht_first(&m->meta, h); x; x = x->next) {
        struct mmeta *e = (struct mmeta *)x;
        if (x->h == h && sipreg_str_eq(e->k, k))
            return e;
    }
    return NULL;
}

static void mem_close(void *self)
{
    struct mem *m = self;
    struct htab *tabs[] = {&m->users, &m->meta};
    sipreg__loctab_destroy(m->loc);
    if (m->lock_ok)
        pthread_rwlock_destroy(&m->lock);
    for (size_t t = 0; t < 2; t++) {
        if (!tabs[t]->b)
            continue;
        for (size_t i = 0; i < tabs[t]->nb; i++) {
            struct hnode *x = tabs[t]->b[i], *next;
            for (; x; x = next) {
                next = x->next;
                sipreg_free(x);
            }
        }
        sipreg_free(tabs[t]->b);
    }
    sipreg_free(m);
}

int sipreg__mem_open(void **self, const struct sipreg__store_limits *l,
                     const struct sipreg_store_cfg *cfg)
{
    struct mem *m = sipreg_calloc(1, sizeof *m);
    if (!m)
        return SIPREG_ENOMEM;
    m->l = *l;
    if (cfg)
        memcpy(m->key, cfg->hash_key, sizeof m->key);
    /* A key an attacker knows (all zero, the default) lets chosen AORs or user names fill one
     * bucket: flooding. Zero means "not given", as elsewhere in the cfg, so draw one. */
    static const uint8_t zero[sizeof m->key];
    if (memcmp(m->key, zero, sizeof zero) == 0 && RAND_bytes(m->key, sizeof m->key) != 1) {
        mem_close(m);
        return SIPREG_ECRYPTO;
    }
    if (pthread_rwlock_init(&m->lock, NULL) != 0) {
        mem_close(m);
        return SIPREG_ENOMEM;
    }
    m->lock_ok = true;
    if (sipreg__loctab_create(&m->loc, l->total, m->key) || ht_init(&m->users) ||
        ht_init(&m->meta)) {
        mem_close(m);
        return SIPREG_ENOMEM;
    }
    *self = m;
    return 0;
}

static int mem_read(void *self, struct sipreg_str aor, struct sipreg_arena *a,
                    struct sipreg_binding_list *out, uint64_t *version)
{
    struct mem *m = self;
    RD(m);
    int err = sipreg__loctab_read(m->loc, aor, a, out, version);
    UN(m);
    return err;
}

/* The total limit, like the per-AOR one, bites only on growth; expired bindings not purged yet
 * still hold their room. Versions come from one counter for the whole table, so an AOR deleted
 * and created again never gets a version it had before (no ABA). */
static int mem_replace(void *self, struct sipreg_str aor, uint64_t expect,
                       const struct sipreg_binding *v, size_t n, int64_t now, uint64_t *new_version)
{
    struct mem *m = self;
    WR(m);
    int err = sipreg__loctab_replace(m->loc, aor, expect, v, n, now, new_version);
    UN(m);
    return err;
}

static int mem_expire(void *self, int64_t now, size_t max_rows, size_t *purged)
{
    struct mem *m = self;
    WR(m);
    sipreg__loctab_expire(m->loc, now, max_rows, purged);
    UN(m);
    return 0;
}

static int mem_iterate(void *self, int64_t now, sipreg_store_binding_fn fn, void *ud)
{
    struct mem *m = self;
    RD(m);
    int rc = sipreg__loctab_iterate(m->loc, now, fn, ud);
    UN(m);
    return rc;
}

static int mem_commit(void *self)
{
    (void)self;
    return 0;
}

static int mem_user_put_unlocked(void *self, const struct sipreg_user *u)
{
    struct mem *m = self;
    uint64_t h = user_hash(m, u->username, u->realm);
    struct muser *old = find_user(m, h, u->username, u->realm);
    struct muser *nu = sipreg_malloc(sizeof *nu + sipreg__user_strlen(u));
    if (!nu)
        return SIPREG_ENOMEM;
    char *cur = nu->data;
    sipreg__user_copy(&nu->u, u, &cur);
    nu->node.h = h;
    if (old) {
        ht_unlink(&m->users, &old->node);
        sipreg_free(old);
    }
    ht_insert(&m->users, &nu->node);
    return 0;
}

static int mem_user_del_unlocked(void *self, struct sipreg_str username, struct sipreg_str realm)
{
    struct mem *m = self;
    struct muser *u = find_user(m, user_hash(m, username, realm), username, realm);
    if (!u)
        return SIPREG_ENOENT;
    ht_unlink(&m->users, &u->node);
    sipreg_free(u);
    return 0;
}

static int mem_user_get_unlocked(void *self, struct sipreg_str username, struct sipreg_str realm,
                                 struct sipreg_arena *a, struct sipreg_user *out)
{
    struct mem *m = self;
    struct muser *u = find_user(m, user_hash(m, username, realm), username, realm);
    if (!u)
        return SIPREG_ENOENT;
    char *cur = sipreg_arena_alloc(a, sipreg__user_strlen(&u->u));
    if (!cur)
        return SIPREG_ENOMEM;
    sipreg__user_copy(out, &u->u, &cur);
    return 0;
}

static int mem_user_iterate_unlocked(void *self, sipreg_store_user_fn fn, void *ud)
{
    struct mem *m = self;
    for (size_t i = 0; i < m->users.nb; i++) {
        for (struct hnode *x = m->users.b[i]; x; x = x->next) {
            int rc = fn(&((struct muser *)x)->u, ud);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int mem_meta_get_unlocked(void *self, struct sipreg_str key, struct sipreg_arena *a,
                                 struct sipreg_str *out)
{
    struct mem *m = self;
    struct mmeta *e = find_meta(m, hash(m, key), key);
    if (!e)
        return SIPREG_ENOENT;
    char *cur = sipreg_arena_alloc(a, e->v.len);
    if (!cur)
        return SIPREG_ENOMEM;
    *out = sipreg__str_copy(e->v, &cur);
    return 0;
}

static int mem_meta_put_unlocked(void *self, struct sipreg_str key, struct sipreg_str value)
{
    struct mem *m = self;
    uint64_t h = hash(m, key);
    struct mmeta *old = find_meta(m, h, key);
    struct mmeta *e = sipreg_malloc(sizeof *e + key.len + value.len);
    if (!e)
        return SIPREG_ENOMEM;
    char *cur = e->data;
    e->k = sipreg__str_copy(key, &cur);
    e->v = sipreg__str_copy(value, &cur);
    e->node.h = h;
    if (old) {
        ht_unlink(&m->meta, &old->node);
        sipreg_free(old);
    }
    ht_insert(&m->meta, &e->node);
    return 0;
}

/* The user and metadata calls under the store's lock. */
static int mem_user_put(void *self, const struct sipreg_user *u)
{
    WR((struct mem *)self);
    int err = mem_user_put_unlocked(self, u);
    UN((struct mem *)self);
    return err;
}

static int mem_user_del(void *self, struct sipreg_str username, struct sipreg_str realm)
{
    WR((struct mem *)self);
    int err = mem_user_del_unlocked(self, username, realm);
    UN((struct mem *)self);
    return err;
}

static int mem_user_get(void *self, struct sipreg_str username, struct sipreg_str realm,
                        struct sipreg_arena *a, struct sipreg_user *out)
{
    RD((struct mem *)self);
    int err = mem_user_get_unlocked(self, username, realm, a, out);
    UN((struct mem *)self);
    return err;
}

static int mem_user_iterate(void *self, sipreg_store_user_fn fn, void *ud)
{
    RD((struct mem *)self);
    int err = mem_user_iterate_unlocked(self, fn, ud);
    UN((struct mem *)self);
    return err;
}

static int mem_meta_get(void *self, struct sipreg_str key, struct sipreg_arena *a,
                        struct sipreg_str *out)
{
    RD((struct mem *)self);
    int err = mem_meta_get_unlocked(self, key, a, out);
    UN((struct mem *)self);
    return err;
}

static int mem_meta_put(void *self, struct sipreg_str key, struct sipreg_str value)
{
    WR((struct mem *)self);
    int err = mem_meta_put_unlocked(self, key, value);
    UN((struct mem *)self);
    return err;
}

const struct sipreg_store_ops sipreg__mem_ops = {
    .version = SIPREG_STORE_OPS_VERSION,
    .read = mem_read,
    .replace = mem_replace,
    .expire = mem_expire,
    .iterate = mem_iterate,
    .commit = mem_commit,
    .user_put = mem_user_put,
    .user_del = mem_user_del,
    .user_get = mem_user_get,
    .user_iterate = mem_user_iterate,
    .meta_get = mem_meta_get,
    .meta_put = mem_meta_put,
    .close = mem_close,
};
