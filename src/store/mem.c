/* In-memory location store: SipHash-keyed AOR table, RFC 3261 §10.3 ordering, owned copies. */
#include <openssl/rand.h>
#include <string.h>

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

struct mbind {
    int keep; /* mark used while committing a change */
    struct sipreg_binding b;
    char data[];
};

struct maor {
    struct hnode node; /* first: a node pointer is the entry pointer */
    struct sipreg_str aor;
    struct mbind **v; /* bindings in order of first registration */
    size_t n;
    char data[];
};

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
    struct htab aors, users, meta;
    size_t total;  /* bindings held, expired or not */
    size_t cursor; /* next bucket expire() looks at */
};

static uint64_t hash(const struct mem *m, struct sipreg_str s)
{
    return sipreg__siphash24(m->key, s.p, s.len);
}

static uint64_t user_hash(const struct mem *m, struct sipreg_str username, struct sipreg_str realm)
{
    uint64_t r = hash(m, realm);
    return hash(m, username) ^ ((r << 1) | (r >> 63));
}

static struct maor *find_aor(const struct mem *m, uint64_t h, struct sipreg_str aor)
{
    for (struct hnode *x = ht_first(&m->aors, h); x; x = x->next) {
        struct maor *e = (struct maor *)x;
        if (x->h == h && sipreg_str_eq(e->aor, aor))
            return e;
    }
    return NULL;
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

static void free_aor(struct maor *e)
{
    for (size_t i = 0; i < e->n; i++)
        sipreg_free(e->v[i]);
    sipreg_free(e->v);
    sipreg_free(e);
}

static void mem_close(void *self)
{
    struct mem *m = self;
    struct htab *tabs[] = {&m->aors, &m->users, &m->meta};
    for (size_t t = 0; t < 3; t++) {
        if (!tabs[t]->b)
            continue;
        for (size_t i = 0; i < tabs[t]->nb; i++) {
            struct hnode *x = tabs[t]->b[i], *next;
            for (; x; x = next) {
                next = x->next;
                if (t == 0)
                    free_aor((struct maor *)x);
                else
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
    if (ht_init(&m->aors) || ht_init(&m->users) || ht_init(&m->meta)) {
        mem_close(m);
        return SIPREG_ENOMEM;
    }
    *self = m;
    return 0;
}

/* An owned copy of a binding of aor, stamped with now. */
static struct mbind *bind_new(struct sipreg_str aor, const struct sipreg_binding *src, int64_t now)
{
    struct sipreg_binding t = *src;
    t.aor = aor;
    t.registered_at = now;
    t.updated_at = now;
    struct mbind *nb = sipreg_malloc(sizeof *nb + sipreg__binding_strlen(&t));
    if (!nb)
        return NULL;
    char *cur = nb->data;
    sipreg__binding_copy(&nb->b, &t, &cur);
    return nb;
}

/* Copies the unexpired bindings among v[0..n) into arena a. */
static int list_out(struct mbind *const *v, size_t n, int64_t now, struct sipreg_arena *a,
                    struct sipreg_binding_list *out)
{
    size_t live = 0, nchars = 0;
    char *cur;
    for (size_t i = 0; i < n; i++) {
        if (v[i]->b.expires_at > now) {
            live++;
            nchars += sipreg__binding_strlen(&v[i]->b);
        }
    }
    int err = sipreg__list_alloc(a, live, nchars, out, &cur);
    if (err)
        return err;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i]->b.expires_at > now)
            sipreg__binding_copy(&out->v[k++], &v[i]->b, &cur);
    return 0;
}

static size_t find_key(struct mbind *const *v, size_t n, struct sipreg_str key)
{
    size_t i = 0;
    while (i < n && !sipreg_str_eq(v[i]->b.key, key))
        i++;
    return i;
}

static int mem_apply(void *self, const struct sipreg_store_change *c, int64_t now,
                     struct sipreg_arena *a, struct sipreg_binding_list *out)
{
    struct mem *m = self;
    uint64_t h = hash(m, c->aor);
    struct maor *e = find_aor(m, h, c->aor), *ne = NULL;
    struct mbind **v = NULL, **fresh = NULL;
    size_t nold = e ? e->n : 0, nup = 0, nv = 0, nf = 0, live, i, j;
    int err = 0;

    /* RFC 3261 §10.3 steps 6 and 7, against the AOR as stored: an op meeting a current binding
     * with its own Call-ID must carry a higher CSeq, or the whole request fails. */
    for (i = 0; i < c->nops; i++) {
        const struct sipreg_store_op *op = &c->ops[i];
        if (op->kind == SIPREG_STORE_UPSERT)
            nup++;
        for (j = 0; j < nold; j++) {
            const struct sipreg_binding *b = &e->v[j]->b;
            if (b->expires_at <= now)
                continue;
            if (op->kind != SIPREG_STORE_REMOVE_ALL && !sipreg_str_eq(b->key, op->b.key))
                continue;
            if (sipreg_str_eq(b->call_id, op->b.call_id) && op->b.cseq <= b->cseq)
                return SIPREG_EORDER;
        }
    }

    /* Build the AOR's next binding list beside the current one; the current one is only
     * replaced once nothing can fail any more. */
    if (nold + nup) {
        v = sipreg_malloc((nold + nup) * sizeof *v);
        if (!v)
            return SIPREG_ENOMEM;
    }
    if (nup && !(fresh = sipreg_malloc(nup * sizeof *fresh))) {
        err = SIPREG_ENOMEM;
        goto fail;
    }
    for (j = 0; j < nold; j++)
        if (e->v[j]->b.expires_at > now)
            v[nv++] = e->v[j];
    live = nv;
    for (i = 0; i < c->nops; i++) {
        const struct sipreg_store_op *op = &c->ops[i];
        if (op->kind == SIPREG_STORE_REMOVE_ALL) {
            nv = 0;
            continue;
        }
        j = find_key(v, nv, op->b.key);
        if (sipreg__op_removes(op, now)) {
            if (j < nv) {
                memmove(&v[j], &v[j + 1], (nv - j - 1) * sizeof *v);
                nv--;
            }
            continue;
        }
        struct mbind *b = bind_new(c->aor, &op->b, now);
        if (!b) {
            err = SIPREG_ENOMEM;
            goto fail;
        }
        fresh[nf++] = b;
        if (j < nv) {
            b->b.registered_at = v[j]->b.registered_at;
            v[j] = b;
        } else {
            v[nv++] = b;
        }
    }
    /* Limits bite only on growth, so that an AOR above a lowered limit can still refresh or
     * shrink. */
    if (nv > live && nv > m->l.per_aor) {
        err = SIPREG_ELIMIT;
        goto fail;
    }
    if (nv > nold && m->total - nold + nv > m->l.total) {
        err = SIPREG_ELIMIT;
        goto fail;
    }
    if (nv && !e) {
        ne = sipreg_malloc(sizeof *ne + c->aor.len);
        if (!ne) {
            err = SIPREG_ENOMEM;
            goto fail;
        }
        char *cur = ne->data;
        ne->aor = sipreg__str_copy(c->aor, &cur);
        ne->node.h = h;
    }
    if (out && (err = list_out(v, nv, now, a, out)))
        goto fail;

    /* Commit point. Free what the new list no longer holds: old bindings replaced, removed or
     * expired, and fresh ones overridden by a later op of the same change. */
    for (j = 0; j < nold; j++)
        e->v[j]->keep = 0;
    for (i = 0; i < nf; i++)
        fresh[i]->keep = 0;
    for (j = 0; j < nv; j++)
        v[j]->keep = 1;
    for (j = 0; j < nold; j++)
        if (!e->v[j]->keep)
            sipreg_free(e->v[j]);
    for (i = 0; i < nf; i++)
        if (!fresh[i]->keep)
            sipreg_free(fresh[i]);
    sipreg_free(fresh);
    m->total = m->total - nold + nv;
    if (e) {
        sipreg_free(e->v);
        e->v = v;
        e->n = nv;
        if (nv == 0) {
            ht_unlink(&m->aors, &e->node);
            free_aor(e);
        }
    } else if (ne) {
        ne->v = v;
        ne->n = nv;
        ht_insert(&m->aors, &ne->node);
    } else {
        sipreg_free(v);
    }
    return 0;

fail:
    for (i = 0; i < nf; i++)
        sipreg_free(fresh[i]);
    sipreg_free(fresh);
    sipreg_free(v);
    sipreg_free(ne);
    return err;
}

static int mem_lookup(void *self, struct sipreg_str aor, int64_t now, struct sipreg_arena *a,
                      struct sipreg_binding_list *out)
{
    struct mem *m = self;
    struct maor *e = find_aor(m, hash(m, aor), aor);
    return list_out(e ? e->v : NULL, e ? e->n : 0, now, a, out);
}

/* Drops at most max expired bindings of e; returns how many. */
static size_t purge_aor(struct mem *m, struct maor *e, int64_t now, size_t max)
{
    size_t k = 0, gone = 0;
    for (size_t i = 0; i < e->n; i++) {
        if (gone < max && e->v[i]->b.expires_at <= now) {
            sipreg_free(e->v[i]);
            gone++;
        } else {
            e->v[k++] = e->v[i];
        }
    }
    e->n = k;
    m->total -= gone;
    return gone;
}

static int mem_expire(void *self, int64_t now, size_t max_rows, size_t *purged)
{
    struct mem *m = self;
    /* Bounded work: a slice of the buckets per call, resuming where the last call stopped. */
    size_t budget = max_rows > (SIZE_MAX - 1024) / 8 ? SIZE_MAX : 1024 + 8 * max_rows;
    if (budget > m->aors.nb)
        budget = m->aors.nb;
    for (size_t scanned = 0; scanned < budget && *purged < max_rows; scanned++) {
        size_t i = m->cursor & (m->aors.nb - 1);
        struct hnode *x = m->aors.b[i], *next;
        for (; x && *purged < max_rows; x = next) {
            struct maor *e = (struct maor *)x;
            next = x->next;
            *purged += purge_aor(m, e, now, max_rows - *purged);
            if (e->n == 0) {
                ht_unlink(&m->aors, x);
                free_aor(e);
            }
        }
        if (x) /* stopped inside this bucket: start here next time */
            break;
        m->cursor = i + 1;
    }
    return 0;
}

static int mem_iterate(void *self, int64_t now, sipreg_store_binding_fn fn, void *ud)
{
    struct mem *m = self;
    for (size_t i = 0; i < m->aors.nb; i++) {
        for (struct hnode *x = m->aors.b[i]; x; x = x->next) {
            struct maor *e = (struct maor *)x;
            for (size_t j = 0; j < e->n; j++) {
                if (e->v[j]->b.expires_at <= now)
                    continue;
                int rc = fn(&e->v[j]->b, ud);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

static int mem_commit(void *self)
{
    (void)self;
    return 0;
}

static int mem_user_put(void *self, const struct sipreg_user *u)
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

static int mem_user_del(void *self, struct sipreg_str username, struct sipreg_str realm)
{
    struct mem *m = self;
    struct muser *u = find_user(m, user_hash(m, username, realm), username, realm);
    if (!u)
        return SIPREG_ENOENT;
    ht_unlink(&m->users, &u->node);
    sipreg_free(u);
    return 0;
}

static int mem_user_get(void *self, struct sipreg_str username, struct sipreg_str realm,
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

static int mem_user_iterate(void *self, sipreg_store_user_fn fn, void *ud)
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

static int mem_meta_get(void *self, struct sipreg_str key, struct sipreg_arena *a,
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

static int mem_meta_put(void *self, struct sipreg_str key, struct sipreg_str value)
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

const struct sipreg_store_ops sipreg__mem_ops = {
    .version = SIPREG_STORE_OPS_VERSION,
    .apply = mem_apply,
    .lookup = mem_lookup,
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
